#!/usr/bin/env bash
# 1. Evaluator throughput: label/prediction pairs per second (500x375, 21 classes) for
#    `segdistill eval --pred-dir` against the same computation in numpy, in one run.
# 2. `segdistill eval` images/s for DeepLabV3+ ResNet-18 (random weights) at 513x513,
#    whole-image mode.
# Run from the repository root after building:  tools/bench/eval_throughput.sh [PAIRS] [IMAGES]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pairs="${1:-200}"
images="${2:-8}"
threads="${THREADS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
bin="$root/build/bin/segdistill"

/usr/bin/python3 - "$work" "$pairs" <<'PY'
import os, sys
import numpy as np
from PIL import Image
root, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(0)
for d in ("images", "labels", "preds"):
    os.makedirs(os.path.join(root, d))
for i in range(n):
    label = rng.integers(0, 21, (375, 500)).astype(np.uint8)
    label[rng.random((375, 500)) < 0.05] = 255
    pred = np.where(rng.random((375, 500)) < 0.7, label, rng.integers(0, 21, (375, 500))).astype(np.uint8)
    pred[pred == 255] = 0
    Image.fromarray(label, "L").save("%s/labels/%05d.png" % (root, i))
    Image.fromarray(pred, "L").save("%s/preds/%05d.png" % (root, i))
    Image.new("RGB", (1, 1)).save("%s/images/%05d.png" % (root, i))
PY
names=$(/usr/bin/python3 -c 'print(", ".join("\"c%d\"" % i for i in range(21)))')
cat > "$work/pairs.toml" <<TOML
[data]
num_classes = 21
[data.val]
type = "folder"
root = "$work"
class_names = [$names]
TOML
ours="$("$bin" --threads "$threads" --log-level warn eval "$work/pairs.toml" --pred-dir "$work/preds" | tail -1)"
numpy="$(/usr/bin/python3 "$root/tools/bench/evaluator_numpy.py" "$work/labels" "$work/preds" 21)"
echo "evaluator, $pairs pairs of 500x375, 21 classes, $threads threads:"
echo "  segdistill: $ours"
echo "  $numpy"
ours_rate=$(sed -n 's/.*(\([0-9.]*\) images\/s).*/\1/p' <<<"$ours")
numpy_rate=$(sed -n 's/.*pairs_per_second=\([0-9.]*\).*/\1/p' <<<"$numpy")
awk -v a="$ours_rate" -v b="$numpy_rate" 'BEGIN { printf "  ratio segdistill / numpy: %.2fx\n", a / b }'

"$bin" make-toy-dataset --output "$work/toy" --train 1 --val "$images" --size 513 >/dev/null 2>&1
cat > "$work/r18.toml" <<TOML
_base_ = "$root/configs/_base_/toy_data.toml"
[model]
num_classes = 6
backbone = {type = "resnet18"}
head = {type = "deeplabv3plus"}
[data.val]
root = "$work/toy"
TOML
"$root/build/bin/bench_random_checkpoint" "$work/r18.toml" "$work/r18.ckpt"
model="$("$bin" --threads "$threads" --log-level warn eval "$work/r18.toml" --checkpoint "$work/r18.ckpt" | tail -1)"
echo "eval, DeepLabV3+ ResNet-18 (width 1.0), 513x513 whole image, $threads threads: $model"
