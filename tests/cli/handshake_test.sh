#!/usr/bin/env bash
# A wrong TCC DID, a refused key or a wrong port, against a real tccd (issue #21, item 3): the CLI
# (through the SDK's Connection) says what is wrong within about a second instead of waiting out
# --timeout and saying "no answer":
#   - a wrong --tcc DID on the party and the control endpoint: "the server's key does not match
#     the DID given" (the CURVE handshake fails; the socket monitor reports it);
#   - a key the control endpoint does not admit: "refused this client's key", and tccd logs the
#     refusal;
#   - nothing listening: still the timeout, but saying that nothing accepts connections there;
#   - --data-dir alone finds the endpoints of a tccd that picked its ports.
# Usage: handshake_test.sh TCC TCCD
set -euo pipefail
tcc=$1
tccd=$2
out=$(mktemp -d)
tccd_pid=""
cleanup() {
  if [ -n "$tccd_pid" ] && kill -0 "$tccd_pid" 2>/dev/null; then
    kill -TERM "$tccd_pid" 2>/dev/null || true
    wait "$tccd_pid" 2>/dev/null || true
  fi
  rm -rf "$out"
}
trap cleanup EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# fails_fast NAME MESSAGE COMMAND...: COMMAND must exit 3 within 5 s, process start-up included, on a
# busy machine or under sanitizers (its --timeout is 20 s; alone it takes a few hundred ms), and
# say MESSAGE on stderr.
fails_fast() {
  local name=$1 message=$2 status=0 start elapsed
  shift 2
  start=$(now_ms)
  "$@" > "$out/$name.out" 2> "$out/$name.err" || status=$?
  elapsed=$(($(now_ms) - start))
  echo "$name: exit $status after $elapsed ms: $(head -c 300 "$out/$name.err")"
  [ "$status" -eq 3 ] || fail "$name exited $status, expected 3"
  [ "$elapsed" -lt 5000 ] || fail "$name took $elapsed ms (the request timeout is 20000 ms)"
  grep -qF -- "$message" "$out/$name.err" || fail "$name did not say \"$message\": $(cat "$out/$name.err")"
}

mkdir -m 700 "$out/tccd"
tcc_did=$("$tcc" key new --out "$out/tccd/tcc.key")
wrong_did=$("$tcc" key new --out "$out/wrong.key")
"$tcc" key new --out "$out/stranger.key" > /dev/null
"$tccd" --data-dir "$out/tccd" --listen 'tcp://127.0.0.1:*' --control 'tcp://127.0.0.1:*' 2> "$out/tccd.log" &
tccd_pid=$!
# tccd writes its endpoints once ready; --data-dir alone then reaches it (the wait is the CLI's own).
for _ in $(seq 1 300); do
  [ -f "$out/tccd/endpoints.json" ] && break
  kill -0 "$tccd_pid" 2>/dev/null || { cat "$out/tccd.log" >&2; exit 1; }
  sleep 0.1
done
[ -f "$out/tccd/endpoints.json" ] || { cat "$out/tccd.log" >&2; echo "FAIL: no endpoints.json" >&2; exit 1; }
listen=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' "$out/tccd/endpoints.json")
control=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$out/tccd/endpoints.json")
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["did"])' "$out/tccd/endpoints.json")" = "$tcc_did" ] ||
  fail "endpoints.json names another DID"
[[ $listen == tcp://127.0.0.1:* ]] && [[ $listen != *'*'* ]] || fail "endpoints.json listen is \"$listen\""

"$tcc" anchor status --data-dir "$out/tccd" > "$out/ok.out" 2>&1 || fail "--data-dir alone: $(cat "$out/ok.out")"
grep -q '^batches  *[0-9]* anchored since tccd started$' "$out/ok.out" ||
  fail "anchor status does not say its counters are this process's: $(cat "$out/ok.out")"
"$tcc" anchor status --data-dir "$out/tccd" --control "$control" > /dev/null 2>&1 || fail "--data-dir with --control"

channel=$(printf '%064d' 7)
fails_fast party_wrong_did "the server's key does not match the DID given" \
  "$tcc" evidence show --listen "$listen" --tcc "$wrong_did" --key "$out/stranger.key" --channel "$channel" --seq 1 \
  --timeout 20000
fails_fast control_wrong_did "the server's key does not match the DID given" \
  "$tcc" channel list --control "$control" --tcc "$wrong_did" --key "$out/tccd/admin.key" --timeout 20000
fails_fast control_not_admin "refused this client's key" \
  "$tcc" channel list --control "$control" --tcc "$tcc_did" --key "$out/stranger.key" --timeout 20000
# The party endpoint given as the control endpoint: tccd's ZAP refuses a party on the control socket.
fails_fast party_on_control "refused this client's key" \
  "$tcc" evidence show --listen "$control" --tcc "$tcc_did" --key "$out/stranger.key" --channel "$channel" --seq 1 \
  --timeout 20000
# tccd logs the refused key as the DID document shows it (keyAgreement), so the operator can tell whose it is.
stranger_agreement=$("$tcc" did show --key "$out/stranger.key" |
  python3 -c 'import json,sys; d=json.load(sys.stdin); print([m["publicKeyMultibase"] for m in d["verificationMethod"] if m["publicKeyMultibase"].startswith("z6LS")][0])')
grep '"msg":"control connection refused"' "$out/tccd.log" | grep -qF "\"key_agreement\":\"$stranger_agreement\"" ||
  fail "tccd did not log the refused control key $stranger_agreement: $(grep refused "$out/tccd.log" || true)"

# Nothing listening (tccd's endpoints after it stopped): the timeout, saying why.
kill -TERM "$tccd_pid"
wait "$tccd_pid" || fail "tccd did not stop cleanly"
tccd_pid=""
[ ! -e "$out/tccd/endpoints.json" ] || fail "tccd left endpoints.json behind after stopping"
status=0
"$tcc" channel list --control "$control" --tcc "$tcc_did" --key "$out/tccd/admin.key" --timeout 1500 \
  > /dev/null 2> "$out/gone.err" || status=$?
[ "$status" -eq 3 ] || fail "no tccd: exit $status"
grep -q "no answer from tccd at $control within 1500 ms: nothing accepts connections there" "$out/gone.err" ||
  fail "no tccd: $(cat "$out/gone.err")"

if [ "$failures" -ne 0 ]; then
  echo "--- tccd.log"; tail -n 20 "$out/tccd.log"
  echo "$failures handshake check(s) failed" >&2
  exit 1
fi
echo "handshake: wrong DID and refused keys reported within a second; --data-dir finds the endpoints"
