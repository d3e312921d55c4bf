#!/usr/bin/env bash
# Templates with anyOf, oneOf and multipleOf through the CLI (issue #21, item 9): a TST whose fee is
# in whole cents (multipleOf 0.01) and whose usage is one of two shapes (oneOf) compiles; claims are
# accepted or refused with the keyword's JSON Pointer; a keyword outside the subset is refused by
# name; a template lacking a mandatory TST member is refused naming it (docs/templates.md).
# Usage: template_keywords_test.sh TCC SOURCE_DIR
set -euo pipefail
tcc=$1
source=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
python3 - "$source/schemas/examples/gpu-hour.tst.json" "$source/schemas/examples/claims/gpu-hour.tsc-claim.json" "$out" <<'PY'
import copy, json, sys
tst, claim, out = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
properties = tst["claimSchema"]["properties"]
properties["fee"] = {"type": "object", "required": ["amount", "currency"], "additionalProperties": False,
                     "properties": {"amount": {"type": "number", "minimum": 0, "multipleOf": 0.01},
                                    "currency": {"enum": ["USD", "EUR"]}}}
properties["usage"] = {"oneOf": [
    {"type": "object", "required": ["gpuSeconds"], "properties": {"gpuSeconds": {"type": "integer", "multipleOf": 60}}},
    {"type": "object", "required": ["cpuSeconds"], "properties": {"cpuSeconds": {"type": "integer"}}}]}
properties["encryption"] = {"anyOf": [{"const": "none"}, {"type": "string", "pattern": "^xchacha20"}]}
json.dump(tst, open(f"{out}/tst.json", "w"))
def write(name, **changes):
    document = copy.deepcopy(claim)
    document.update(changes)
    json.dump(document, open(f"{out}/{name}.json", "w"))
write("good", fee={"amount": 0.38, "currency": "USD"}, usage={"gpuSeconds": 480})
write("cpu", fee={"amount": 19.99, "currency": "EUR"}, usage={"cpuSeconds": 7}, encryption="none")
write("cents", fee={"amount": 0.385, "currency": "USD"}, usage={"gpuSeconds": 480})
write("both", fee={"amount": 1, "currency": "USD"}, usage={"gpuSeconds": 60, "cpuSeconds": 1})
write("cipher", fee={"amount": 1, "currency": "USD"}, usage={"gpuSeconds": 60}, encryption="rot13")
bad = copy.deepcopy(tst)
bad["claimSchema"]["properties"]["usage"] = {"allOf": [{"type": "object"}]}
json.dump(bad, open(f"{out}/allof.json", "w"))
missing = copy.deepcopy(tst)
missing["claimSchema"]["required"].remove("usage")
json.dump(missing, open(f"{out}/missing.json", "w"))
PY
# validate_claim NAME EXIT [TEXT]
validate_claim() {
  local status=0
  "$tcc" template validate --claim "$out/$1.json" "$out/tst.json" > "$out/$1.out" 2>&1 || status=$?
  [ "$status" -eq "$2" ] || fail "claim $1: exit $status, expected $2: $(cat "$out/$1.out")"
  [ -z "${3:-}" ] || grep -qF -- "$3" "$out/$1.out" || fail "claim $1 does not say \"$3\": $(cat "$out/$1.out")"
}
validate_claim good 0 "OK claim"
validate_claim cpu 0 "OK claim"
validate_claim cents 1 "/fee/amount: must be a multiple of 0.01, got 0.385"
validate_claim both 1 "/usage: must match exactly one of the 2 schemas in oneOf, matched more than one"
validate_claim cipher 1 "/encryption: must match at least one of the 2 schemas in anyOf, matched none"
status=0
"$tcc" template validate "$out/allof.json" > "$out/allof.out" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q 'unknown or unsupported keyword "allOf"' "$out/allof.out" ||
  fail "allOf: exit $status: $(cat "$out/allof.out")"
status=0
"$tcc" template validate "$out/missing.json" > "$out/missing.out" 2>&1 || status=$?
[ "$status" -ne 0 ] && grep -q '/claimSchema/required lacks "usage"' "$out/missing.out" ||
  fail "a TST without usage: exit $status: $(cat "$out/missing.out")"
[ "$failures" -eq 0 ] || exit 1
echo "template keywords: anyOf, oneOf, multipleOf accepted and enforced; allOf and a missing TST member refused"
