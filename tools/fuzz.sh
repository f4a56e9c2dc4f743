#!/usr/bin/env bash
# Builds the libFuzzer harnesses of the readers of untrusted files (clang, AddressSanitizer,
# UndefinedBehaviorSanitizer) and runs each for SECONDS.
#   tools/fuzz.sh [SECONDS] [HARNESS...]       (default: 60 seconds, every harness)
# Harnesses: fuzz_pytorch_checkpoint fuzz_segdistill_checkpoint fuzz_image_readers fuzz_config fuzz_split_and_bases
# Each starts from its seed corpus in tests/fuzz/corpus/HARNESS; what it learns is kept
# in build-fuzz/corpus/HARNESS, crashes go to build-fuzz/findings/HARNESS/. A summary
# line per harness gives executions, corpus size and crashes.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds=60
harnesses=()
for arg in "$@"; do
  case "$arg" in
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    ''|*[!0-9]*) harnesses+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_pytorch_checkpoint fuzz_segdistill_checkpoint fuzz_image_readers fuzz_config fuzz_split_and_bases)

"$root/tools/setup-deps.sh" --with-fuzz-tools
build="$root/build-fuzz"
generator=()
if command -v ninja >/dev/null 2>&1 && [ ! -f "$build/Makefile" ]; then generator=(-G Ninja); fi
cmake -S "$root/tests/fuzz" -B "$build" "${generator[@]}" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target "${harnesses[@]}"

status=0
for h in "${harnesses[@]}"; do
  corpus="$build/corpus/$h"
  findings="$build/findings/$h"
  mkdir -p "$corpus" "$findings"
  log="$build/$h.log"
  # -rss_limit_mb: a reader that asks for more than 2 GB on a small input is a finding too.
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 "$build/$h" "$corpus" "$root/tests/fuzz/corpus/$h" \
      -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=30 -max_len=1048576 -artifact_prefix="$findings/" \
      -print_final_stats=1 >"$log" 2>&1; then
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  crashes=$(find "$findings" -type f | wc -l)
  echo "$h: ${seconds}s, ${runs} executions, corpus $(find "$corpus" -type f | wc -l) files, ${crashes} finding(s) in $findings (log: $log)"
done
exit $status
