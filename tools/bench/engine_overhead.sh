#!/usr/bin/env bash
# Whether a change to the training engine costs time: toy runs of two builds of
# `segdistill`, in alternating rounds (each round runs every case with the before build,
# then with the after build), on the toy data set:
#   - student: configs/toy/student.toml, 150 iterations, validation every 50;
#   - kd:      configs/toy/student_kd.toml from a toy teacher (40 iterations, trained once
#              by the after build), 150 iterations, validation every 50.
# Prints the CPU (model and flags), each run's wall seconds and val mIoU as it ends, then
# per case min / median / max of the wall seconds of each build and of after / before
# within a round.
#   tools/bench/engine_overhead.sh BEFORE_SEGDISTILL [AFTER_SEGDISTILL] [ROUNDS]
#   (defaults: build/bin/segdistill, 3 rounds; THREADS: threads per run, default 2)
set -euo pipefail
case "${1:-}" in -h | --help | "") awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=describe_cpu.sh
source "$root/tools/bench/describe_cpu.sh"
before="$(realpath "$1")"
after="$(realpath "${2:-$root/build/bin/segdistill}")"
rounds="${3:-3}"
threads="${THREADS:-2}"
[ "$rounds" -ge 3 ] || { echo "engine_overhead.sh: at least 3 rounds" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
describe_cpu "$threads"
cd "$work"
"$after" --log-level warn make-toy-dataset --output data/toy >/dev/null
"$after" --threads "$threads" --log-level warn train "$root/configs/toy/teacher.toml" --work-dir teacher \
  --set train.iterations=40 --set train.eval_every=0 >/dev/null
common=(--set train.iterations=150 --set train.eval_every=50 --set train.checkpoint_every=150)
declare -A times
run() {  # run BUILD_NAME BINARY CASE ROUND
  local config=student.toml extra=()
  [ "$3" = kd ] && config=student_kd.toml && extra=(--set "teacher.checkpoint=\"$work/teacher/checkpoints/latest\"")
  local start end line
  start=$(date +%s.%N)
  line=$("$2" --threads "$threads" --log-level warn train "$root/configs/toy/$config" --work-dir "w_$1_$3_$4" \
    "${common[@]}" "${extra[@]}")
  end=$(date +%s.%N)
  times[$1,$3,$4]=$(echo "$end - $start" | bc)
  echo "round $4 $3 $1: ${times[$1,$3,$4]} s; ${line##*val }"
}
for round in $(seq 1 "$rounds"); do
  for case_name in student kd; do
    run before "$before" "$case_name" "$round"
    run after "$after" "$case_name" "$round"
  done
done
stats() { sort -g | awk '{ v[NR] = $1 } END { printf "%.2f / %.2f / %.2f", v[1], v[int((NR + 1) / 2)], v[NR] }'; }
echo
echo "| case | before s (min / median / max) | after s | after / before, per round |"
echo "|---|---|---|---|"
for case_name in student kd; do
  b=$(for r in $(seq 1 "$rounds"); do echo "${times[before,$case_name,$r]}"; done | stats)
  a=$(for r in $(seq 1 "$rounds"); do echo "${times[after,$case_name,$r]}"; done | stats)
  ratio=$(for r in $(seq 1 "$rounds"); do echo "${times[after,$case_name,$r]} / ${times[before,$case_name,$r]}" | bc -l; done | stats)
  echo "| $case_name | $b | $a | $ratio |"
done
