#!/usr/bin/env bash
# `segdistill eval` images/s at 513 x 513 (whole image, one at a time, random weights) in
# fp32 and bf16 (eval.precision) against PyTorch eager fp32 inference of the same network
# (eval_python.py), in one run, 2 threads.
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
"$bin/segdistill" --log-level warn make-toy-dataset --output "$work/data" --train 1 --val "$images" --size 513 >/dev/null
cd "$root"
printf "%-10s %-22s %8s %8s %12s %8s\n" network run "img/s" ratio "cmd img/s" ratio
for backbone in $backbones; do
  case "$backbone" in
    r18) python_backbone=resnet18; config=configs/voc/deeplabv3plus_r18.toml ;;
    r101) python_backbone=resnet101; config=configs/voc/deeplabv3plus_r101_teacher.toml ;;
    mbv2) python_backbone=mobilenetv2; config=configs/voc/deeplabv3plus_mbv2.toml ;;
    *) echo "eval_speed.sh: unknown backbone '$backbone' (valid: r18, r101, mbv2)" >&2; exit 2 ;;
  esac
  python_rate="$(/usr/bin/python3 "$root/tools/bench/eval_python.py" --backbone "$python_backbone" --images "$images" \
    --threads "$threads" | /usr/bin/python3 -c 'import json, sys; print(json.load(sys.stdin)["images_per_second"])')"
  printf "%-10s %-22s %8.3f %7.2fx\n" "$backbone" "python eager fp32" "$python_rate" 1
  "$bin/bench_random_checkpoint" "$config" "$work/$backbone.pt" >/dev/null
  for precision in fp32 bf16; do
    set_data=(--set "data.val={type=\"voc\", root=\"$work/data\", split=\"val\", pipeline=[{type=\"normalize\"}]}"
              --set "eval.precision=\"$precision\"" --set "eval.mode=\"whole\"" --set eval.size_divisor=1)
    # Two rates: the evaluation loop's, as `eval` reports it (reading the images, the
    # forward passes, the metrics; the first image's set-up included), and the whole
    # command's (start-up, plugins and checkpoint loading too: a lower bound).
    start=$(date +%s.%N)
    output="$("$bin/segdistill" --threads "$threads" --log-level warn eval "$config" --checkpoint "$work/$backbone.pt" \
      "${set_data[@]}")"
    seconds=$(awk "BEGIN { print $(date +%s.%N) - $start }")
    command_rate=$(awk "BEGIN { print $images / $seconds }")
    rate="$(sed -n 's/.* s (\([0-9.e+-]*\) images\/s)$/\1/p' <<<"$output")"
    printf "%-10s %-22s %8.3f %7.2fx %12.3f %7.2fx\n" "$backbone" "segdistill eval $precision" "$rate" \
      "$(awk "BEGIN { print $rate / $python_rate }")" "$command_rate" "$(awk "BEGIN { print $command_rate / $python_rate }")"
  done
done
