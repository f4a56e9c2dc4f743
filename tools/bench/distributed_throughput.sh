#!/usr/bin/env bash
# Training images/s on this machine: one process with 2 threads against two data-parallel
# processes (Gloo on loopback) with 1 thread each, same global batch, for the toy student
# config and the VOC DeepLabV3+ ResNet-18 student config (crop 513, on toy images of VOC's
# 500x375 size: the VOC data cannot be downloaded here). Run from the repository root
# after building:
#   tools/bench/distributed_throughput.sh [TOY_ITERATIONS] [VOC_ITERATIONS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
toy_iterations="${1:-60}"
voc_iterations="${2:-3}"
bin="$root/build/bin/segdistill"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin" --log-level warn make-toy-dataset --output "$work/toy" >/dev/null 2>&1
"$bin" --log-level warn make-toy-dataset --output "$work/voc_sized" --train 64 --val 1 --size 500x375 >/dev/null 2>&1

# images/s over the run's last logged record (the whole run, first iteration included).
rate() { sed -n 's/.*"images_per_second":\([0-9.]*\).*"type":"train".*/\1/p' "$1/metrics.jsonl" | tail -1; }

measure() {  # NAME CONFIG ITERATIONS EXTRA_SETTINGS...
  local name="$1" config="$2" iterations="$3"
  shift 3
  local common=(--set "train.iterations=$iterations" --set "train.log_every=$iterations" --set "train.checkpoint_every=100000"
                --set "train.eval_every=0" --set "data.val.root=\"$work/toy\"" "$@")
  "$bin" --log-level warn --threads 2 train "$config" --work-dir "$work/$name-1x2" "${common[@]}" >/dev/null
  # Each worker gets 2 cores / 2 processes = 1 thread.
  "$bin" --log-level warn train "$config" --work-dir "$work/$name-2x1" --nproc 2 "${common[@]}" >/dev/null
  local one two
  one=$(rate "$work/$name-1x2")
  two=$(rate "$work/$name-2x1")
  printf '%-28s 1 process x 2 threads: %7.2f img/s   2 processes x 1 thread: %7.2f img/s   (x%.2f)\n' \
    "$name" "$one" "$two" "$(awk -v a="$two" -v b="$one" 'BEGIN { print a / b }')"
}

cd "$root"
measure "toy student (batch 8, 96)" configs/toy/student.toml "$toy_iterations" \
  --set "data.train.root=\"$work/toy\""
measure "VOC R18 student (16, 513)" configs/voc/deeplabv3plus_r18.toml "$voc_iterations" \
  --set "data.train={type=\"voc\", root=\"$work/voc_sized\", split=\"train\", class_names=[\"background\",\"disc\",\"square\",\"triangle\",\"ring\",\"cross\"]}" \
  --set "data.train.pipeline=[{type=\"random_flip\"},{type=\"random_scale_crop\",base_size=513,crop_size=[513],scale_range=[0.5,2.0]},{type=\"gaussian_blur\"},{type=\"normalize\"}]" \
  --set "data.num_classes=6" --set "model.num_classes=6" \
  --set "data.val={type=\"voc\", root=\"$work/toy\", split=\"val\", class_names=[\"background\",\"disc\",\"square\",\"triangle\",\"ring\",\"cross\"], pipeline=[{type=\"normalize\"}]}"
