#!/usr/bin/env bash
# How closely a bf16 run follows the fp32 one: the toy TaT student (configs/toy/student_tat.toml,
# seed 0) trained for ITERATIONS iterations in fp32 and in bf16 from the same toy teacher
# (trained once, fp32), its total loss logged every iteration. Prints the two curves'
# relative difference |bf16 - fp32| / fp32: at each tenth of the run, the mean and the
# largest over the run. With BEFORE=DIR, DIR/segdistill (another build, e.g. the previous
# commit's build/bin) runs the same pair, for the bound that build set.
# Run from the repository root after building (bf16 needs a CPU with AVX512-BF16 or AMX):
#   tools/bench/precision_curve.sh [ITERATIONS]     (default 50)
set -euo pipefail
# --help: the header above.
case "${1:-}" in -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=describe_cpu.sh
source "$root/tools/bench/describe_cpu.sh"
iterations="${1:-50}"
threads="${THREADS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$root"
segdistill="$root/build/bin/segdistill"
"$segdistill" --log-level warn make-toy-dataset --output "$work/toy" --seed 0 >/dev/null
data=(--set "data.train.root=\"$work/toy\"" --set "data.val.root=\"$work/toy\"" --set train.tensorboard=false)
"$segdistill" --threads "$threads" --log-level warn train configs/toy/teacher.toml --work-dir "$work/teacher" "${data[@]}" >/dev/null
describe_cpu "$threads"
echo "toy TaT student, seed 0, $iterations iterations"

# curve BINARY NAME PRECISION: trains and leaves NAME/metrics.jsonl
curve() {
  "$1" --threads "$threads" --log-level warn train configs/toy/student_tat.toml --work-dir "$work/$2" "${data[@]}" \
    --set "train.iterations=$iterations" --set train.log_every=1 --set "train.eval_every=$iterations" \
    --set "train.checkpoint_every=$iterations" --set train.seed=0 --set "train.precision=\"$3\"" \
    --set "teacher.checkpoint=\"$work/teacher/checkpoints/latest\"" >/dev/null
}

compare() {
  /usr/bin/python3 - "$work/$1_fp32/metrics.jsonl" "$work/$1_bf16/metrics.jsonl" "$2" <<'PY'
import json, sys
def losses(path):
    return {r["iter"]: r["loss"] for r in map(json.loads, open(path)) if r.get("type") == "train"}
fp32, bf16 = losses(sys.argv[1]), losses(sys.argv[2])
its = sorted(fp32)
rel = [abs(bf16[i] - fp32[i]) / abs(fp32[i]) for i in its]
marks = sorted({its[max(0, len(its) * k // 10 - 1)] for k in range(1, 11)})
print("\n%s" % sys.argv[3])
print("| iteration | fp32 loss | bf16 loss | relative difference |\n|---|---|---|---|")
for i in marks:
    print("| %d | %.4f | %.4f | %.2e |" % (i, fp32[i], bf16[i], abs(bf16[i] - fp32[i]) / abs(fp32[i])))
print("mean relative difference over the %d iterations: %.2e; largest: %.2e (iteration %d)"
      % (len(its), sum(rel) / len(rel), max(rel), its[rel.index(max(rel))]))
PY
}

if [ -n "${BEFORE:-}" ]; then
  curve "$BEFORE/segdistill" before_fp32 fp32
  curve "$BEFORE/segdistill" before_bf16 bf16
  compare before "before ($BEFORE)"
fi
curve "$segdistill" after_fp32 fp32
curve "$segdistill" after_bf16 bf16
compare after "this build"
