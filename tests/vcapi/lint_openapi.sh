#!/usr/bin/env bash
# Lints tcc/vcapi/openapi.json with the pinned @redocly/cli (package-lock.json), offline: any error
# or warning fails. Skips (77) only when Node.js is absent; the tool missing while Node.js is there
# is a failure (scripts/install-npm-tools.sh installs it).
set -euo pipefail
root=$1
if ! command -v node >/dev/null; then
  echo "SKIP: node is not installed"
  exit 77
fi
redocly=$root/node_modules/.bin/redocly
if [ ! -x "$redocly" ]; then
  echo "FAIL: $redocly is missing; run scripts/install-npm-tools.sh" >&2
  exit 1
fi
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true
output=$("$redocly" lint --config "$root/tcc/vcapi/redocly.yaml" "$root/tcc/vcapi/openapi.json" 2>&1) || {
  echo "$output"
  exit 1
}
echo "$output"
if grep -q -E 'You have [0-9]+ warning' <<<"$output"; then
  echo "FAIL: the document has lint warnings" >&2
  exit 1
fi
grep -q 'Your API description is valid' <<<"$output"
