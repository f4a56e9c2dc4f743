#!/usr/bin/env bash
# `segdistill eval` images/s at 513 x 513 (whole image, one at a time, random weights) in
# fp32 and bf16 (eval.precision) against PyTorch eager fp32 inference of the same network
# (eval_python.py, timed after one warm-up image), in one run, 2 threads. Three rates for
# segdistill: the steady state (each command run over IMAGES and over 2 x IMAGES images:
# IMAGES / the difference of the two wall times, so that start-up and the first image's
# set-up cancel out, as the Python side's warm-up image leaves them out), the evaluation
# loop's as `eval` reports it (first image included) and the whole command's.
# Run from the repository root after building:
#   tools/bench/eval_speed.sh [IMAGES] [BACKBONES]      (defaults: 8, "r18 r101")
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
images="${1:-8}"
backbones="${2:-r18 r101}"
threads="${THREADS:-2}"
bin="$root/build/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$bin/segdistill" --log-level warn make-toy-dataset --output "$work/data" --train 1 --val $((2 * images)) --size 513 >/dev/null
head -n "$images" "$work/data/ImageSets/Segmentation/val.txt" > "$work/data/ImageSets/Segmentation/val_half.txt"
cd "$root"
# run SPLIT (of $config, $backbone, $precision): the command's wall seconds, then the
# loop's images/s as `eval` reports it.
run() {
  local start output
  start=$(date +%s.%N)
  output="$("$bin/segdistill" --threads "$threads" --log-level warn eval "$config" --checkpoint "$work/$backbone.pt" \
    --set "data.val={type=\"voc\", root=\"$work/data\", split=\"$1\", pipeline=[{type=\"normalize\"}]}" \
    --set "eval.precision=\"$precision\"" --set "eval.mode=\"whole\"" --set eval.size_divisor=1)"
  echo "$(awk "BEGIN { print $(date +%s.%N) - $start }") $(sed -n 's/.* s (\([0-9.e+-]*\) images\/s)$/\1/p' <<<"$output")"
}
printf "%-10s %-22s %9s %8s %9s %8s %9s %8s\n" network run "steady" ratio "loop" ratio "command" ratio
for backbone in $backbones; do
  case "$backbone" in
    r18) python_backbone=resnet18; config=configs/voc/deeplabv3plus_r18.toml ;;
    r101) python_backbone=resnet101; config=configs/voc/deeplabv3plus_r101_teacher.toml ;;
    mbv2) python_backbone=mobilenetv2; config=configs/voc/deeplabv3plus_mbv2.toml ;;
    *) echo "eval_speed.sh: unknown backbone '$backbone' (valid: r18, r101, mbv2)" >&2; exit 2 ;;
  esac
  python_rate="$(/usr/bin/python3 "$root/tools/bench/eval_python.py" --backbone "$python_backbone" --images "$images" \
    --threads "$threads" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["images_per_second"])')"
  printf "%-10s %-22s %9.3f %7.2fx\n" "$backbone" "python eager fp32" "$python_rate" 1
  "$bin/bench_random_checkpoint" "$config" "$work/$backbone.pt" >/dev/null
  for precision in fp32 bf16; do
    read -r half_seconds rate < <(run val_half)
    read -r full_seconds _ < <(run val)
    steady=$(awk "BEGIN { print $images / ($full_seconds - $half_seconds) }")
    command_rate=$(awk "BEGIN { print $images / $half_seconds }")
    printf "%-10s %-22s %9.3f %7.2fx %9.3f %7.2fx %9.3f %7.2fx\n" "$backbone" "segdistill eval $precision" \
      "$steady" "$(awk "BEGIN { print $steady / $python_rate }")" "$rate" "$(awk "BEGIN { print $rate / $python_rate }")" \
      "$command_rate" "$(awk "BEGIN { print $command_rate / $python_rate }")"
  done
done
