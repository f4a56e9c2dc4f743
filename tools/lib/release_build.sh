# Sourced by the scripts that train (demo.sh, toy-distillers.sh): installs what is
# missing and builds the Release tree build/ with the command, every plugin
# (segdistill_plugins) and the given targets, so that a first run does not wait for the
# tests to compile.
#   release_build ROOT [TARGET...]
release_build() {
  local root=$1
  shift
  "$root/tools/setup-deps.sh"
  local generator=()
  if command -v ninja >/dev/null 2>&1 && [ ! -f "$root/build/Makefile" ]; then generator=(-G Ninja); fi
  cmake -S "$root" -B "$root/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$root/build" --parallel "$(nproc)" --target segdistill_cli segdistill_plugins "$@"
}
