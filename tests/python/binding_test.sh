#!/usr/bin/env bash
# Sets up a trade on the embedded ledger (N = 2), starts a real tccd, and runs binding_test.py,
# whose two sessions (provider and consumer) talk to it over ZeroMQ loopback.
# Usage: binding_test.sh TCC TCCD
set -euo pipefail
tcc=$1 tccd=$2
work=$(mktemp -d)
chain="local:$work/ledger"
tccd_pid=""
cleanup() {
  if [ -n "$tccd_pid" ]; then { kill -KILL "$tccd_pid" && wait "$tccd_pid"; } 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../../scripts/lib/trade.sh
source "$(dirname "$0")/../../scripts/lib/trade.sh"

trade_keys
trade_templates > /dev/null
trade_tic 2 > /dev/null
trade_start_tccd || { echo "FAIL: tccd did not start"; exit 1; }
trade_await_channel || { echo "FAIL: tccd did not open the channel"; tail -n 20 "$work/tccd.log"; exit 1; }

status=0
"${TCC_PYTHON:-python3}" "$(dirname "$0")/binding_test.py" --listen "$listen" --tcc "$tcc_did" \
  --channel "$channel" --work "$work" --tccd-pid "$tccd_pid" || status=$?
[ "$status" -eq 0 ] || { echo "--- tccd.log (tail)"; tail -n 30 "$work/tccd.log"; }
exit "$status"
