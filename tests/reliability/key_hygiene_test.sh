#!/usr/bin/env bash
# Key hygiene over a full run: the README demo (keys, templates, TIC, tccd, a provider and a
# consumer settling live, channel close, evidence) on this build, then
#   - every key file it created (the CLI's and tccd's) has mode 0600;
#   - no log (tccd's JSON log, the parties' output, the demo's own output) contains private key
#     material in any usual spelling (secretKeyMultibase, the seed and the 64-byte secret key in hex,
#     base64 and base64url) or a full credential (a proofValue of the TIC or the last TSC, or a
#     credentialSubject member);
#   - tccd and the CLI refuse a key file group or others can read, naming the file and its mode.
# Usage: key_hygiene_test.sh BUILD_DIR SOURCE_DIR; TCC_CLI and TCCD (set by ctest) name the binaries
# under test, which the demo then runs as they are (it builds nothing).
set -euo pipefail
build=$1
source=$2
export TCC_CLI=${TCC_CLI:-$build/tcc/tcc}
export TCCD=${TCCD:-$build/tcc/tccd}
tcc=$TCC_CLI
tccd=$TCCD
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
demo="$out/demo"
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

if ! TCC_DEMO_DIR="$demo" TCC_DEMO_SETTLEMENTS=12 TCC_DEMO_INTERVAL_MS=50 \
     bash "$source/scripts/demo.sh" > "$out/demo.out" 2>&1; then
  cat "$out/demo.out" >&2
  echo "FAIL: the demo did not complete" >&2
  exit 1
fi
logs=("$out/demo.out" "$demo"/*.log)
keys=("$demo"/*.key "$demo"/tccd/*.key)
[ ${#keys[@]} -ge 4 ] || fail "expected the TCC, provider, consumer and admin key files, found: ${keys[*]}"
echo "checking ${#keys[@]} key files against ${#logs[@]} logs: ${logs[*]}"

for key in "${keys[@]}"; do
  mode=$(stat -c %a "$key")
  [ "$mode" = 600 ] || fail "$key has mode $mode, not 600"
  # Every spelling of the secret, one per line (python3 is a dependency of the build already).
  python3 - "$key" > "$out/forms" <<'PY' || fail "$key: cannot derive its secret's forms"
import base64, json, sys
alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
document = json.load(open(sys.argv[1]))
secret = document["secretKeyMultibase"]
public = document["publicKeyMultibase"]
def base58(text):
    number = 0
    for char in text:
        number = number * 58 + alphabet.index(char)
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * (len(text) - len(text.lstrip("1"))) + raw
decoded = base58(secret[1:])
assert decoded[:2] == b"\x80\x26" and len(decoded) == 34, "not an Ed25519 secret key"
seed = decoded[2:]
public_key = base58(public[1:])[2:]
forms = [secret, secret[1:]]
for raw in (seed, seed + public_key):
    forms += [raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode(),
              base64.urlsafe_b64encode(raw).decode().rstrip("=")]
print("\n".join(forms))
PY
  # The key file itself holds the secret: proves the forms are right before trusting an absence.
  grep -qF "$(head -1 "$out/forms")" "$key" || fail "$key: derived form not found in the key file itself"
  for log in "${logs[@]}"; do
    while IFS= read -r form; do
      if grep -qF -- "$form" "$log"; then fail "$log contains secret material of $key (${form:0:6}...)"; fi
    done < "$out/forms"
  done
done

# Full credentials: the TIC's and the last TSC's proof values, and any credential subject.
credentials=("$demo/tic.json" "$demo"/evidence/tsc-*[0-9].json)
[ ${#credentials[@]} -ge 2 ] || fail "the demo left no TIC and TSC to compare with"
python3 - "${credentials[@]}" > "$out/proofs" <<'PY'
import json, sys
def proofs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "proofValue":
                yield value
            else:
                yield from proofs(value)
    elif isinstance(node, list):
        for value in node:
            yield from proofs(value)
for path in sys.argv[1:]:
    print("\n".join(proofs(json.load(open(path)))))
PY
[ "$(wc -l < "$out/proofs")" -ge 4 ] || fail "expected the proofs of the TIC and the TSC (and its claim)"
for log in "${logs[@]}"; do
  while IFS= read -r proof; do
    if grep -qF -- "$proof" "$log"; then fail "$log contains a full credential (proofValue ${proof:0:12}...)"; fi
  done < "$out/proofs"
  if grep -q '"credentialSubject"' "$log"; then fail "$log contains a credentialSubject"; fi
done

# Permissions are enforced where keys are read: tccd and the CLI name the file and its mode.
cp "$demo/tcc.key" "$out/shared.key"
chmod 640 "$out/shared.key"
status=0
timeout 60 "$tccd" --data-dir "$out/tccd" --key "$out/shared.key" --chain "local:$out/ledger" \
  --listen 'tcp://127.0.0.1:*' --control 'tcp://127.0.0.1:*' > "$out/tccd.out" 2>&1 || status=$?
[ "$status" -ne 0 ] || fail "tccd started with a key file of mode 0640"
grep -q "$out/shared.key has mode 0640" "$out/tccd.out" || fail "tccd's refusal does not name the file and its mode: $(cat "$out/tccd.out")"
status=0
"$tcc" did show --key "$out/shared.key" > "$out/cli.out" 2>&1 || status=$?
[ "$status" -eq 3 ] || fail "tcc did show exited $status for a key file of mode 0640 (expected 3)"
grep -q "$out/shared.key has mode 0640" "$out/cli.out" || fail "the CLI's refusal does not name the file and its mode: $(cat "$out/cli.out")"

if [ "$failures" -ne 0 ]; then
  echo "$failures key hygiene check(s) failed" >&2
  exit 1
fi
echo "key hygiene: ${#keys[@]} key files 0600, no secret or full credential in ${#logs[@]} logs, 0640 refused by tccd and tcc"
