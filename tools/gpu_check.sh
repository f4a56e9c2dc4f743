#!/usr/bin/env bash
# Checks segdistill's CUDA paths on a machine with an NVIDIA GPU and records a throughput
# table. Needs a CUDA LibTorch (the official distribution, or the one inside a CUDA PyTorch)
# and the other build dependencies (tools/setup-deps.sh on Debian/Ubuntu).
#   1. builds against the CUDA LibTorch (tests off: they run on the CPU in CI);
#   2. trains the toy teacher and a toy TaT student on the GPU: each loss must fall;
#   3. evaluates the teacher's checkpoint on the GPU and on the CPU: mIoU must agree
#      within 0.5 points (cuDNN and the CPU sum in different orders), and predicts on the GPU;
#   4. resumes a GPU run from its checkpoint;
#   5. times training steps of the published VOC configs at batch 16, crop 513 (random
#      weights, toy JPEGs of VOC's size; steady state, the first iterations left out).
# Writes OUTPUT/gpu_check.md (the table and each check's result) and the logs beside it;
# exits non-zero if a check fails.
#   tools/gpu_check.sh [--libtorch DIR] [--build-dir DIR] [--output DIR] [--iterations N]
#                      [--toy-iterations N] [--skip-build] [--jobs N] [--cmake-arg ARG]... [--device DEV]
#     --device  cuda (default) or cuda:N; cpu runs the same checks on the CPU (a dry run of
#               this script on a machine without a GPU, with the build tree given by --build-dir)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
libtorch="${LIBTORCH:-}"
build="$root/build-cuda"
out="$root/gpu_check_output"
iterations=30
toy_iterations=300
skip_build=0
jobs="$(nproc)"
cmake_args=()
device=cuda
usage() { sed -n '2,18p' "$0"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --libtorch) libtorch="${2:-}"; shift ;;
    --build-dir) build="${2:-}"; shift ;;
    --output) out="${2:-}"; shift ;;
    --iterations) iterations="${2:-}"; shift ;;
    --toy-iterations) toy_iterations="${2:-}"; shift ;;
    --jobs) jobs="${2:-}"; shift ;;
    --cmake-arg) cmake_args+=("${2:-}"); shift ;;
    --skip-build) skip_build=1 ;;
    --device) device="${2:-}"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check.sh: unknown option '$1' (valid: --libtorch DIR, --build-dir DIR, --output DIR, --iterations N, --toy-iterations N, --jobs N, --cmake-arg ARG, --skip-build, --device DEV, --help)" >&2
       exit 2 ;;
  esac
  shift
done
case "$toy_iterations" in ''|*[!0-9]*) echo "gpu_check.sh: --toy-iterations must be a number >= 20, got '$toy_iterations'" >&2; exit 2 ;; esac
[ "$toy_iterations" -ge 20 ] || { echo "gpu_check.sh: --toy-iterations must be >= 20, got $toy_iterations" >&2; exit 2; }
case "$iterations" in ''|*[!0-9]*) echo "gpu_check.sh: --iterations must be a number >= 10, got '$iterations'" >&2; exit 2 ;; esac
[ "$iterations" -ge 10 ] || { echo "gpu_check.sh: --iterations must be >= 10, got $iterations" >&2; exit 2; }
gpu=1
[ "$device" = cpu ] && gpu=0
if [ "$gpu" = 1 ]; then
  command -v nvidia-smi >/dev/null 2>&1 || { echo "gpu_check.sh: nvidia-smi not found: this machine has no NVIDIA driver" >&2; exit 1; }
fi
python=python3
command -v "$python" >/dev/null 2>&1 || { echo "gpu_check.sh: python3 not found (it reads metrics.jsonl and eval reports)" >&2; exit 1; }

