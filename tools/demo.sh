#!/usr/bin/env bash
# The main job end to end, as an experiment: build, generate the demo's toy task
# (textured shapes: 11 classes, each a shape AND a texture), train a teacher, then the
# student alone, with TaT (patch-group + anchor-point) and with logit KD on the same four
# seeds; check that every run converged;
# compare each distiller with the student alone seed by seed (mean difference, 95%
# t-interval, verdict); time each network's evaluation alone; draw the curves and a
# prediction grid (demo_output/curves.png, demo_output/predictions.png).
#   tools/demo.sh [--quick] [--threads 1|2] [--seeds "0 1 2 3"] [--iterations N] [--teacher-iterations N]
#                 [--with-at] [--output DIR]
#     --quick       a smoke run (under a minute) that only shows that everything runs: 16
#                   iterations per student, 48 for the teacher, 2 validations each
#     --threads     1 (default): two training processes at a time, one thread each;
#                   2: one process at a time with two threads
#     --seeds       the students' train.seed values (default "0 1 2 3"; --quick: "0 1 2")
#     --iterations  iterations per student (default 1200; a multiple of 12: validated every 1/12)
#     --teacher-iterations  iterations of the teacher (default 2000; a multiple of 8: every 1/8)
#     --with-at     also the attention-transfer example plugin (a row more, about 2 minutes)
#     --output      where the runs, table and pictures go (default demo_output)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iterations=1200
teacher_iterations=2000
student_validations=12
teacher_validations=8
quick=0
quick_overrides=""
threads=1
seeds=()
with_at=0
out="$root/demo_output"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 iterations=16 teacher_iterations=48 student_validations=2 teacher_validations=2
      quick_overrides="--set train.precise_bn_batches=2" ;;
    --iterations) iterations="${2:-}"; shift ;;
    --teacher-iterations) teacher_iterations="${2:-}"; shift ;;
    --threads) threads="${2:-}"; shift ;;
    --seeds) read -r -a seeds <<< "${2:-}"
      [ ${#seeds[@]} -ge 1 ] || { echo "demo.sh: --seeds needs at least one seed, for example \"0 1 2 3\"" >&2; exit 2; }
      shift ;;
    --with-at) with_at=1 ;;
    --output) out="$(realpath -m "${2:-demo_output}")"; shift ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "demo.sh: unknown option '$1' (valid: --quick, --threads 1|2, --seeds \"S ...\", --iterations N," \
            "--teacher-iterations N, --with-at, --output DIR, --help)" >&2
       exit 2 ;;
  esac
  shift
done
case "$threads" in 1|2) ;; *) echo "demo.sh: --threads must be 1 or 2, got '$threads'" >&2; exit 2 ;; esac
for option in "--iterations=$iterations=$student_validations" "--teacher-iterations=$teacher_iterations=$teacher_validations"; do
  IFS== read -r name value count <<< "$option"
  case "$value" in ''|*[!0-9]*) echo "demo.sh: $name must be a multiple of $count, got '$value'" >&2; exit 2 ;; esac
  [ "$value" -ge "$count" ] && [ $(( value % count )) = 0 ] ||
    { echo "demo.sh: $name must be a multiple of $count ($count validations, evenly spaced), got $value" >&2; exit 2; }
