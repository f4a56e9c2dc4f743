# CPU-kernel settings of tools/test.sh --cpu-kernels: ATen's and oneDNN's dispatch limits,
# which make one machine run the kernels another CPU would. LibTorch 1.13 honours
# ATEN_CPU_CAPABILITY (default | avx2 | avx512; with nothing set it picks AVX2 even on
# AVX-512 CPUs, where AVX-512 is opt-in) and oneDNN 2.6 ONEDNN_MAX_CPU_ISA or its older
# name DNNL_MAX_CPU_ISA (both set here). tests/TOLERANCES.md shows each setting's kernels.

# cpu_kernel_env SETTING: the environment assignments of SETTING ("" for native).
cpu_kernel_env() {
  case "$1" in
    native) echo "" ;;
    default) echo "ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 DNNL_MAX_CPU_ISA=SSE41" ;;
    avx2) echo "ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 DNNL_MAX_CPU_ISA=AVX2" ;;
    avx512) echo "ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE DNNL_MAX_CPU_ISA=AVX512_CORE" ;;
    avx512_bf16) echo "ATEN_CPU_CAPABILITY=avx512 ONEDNN_MAX_CPU_ISA=AVX512_CORE_BF16 DNNL_MAX_CPU_ISA=AVX512_CORE_BF16" ;;
    *) return 1 ;;
  esac
}

# cpu_kernel_missing SETTING: the CPU flags SETTING needs that this CPU lacks ("" when it runs here).
cpu_kernel_missing() {
  local needed=""
  case "$1" in
    native) needed="" ;;
    default) needed="sse4_1" ;;
    avx2) needed="avx2 fma" ;;
    avx512) needed="avx512f avx512bw avx512vl avx512dq" ;;
    avx512_bf16) needed="avx512f avx512bw avx512vl avx512dq avx512_bf16" ;;
  esac
  local flags missing="" flag
  flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  for flag in $needed; do
    case "$flags" in *" $flag "*) ;; *) missing="$missing $flag" ;; esac
  done
  echo "${missing# }"
}

CPU_KERNEL_SETTINGS="native default avx2 avx512 avx512_bf16"
