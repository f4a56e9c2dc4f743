#!/usr/bin/env bash
# Installs what is missing, configures, builds and runs every test.
#   tools/test.sh [--build-dir DIR]      (default: build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="$root/build"
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir="$(realpath -m "$2")"; shift 2 ;;
    -h|--help) echo "Usage: tools/test.sh [--build-dir DIR]"; echo "Installs missing Debian packages (tools/setup-deps.sh --with-test-tools), configures, builds and runs ctest."; exit 0 ;;
    *) echo "test.sh: unknown option '$1' (valid: --build-dir DIR, --help)" >&2; exit 2 ;;
  esac
done

"$root/tools/setup-deps.sh" --with-test-tools

generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build_dir/Makefile" ]; then generator=(-G Ninja); fi
jobs="$(nproc)"

cmake -S "$root" -B "$build_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build_dir" --parallel "$jobs"
cd "$build_dir"
ctest --output-on-failure --parallel "$jobs" --timeout 600
