#!/usr/bin/env bash
# One VOC TaT training step (ResNet-101 teacher -> ResNet-18 or MobileNetV2 student, the
# published distiller settings) at batch 4, crop 513, 2 threads, steady state, in
# alternating rounds (each round runs every variant once, in turn):
#   - the published step in PyTorch (train_step_python.py: teacher in train mode with
#     autograd, decoder dropouts active, per-sample distiller loop, fp32; data loading
#     left out), and
#   - `segdistill train` of configs/voc/tat_r101_{r18,mbv2}.toml in each precision (its
#     loader running beside the step in worker threads, toy JPEGs of VOC's size, a teacher
#     with random weights; s/step over the iterations after the first 2).
# Prints the CPU (model and flags), each run as it ends, then per student a table of
# min / median / max over the rounds: s/step, peak RSS, and speed and RSS against the
# Python step of the same round.
# Run from the repository root after building:
#   cmake --build build --target bench_random_checkpoint segdistill_cli segdistill_plugins
#   tools/bench/train_step.sh [ROUNDS] [STUDENTS] [PRECISIONS]
#   (defaults: 3 rounds; "r18 mbv2"; "fp32 bf16")
# Environment: ITERATIONS (segdistill iterations per run, default 6), THREADS (2);
#   BEFORE=DIR: also time DIR/segdistill (another build, e.g. the previous commit's
#   build/bin) in each round, as "before";
#   PYTHON_BEFORE=FILE: also time another train_step_python.py (e.g. the previous
#   commit's, beside its own tests/python) for the ResNet-18 student.
set -euo pipefail
# --help: the header above.
case "${1:-}" in -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=voc_step_common.sh
source "$root/tools/bench/voc_step_common.sh"
rounds="${1:-3}"
students="${2:-r18 mbv2}"
precisions="${3:-fp32 bf16}"
iterations="${ITERATIONS:-6}"
threads="${THREADS:-2}"
warmup=2
[ "$iterations" -gt "$warmup" ] || { echo "train_step.sh: ITERATIONS must be > $warmup" >&2; exit 2; }
check_students train_step.sh "$students"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prepare_voc_step "$work"
cd "$root"
results="$work/results.jsonl"

describe_cpu "$threads"
echo "rounds: $rounds; segdistill: $iterations iterations per run, the first $warmup left out"

# record ROUND STUDENT VARIANT STEP RSS_MB
record() {
  printf '{"round": %s, "student": "%s", "variant": "%s", "step": %s, "rss": %s}\n' "$@" >>"$results"
  printf "round %s  %-5s %-24s %8.2f s/step %8.0f MB\n" "$@"
}

# python_step ROUND STUDENT VARIANT SCRIPT
python_step() {
  local python_student=resnet18
  [ "$2" = mbv2 ] && python_student=mobilenetv2
  local json
  json="$(/usr/bin/python3 "$4" --student "$python_student" --batch 4 --crop 513 --iterations 3 --warmup 2 --threads "$threads")"
  read -r step rss < <(/usr/bin/python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(r["seconds_per_step"], r["peak_rss_mb"])' "$json")
  record "$1" "$2" "$3" "$step" "$rss"
}

# segdistill_step ROUND STUDENT VARIANT BINARY PRECISION
segdistill_step() {
  local name="run_$2_$3_$1" rss step
  voc_step_overrides "$work" "$5" "$iterations"
  rss="$(/usr/bin/python3 - "$4" --log-level warn --threads "$threads" train "configs/voc/tat_r101_$2.toml" \
    --work-dir "$work/$name" "${VOC_STEP_SETS[@]}" <<'PY'
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
print("%.0f" % (resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0))
PY
)"
  step="$(/usr/bin/python3 - "$work/$name/metrics.jsonl" "$warmup" "$iterations" <<'PY'
import json, sys
records = [r for r in map(json.loads, open(sys.argv[1])) if r.get("type") == "train"]
start, total = int(sys.argv[2]), int(sys.argv[3])
# images_per_second is cumulative from the start: elapsed = iter * batch / rate.
elapsed = {r["iter"]: r["iter"] * 4 / r["images_per_second"] for r in records}
print("%.4f" % ((elapsed[total] - elapsed[start]) / (total - start)))
PY
)"
  rm -rf "${work:?}/$name"
  record "$1" "$2" "$3" "$step" "$rss"
}

for round in $(seq 1 "$rounds"); do
  for student in $students; do
    python_step "$round" "$student" "python published" "$root/tools/bench/train_step_python.py"
    if [ -n "${PYTHON_BEFORE:-}" ] && [ "$student" = r18 ]; then
      python_step "$round" "$student" "python, before" "$PYTHON_BEFORE"
    fi
    for precision in $precisions; do
      segdistill_step "$round" "$student" "segdistill $precision" "$root/build/bin/segdistill" "$precision"
      if [ -n "${BEFORE:-}" ]; then
        segdistill_step "$round" "$student" "segdistill $precision, before" "$BEFORE/segdistill" "$precision"
      fi
    done
  done
done

/usr/bin/python3 - "$results" <<'PY'
import collections, json, statistics, sys
runs = [json.loads(line) for line in open(sys.argv[1])]
by = collections.defaultdict(dict)
for r in runs:
    by[(r["student"], r["variant"])][r["round"]] = r
def spread(values, fmt):
    values = sorted(values)
    return "%s / %s / %s" % (fmt % values[0], fmt % statistics.median(values), fmt % values[-1])
for student in dict.fromkeys(r["student"] for r in runs):
    print("\n%s (min / median / max over %d rounds; ratios per round against that round's Python step)\n" %
          (student, len({r["round"] for r in runs})))
    print("| step | s/step | peak RSS MB | speed | RSS |\n|---|---|---|---|---|")
    python = by[(student, "python published")]
    for (s, variant), rounds in by.items():
        if s != student:
            continue
        steps = [r["step"] for r in rounds.values()]
        rss = [r["rss"] for r in rounds.values()]
        speed = [python[k]["step"] / r["step"] for k, r in rounds.items()]
        mem = [r["rss"] / python[k]["rss"] for k, r in rounds.items()]
        print("| %s | %s | %s | %s | %s |" % (variant, spread(steps, "%.2f"), spread(rss, "%.0f"), spread(speed, "%.2fx"),
                                              spread(mem, "%.2fx")))
PY
