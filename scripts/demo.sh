#!/usr/bin/env bash
# The main demo of README.md: builds TCC, starts the daemon tccd on the embedded ledger, and runs a
# provider and a consumer settling live over ZeroMQ until Ctrl-C (or TCC_DEMO_SETTLEMENTS TSCs):
#   keys and DIDs -> templates registered on chain -> TIC applied for, issued and recorded ->
#   tccd opens the channel from the recorded TIC -> both parties join by DID challenge-response ->
#   the provider proposes, the consumer checks and co-signs, tccd issues TSCs and anchors every N ->
#   the channel is closed (its last TSC anchored) -> the evidence bundle and the ledger verify.
#
# Environment: TCC_BUILD_DIR (default build/), TCC_DEMO_DIR (default demo-data/, recreated),
# TCC_DEMO_SETTLEMENTS (settle this many, then stop; default: until Ctrl-C on a terminal, else 20),
# TCC_DEMO_INTERVAL_MS (time between proposals, default 200).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" >/dev/null
tcc="$build/tcc/tcc"
tccd="$build/tcc/tccd"
work=${TCC_DEMO_DIR:-$root/demo-data}
if [ -n "${TCC_DEMO_SETTLEMENTS:-}" ]; then
  settlements=$TCC_DEMO_SETTLEMENTS
elif [ -t 1 ]; then
  settlements=0
else
  settlements=20
fi
interval=${TCC_DEMO_INTERVAL_MS:-200}
rm -rf "$work"
mkdir -p "$work/evidence"
chain="local:$work/ledger"
examples="$root/schemas/examples"

