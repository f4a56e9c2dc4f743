#!/usr/bin/env bash
# Loader throughput of the published VOC training pipeline (crop 513) on toy JPEGs of
# 500x375: segdistill's loader with 1 and 2 workers against the same pipeline in Python
# (PIL + numpy), in one run.  Run from the repository root after building:
#   tools/bench/loader_throughput.sh [IMAGES]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
images="${1:-120}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$root/build/bin/segdistill" make-toy-dataset --output "$work/VOC2012" --train "$images" --val 1 --size 500x375 >/dev/null 2>&1
cat > "$work/bench.toml" <<TOML
_base_ = "$root/configs/_base_/voc_data.toml"
[data]
num_classes = 6
[data.train]
root = "$work/VOC2012"
class_names = ["background", "disc", "square", "triangle", "ring", "cross"]
TOML

echo "images: $images toy JPEGs of 500x375; pipeline: flip, random scale crop 513 (0.5-2.0), blur, normalize"
cpp="$("$root/build/bin/bench_loader_throughput" "$work/bench.toml" --batch 4 --workers 1,2)"
py="$(/usr/bin/python3 "$root/tools/bench/loader_python.py" "$work/VOC2012")"
echo "$cpp"
echo "$py"
python_rate=$(sed -n 's/.*images_per_second=\([0-9.]*\).*/\1/p' <<<"$py")
while read -r line; do
  rate=$(sed -n 's/.*images_per_second=\([0-9.]*\).*/\1/p' <<<"$line")
  workers=$(sed -n 's/workers=\([0-9]*\).*/\1/p' <<<"$line")
  awk -v r="$rate" -v p="$python_rate" -v w="$workers" 'BEGIN { printf "segdistill %d worker(s) / Python: %.2fx\n", w, r / p }'
done <<<"$cpp"
