#!/usr/bin/env bash
# Debian packages of segdistill, made by cpack from a build tree:
#   segdistill_VERSION_ARCH.deb      the command, libsegdistill, the plugins, the shipped
#                                    configs (/usr/share/segdistill/configs)
#   segdistill-dev_VERSION_ARCH.deb  the SDK headers and the CMake package for out-of-tree
#                                    plugins (find_package(segdistill))
# Install them with: apt install ./segdistill_*.deb ./segdistill-dev_*.deb
#   tools/package.sh [--build-dir DIR] [--output DIR] [--no-build]
#     --build-dir  the build tree to package (default: build; configured and built if needed)
#     --output     where the .deb files go (default: BUILD_DIR/packages)
#     --no-build   package the build tree as it is (it must be built)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/build"
output=""
no_build=0
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build="${2:-}"; shift ;;
    --output) output="${2:-}"; shift ;;
    --no-build) no_build=1 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "package.sh: unknown option '$1' (valid: --build-dir DIR, --output DIR, --no-build, --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$build" ] || { echo "package.sh: --build-dir needs a folder" >&2; exit 2; }
if [ "$no_build" = 1 ] || [ -d "$build" ]; then
  [ -d "$build" ] || { echo "package.sh: no build tree at $build" >&2; exit 1; }
  build="$(cd "$build" && pwd)"
fi
output="${output:-$build/packages}"
mkdir -p "$output"
output="$(cd "$output" && pwd)"
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  command -v "$tool" >/dev/null 2>&1 ||
    { echo "package.sh: $tool not found (tools/setup-deps.sh installs it: cmake, dpkg-dev)" >&2; exit 1; }
done

if [ "$no_build" = 0 ]; then
  "$root/tools/setup-deps.sh"
  generator=()
  if command -v ninja >/dev/null 2>&1 && [ ! -f "$build/Makefile" ]; then generator=(-G Ninja); fi
  [ -f "$build/CMakeCache.txt" ] || cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$build" --parallel "$(nproc)"
fi
[ -f "$build/CPackConfig.cmake" ] ||
  { echo "package.sh: $build is not a configured segdistill build tree (no CPackConfig.cmake)" >&2; exit 1; }
[ -x "$build/bin/segdistill" ] || { echo "package.sh: $build/bin/segdistill is not built (run without --no-build)" >&2; exit 1; }

staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
# cpack stages in its own folder; only the finished .deb files are moved to the output.
(cd "$staging" && cpack --config "$build/CPackConfig.cmake" -B "$staging" > "$staging/cpack.log" 2>&1) ||
  { cat "$staging/cpack.log" >&2; echo "package.sh: cpack failed" >&2; exit 1; }
shopt -s nullglob
debs=("$staging"/*.deb)
[ ${#debs[@]} -eq 2 ] || { cat "$staging/cpack.log" >&2; echo "package.sh: expected 2 packages, cpack made ${#debs[@]}" >&2; exit 1; }
for deb in "${debs[@]}"; do
  mv -f "$deb" "$output/"
  echo "$output/$(basename "$deb")"
done
