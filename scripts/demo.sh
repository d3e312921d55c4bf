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
# TCC_DEMO_INTERVAL_MS (time between proposals, default 200), TCC_CLI and TCCD (the tcc and tccd
# binaries to run: with both set the demo builds nothing and uses them as they are, which is how
# the tests run it on the tree under test, whatever its generator and build type).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${TCC_CLI:-}" ] && [ -n "${TCCD:-}" ]; then
  tcc=$TCC_CLI
  tccd=$TCCD
  [ -x "$tcc" ] && [ -x "$tccd" ] || { echo "demo: TCC_CLI=$tcc or TCCD=$tccd is not an executable" >&2; exit 2; }
else
  build=${TCC_BUILD_DIR:-$root/build}
  bash "$root/scripts/build.sh" >/dev/null
  tcc="$build/tcc/tcc"
  tccd="$build/tcc/tccd"
fi
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
# shellcheck source=lib/trade.sh
source "$root/scripts/lib/trade.sh"
# Background processes run in their own session when setsid exists: a Ctrl-C on the terminal then
# reaches only the foreground party, and the demo stops the rest in order. (setsid execs in place
# here, so $! is the process itself.)
detach=()
command -v setsid >/dev/null && detach=(setsid)

step "1. Keys and DIDs for the TCC, a provider and a consumer (key files are mode 0600)"
trade_keys
printf 'TCC      %s\nprovider %s\nconsumer %s\n' "$tcc_did" "$provider_did" "$consumer_did"

step "2. The provider registers its TIT and TST templates (GPU hours, settled per minute) on the ledger"
trade_templates
"$tcc" template list --chain "$chain"

step "3. The consumer applies for a TIC (anchor every N=10 settlements); the provider issues it; it is recorded for the TCC"
trade_tic 10
echo "channel id (the TIC's hash): $channel"

step "4. tccd starts on the embedded ledger and opens the channel for the recorded TIC"
# Ports are chosen by the system; the "ready" log line names them.
trade_start_tccd "${detach[@]}" || fail "tccd did not become ready (log: $work/tccd.log)"
echo "tccd is ready: parties at $listen, control at $control (log: $work/tccd.log)"
[ -n "$metrics" ] && echo "Prometheus metrics while it runs: curl http://$metrics/metrics"
admin=(--control "$control" --tcc "$tcc_did" --data-dir "$work/tccd")
trade_await_channel || fail "tccd did not open channel $channel"
"$tcc" channel list "${admin[@]}"

if [ "$settlements" -eq 0 ]; then
  step "5. Settling live every ${interval} ms: the provider proposes, the consumer co-signs, tccd issues TSCs (Ctrl-C to stop)"
else
  step "5. Settling $settlements times, every ${interval} ms: the provider proposes, the consumer co-signs, tccd issues TSCs"
fi
party=(--listen "$listen" --tcc "$tcc_did" --channel "$channel" --tst "$work/tst.json" --count "$settlements" --chain "$chain")
trade_edit "$trade_examples/claims/gpu-hour.tsc-claim.json" "$work/tsc-claim.json"
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
  last_seq=$(trade_json_get last_seq <<< "$status")
  [ "$(trade_json_get anchored_seq <<< "$status")" = "$last_seq" ] && break
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