mkdir -p "$out/logs"
report="$out/gpu_check.md"
failures=0
{
  echo "# segdistill GPU check"
  echo
  if [ "$gpu" = 1 ]; then
    echo "- GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  else
    echo "- device: cpu (a dry run of the checks)"
  fi
  echo "- CPU cores: $(nproc)"
} > "$report"
pass() { echo "- PASS: $*" | tee -a "$report"; }
fail() { echo "- FAIL: $*" | tee -a "$report"; failures=$((failures + 1)); }

if [ "$skip_build" = 0 ]; then
  if [ -z "$libtorch" ]; then
    libtorch="$("$python" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)"
  fi
  [ -n "$libtorch" ] || { echo "gpu_check.sh: no LibTorch: pass --libtorch DIR (the official CUDA distribution) or set LIBTORCH" >&2; exit 1; }
  echo "== configuring against $libtorch"
  generator=()
  if command -v ninja >/dev/null 2>&1 && [ ! -f "$build/Makefile" ]; then generator=(-G Ninja); fi
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DSEGDISTILL_BUILD_TESTS=OFF \
    "-DCMAKE_PREFIX_PATH=$libtorch${CMAKE_PREFIX_PATH:+;$CMAKE_PREFIX_PATH}" "${cmake_args[@]}" > "$out/logs/configure.log" 2>&1 ||
    { tail -40 "$out/logs/configure.log" >&2; echo "gpu_check.sh: configuring failed (log: $out/logs/configure.log)" >&2; exit 1; }
  echo "== building ($jobs jobs)"
  cmake --build "$build" --parallel "$jobs" --target segdistill_cli segdistill_plugins bench_random_checkpoint > "$out/logs/build.log" 2>&1 ||
    { grep -E "error|Error" "$out/logs/build.log" | head -60 >&2; echo "gpu_check.sh: building failed (log: $out/logs/build.log)" >&2; exit 1; }
  echo "- LibTorch: $libtorch" >> "$report"
fi
segdistill="$build/bin/segdistill"
[ -x "$segdistill" ] || { echo "gpu_check.sh: $segdistill not built (run without --skip-build)" >&2; exit 1; }
echo >> "$report"
echo "## Checks" >> "$report"
echo >> "$report"

# first_last FILE KEY: the first and last value of KEY among metrics.jsonl's train records.
first_last() {
  "$python" - "$1" "$2" <<'PY'
import json, sys
values = [r[sys.argv[2]] for r in map(json.loads, open(sys.argv[1])) if r.get("type") == "train" and sys.argv[2] in r]
print(values[0], values[-1]) if values else print("nan nan")
PY
}
# falls FILE KEY WHAT: passes when KEY's last logged value is below its first.
falls() {
  read -r first last <<< "$(first_last "$1" "$2")"
  if "$python" -c "import sys; sys.exit(0 if float('$last') < float('$first') else 1)"; then
    pass "$3: $2 fell from $first to $last"
  else
    fail "$3: $2 did not fall ($first -> $last)"
  fi
}
miou() { "$python" -c "import json, sys; print(json.load(open(sys.argv[1]))['mIoU'])" "$1"; }

cd "$root"  # the toy configs name their data relative to the repository
data="$out/data/toy"
"$segdistill" --log-level warn make-toy-dataset --output "$data" --seed 0 > /dev/null
# TensorBoard files are checked on their own (last): an official LibTorch exports the
# symbols of its own protobuf beside the one segdistill links.
toy=(--set "data.train.root=\"$data\"" --set "data.val.root=\"$data\"" --set "train.iterations=$toy_iterations"
     --set "train.eval_every=$toy_iterations" --set "train.checkpoint_every=$toy_iterations" --set train.tensorboard=false)

echo "== toy teacher on the GPU"
if "$segdistill" --log-level warn train configs/toy/teacher.toml --work-dir "$out/teacher" --device "$device" \
     "${toy[@]}" > "$out/logs/teacher.log" 2>&1; then
  falls "$out/teacher/metrics.jsonl" loss "toy teacher, --device $device"
else
  fail "toy teacher training on the GPU exited non-zero (log: logs/teacher.log)"
