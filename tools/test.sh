#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test.
#   tools/test.sh [--build-dir DIR] [--sanitize] [--werror] [--cpu-kernels LIST] [--numerical-only]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir=""
sanitize=0
werror=OFF
cpu_kernels=""
numerical_only=0
source "$root/tools/lib/cpu_kernels.sh"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    --sanitize) sanitize=1; shift ;;
    --werror) werror=ON; shift ;;
    --cpu-kernels) cpu_kernels="${2//,/ }"; shift 2 ;;
    --numerical-only) numerical_only=1; shift ;;
    -h|--help)
      echo "Usage: tools/test.sh [--build-dir DIR] [--sanitize] [--werror] [--cpu-kernels LIST] [--numerical-only]"
      echo "Installs missing Debian packages (tools/setup-deps.sh --with-test-tools), configures, builds and runs ctest."
      echo "  --sanitize  build with AddressSanitizer + UndefinedBehaviorSanitizer (default folder build-sanitize)"
      echo "              and run every test but the long training, data-parallel and package ones"
      echo "  --werror    compiler warnings are errors (SEGDISTILL_WERROR; CI passes it)"
      echo "  --cpu-kernels LIST  after the native run, run the tests labelled 'numerical' again under each"
      echo "              CPU-kernel setting of LIST (comma- or space-separated; 'all' = $CPU_KERNEL_SETTINGS):"
      echo "              ATen's and oneDNN's dispatch limits, which emulate other CPUs. Settings this CPU"
      echo "              cannot run are reported as skipped. Prints the matrix (setting x passed/failed x"
      echo "              time) and writes it, with every tolerance's measured value per setting, to"
      echo "              BUILD/cpu-kernels/{matrix,tolerances}.md"
      echo "  --numerical-only  the native run too runs only the 'numerical' tests"
      exit 0 ;;
    *) echo "test.sh: unknown option '$1' (valid: --build-dir DIR, --sanitize, --werror, --cpu-kernels LIST, --numerical-only, --help)" >&2; exit 2 ;;
  esac
done

"$root/tools/setup-deps.sh" --with-test-tools

options=(-DCMAKE_BUILD_TYPE=Release)
ctest_filter=()
timeout=600
if [ "$sanitize" = 1 ]; then
  build_dir="${build_dir:-$root/build-sanitize}"
  options=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSEGDISTILL_SANITIZE=ON -DSEGDISTILL_BUILD_BENCHMARKS=OFF)
  ctest_filter=(-E '^(Training|Distributed|Package)[.]')
  timeout=1800
  # LibTorch's and OpenMP's own allocations at exit are theirs: leak reports name ours.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$root/tests/sanitizer/lsan.supp:print_suppressions=0}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
fi
build_dir="${build_dir:-$root/build}"
options+=(-DSEGDISTILL_WERROR="$werror")

generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build_dir/Makefile" ]; then generator=(-G Ninja); fi
jobs="$(nproc)"

cmake -S "$root" -B "$build_dir" "${generator[@]}" "${options[@]}"
if [ "$cpu_kernels" = all ]; then cpu_kernels="$CPU_KERNEL_SETTINGS"; fi
for setting in $cpu_kernels; do
  cpu_kernel_env "$setting" >/dev/null ||
    { echo "test.sh: unknown CPU-kernel setting '$setting' (valid: $CPU_KERNEL_SETTINGS, all)" >&2; exit 2; }
done

cmake --build "$build_dir" --parallel "$jobs"
cd "$build_dir"
if [ -z "$cpu_kernels" ]; then
  exec ctest --output-on-failure --parallel "$jobs" --timeout "$timeout" "${ctest_filter[@]}"
fi

# The matrix: the native run first (all tests, or the numerical ones), then the numerical
# tests under each other setting; every tolerance's measured value is logged per setting.
out="$build_dir/cpu-kernels"
rm -rf "$out" && mkdir -p "$out"
status=0
run_setting() {  # SETTING LABEL-FILTER...
  local setting="$1"; shift
  local started rc=0
  started=$(date +%s)
  echo "== CPU kernels: $setting ${*:+(${*})} $(cpu_kernel_env "$setting")"
  env $(cpu_kernel_env "$setting") SEGDISTILL_TOLERANCE_LOG="$out/$setting.tsv" \
    ctest --output-on-failure --parallel "$jobs" --timeout "$timeout" "${ctest_filter[@]}" "$@" \
    --output-junit "$out/$setting.xml" | tee "$out/$setting.log" || rc=$?
  echo "$setting $rc $(( $(date +%s) - started ))" >>"$out/runs.txt"
  [ "$rc" = 0 ] || status=1
}
native_filter=()
if [ "$numerical_only" = 1 ]; then native_filter=(-L numerical); fi
run_setting native "${native_filter[@]}"
for setting in $cpu_kernels; do
  [ "$setting" = native ] && continue
  missing="$(cpu_kernel_missing "$setting")"
  if [ -n "$missing" ]; then
    echo "== CPU kernels: $setting skipped: this CPU lacks $missing"
    echo "$setting skipped $missing" >>"$out/runs.txt"
    continue
  fi
  run_setting "$setting" -L numerical
done
/usr/bin/python3 "$root/tools/lib/cpu_kernel_matrix.py" "$out" || status=1
exit "$status"
