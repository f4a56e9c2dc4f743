#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test.
#   tools/test.sh [--build-dir DIR] [--sanitize] [--werror]    (default: build; build-sanitize with --sanitize)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir=""
sanitize=0
werror=OFF
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    --sanitize) sanitize=1; shift ;;
    --werror) werror=ON; shift ;;
    -h|--help)
      echo "Usage: tools/test.sh [--build-dir DIR] [--sanitize] [--werror]"
      echo "Installs missing Debian packages (tools/setup-deps.sh --with-test-tools), configures, builds and runs ctest."
      echo "  --sanitize  build with AddressSanitizer + UndefinedBehaviorSanitizer (default folder build-sanitize)"
      echo "              and run every test but the long training, data-parallel and package ones"
      echo "  --werror    compiler warnings are errors (SEGDISTILL_WERROR; CI passes it)"
      exit 0 ;;
    *) echo "test.sh: unknown option '$1' (valid: --build-dir DIR, --sanitize, --werror, --help)" >&2; exit 2 ;;
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
cmake --build "$build_dir" --parallel "$jobs"
cd "$build_dir"
ctest --output-on-failure --parallel "$jobs" --timeout "$timeout" "${ctest_filter[@]}"
