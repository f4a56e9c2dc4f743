#!/usr/bin/env bash
# Accuracy of mixed precision on the toy task: the toy teacher and the toy TaT student
# (configs/toy) trained in fp32 and in bf16 (train.precision, eval.precision alike), each
# student over several seeds; prints each run's val mIoU and the mean per precision.
# Run from the repository root after building (needs a CPU with AVX512-BF16 or AMX):
#   tools/bench/precision_accuracy.sh [ITERATIONS] [SEEDS]    (defaults: 600, "0 1 2")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
iterations="${1:-600}"
read -r -a seeds <<< "${2:-0 1 2}"
threads="${THREADS:-2}"
segdistill="$root/build/bin/segdistill"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
"$segdistill" --log-level warn make-toy-dataset --output "$work/toy" --seed 0 >/dev/null
common=(--set "data.train.root=\"$work/toy\"" --set "data.val.root=\"$work/toy\"" --set "train.iterations=$iterations"
        --set "train.eval_every=$iterations" --set "train.checkpoint_every=$iterations" --set train.tensorboard=false)
miou() { /usr/bin/python3 -c 'import json, sys; print("%.2f" % (100 * json.load(open(sys.argv[1]))["mIoU"]))' "$1"; }

printf "%-10s %-8s %-6s %s\n" run precision seed "val mIoU"
for precision in fp32 bf16; do
  p=(--set "train.precision=\"$precision\"" --set "eval.precision=\"$precision\"")
  "$segdistill" --threads "$threads" --log-level warn train configs/toy/teacher.toml --work-dir "$work/teacher_$precision" \
    "${common[@]}" "${p[@]}" >/dev/null
  "$segdistill" --threads "$threads" --log-level warn eval configs/toy/teacher.toml \
    --checkpoint "$work/teacher_$precision/checkpoints/latest" "${common[@]}" "${p[@]}" --json "$work/teacher_$precision.json" >/dev/null
  printf "%-10s %-8s %-6s %s\n" teacher "$precision" - "$(miou "$work/teacher_$precision.json")"
  for seed in "${seeds[@]}"; do
    run="$work/student_${precision}_$seed"
    "$segdistill" --threads "$threads" --log-level warn train configs/toy/student_tat.toml --work-dir "$run" "${common[@]}" "${p[@]}" \
      --set "train.seed=$seed" --set "teacher.checkpoint=\"$work/teacher_$precision/checkpoints/latest\"" >/dev/null
    "$segdistill" --threads "$threads" --log-level warn eval configs/toy/student_tat.toml --checkpoint "$run/checkpoints/latest" \
      "${common[@]}" "${p[@]}" --json "$run.json" >/dev/null
    printf "%-10s %-8s %-6s %s\n" student+TaT "$precision" "$seed" "$(miou "$run.json")" | tee -a "$work/students.txt"
  done
done
awk '{ sum[$2] += $4; n[$2]++ } END { for (p in sum) printf "student+TaT mean %s: %.2f\n", p, sum[p] / n[p] }' "$work/students.txt" | sort