tccd_pid=""
consumer_pid=""
cleanup() {
  # Whatever happened, leave no daemon or party running.
  for pid in $consumer_pid $tccd_pid; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
    fi
  done
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() {
  echo "demo: $*" >&2
  exit 1
}
# Rewrites members of a JSON file: edit FILE OUT path=value... (a.b=... for nested members; the
# value is JSON if it parses as JSON, else a string).
edit() {
  python3 - "$@" <<'PY'
import json, sys
source, target, *pairs = sys.argv[1:]
document = json.load(open(source))
for pair in pairs:
    key, value = pair.split("=", 1)
    try:
        value = json.loads(value)
    except ValueError:
        pass
    node = document
    *parents, last = key.split(".")
    for parent in parents:
        node = node[parent]
    node[last] = value
json.dump(document, open(target, "w"), indent=2)
PY
}
# A member of the JSON on stdin: json_get KEY.
json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
# Background processes run in their own session when setsid exists: a Ctrl-C on the terminal then
# reaches only the foreground party, and the demo stops the rest in order. (setsid execs in place
# here, so $! is the process itself.)
detach=()
command -v setsid >/dev/null && detach=(setsid)

step "1. Keys and DIDs for the TCC, a provider and a consumer (key files are mode 0600)"
tcc_did=$("$tcc" key new --out "$work/tcc.key")
provider_did=$("$tcc" key new --out "$work/provider.key")
consumer_did=$("$tcc" key new --out "$work/consumer.key")
printf 'TCC      %s\nprovider %s\nconsumer %s\n' "$tcc_did" "$provider_did" "$consumer_did"

step "2. The provider registers its TIT and TST templates (GPU hours, settled per minute) on the ledger"
edit "$examples/gpu-hour.tit.json" "$work/tit.json" owner="$provider_did"
edit "$examples/gpu-hour.tst.json" "$work/tst.json" owner="$provider_did"
"$tcc" template register --chain "$chain" --key "$work/provider.key" "$work/tit.json"
"$tcc" template register --chain "$chain" --key "$work/provider.key" "$work/tst.json"
"$tcc" template list --chain "$chain"

step "3. The consumer applies for a TIC (anchor every N=10 settlements); the provider issues it; it is recorded for the TCC"
edit "$examples/claims/gpu-hour.tic-claim.json" "$work/tic-claim.json" \
  provider="$provider_did" consumer="$consumer_did" settlement.n=10
"$tcc" tic apply --tit "$work/tit.json" "$work/tic-claim.json" > "$work/tic-application.json"
"$tcc" tic issue --tit "$work/tit.json" --key "$work/provider.key" "$work/tic-application.json" \
  > "$work/tic.json" 2>/dev/null
# The embedded ledger is single-process: every chain write happens before tccd opens it.
"$tcc" tic record --chain "$chain" --tcc "$tcc_did" "$work/tic.json"
channel=$("$tcc" vc hash "$work/tic.json")
echo "channel id (the TIC's hash): $channel"

step "4. tccd starts on the embedded ledger and opens the channel for the recorded TIC"
# Ports are chosen by the system; the "ready" log line names them.
"${detach[@]}" "$tccd" --data-dir "$work/tccd" --key "$work/tcc.key" --chain "$chain" \
  --listen 'tcp://127.0.0.1:*' --control 'tcp://127.0.0.1:*' --metrics 127.0.0.1:0 2> "$work/tccd.log" &
tccd_pid=$!
ready=""
for _ in $(seq 1 200); do
  ready=$(grep -m1 '"msg":"ready"' "$work/tccd.log" 2>/dev/null || true)
  [ -n "$ready" ] && break
  kill -0 "$tccd_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  tail -n 20 "$work/tccd.log" >&2 || true
  fail "tccd did not become ready (log: $work/tccd.log)"
fi
listen=$(json_get listen <<< "$ready")
control=$(json_get control <<< "$ready")
metrics=$(json_get metrics <<< "$ready")
echo "tccd is ready: parties at $listen, control at $control (log: $work/tccd.log)"
[ -n "$metrics" ] && echo "Prometheus metrics while it runs: curl http://$metrics/metrics"
admin=(--control "$control" --tcc "$tcc_did" --data-dir "$work/tccd")
for _ in $(seq 1 100); do
  "$tcc" channel status "${admin[@]}" --timeout 2000 "$channel" >/dev/null 2>&1 && break
  sleep 0.1
done
"$tcc" channel list "${admin[@]}"

if [ "$settlements" -eq 0 ]; then
  step "5. Settling live every ${interval} ms: the provider proposes, the consumer co-signs, tccd issues TSCs (Ctrl-C to stop)"
else
  step "5. Settling $settlements times, every ${interval} ms: the provider proposes, the consumer co-signs, tccd issues TSCs"
fi
party=(--listen "$listen" --tcc "$tcc_did" --channel "$channel" --tst "$work/tst.json" --count "$settlements" --chain "$chain")
edit "$examples/claims/gpu-hour.tsc-claim.json" "$work/tsc-claim.json"
"${detach[@]}" "$tcc" settle --role consumer --key "$work/consumer.key" "${party[@]}" > "$work/consumer.log" 2>&1 &
consumer_pid=$!
echo "consumer running in the background (log: $work/consumer.log); provider:"
# Ctrl-C reaches the provider (and this script, which carries on once the provider has stopped).
trap ':' INT
provider_status=0
"$tcc" settle --role provider --key "$work/provider.key" "${party[@]}" --claim "$work/tsc-claim.json" \
  --interval "$interval" || provider_status=$?
trap - INT
kill -TERM "$consumer_pid" 2>/dev/null || true
wait "$consumer_pid" 2>/dev/null || true
consumer_pid=""
echo "consumer: $(grep -c '^cosigned TSC' "$work/consumer.log" || true) proposals checked and co-signed; its summary:"
sed -n '/^summary/,$p' "$work/consumer.log" | sed 's/^/  /'
[ "$provider_status" -eq 0 ] || fail "the provider failed (exit $provider_status)"

step "6. The channel closes: tccd anchors its last TSC at once"
"$tcc" channel close "${admin[@]}" "$channel" >/dev/null
last_seq=0
for _ in $(seq 1 100); do
  status=$("$tcc" channel status "${admin[@]}" --json "$channel")
  last_seq=$(json_get last_seq <<< "$status")
  [ "$(json_get anchored_seq <<< "$status")" = "$last_seq" ] && break
  sleep 0.1
done
"$tcc" channel status "${admin[@]}" "$channel"
[ "$last_seq" -gt 0 ] || fail "no settlement was issued"
echo
"$tcc" anchor status "${admin[@]}"

step "7. The consumer fetches the evidence bundle of the last TSC (seq $last_seq) over the channel"
bundle="$work/evidence/tsc-$last_seq.evidence.json"
last_tsc="$work/evidence/tsc-$last_seq.json"
"$tcc" evidence show --listen "$listen" --tcc "$tcc_did" --key "$work/consumer.key" --channel "$channel" \
  --seq "$last_seq" --out "$bundle" --tsc-out "$last_tsc"

step "8. tccd stops (SIGTERM: drains, anchors what is queued); the bundle and the ledger verify against the chain"
kill -TERM "$tccd_pid"
wait "$tccd_pid" || fail "tccd did not stop cleanly (log: $work/tccd.log)"
tccd_pid=""
"$tcc" tsc verify --tst "$work/tst.json" --issuer "$tcc_did" "$last_tsc"
"$tcc" evidence verify --chain "$chain" --tsc "$last_tsc" "$bundle"
"$tcc" ledger verify "$chain"

step "Done"
echo "$last_seq TSCs settled on channel $channel; the last one commits them all by hash and is anchored."
echo "Files are in $work; the ledger is $chain; tccd's log is $work/tccd.log."
echo "Verify the last settlement's evidence yourself:"
echo "  $tcc evidence verify --chain $chain --tsc $last_tsc $bundle"
