#!/usr/bin/env bash
# Training images/s of the published VOC ResNet-101 -> ResNet-18 TaT config (batch 16,
# crop 513, the published pipeline) on this machine: a teacher with random weights from
# bench_random_checkpoint, toy JPEGs of VOC's 500x375 size in VOC's layout instead of VOC trainaug
# (the data cannot be downloaded here). Prints images/s per logged iteration (cumulative, the
# first iteration included). Run from the repository root after building:
#   tools/bench/tat_training_throughput.sh [ITERATIONS] [THREADS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
iterations="${1:-3}"
threads="${2:-2}"
bin="$root/build/bin"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$bin/segdistill" --log-level warn make-toy-dataset --output "$work/voc_sized" --train 48 --val 1 --size 500x375 >/dev/null 2>&1
"$bin/bench_random_checkpoint" "$root/configs/voc/deeplabv3plus_r101_teacher.toml" "$work/teacher.pt" >/dev/null
cd "$root"
"$bin/segdistill" --log-level warn --threads "$threads" train configs/voc/tat_r101_r18.toml --work-dir "$work/run" \
  --set "data.train={type=\"voc\", root=\"$work/voc_sized\", split=\"train\"}" \
  --set "data.train.pipeline=[{type=\"random_flip\"},{type=\"random_scale_crop\",base_size=513,crop_size=[513],scale_range=[0.5,2.0]},{type=\"gaussian_blur\"},{type=\"normalize\"}]" \
  --set "data.val.root=\"$work/voc_sized\"" \
  --set "teacher.checkpoint=\"$work/teacher.pt\"" --set 'model.backbone.pretrained=""' --set "train.iterations=$iterations" --set "train.log_every=1" \
  --set "train.eval_every=0" --set "train.checkpoint_every=100000" >/dev/null
/usr/bin/python3 - "$work/run/metrics.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    record = json.loads(line)
    if record["type"] == "train":
        print("iteration %d: %.3f images/s" % (record["iter"], record["images_per_second"]))
PY
