#!/usr/bin/env bash
# TCC's credentials as a JSON-LD-processing verifier reads them (issue 23): a TIC and a TSC made by
# the tcc CLI from the example templates expand in jsonld.js's safe mode (every term an IRI, every
# id a URL) and canonize with RDFC-1.0, with the W3C contexts from the pinned npm package, offline.
# A credential naming its template by the bare id, as TCC did before, must fail the same check: the
# checker can tell. Skips (77) without node or the pinned npm packages.
# Usage: jsonld_test.sh TCC_CLI SOURCE_DIR NODE
set -uo pipefail
tcc=$1 source=$2 node=$3
[ -x "$node" ] && [ -d "$source/node_modules/jsonld" ] && [ -d "$source/node_modules/@digitalbazaar/credentials-context" ] ||
  { echo "SKIP: node or the pinned jsonld packages are missing (scripts/install-npm-tools.sh)"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export NODE_PATH="$source/node_modules"
ex=$source/schemas/examples
set -e
"$tcc" key new --out provider.key > /dev/null
"$tcc" key new --out consumer.key > /dev/null
"$tcc" key new --out tcc.key > /dev/null
"$tcc" tic apply --tit "$ex/gpu-hour.tit.json" --provider provider.key --consumer consumer.key \
  "$ex/claims/gpu-hour.tic-claim.json" > app.json
"$tcc" tic issue --tit "$ex/gpu-hour.tit.json" --key provider.key app.json > tic.json
"$tcc" tsc propose --tst "$ex/gpu-hour.tst.json" --key provider.key --tic tic.json --seq 1 \
  "$ex/claims/gpu-hour.tsc-claim.json" > proposal.json
"$tcc" tsc cosign --tst "$ex/gpu-hour.tst.json" --key consumer.key proposal.json > joint.json
"$tcc" tsc issue --tst "$ex/gpu-hour.tst.json" --key tcc.key joint.json > tsc.json
set +e
failures=0
"$node" "$source/tests/vc/jsonld_check.js" tic.json tsc.json || failures=$((failures + 1))
# The old form: credentialSchema.id the bare template id, not a URL.
python3 - tsc.json old.json <<'PY'
import json, sys
tsc = json.load(open(sys.argv[1]))
schema = tsc["credentialSchema"]
schema["id"] = schema.pop("name")
json.dump(tsc, open(sys.argv[2], "w"))
PY
if "$node" "$source/tests/vc/jsonld_check.js" old.json > old.out; then
  echo "FAIL: a TSC whose credentialSchema.id is not a URL passed the JSON-LD check"
  failures=$((failures + 1))
else
  grep -q "relative @id reference\|Relative @id" old.out || { cat old.out; failures=$((failures + 1)); }
  echo "refused as it should be: $(head -c 160 old.out)"
fi
echo "$failures failed"
[ "$failures" -eq 0 ]
