# Sourced by the benchmark scripts: describe_cpu THREADS prints the CPU model, core count,
# the vector flags that decide LibTorch's and oneDNN's kernels, and the threads used, so
# that every table says which CPU it was measured on.
describe_cpu() {
  echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'); $(nproc) cores; $1 threads"
  echo "vector flags: $(grep -o -w -E 'avx2|fma|avx512f|avx512bw|avx512vl|avx512dq|avx512_bf16|amx_bf16|avx512_vnni' /proc/cpuinfo | sort -u | tr '\n' ' ')"
}
