#!/usr/bin/env bash
# The main job end to end on the embedded toy data set: build, generate the data, train
# a teacher, a student alone and a student distilled with TaT (patch-group +
# anchor-point), evaluate the three, compare them in a table and draw the training
# curves and a prediction grid (demo_output/curves.png, demo_output/predictions.png).
#   tools/demo.sh [--quick]      (--quick: a short smoke version, 40 iterations per model)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iterations=300
case "${1:-}" in
  --quick) iterations=40 ;;
  "") ;;
  -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
  *) echo "demo.sh: unknown option '$1' (valid: --quick, --help)" >&2; exit 2 ;;
esac

start=$SECONDS
"$root/tools/setup-deps.sh"
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$root/build/Makefile" ]; then generator=(-G Ninja); fi
cmake -S "$root" -B "$root/build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build" --parallel "$(nproc)" --target segdistill_cli segdistill_backbones segdistill_heads \
  segdistill_datasets segdistill_transforms segdistill_schedules segdistill_tat segdistill_demo_figures

cd "$root"  # the toy configs name their data and outputs relative to the repository
# Two threads wherever it runs: float sums in another order change a short toy run's
# numbers, and the demo's should be the same on every machine.
bin=("$root/build/bin/segdistill" --threads 2)
out="$root/demo_output"
mkdir -p "$out"
if [ ! -f data/toy/ImageSets/Segmentation/val.txt ]; then
  "${bin[@]}" make-toy-dataset --output data/toy --seed 0
fi

common=(--set "train.iterations=$iterations" --set "train.eval_every=$(( iterations / 3 ))" --set "train.checkpoint_every=$iterations")
# A re-run trains afresh (a finished work dir would otherwise be taken as done).
rm -rf "$out/teacher" "$out/student" "$out/student_tat"
training_start=$SECONDS
echo "== training the teacher, the student and the TaT student ($iterations iterations each)"
"${bin[@]}" --log-level warn train configs/toy/teacher.toml --work-dir "$out/teacher" "${common[@]}"
"${bin[@]}" --log-level warn train configs/toy/student.toml --work-dir "$out/student" "${common[@]}"
"${bin[@]}" --log-level warn train configs/toy/student_tat.toml --work-dir "$out/student_tat" "${common[@]}" \
  --set "teacher.checkpoint=\"$out/teacher/checkpoints/latest\""

training_seconds=$(( SECONDS - training_start ))
echo "== evaluating on data/toy val"
for run in teacher student student_tat; do
  config=configs/toy/$run.toml
  "${bin[@]}" --log-level warn eval "$config" --checkpoint "$out/$run/checkpoints/latest" --json "$out/$run/eval.json" \
    --save-pred "$out/$run/predictions" > "$out/$run/eval.txt"
done

printf '\n%-14s %8s %12s %10s\n' "model" "mIoU" "parameters" "images/s"
for run in teacher student student_tat; do
  miou=$(sed -n 's/^mIoU \([0-9.]*\).*/\1/p' "$out/$run/eval.txt")
  params=$(sed -n 's/^model: \([0-9]*\) parameters/\1/p' "$out/$run/eval.txt")
  speed=$(sed -n 's/.*(\([0-9.]*\) images\/s).*/\1/p' "$out/$run/eval.txt")
  printf '%-14s %7s%% %12s %10.1f\n' "$run" "$miou" "$params" "$speed"
done

figures="$root/build/bin/segdistill_demo_figures"
"$figures" curves --run "teacher=$out/teacher" --run "student=$out/student" --run "student+TaT=$out/student_tat" \
  --output "$out/curves.png" >/dev/null
"$figures" grid --data data/toy --count 6 --run "teacher=$out/teacher/predictions" --run "student=$out/student/predictions" \
  --run "student+TaT=$out/student_tat/predictions" --output "$out/predictions.png" >/dev/null
echo
echo "training: ${training_seconds} s for the three models; whole demo: $(( SECONDS - start )) s"
echo "pictures: $out/curves.png (loss terms, val mIoU), $out/predictions.png (image | label | teacher | student | student+TaT)"
echo "work dirs, per-class tables (eval.txt), JSON reports and predictions: $out"
