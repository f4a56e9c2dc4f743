#!/usr/bin/env bash
# Per-phase profile of segdistill's VOC TaT training step (ResNet-101 teacher -> ResNet-18 or
# MobileNetV2 student, the published distiller settings, batch 4, crop 513, 2 threads) in
# fp32 and bf16: bench_step_profile on configs/voc/tat_r101_{r18,mbv2}.toml with the toy
# data and random teacher of train_step.sh. Prints, per run, the phase table and the
# operators of each phase (markdown), headed by the CPU model and its vector flags.
# Run from the repository root after building:
#   cmake --build build --target bench_step_profile bench_random_checkpoint segdistill_cli segdistill_plugins
#   tools/bench/step_profile.sh [ITERATIONS] [STUDENTS] [PRECISIONS] [-- EXTRA --set ARGS]
#   (defaults: 6 iterations: the first 2 and the last left out; "r18 mbv2"; "fp32 bf16")
set -euo pipefail
# --help: the header above.
case "${1:-}" in -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;; esac
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=voc_step_common.sh
source "$root/tools/bench/voc_step_common.sh"
iterations="${1:-6}"
students="${2:-r18 mbv2}"
precisions="${3:-fp32 bf16}"
shift $(($# < 3 ? $# : 3))
[ "${1:-}" = "--" ] && shift
threads="${THREADS:-2}"
warmup=2
[ "$iterations" -gt $((warmup + 1)) ] || { echo "step_profile.sh: ITERATIONS must be > $((warmup + 1))" >&2; exit 2; }
check_students step_profile.sh "$students"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
prepare_voc_step "$work"
cd "$root"
describe_cpu "$threads"
for student in $students; do
  for precision in $precisions; do
    voc_step_overrides "$work" "$precision" "$iterations"
    echo
    echo "### $student $precision"
    echo
    "$root/build/bin/bench_step_profile" "configs/voc/tat_r101_$student.toml" --work-dir "$work/run_${student}_$precision" \
      --threads "$threads" --warmup "$warmup" "${VOC_STEP_SETS[@]}" "$@"
  done
done
