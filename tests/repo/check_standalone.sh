#!/usr/bin/env bash
# Fails when a file of the repository reads or names something beside the clone: the
# repository must build, test and explain itself with nothing next to it.
#   check_standalone.sh SOURCE_DIR
set -euo pipefail
src="$1"
cd "$src"
# Built in two halves so that this script does not name the path it looks for.
parent_folder='\.\./'"shared"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  files=$(git ls-files --cached --others --exclude-standard)
else
  files=$(find . -type f -not -path './build*' -not -path './.git/*' | sed 's#^\./##')
fi
hits=$(printf '%s\n' "$files" | while IFS= read -r f; do
  [ -f "$f" ] || continue
  grep -HnE "$parent_folder" -- "$f" 2>/dev/null || true
done)
if [ -n "$hits" ]; then
  echo "files that name a folder outside the repository:" >&2
  echo "$hits" >&2
  exit 1
fi
count=$(printf '%s\n' "$files" | wc -l)
echo "standalone: $count files, none names a folder beside the repository"
