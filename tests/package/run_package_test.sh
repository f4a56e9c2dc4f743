#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, builds out-of-tree plugins against it
# with find_package(segdistill) and uses them with the installed program: the tests'
# good plugin is loaded, and the example distillers (plugins/examples/attention_transfer
# and channel_wise) train the toy student for a few iterations.
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

test -f "$work/prefix/include/segdistill/plugin/plugin_api.hpp" || { echo "FAIL: SDK headers not installed"; exit 1; }
output="$("$work/prefix/bin/segdistill" --plugin-dir "$work/build" plugins)"
echo "$output"
grep -q "segdistill_installed_good.so" <<<"$output" || { echo "FAIL: the out-of-tree plugin was not loaded"; exit 1; }
grep -q "tiny_test_backbone" <<<"$output" || { echo "FAIL: its backbone was not registered"; exit 1; }
# An installed program must not pick up the build tree's plugins.
if grep -q "$build_dir/plugins" <<<"$output"; then echo "FAIL: installed program loaded build-tree plugins"; exit 1; fi

# The example distillers as their README builds them: each its own CMake project.
cmake -S "$source_dir/plugins/examples/attention_transfer" -B "$work/example" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example" >/dev/null
cmake -S "$source_dir/plugins/examples/channel_wise" -B "$work/example_cwd" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example_cwd" >/dev/null
segdistill=("$work/prefix/bin/segdistill" --threads 1 --log-level warn)
schema="$("${segdistill[@]}" --plugin-dir "$work/example" config schema distillers attention_transfer)"
echo "$schema"
grep -q "exponent of |feature|" <<<"$schema" || { echo "FAIL: the example's schema is not listed"; exit 1; }

# A short toy run from the work folder (the toy configs name data/ and work_dirs/ relative
# to it): a teacher for a few iterations, then the student taught through the example.
cd "$work"
"${segdistill[@]}" make-toy-dataset --output data/toy --train 8 --val 4 --size 96 >/dev/null
short=(--set train.iterations=4 --set train.batch_size=4 --set train.workers=1 --set train.log_every=1
       --set train.checkpoint_every=4 --set train.eval_every=4)
"${segdistill[@]}" train "$source_dir/configs/toy/teacher.toml" "${short[@]}"
"${segdistill[@]}" --plugin-dir "$work/example" train "$source_dir/plugins/examples/attention_transfer/student_at.toml" "${short[@]}"
test -f work_dirs/toy/student_at/checkpoints/iter_4.pt || { echo "FAIL: the distilled run saved no checkpoint"; exit 1; }
python3 - work_dirs/toy/student_at/metrics.jsonl <<'PY'
import json, math, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
train = [r for r in rows if r["type"] == "train"]
assert [r["iter"] for r in train] == [1, 2, 3, 4], train
terms = [r["loss_attention_transfer"] for r in train]
assert all(math.isfinite(t) and t > 0 for t in terms), terms
# Terms are logged weighted (weight 50 in student_at.toml); the total is their sum.
assert all(abs(r["loss"] - r["loss_ce"] - r["loss_attention_transfer"]) < 1e-5 * r["loss"] for r in train), train
assert any(r["type"] == "val" for r in rows), "no evaluation logged"
print("attention_transfer terms:", ", ".join(f"{t:.4f}" for t in terms))
PY
# The CWD example names no features: it takes the class scores it declares as its default.
"${segdistill[@]}" --plugin-dir "$work/example_cwd" train "$source_dir/plugins/examples/channel_wise/student_cwd.toml" "${short[@]}"
python3 - work_dirs/toy/student_cwd/metrics.jsonl <<'PY'
import json, math, sys
train = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "train"]
terms = [r["loss_channel_wise"] for r in train]
assert len(terms) == 4 and all(math.isfinite(t) and t > 0 for t in terms), terms
assert all(abs(r["loss"] - r["loss_ce"] - r["loss_channel_wise"]) < 1e-5 * r["loss"] for r in train), train
print("channel_wise terms:", ", ".join(f"{t:.4f}" for t in terms))
PY
echo "package test passed"
