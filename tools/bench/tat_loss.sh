#!/usr/bin/env bash
# TaT loss forward + backward at the published VOC shapes: segdistill's batched
# distillers against the per-sample Python formulation, on the same LibTorch version
# (Debian's 1.13), each in its own process (peak RSS includes the 2 x 68 MB of input
# features both allocate).   tools/bench/tat_loss.sh [THREADS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
threads="${1:-2}"
python=(/usr/bin/python3 "$root/tools/bench/tat_python.py" --threads "$threads")
# What segdistill's configure_cpu_math sets, given to glibc through its environment.
heap=(env MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=2147483647)
ours="$("$root/build/bin/bench_tat_loss" --threads "$threads" --flush-denormal 1)"
same="$("${heap[@]}" "${python[@]}" --flush-denormal 1)"
flushed="$("${python[@]}" --flush-denormal 1)"
plain="$("${python[@]}" --flush-denormal 0)"
echo "batch 4, features 256 x 129 x 129, patches 16 x 16, 64 heads, anchors 32 x 32, $threads threads"
echo "  $ours   (segdistill's CPU set-up: denormals flushed, large blocks kept in the heap)"
echo "  $same   (the same set-up)"
echo "  $flushed   (denormals flushed, glibc's default heap)"
echo "  $plain   (PyTorch's defaults: denormals kept)"
ms() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$1"; }
awk -v a="$(ms "$ours")" -v b="$(ms "$same")" -v c="$(ms "$flushed")" -v d="$(ms "$plain")" 'BEGIN {
  printf "  speed-up over the per-sample formulation: %.2fx at equal settings, %.2fx (flushed only), %.2fx (PyTorch defaults)\n", b / a, c / a, d / a }'
