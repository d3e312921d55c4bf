#!/usr/bin/env bash
# Issue #21 item 1, against a real tccd on real ledger files: while tccd holds the embedded ledger,
# the CLI's chain commands go through it (`--chain local:DIR/ledger` by itself, or `tccd:DIR`):
# a DID and a template version are registered and a consumer's TIC is recorded while another
# channel keeps settling, and the new TIC's channel opens; `tcc evidence verify --chain` (the
# command `tcc settle` prints) succeeds; a channel member reads through the party endpoint and its
# writes are refused (and counted); with tccd stopped, local: works offline again.
# Usage: chain_via_tccd_test.sh BUILD_DIR
set -uo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
tcc="$build/tcc/tcc"
tccd="$build/tcc/tccd"
work=$(mktemp -d)
# The default layout: tccd's ledger inside its data directory.
chain="local:$work/tccd/ledger"
tccd_pid=""
consumer_pid=""
provider_pid=""
cleanup() {
  for pid in $provider_pid $consumer_pid $tccd_pid; do
    kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  done
  [ -n "${KEEP:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
failures=0
check() {
  local name=$1
  shift
  if "$@"; then
    echo "ok   $name"
  else
    echo "FAIL $name"
    failures=$((failures + 1))
  fi
}
# Waits up to 120 s for a file to contain a line matching a pattern.
await_line() {
  for _ in $(seq 1 1200); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $1:" && cat "$1"
  return 1
}
# shellcheck source=../../scripts/lib/trade.sh
source "$root/scripts/lib/trade.sh"

mkdir -m 700 "$work/tccd"
trade_keys >/dev/null
"$tcc" key new --out "$work/auditor.key" >/dev/null
# Offline, before tccd runs: the CLI opens the ledger itself.
trade_templates > "$work/offline.log" 2>&1
check "offline local: registers templates (no tccd)" grep -q '^registered TST example.gpu-hour.tst v1' "$work/offline.log"
trade_tic 5 >/dev/null
first=$channel
trade_start_tccd || { echo "tccd did not start"; exit 1; }
trade_await_channel || { echo "tccd did not open the channel"; exit 1; }
ctl=(--control "$control" --tcc "$tcc_did" --data-dir "$work/tccd")

# A channel settling the whole time.
party=(--listen "$listen" --tcc "$tcc_did" --channel "$first" --tst "$work/tst.json" --timeout 10000)
total=60
"$tcc" settle --role consumer --key "$work/consumer.key" "${party[@]}" --count "$total" > "$work/consumer.log" 2>&1 &
consumer_pid=$!
"$tcc" settle --role provider --key "$work/provider.key" "${party[@]}" --count "$total" --interval 100 \
  --claim "$trade_examples/claims/gpu-hour.tsc-claim.json" --chain "$chain" > "$work/provider.log" 2>&1 &
provider_pid=$!
check "the first channel settles" await_line "$work/provider.log" '^TSC seq=3 '

# Chain writes while it settles, through tccd's control endpoint.
"$tcc" did register --chain "$chain" --key "$work/auditor.key" > "$work/did.out" 2> "$work/did.err"
check "did register on a held local: ledger goes through tccd" grep -q '^registered did:key:.* version 1 at height' "$work/did.out"
check "... with a one-line notice" bash -c "[ \$(wc -l < '$work/did.err') -eq 1 ] && grep -q 'is held by the tccd running on $work/tccd; going through it' '$work/did.err'"
trade_edit "$work/tit.json" "$work/tit2.json" version=2 title='"GPU hours, second version"'
check "a provider registers a template version while tccd runs" bash -c \
  "'$tcc' template register --chain '$chain' --key '$work/provider.key' '$work/tit2.json' 2>/dev/null | grep -q '^registered TIT example.gpu-hour.tit v2 '"
check "template list through tccd:DIR shows it" bash -c \
  "'$tcc' template list --chain 'tccd:$work/tccd' | grep -q '^example.gpu-hour.tit v2 TIT $provider_did '"
before=$(grep -c '^TSC seq=' "$work/provider.log")
"$tcc" tic apply --tit "$work/tit2.json" --provider "$provider_did" --consumer "$consumer_did" \
  "$work/tic-claim.json" > "$work/tic2-application.json"
"$tcc" tic issue --tit "$work/tit2.json" --key "$work/provider.key" "$work/tic2-application.json" \
  > "$work/tic2.json" 2>/dev/null
check "a consumer's TIC is recorded while tccd runs" bash -c \
  "'$tcc' tic record --chain '$chain' --tcc '$tcc_did' '$work/tic2.json' 2>/dev/null | grep -q '^recorded TIC '"
second=$("$tcc" vc hash "$work/tic2.json")
check "the new TIC's channel opens" bash -c "'$tcc' channel status ${ctl[*]} --wait 30000 '$second' > '$work/second.status'"
check "the settling channel kept getting TSCs meanwhile" await_line "$work/provider.log" "^TSC seq=$((before + 5)) "
wait "$provider_pid"
check "the provider settled all $total" test $? -eq 0
provider_pid=""
wait "$consumer_pid"
check "the consumer co-signed all $total" test $? -eq 0
consumer_pid=""
check "the provider's log has TSC $total" grep -q "^TSC seq=$total " "$work/provider.log"

# Evidence, verified against the running tccd's chain.
"$tcc" channel close "${ctl[@]}" --wait 30000 "$first" >/dev/null
"$tcc" evidence show --listen "$listen" --tcc "$tcc_did" --key "$work/consumer.key" --channel "$first" \
  --seq "$total" --out "$work/evidence.json" --tsc-out "$work/tsc.json" >/dev/null
verify=$(grep -o 'tcc evidence verify --chain .*' "$work/provider.log" | head -n1)
check "tcc settle printed the verify command for $chain" test "$verify" = "tcc evidence verify --chain $chain --tsc tsc.json evidence.json"
check "the verify command tcc settle prints works while tccd runs" bash -c \
  "cd '$work' && PATH='$(dirname "$tcc"):\$PATH' ${verify} 2>/dev/null | grep -q '^OK evidence.json seq=$total batch=.* anchored at height [0-9]*$'"
check "evidence verify --chain tccd:DIR" bash -c \
  "'$tcc' evidence verify --chain 'tccd:$work/tccd' --tsc '$work/tsc.json' '$work/evidence.json' | grep -q 'anchored at height'"

# A channel member (the consumer, of the open second channel) reads through the party endpoint.
member="tccd:$listen?tcc=$tcc_did&key=$work/consumer.key&channel=$second"
check "a member verifies evidence through the party endpoint" bash -c \
  "'$tcc' evidence verify --chain '$member' --tsc '$work/tsc.json' '$work/evidence.json' | grep -q 'anchored at height'"
"$tcc" did register --chain "$member" --key "$work/consumer.key" > "$work/member-write.out" 2> "$work/member-write.err"
status=$?
check "a member's chain write is refused" test "$status" -ne 0
check "... saying where writes are served" grep -q 'chain.write is served on tccd.s control endpoint only' "$work/member-write.err"
stranger="tccd:$listen?tcc=$tcc_did&key=$work/auditor.key&channel=$second"
check "a key that is no member of the channel reads nothing" bash -c \
  "! '$tcc' evidence verify --chain '$stranger' '$work/evidence.json' 2>/dev/null"
check "tccd counted the refused write" bash -c \
  "curl -sf http://$metrics/metrics | grep -Eq '^tcc_submissions_rejected_total\\{reason=\"permission_denied\"\\} [1-9]'"

# tccd stopped: local: is the CLI's own again, and tccd: says tccd is not running.
kill -TERM "$tccd_pid" && wait "$tccd_pid"
tccd_pid=""
"$tcc" template list --chain "$chain" > "$work/offline-list.out" 2> "$work/offline-list.err"
check "offline local: lists the templates registered through tccd" grep -q '^example.gpu-hour.tit v2 TIT' "$work/offline-list.out"
check "... with no notice" test ! -s "$work/offline-list.err"
check "offline evidence verify against local:" bash -c \
  "'$tcc' evidence verify --chain '$chain' --tsc '$work/tsc.json' '$work/evidence.json' | grep -q 'anchored at height'"
check "tccd:DIR with tccd stopped says so" bash -c \
  "'$tcc' template list --chain 'tccd:$work/tccd' 2>&1 >/dev/null | grep -q 'tccd is not running on'"
check "the ledger verifies" bash -c "'$tcc' ledger verify '$chain' | grep -q '^ledger OK'"

echo "$failures failed"
[ "$failures" -eq 0 ]