fi

echo "== the teacher's checkpoint on the GPU and the CPU"
teacher="$out/teacher/checkpoints/latest"
if "$segdistill" --log-level warn eval configs/toy/teacher.toml --checkpoint "$teacher" --device "$device" "${toy[@]}" \
     --json "$out/eval_cuda.json" --save-pred "$out/pred_cuda" > "$out/logs/eval_cuda.log" 2>&1 &&
   "$segdistill" --log-level warn eval configs/toy/teacher.toml --checkpoint "$teacher" --device cpu "${toy[@]}" \
     --json "$out/eval_cpu.json" > "$out/logs/eval_cpu.log" 2>&1; then
  gpu="$(miou "$out/eval_cuda.json")"; cpu="$(miou "$out/eval_cpu.json")"
  if "$python" -c "import sys; sys.exit(0 if abs($gpu - $cpu) <= 0.5 else 1)"; then
    pass "eval: mIoU $gpu on the GPU, $cpu on the CPU"
  else
    fail "eval: mIoU $gpu on the GPU but $cpu on the CPU"
  fi
else
  fail "eval exited non-zero (logs: logs/eval_cuda.log, logs/eval_cpu.log)"
fi
image="$(find "$data/JPEGImages" -name '*.jpg' | sort | head -1)"
if "$segdistill" --log-level warn predict configs/toy/teacher.toml --checkpoint "$teacher" --device "$device" \
     --input "$image" --output "$out/predict" > "$out/logs/predict.log" 2>&1 &&
   [ -n "$(find "$out/predict" -name '*.png' | head -1)" ]; then
  pass "predict on the GPU wrote $(find "$out/predict" -name '*.png' | wc -l) picture(s)"
else
  fail "predict on the GPU (log: logs/predict.log)"
fi

echo "== toy TaT student on the GPU"
if "$segdistill" --log-level warn train configs/toy/student_tat.toml --work-dir "$out/student_tat" --device "$device" \
     "${toy[@]}" --set "teacher.checkpoint=\"$teacher\"" > "$out/logs/student_tat.log" 2>&1; then
  falls "$out/student_tat/metrics.jsonl" loss "toy TaT student, --device $device"
  falls "$out/student_tat/metrics.jsonl" loss_tat_patch_group "toy TaT student, --device $device"
else
  fail "toy TaT student training on the GPU exited non-zero (log: logs/student_tat.log)"
fi

echo "== resuming a GPU run"
short=(--set train.iterations=40 --set train.checkpoint_every=20 --set train.eval_every=0)
if "$segdistill" --log-level warn train configs/toy/student.toml --work-dir "$out/resume" --device "$device" "${toy[@]}" \
     "${short[@]}" --set train.iterations=20 > "$out/logs/resume_first.log" 2>&1 &&
   "$segdistill" --log-level warn train configs/toy/student.toml --work-dir "$out/resume" --device "$device" "${toy[@]}" \
     "${short[@]}" --resume --resume-changed > "$out/logs/resume_second.log" 2>&1 &&
   [ "$(first_last "$out/resume/metrics.jsonl" iter | cut -d' ' -f2)" = 40 ]; then
  pass "a GPU run stopped at iteration 20 resumed to 40"
else
  fail "resuming a GPU run (logs: logs/resume_first.log, logs/resume_second.log)"
fi

stop_sampler() { [ -z "$sampler" ] || { kill "$sampler" 2>/dev/null || true; wait "$sampler" 2>/dev/null || true; }; }
echo "== TensorBoard event files from a GPU run"
if "$segdistill" --log-level warn train configs/toy/student.toml --work-dir "$out/tensorboard" --device "$device" "${toy[@]}" \
     --set train.iterations=20 --set train.eval_every=20 --set train.checkpoint_every=20 --set train.tensorboard=true \
     > "$out/logs/tensorboard.log" 2>&1 && [ -s "$(find "$out/tensorboard/tensorboard" -name 'events.out.tfevents.*' | head -1)" ]; then
  pass "TensorBoard event file written ($(find "$out/tensorboard/tensorboard" -name 'events.out.tfevents.*' -printf '%s') bytes)"
