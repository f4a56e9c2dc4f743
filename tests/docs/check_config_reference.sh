#!/usr/bin/env bash
# docs/config-reference.md must be what tools/gen-config-reference.sh prints for the
# current schemas; a changed option without a regenerated reference fails here.
#   check_config_reference.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
"$2/tools/gen-config-reference.sh" "$1" "$fresh"
if ! diff -u "$2/docs/config-reference.md" "$fresh"; then
  echo "FAIL: docs/config-reference.md is out of date; run tools/gen-config-reference.sh"
  exit 1
fi
echo "docs/config-reference.md is current"
