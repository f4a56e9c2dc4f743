#!/usr/bin/env bash
# Every distiller on the toy task: trains the toy teacher, then the toy student alone and
# with each distiller (configs/toy/student*.toml) for the same iterations and seeds, and
# prints one table: each distiller's term (mean of its first and last 10 logged
# iterations, averaged over seeds) and the student's val mIoU per seed and on average.
# The README's table of toy results comes from it.
#   tools/toy-distillers.sh [--iterations N] [--seeds "0 1 2"] [--only "NAME ..."] [--output DIR]
#     --iterations  iterations per model (default 900, the demo's)
#     --seeds       the students' train.seed values (default "0 1 2")
#     --only        these rows (and the student alone) instead of all, e.g. "cirkd_ifvd"
#     --output      where runs and the table go (default toy_distillers_output)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
iterations=900
seeds=(0 1 2)
only=()
out="$root/toy_distillers_output"
while [ $# -gt 0 ]; do
  case "$1" in
    --iterations) iterations="${2:-}"; shift ;;
    --seeds) read -r -a seeds <<< "${2:-}"; shift ;;
    --only) read -r -a only <<< "${2:-}"; shift ;;
    --output) out="${2:-}"; shift ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "toy-distillers.sh: unknown option '$1' (valid: --iterations N, --seeds \"S ...\", --only \"NAME ...\", --output DIR, --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$iterations" in ''|*[!0-9]*) echo "toy-distillers.sh: --iterations must be a number >= 30, got '$iterations'" >&2; exit 2 ;; esac
