#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds an out-of-tree plugin against
# it with find_package(segdistill), and loads that plugin with the installed program.
#   run_package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build_dir="$1"
source_dir="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
cmake -S "$source_dir/tests/package" -B "$work/build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" -DPLUGIN_SOURCE_DIR="$source_dir/tests/plugins" >/dev/null
cmake --build "$work/build" >/dev/null

test -f "$work/prefix/include/segdistill/plugin_api.hpp" || { echo "FAIL: SDK headers not installed"; exit 1; }
output="$("$work/prefix/bin/segdistill" --plugin-dir "$work/build" plugins)"
echo "$output"
grep -q "segdistill_installed_good.so" <<<"$output" || { echo "FAIL: the out-of-tree plugin was not loaded"; exit 1; }
grep -q "tiny_test_backbone" <<<"$output" || { echo "FAIL: its backbone was not registered"; exit 1; }
# An installed program must not pick up the build tree's plugins.
if grep -q "$build_dir/plugins" <<<"$output"; then echo "FAIL: installed program loaded build-tree plugins"; exit 1; fi
echo "package test passed"
