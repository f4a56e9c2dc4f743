#!/usr/bin/env bash
# The main job end to end on the embedded toy data set: build, generate data, train a
# teacher, a student and a TaT-distilled student, evaluate and compare them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
case "${1:-}" in
  -h|--help) echo "Usage: tools/demo.sh [--quick]"; exit 0 ;;
esac
"$root/tools/setup-deps.sh"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=Release $(command -v ninja >/dev/null && [ ! -f "$root/build/Makefile" ] && echo -G Ninja)
cmake --build "$root/build" --parallel "$(nproc)"
"$root/build/bin/segdistill" plugins
cat <<'MSG'

segdistill is built. The end-to-end demo (toy data set, teacher, student, TaT student,
evaluation and comparison table) arrives with the training issue; until then this
script builds the project and lists the loaded plugins.
MSG
