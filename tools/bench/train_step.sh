#!/usr/bin/env bash
# One VOC TaT training step (ResNet-101 teacher -> ResNet-18 or MobileNetV2 student, the
# published distiller settings) at batch 4, crop 513, 2 threads, steady state, in one run:
#   - the published loop in PyTorch (train_step_python.py: teacher in train mode with
#     autograd, per-sample distiller loop, fp32; data loading left out), and
#   - `segdistill train` of configs/voc/tat_r101_{r18,mbv2}.toml in fp32 and bf16 (its
#     loader running beside the step in worker threads, toy JPEGs of VOC's size, a teacher
#     with random weights).
# Prints seconds per step, images/s, peak RSS and the ratios to the Python step.
# Run from the repository root after building:
#   tools/bench/train_step.sh [ITERATIONS] [STUDENTS] [PRECISIONS]
#   (defaults: 6 iterations, the first 2 left out; "r18 mbv2"; "fp32 bf16")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
iterations="${1:-6}"
students="${2:-r18 mbv2}"
precisions="${3:-fp32 bf16}"
threads="${THREADS:-2}"
warmup=2
[ "$iterations" -gt "$warmup" ] || { echo "train_step.sh: ITERATIONS must be > $warmup" >&2; exit 2; }
bin="$root/build/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin/segdistill" --log-level warn make-toy-dataset --output "$work/voc_sized" --train 32 --val 1 --size 500x375 >/dev/null
"$bin/bench_random_checkpoint" "$root/configs/voc/deeplabv3plus_r101_teacher.toml" "$work/teacher.pt" >/dev/null
cd "$root"
pipeline='[{type="random_flip"},{type="random_scale_crop",base_size=513,crop_size=[513],scale_range=[0.5,2.0]},{type="gaussian_blur"},{type="normalize"}]'

# measure NAME COMMAND...: runs COMMAND, records its peak RSS (MB) in $work/NAME.rss.
measure() {
  local name=$1; shift
  /usr/bin/python3 - "$work/$name.rss" "$@" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
open(sys.argv[1], "w").write("%.0f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0))
PY
}

printf "%-26s %10s %8s %10s %8s %8s\n" "step" "s/step" "img/s" "RSS MB" "speed" "RSS"
for student in $students; do
  case "$student" in
    r18) python_student=resnet18 ;;
    mbv2) python_student=mobilenetv2 ;;
    *) echo "train_step.sh: unknown student '$student' (valid: r18, mbv2)" >&2; exit 2 ;;
  esac
  python_json="$(/usr/bin/python3 "$root/tools/bench/train_step_python.py" --student "$python_student" --batch 4 \
    --crop 513 --iterations $((iterations - warmup)) --warmup $warmup --threads "$threads")"
  read -r python_step python_rss < <(/usr/bin/python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(r["seconds_per_step"], r["peak_rss_mb"])' "$python_json")
  printf "%-26s %10.2f %8.2f %10.0f %8s %8s\n" "python published $student" "$python_step" "$(awk "BEGIN { print 4 / $python_step }")" "$python_rss" "1.00x" "1.00x"
  for precision in $precisions; do
    name="segdistill_${student}_$precision"
    measure "$name" "$bin/segdistill" --log-level warn --threads "$threads" train "configs/voc/tat_r101_$student.toml" \
      --work-dir "$work/$name" --set "data.train={type=\"voc\", root=\"$work/voc_sized\", split=\"train\"}" \
      --set "data.train.pipeline=$pipeline" --set "data.val.root=\"$work/voc_sized\"" \
      --set "teacher.checkpoint=\"$work/teacher.pt\"" --set 'model.backbone.pretrained=""' --set "train.iterations=$iterations" --set train.batch_size=4 \
      --set train.workers=2 --set train.log_every=1 --set train.eval_every=0 --set train.checkpoint_every=100000 \
      --set train.tensorboard=false --set "train.precision=\"$precision\""
    step="$(/usr/bin/python3 - "$work/$name/metrics.jsonl" "$warmup" "$iterations" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if r.get("type") == "train"]
start, total = int(sys.argv[2]), int(sys.argv[3])
# images_per_second is cumulative from the start: elapsed = iter * batch / rate.
elapsed = {r["iter"]: r["iter"] * 4 / r["images_per_second"] for r in records}
print("%.4f" % ((elapsed[total] - elapsed[start]) / (total - start)))
PY
)"
    rss="$(cat "$work/$name.rss")"
    printf "%-26s %10.2f %8.2f %10.0f %7.2fx %7.2fx\n" "segdistill $student $precision" "$step" "$(awk "BEGIN { print 4 / $step }")" \
      "$rss" "$(awk "BEGIN { print $python_step / $step }")" "$(awk "BEGIN { print $rss / $python_rss }")"
  done
done