else
  fail "TensorBoard event file from a GPU run (log: logs/tensorboard.log)"
fi

echo "== training throughput of the published VOC configs"
voc="$out/data/voc_sized"
"$segdistill" --log-level warn make-toy-dataset --output "$voc" --train 64 --val 1 --size 500x375 > /dev/null
"$build/bin/bench_random_checkpoint" configs/voc/deeplabv3plus_r101_teacher.toml "$out/teacher_r101.pt" > /dev/null
workers=$(( $(nproc) < 16 ? $(nproc) : 16 ))
pipeline='[{type="random_flip"},{type="random_scale_crop",base_size=513,crop_size=[513],scale_range=[0.5,2.0]},{type="gaussian_blur"},{type="normalize"}]'
{
  echo
  echo "## Training throughput (batch 16, crop 513, iterations $((iterations / 3 + 1))-$iterations)"
  echo
  echo "| config and precision | images/s | peak GPU memory |"
  echo "|---|---|---|"
} >> "$report"
# config and train.precision (fp16 and bf16 on the GPU only).
runs=("deeplabv3plus_r18 fp32" "tat_r101_r18 fp32" "deeplabv3plus_mbv2 fp32" "tat_r101_mbv2 fp32"
      "deeplabv3plus_r101_teacher fp32")
[ "$gpu" = 1 ] && runs+=("tat_r101_r18 bf16" "tat_r101_r18 fp16" "tat_r101_mbv2 bf16" "tat_r101_mbv2 fp16")
for entry in "${runs[@]}"; do
  read -r config_name precision <<< "$entry"
  config="configs/voc/$config_name.toml"
  name="${config_name}_$precision"
  teacher_set=()
  grep -q '^\[teacher\]' "$config" && teacher_set=(--set "teacher.checkpoint=\"$out/teacher_r101.pt\"")
  sampler=""
  : > "$out/logs/memory_$name.txt"
  if [ "$gpu" = 1 ]; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 > "$out/logs/memory_$name.txt" &
    sampler=$!
  fi
  if "$segdistill" --log-level warn train "$config" --work-dir "$out/speed_$name" --device "$device" \
       --set "data.train={type=\"voc\", root=\"$voc\", split=\"train\"}" --set "data.train.pipeline=$pipeline" \
       --set "data.val.root=\"$voc\"" --set 'model.backbone.pretrained=""' "${teacher_set[@]}" --set "train.iterations=$iterations" --set train.log_every=1 \
       --set train.eval_every=0 --set train.checkpoint_every=100000 --set train.tensorboard=false \
       --set train.batch_size=16 --set "train.workers=$workers" --set "train.precision=\"$precision\"" \
       > "$out/logs/speed_$name.log" 2>&1; then
    stop_sampler
    rate="$("$python" - "$out/speed_$name/metrics.jsonl" "$iterations" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if r.get("type") == "train"]
total = int(sys.argv[2]); start = total // 3
# images_per_second is cumulative since the start: elapsed = iter * batch / rate.
batch = 16
elapsed = {r["iter"]: r["iter"] * batch / r["images_per_second"] for r in records if r["images_per_second"] > 0}
print("%.1f" % ((total - start) * batch / (elapsed[total] - elapsed[start])))
PY
)"
    memory="$(sort -n "$out/logs/memory_$name.txt" | tail -1)"
    echo "| $name | $rate | ${memory:-n/a} MiB |" >> "$report"
    echo "   $name: $rate images/s"
  else
    stop_sampler
    fail "timing $name (log: logs/speed_$name.log)"
  fi
done

echo
cat "$report"
[ "$failures" = 0 ] || { echo "gpu_check.sh: $failures check(s) failed" >&2; exit 1; }
