#!/usr/bin/env bash
# TaT loss forward + backward at the published VOC shapes: segdistill's batched
# distillers against the per-sample Python formulation, on the same LibTorch version
# (Debian's 1.13), each in its own process (peak RSS includes the 2 x 68 MB of input
# features both allocate).   tools/bench/tat_loss.sh [THREADS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
threads="${1:-2}"
ours="$("$root/build/bin/bench_tat_loss" --threads "$threads" --flush-denormal 1)"
python="$(/usr/bin/python3 "$root/tools/bench/tat_python.py" --threads "$threads" --flush-denormal 1)"
python_plain="$(/usr/bin/python3 "$root/tools/bench/tat_python.py" --threads "$threads" --flush-denormal 0)"
echo "batch 4, features 256 x 129 x 129, patches 16 x 16, 64 heads, anchors 32 x 32, $threads threads"
echo "  $ours   (denormals flushed, as segdistill runs)"
echo "  $python   (denormals flushed)"
echo "  $python_plain   (PyTorch's default: denormals kept)"
a=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$ours")
b=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$python")
c=$(sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$python_plain")
awk -v a="$a" -v b="$b" -v c="$c" 'BEGIN { printf "  speed-up over the per-sample formulation: %.2fx (both flushing), %.2fx (against PyTorch defaults)\n", b / a, c / a }'
