# Shell functions that set up a trade on the embedded ledger and start tccd: sourced by
# scripts/demo.sh and by the tests that run real parties (tests/examples). The caller sets
# $tcc and $tccd (the built binaries), $work (a fresh directory) and $chain (local:$work/ledger);
# the functions set the variables they name.

trade_examples=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../schemas/examples" && pwd)

# Rewrites members of a JSON file: trade_edit FILE OUT path=value... (a.b=... for nested members;
# the value is JSON if it parses as JSON, else a string).
trade_edit() {
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

# A member of the JSON on stdin: trade_json_get KEY.
trade_json_get() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# Key files (mode 0600) in $work for the TCC, a provider and a consumer.
# Sets tcc_did, provider_did, consumer_did.
trade_keys() {
  tcc_did=$("$tcc" key new --out "$work/tcc.key")
  provider_did=$("$tcc" key new --out "$work/provider.key")
  consumer_did=$("$tcc" key new --out "$work/consumer.key")
}

# The provider registers the GPU-hour TIT and TST ($work/tit.json, $work/tst.json) on $chain.
trade_templates() {
  "$tcc" template copy --owner "$provider_did" "$trade_examples/gpu-hour.tit.json" > "$work/tit.json"
  "$tcc" template copy --owner "$provider_did" "$trade_examples/gpu-hour.tst.json" > "$work/tst.json"
  "$tcc" template register --chain "$chain" --key "$work/provider.key" "$work/tit.json"
  "$tcc" template register --chain "$chain" --key "$work/provider.key" "$work/tst.json"
}

# trade_tic N: the consumer applies for a TIC anchoring every N TSCs, the provider issues it
# ($work/tic.json), and it is recorded on $chain for the TCC. Sets channel (the TIC's hash).
trade_tic() {
  # The parties come from the command line (as in docs/getting-started.md); only N is edited.
  trade_edit "$trade_examples/claims/gpu-hour.tic-claim.json" "$work/tic-claim.json" settlement.n="$1"
  "$tcc" tic apply --tit "$work/tit.json" --provider "$provider_did" --consumer "$consumer_did" \
    "$work/tic-claim.json" > "$work/tic-application.json"
  "$tcc" tic issue --tit "$work/tit.json" --key "$work/provider.key" "$work/tic-application.json" \
    > "$work/tic.json" 2>/dev/null
  # Before tccd starts the CLI writes the ledger itself; while tccd runs it goes through tccd.
  "$tcc" tic record --chain "$chain" --tcc "$tcc_did" "$work/tic.json"
  channel=$("$tcc" vc hash "$work/tic.json")
}

# trade_start_tccd [LAUNCHER...]: starts tccd on $chain with system-chosen loopback ports (log
# $work/tccd.log; the optional launcher, e.g. setsid, runs it) and waits for its "ready" line.
# Sets tccd_pid, listen, control, metrics; returns 1 (log tail on stderr) if it never gets ready.
trade_start_tccd() {
  "$@" "$tccd" --data-dir "$work/tccd" --key "$work/tcc.key" --chain "$chain" \
    --listen "${listen:-tcp://127.0.0.1:*}" --control "${control:-tcp://127.0.0.1:*}" --metrics 127.0.0.1:0 \
    2>> "$work/tccd.log" &
  tccd_pid=$!
  local ready="" lines
  lines=$(wc -l < "$work/tccd.log" 2>/dev/null || echo 0)
  for _ in $(seq 1 200); do
    ready=$(tail -n +"$((lines + 1))" "$work/tccd.log" 2>/dev/null | grep -m1 '"msg":"ready"' || true)
    [ -n "$ready" ] && break
    kill -0 "$tccd_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$ready" ]; then
    tail -n 20 "$work/tccd.log" >&2 || true
    return 1
  fi
  listen=$(trade_json_get listen <<< "$ready")
  control=$(trade_json_get control <<< "$ready")
  metrics=$(trade_json_get metrics <<< "$ready")
}

# Waits until tccd has opened $channel (it does so once it sees the recorded TIC).
trade_await_channel() {
  for _ in $(seq 1 100); do
    "$tcc" channel status --control "$control" --tcc "$tcc_did" --data-dir "$work/tccd" --timeout 2000 "$channel" \
      >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}