done
if [ ${#seeds[@]} = 0 ]; then
  if [ "$quick" = 1 ]; then seeds=(0 1 2); else seeds=(0 1 2 3); fi
fi
case "$out" in *[\'\|]*) echo "demo.sh: --output '$out': a folder whose path has no ' or | (the runs' commands quote it)" >&2; exit 2 ;; esac
for seed in "${seeds[@]}"; do
  case "$seed" in *[!0-9]*) echo "demo.sh: --seeds takes numbers, got '$seed'" >&2; exit 2 ;; esac
done

start=$SECONDS
# shellcheck source=lib/release_build.sh
source "$root/tools/lib/release_build.sh"
release_build "$root" segdistill_demo_figures

cd "$root"  # the demo's configs name their data relative to the repository
segdistill="$root/build/bin/segdistill"
figures="$root/build/bin/segdistill_demo_figures"
data=data/toy_textured
if [ ! -f "$data/ImageSets/Segmentation/val.txt" ]; then
  "$segdistill" --threads 2 --log-level warn make-toy-dataset --variant textured-shapes --output "$data" --train 480 --val 240 --seed 0
fi

# name, config: the student settings, rows of the table in this order.
students=(
  "student configs/demo/student.toml"
  "student+TaT configs/demo/student_tat.toml"
  "student+KD configs/demo/student_kd.toml"
)
[ "$with_at" = 0 ] || students+=("student+AT configs/demo/student_at.toml")
dir_of() { echo "$out/$(echo "$1" | tr '+' '_')"; }

# A re-run trains afresh (a finished work dir would otherwise be taken as done); only
# what this script writes is removed.
rm -rf "$out/teacher" "$out"/student* "$out/logs" "$out/speed"
mkdir -p "$out/logs"
stop_file="$out/logs/stop"
monitor=""
trap 'touch "$stop_file"; [ -z "$monitor" ] || wait "$monitor" 2>/dev/null || true' EXIT

# Trains the runs of the array `runs` ("LABEL|WORK_DIR|ITERATIONS|COMMAND"), `parallel` at
# a time, each with its output in a log file, under the live progress line; stops with
# the failing run's log if one fails.
train_runs() {
  local parallel=$1 plan="$out/logs/plan_$2.tsv" i=0
  : > "$plan"
  for run in "${runs[@]}"; do
    IFS='|' read -r label dir its command <<< "$run"
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$dir" "$its" "$out/logs/$2_$i.start" "$out/logs/$2_$i.done" >> "$plan"
    i=$((i + 1))
  done
  rm -f "$stop_file" "$out/logs/failed.txt"
  "$figures" progress --plan "$plan" --parallel "$parallel" --stop-file "$stop_file" &
  monitor=$!
  local pids=()
  running() { local n=0 p; for p in "${pids[@]}"; do if kill -0 "$p" 2>/dev/null; then n=$((n + 1)); fi; done; echo "$n"; }
  i=0
  for run in "${runs[@]}"; do
    IFS='|' read -r label dir its command <<< "$run"
    while [ "$(running)" -ge "$parallel" ]; do sleep 0.5; done
    [ ! -s "$out/logs/failed.txt" ] || break
    local log="$out/logs/$2_$i.log" start="$out/logs/$2_$i.start" done="$out/logs/$2_$i.done"
    (touch "$start"; if bash -c "$command" > "$log" 2>&1; then touch "$done"; else
       { echo "$label failed; the end of its log, $log:"; tail -n 20 "$log"; } >> "$out/logs/failed.txt"; fi) &
    pids+=($!)
    i=$((i + 1))
  done
  while [ "$(running)" -gt 0 ]; do sleep 0.5; done
  if [ -s "$out/logs/failed.txt" ]; then
    touch "$stop_file"; wait "$monitor" || true; monitor=""
    echo "demo.sh: a run failed:" >&2
    cat "$out/logs/failed.txt" >&2
    exit 1
  fi
  wait "$monitor"
  monitor=""
}

# After the config: --set takes several values and would swallow a config named after it.
schedule() {  # ITERATIONS VALIDATIONS: evenly spaced validations, a checkpoint at the end
  echo "--set train.iterations=$1 --set train.eval_every=$(( $1 / $2 )) --set train.checkpoint_every=$1 $quick_overrides"
}
parallel=$(( threads == 1 ? 2 : 1 ))

echo "== training the teacher ($teacher_iterations iterations, 2 threads)"
runs=("teacher|$out/teacher|$teacher_iterations|'$segdistill' --threads 2 --log-level warn train configs/demo/teacher.toml --work-dir '$out/teacher' $(schedule "$teacher_iterations" "$teacher_validations")")
training_start=$SECONDS
train_runs 1 teacher

echo "== training ${#students[@]} student settings x ${#seeds[@]} seeds ($iterations iterations each; $parallel process(es) of $threads thread(s))"
runs=()
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  teacher=""
  [ "$name" != student ] && teacher="--set teacher.checkpoint='\"$out/teacher/checkpoints/latest\"'"
  for seed in "${seeds[@]}"; do
    dir="$(dir_of "$name")/seed$seed"
    runs+=("$name seed $seed|$dir|$iterations|'$segdistill' --threads $threads --log-level warn train '$config' --work-dir '$dir' $(schedule "$iterations" "$student_validations") --set train.seed=$seed $teacher")
  done
done
train_runs "$parallel" students
training_seconds=$(( SECONDS - training_start ))

echo "== evaluating on $data val"
# Predictions are kept for the first seed, for the grid; `parallel` evaluations at a time.
evaluate() {  # CONFIG RUN_DIR [--save-pred DIR]: its progress bar goes to RUN_DIR/eval.log, shown if it fails
  "$segdistill" --threads "$threads" --log-level warn eval "$1" --checkpoint "$2/checkpoints/latest" --json "$2/eval.json" \
    "${@:3}" > "$2/eval.txt" 2> "$2/eval.log" || { echo "evaluating $2 failed:"; cat "$2/eval.log"; } >> "$out/logs/failed.txt"
}
rm -f "$out/logs/failed.txt"
evaluate configs/demo/teacher.toml "$out/teacher" --save-pred "$out/teacher/predictions" &
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  for seed in "${seeds[@]}"; do
    run="$(dir_of "$name")/seed$seed"
    while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do sleep 0.2; done
    if [ "$seed" = "${seeds[0]}" ]; then evaluate "$config" "$run" --save-pred "$run/predictions" & else evaluate "$config" "$run" & fi
  done
done
wait
if [ -s "$out/logs/failed.txt" ]; then cat "$out/logs/failed.txt" >&2; exit 1; fi

# Evaluation speed, each network alone on an otherwise idle demo: the distilled students
# are the same network as the student alone.
mkdir -p "$out/speed"
for network in teacher student; do
  run=$([ "$network" = teacher ] && echo "$out/teacher" || echo "$(dir_of student)/seed${seeds[0]}")
  "$segdistill" --threads 2 --log-level warn eval "configs/demo/$network.toml" --checkpoint "$run/checkpoints/latest" \
    --json "$out/speed/$network.json" > /dev/null 2> "$out/speed/$network.log" || { cat "$out/speed/$network.log" >&2; exit 1; }
done

rows=(--run "teacher=$out/teacher")
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  dirs=()
  for seed in "${seeds[@]}"; do dirs+=("$(dir_of "$name")/seed$seed"); done
  rows+=(--run "$name=$(IFS=,; echo "${dirs[*]}")")
done
echo
"$figures" table "${rows[@]}" --seed-labels "$(IFS=,; echo "${seeds[*]}")" --speed "teacher=$out/speed/teacher.json" \
  --speed "student=$out/speed/student.json" --baseline student --headline student+TaT | tee "$out/table.txt"

curves=()
for ((i = 1; i < ${#rows[@]}; i += 2)); do curves+=("${rows[i]}"); done
"$segdistill" --log-level warn plot "${curves[@]}" --output "$out/curves.png" >/dev/null
grid_runs=(--run "teacher=$out/teacher/predictions")
for entry in "${students[@]}"; do
  read -r name config <<< "$entry"
  grid_runs+=(--run "$name=$(dir_of "$name")/seed${seeds[0]}/predictions")
done
"$figures" grid --data "$data" --count 6 "${grid_runs[@]}" --output "$out/predictions.png" >/dev/null
echo
echo "seeds: ${seeds[*]}; $parallel training process(es) of $threads thread(s); $(nproc) cores"
echo "training: ${training_seconds} s; whole demo: $(( SECONDS - start )) s"
echo "pictures: $out/curves.png (mean and range over seeds), $out/predictions.png (image | label | teacher | students, seed ${seeds[0]})"
echo "table: $out/table.txt; work dirs, per-class tables (eval.txt), JSON reports, logs: $out"
echo "the command: $segdistill (or install it: cmake --install build)"