[ "$iterations" -ge 30 ] || { echo "toy-distillers.sh: --iterations must be >= 30, got $iterations" >&2; exit 2; }
[ ${#seeds[@]} -ge 1 ] || { echo "toy-distillers.sh: --seeds needs at least one seed" >&2; exit 2; }
for seed in "${seeds[@]}"; do
  case "$seed" in *[!0-9]*) echo "toy-distillers.sh: --seeds takes non-negative numbers, got '$seed'" >&2; exit 2 ;; esac
done

# name, config, the term the table follows (none for the student alone).
runs=(
  "student configs/toy/student.toml -"
  "tat configs/toy/student_tat.toml loss_tat_patch_group"
  "tat_spatial configs/toy/student_tat_spatial.toml loss_tat_patch_group"
  "kd configs/toy/student_kd.toml loss_kd"
  "kd_width configs/toy/student_kd_width.toml loss_kd_width"
  "at configs/toy/student_at.toml loss_at"
  "fitnet_plain configs/toy/student_fitnet_plain.toml loss_fitnet_plain"
  "ch configs/toy/student_ch.toml loss_ch"
  "reviewkd configs/toy/student_reviewkd.toml loss_reviewkd"
  "cirkd_kd configs/toy/student_cirkd_kd.toml loss_cirkd_kd"
  "cirkd_at configs/toy/student_cirkd_at.toml loss_cirkd_at"
  "cirkd_fitnet configs/toy/student_cirkd_fitnet.toml loss_cirkd_fitnet"
  "cirkd_cwd configs/toy/student_cirkd_cwd.toml loss_cirkd_cwd_feature"
  "cirkd_skd configs/toy/student_cirkd_skd.toml loss_cirkd_skd"
  "cirkd_dsd configs/toy/student_cirkd_dsd.toml loss_cirkd_psd"
  "cirkd_minibatch configs/toy/student_cirkd_minibatch.toml loss_cirkd_minibatch_pixel"
  "cirkd_ifvd configs/toy/student_cirkd_ifvd.toml loss_cirkd_ifvd"
  "cirkd_memory configs/toy/student_cirkd_memory.toml loss_cirkd_memory"
  "cirkd_skd_adversarial configs/toy/student_cirkd_skd_adversarial.toml loss_cirkd_adversarial"
  "cirkd_channel configs/toy/student_cirkd_channel.toml loss_cirkd_channel"
)
if [ ${#only[@]} -gt 0 ]; then
  chosen=("${runs[0]}")
  for name in "${only[@]}"; do
    found=""
    for entry in "${runs[@]}"; do [ "${entry%% *}" = "$name" ] && found="$entry"; done
    [ -n "$found" ] || { echo "toy-distillers.sh: --only: no row '$name' (rows: $(printf '%s ' "${runs[@]%% *}"))" >&2; exit 2; }
    [ "$name" = student ] || chosen+=("$found")
  done
  runs=("${chosen[@]}")
fi
# shellcheck source=lib/release_build.sh
source "$root/tools/lib/release_build.sh"
release_build "$root"

cd "$root"
segdistill="$root/build/bin/segdistill"
[ -f data/toy/ImageSets/Segmentation/val.txt ] || "$segdistill" --threads 2 make-toy-dataset --output data/toy --seed 0
# A re-run trains afresh: a finished work dir would otherwise be taken as done.
rm -rf "$out"
mkdir -p "$out/logs"
schedule=(--set "train.iterations=$iterations" --set "train.eval_every=$iterations" --set "train.checkpoint_every=$iterations"
          --set "train.log_every=1")
start=$SECONDS
echo "== the toy teacher ($iterations iterations, 2 threads)"
"$segdistill" --threads 2 --log-level warn train configs/toy/teacher.toml --work-dir "$out/teacher" "${schedule[@]}" \
  > "$out/logs/teacher.log" 2>&1 || { cat "$out/logs/teacher.log" >&2; exit 1; }

echo "== ${#runs[@]} students x ${#seeds[@]} seeds ($iterations iterations; two processes of one thread)"
for entry in "${runs[@]}"; do
  read -r name config term <<< "$entry"
  teacher=()
  [ "$term" != - ] && teacher=(--set "teacher.checkpoint=\"$out/teacher/checkpoints/latest\"")
  for seed in "${seeds[@]}"; do
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || true; done
    { "$segdistill" --threads 1 --log-level warn train "$config" --work-dir "$out/$name/seed$seed" "${schedule[@]}" \
        --set "train.seed=$seed" "${teacher[@]}" > "$out/logs/$name.seed$seed.log" 2>&1 ||
        echo "$name.seed$seed" >> "$out/logs/failed.txt"; } &
  done
done
wait
if [ -f "$out/logs/failed.txt" ]; then
  while read -r run; do
    echo "toy-distillers.sh: the '$run' run failed:" >&2
    cat "$out/logs/$run.log" >&2
  done < "$out/logs/failed.txt"
  exit 1
fi

# The value of "key" in each record of a metrics.jsonl whose "type" is `type`, one per line.
values() { grep "\"type\":\"$2\"" "$1" | grep -o "\"$3\":[-0-9.eE+]*" | cut -d: -f2; }
mean_of() { awk '{ s += $1; n += 1 } END { if (n) printf "%.4g", s / n; else printf "-" }'; }
{
  echo "| student | term | first 10 iterations | last 10 iterations | val mIoU mean | seeds ${seeds[*]} |"
  echo "|---|---|---|---|---|---|"
  for entry in "${runs[@]}"; do
    read -r name config term <<< "$entry"
    first=() last=() mious=()
    for seed in "${seeds[@]}"; do
      metrics="$out/$name/seed$seed/metrics.jsonl"
      mious+=("$(values "$metrics" val mIoU | tail -n 1 | awk '{ printf "%.2f", 100 * $1 }')")
      if [ "$term" != - ]; then
        first+=("$(values "$metrics" train "$term" | awk 'NR <= 10' | mean_of)")
        last+=("$(values "$metrics" train "$term" | tail -n 10 | mean_of)")
      fi
    done
    miou_mean=$(printf '%s\n' "${mious[@]}" | mean_of)
    seeds_text=$(IFS=/; echo "${mious[*]}" | sed 's|/| / |g')
    if [ "$term" = - ]; then
      echo "| $name | - | - | - | $miou_mean | $seeds_text |"
    else
      echo "| $name | \`$term\` | $(printf '%s\n' "${first[@]}" | mean_of) | $(printf '%s\n' "${last[@]}" | mean_of) | $miou_mean | $seeds_text |"
    fi
  done
} | tee "$out/table.md"
echo
echo "$(( SECONDS - start )) s on $(nproc) cores; runs and logs: $out; table: $out/table.md"
