#!/usr/bin/env bash
# The main job end to end on the embedded toy data set: build, generate the data, train
# a teacher, then every student setting over several seeds -- the student alone, with TaT
# (patch-group + anchor-point), with logit KD and with the attention-transfer example
# plugin --, evaluate them all, print mean +- spread and each seed's mIoU, say plainly
# whether TaT beats the student alone, and draw the curves (mean and band over seeds) and
# a prediction grid (demo_output/curves.png, demo_output/predictions.png).
#   tools/demo.sh [--quick] [--iterations N] [--threads 1|2] [--seeds "0 1 2"]
#     --quick    a smoke version: 40 iterations per model
#     --iterations  iterations per model (default 900)
#     --threads  1 (default): two training processes at a time, one thread each;
#                2: one process at a time with two threads. Results differ only by the
#                order of float sums; both are reported in the README.
#     --seeds    the students' train.seed values (default "0 1 2")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iterations=900
threads=1
seeds=(0 1 2)
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) iterations=40 ;;
    --iterations) iterations="${2:-}"; shift ;;
    --threads) threads="${2:-}"; shift ;;
    --seeds) read -r -a seeds <<< "${2:-}"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (valid: --quick, --iterations N, --threads 1|2, --seeds \"S ...\", --help)" >&2
       exit 2 ;;
  esac
  shift
done
case "$threads" in 1|2) ;; *) echo "demo.sh: --threads must be 1 or 2, got '$threads'" >&2; exit 2 ;; esac
case "$iterations" in ''|*[!0-9]*) echo "demo.sh: --iterations must be a number >= 3, got '$iterations'" >&2; exit 2 ;; esac
[ "$iterations" -ge 3 ] || { echo "demo.sh: --iterations must be >= 3, got $iterations" >&2; exit 2; }
[ ${#seeds[@]} -ge 1 ] || { echo "demo.sh: --seeds needs at least one seed" >&2; exit 2; }

start=$SECONDS
# shellcheck source=lib/release_build.sh
source "$root/tools/lib/release_build.sh"
release_build "$root" segdistill_demo_figures

cd "$root"  # the toy configs name their data and outputs relative to the repository
# Fixed thread counts wherever it runs: float sums in another order change a short toy
# run's numbers, and the demo's should be the same on every machine.
segdistill="$root/build/bin/segdistill"
figures="$root/build/bin/segdistill_demo_figures"
out="$root/demo_output"
mkdir -p "$out"
if [ ! -f data/toy/ImageSets/Segmentation/val.txt ]; then
  "$segdistill" --threads 2 make-toy-dataset --output data/toy --seed 0
fi

# Runs the commands of the array `jobs`, `parallel` at a time, each with its output in a
# log file; stops with the failing command's log if any fails.
run_jobs() {
  local parallel=$1 failed=0 i=0
  for job in "${jobs[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || failed=1; done
    bash -c "$job" > "$out/logs/job_$i.log" 2>&1 || { echo "failed: $job" >> "$out/logs/failed.txt"; exit 1; } &
    i=$((i + 1))
  done
  while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
  if [ "$failed" != 0 ]; then
    echo "demo.sh: a run failed:" >&2
    cat "$out/logs/failed.txt" >&2
    exit 1
  fi
}

# name, config: the student settings, rows of the table in this order.
students=(
  "student configs/toy/student.toml"
  "student+TaT configs/toy/student_tat.toml"
  "student+KD configs/toy/student_kd.toml"
  "student+AT plugins/examples/attention_transfer/student_at.toml"
)
dir_of() { echo "$out/$(echo "$1" | tr '+' '_')"; }

# After the config: --set takes several values and would swallow a config named after it.
schedule=(--set "train.iterations=$iterations" --set "train.eval_every=$(( iterations / 3 ))"
          --set "train.checkpoint_every=$iterations")
# A re-run trains afresh (a finished work dir would otherwise be taken as done).
rm -rf "$out/teacher" "$out"/student* "$out/logs"
mkdir -p "$out/logs"
training_start=$SECONDS
echo "== training the teacher ($iterations iterations, 2 threads)"
"$segdistill" --threads 2 --log-level warn train configs/toy/teacher.toml --work-dir "$out/teacher" "${schedule[@]}" \
  > "$out/logs/teacher.log" 2>&1 ||
  { cat "$out/logs/teacher.log" >&2; exit 1; }

parallel=$(( threads == 1 ? 2 : 1 ))
echo "== training ${#students[@]} student settings x ${#seeds[@]} seeds ($iterations iterations each; $parallel process(es) of $threads thread(s))"
jobs=()
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  teacher=()
  [ "$name" != student ] && teacher=(--set "teacher.checkpoint=\"$out/teacher/checkpoints/latest\"")
  for seed in "${seeds[@]}"; do
    jobs+=("'$segdistill' --threads $threads --log-level warn train '$config' --work-dir '$(dir_of "$name")/seed$seed' ${schedule[*]@Q} --set train.seed=$seed ${teacher[*]@Q}")
  done
done
run_jobs "$parallel"
training_seconds=$(( SECONDS - training_start ))

echo "== evaluating on data/toy val"
# Predictions are kept for the first seed, for the grid.
jobs=("'$segdistill' --threads $threads --log-level warn eval configs/toy/teacher.toml --checkpoint '$out/teacher/checkpoints/latest' --json '$out/teacher/eval.json' --save-pred '$out/teacher/predictions' > '$out/teacher/eval.txt'")
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  for seed in "${seeds[@]}"; do
    run="$(dir_of "$name")/seed$seed"
    predictions=()
    [ "$seed" = "${seeds[0]}" ] && predictions=(--save-pred "'$run/predictions'")
    jobs+=("'$segdistill' --threads $threads --log-level warn eval '$config' --checkpoint '$run/checkpoints/latest' --json '$run/eval.json' ${predictions[*]} > '$run/eval.txt'")
  done
done
run_jobs "$parallel"

rows=(--run "teacher=$out/teacher")
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  dirs=()
  for seed in "${seeds[@]}"; do dirs+=("$(dir_of "$name")/seed$seed"); done
  rows+=(--run "$name=$(IFS=,; echo "${dirs[*]}")")
done
echo
"$figures" table "${rows[@]}" --baseline student --headline student+TaT | tee "$out/table.txt"

curves=()
for ((i = 1; i < ${#rows[@]}; i += 2)); do curves+=("${rows[i]}"); done
"$segdistill" --log-level warn plot "${curves[@]}" --output "$out/curves.png" >/dev/null
"$figures" grid --data data/toy --count 6 --run "teacher=$out/teacher/predictions" \
  --run "student=$(dir_of student)/seed${seeds[0]}/predictions" \
  --run "student+TaT=$(dir_of student+TaT)/seed${seeds[0]}/predictions" \
  --run "student+KD=$(dir_of student+KD)/seed${seeds[0]}/predictions" \
  --run "student+AT=$(dir_of student+AT)/seed${seeds[0]}/predictions" --output "$out/predictions.png" >/dev/null
echo
echo "seeds: ${seeds[*]}; $parallel training process(es) of $threads thread(s); $(nproc) cores"
echo "training: ${training_seconds} s; whole demo: $(( SECONDS - start )) s"
echo "pictures: $out/curves.png (mean and range over seeds), $out/predictions.png (image | label | teacher | students, seed ${seeds[0]})"
echo "table: $out/table.txt; work dirs, per-class tables (eval.txt), JSON reports: $out"
echo "the command: $segdistill (or install it: cmake --install build)"
