#!/usr/bin/env bash
# `tcc settle` in a dispute, against a real tccd on the embedded ledger: the consumer's --max-fee
# rejects a bill that is too high and says why, the provider stops naming the rejection, a provider
# run with a corrected claim amends the bill for the same seq and it settles, and tccd counts the
# rejection by its reason; the consumer closes with a reason, and the closing record's evidence
# bundle verifies offline and on the ledger.
# Usage: settle_dispute_test.sh BUILD_DIR
set -uo pipefail
build=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
tcc="$build/tcc/tcc"
tccd="$build/tcc/tccd"
work=$(mktemp -d)
chain="local:$work/ledger"
tccd_pid=""
consumer_pid=""
cleanup() {
  for pid in $consumer_pid $tccd_pid; do
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
# Waits up to 60 s for a file to contain a line matching a pattern.
await_line() {
  for _ in $(seq 1 600); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $1:" && cat "$1"
  return 1
}
# shellcheck source=../../scripts/lib/trade.sh
source "$root/scripts/lib/trade.sh"

trade_keys >/dev/null
trade_templates >/dev/null
trade_tic 10 >/dev/null
trade_start_tccd || { echo "tccd did not start"; exit 1; }
trade_await_channel || { echo "tccd did not open the channel"; exit 1; }
party=(--listen "$listen" --tcc "$tcc_did" --channel "$channel" --tst "$work/tst.json" --timeout 3000)
trade_edit "$trade_examples/claims/gpu-hour.tsc-claim.json" "$work/high.json" fee.amount='"9.99"'
trade_edit "$trade_examples/claims/gpu-hour.tsc-claim.json" "$work/fair.json" fee.amount='"0.38"'

check "--max-fee is the consumer's" bash -c "'$tcc' settle --role provider --key '$work/provider.key' ${party[*]} --claim '$work/fair.json' --max-fee 1 2>/dev/null; [ \$? -eq 2 ]"
check "--max-fee must be an amount" bash -c "'$tcc' settle --role consumer --key '$work/consumer.key' ${party[*]} --max-fee lots 2>/dev/null; [ \$? -eq 2 ]"
check "--max-unit-price needs --unit" bash -c "'$tcc' settle --role consumer --key '$work/consumer.key' ${party[*]} --max-unit-price 0.01 2>/dev/null; [ \$? -eq 2 ]"

"$tcc" settle --role consumer --key "$work/consumer.key" "${party[@]}" --count 1 --max-fee 1.00 > "$work/consumer.log" 2>&1 &
consumer_pid=$!
"$tcc" settle --role provider --key "$work/provider.key" "${party[@]}" --count 1 --claim "$work/high.json" \
  > "$work/provider-high.log" 2>&1
status=$?
check "the provider of a rejected bill stops with an error" test "$status" -ne 0
check "the consumer rejects the bill and says why" await_line "$work/consumer.log" '^rejected seq=1 code=price fee 9.99 is above the consumer.s limit 1$'
check "the provider is told the reason" grep -q '^rejected by the consumer: seq=1 code=price fee 9.99' "$work/provider-high.log"
check "the provider's error names the rejection" grep -q 'the consumer rejected the bill for seq 1 (price' "$work/provider-high.log"

"$tcc" settle --role provider --key "$work/provider.key" "${party[@]}" --count 1 --claim "$work/fair.json" \
  > "$work/provider-fair.log" 2>&1
check "a corrected provider run amends seq 1 and it settles" grep -q '^TSC seq=1 hash=[0-9a-f]\{64\} fee=0.38 USD$' "$work/provider-fair.log"
wait "$consumer_pid"
check "the consumer co-signed the amended bill and stopped" test $? -eq 0
consumer_pid=""
check "the consumer's log has the amended TSC" grep -q '^cosigned TSC seq=1 .* fee=0.38 USD$' "$work/consumer.log"
check "tcc settle kept the TSC beside the key by default (KEY.tscs/CHANNEL/SEQ.json)" \
  test -s "$work/consumer.tscs/$channel/00000000000000000001.json"
check "tccd counted the rejection" bash -c "curl -sf http://$metrics/metrics | grep -q '^tcc_rejections_total{code=\"price\"} 1'"

# The dispute record as a member sees it, then a close with a reason by the consumer.
member=(--listen "$listen" --tcc "$tcc_did" --channel "$channel" --timeout 3000)
check "dispute show lists the rejection, verified" bash -c "'$tcc' dispute show ${member[*]} --key '$work/provider.key' > '$work/show' && grep -q '^rejected seq=1 proposal=[0-9a-f]\{64\} by $consumer_did at .* code=price fee 9.99' '$work/show'"
check "dispute close needs a known --code" bash -c "'$tcc' dispute close ${member[*]} --key '$work/consumer.key' --code cheaper 2>/dev/null; [ \$? -eq 2 ]"
check "the consumer closes the channel with a reason" bash -c "'$tcc' dispute close ${member[*]} --key '$work/consumer.key' --code price --text 'prices rose' > '$work/closing.json' && grep -q '\"type\": \"ChannelClosing\"' '$work/closing.json'"
check "dispute show --json has the closing record" bash -c "'$tcc' dispute show ${member[*]} --key '$work/provider.key' --json | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(0 if d['closing']['party']=='$consumer_did' and d['closing']['text']=='prices rose' and len(d['rejections'])==1 else 1)\""
check "the channel is closed" bash -c "'$tcc' channel status --control '$control' --tcc '$tcc_did' --data-dir '$work/tccd' --json '$channel' | grep -q '\"closed\"'"

# The closing record has its own evidence leaf, anchored with the last TSC: a member fetches it with
# its bundle, and `tcc evidence verify --closing` checks leaf, path and the TCC's signature.
await_closing_evidence() {
  for _ in $(seq 1 300); do
    "$tcc" dispute show "${member[@]}" --key "$work/provider.key" --closing-out "$work/closing.record.json" \
      --evidence-out "$work/closing.evidence.json" >"$work/show" 2>&1 && return 0
    sleep 0.1
  done
  cat "$work/show"
  return 1
}
check "dispute show writes the closing record and its evidence once anchored" await_closing_evidence
check "dispute show says where the closing record is anchored" grep -q '^closing record anchored in batch ' "$work/show"
check "evidence verify --closing verifies the closing record's bundle offline" bash -c "'$tcc' evidence verify --closing '$work/closing.record.json' --tcc '$tcc_did' '$work/closing.evidence.json' | grep -q '^OK .* closing record, last seq=1 .*signed by $tcc_did (offline)'"
check "evidence verify --closing needs --tcc" bash -c "'$tcc' evidence verify --closing '$work/closing.record.json' '$work/closing.evidence.json' 2>/dev/null; [ \$? -eq 2 ]"
python3 -c "import json; d=json.load(open('$work/closing.record.json')); d['code']='other'; json.dump(d, open('$work/tampered.json', 'w'))"
check "a tampered closing record fails" bash -c "'$tcc' evidence verify --closing '$work/tampered.json' --tcc '$tcc_did' '$work/closing.evidence.json' | grep -q '^FAIL '"
# The embedded ledger belongs to tccd while it runs.
kill -TERM "$tccd_pid" && wait "$tccd_pid"
tccd_pid=""
check "evidence verify --closing --chain finds the closing record's root on the ledger" bash -c "'$tcc' evidence verify --chain '$chain' --closing '$work/closing.record.json' --tcc '$tcc_did' '$work/closing.evidence.json' | grep -q 'anchored at height'"

echo "$failures failed"
[ "$failures" -eq 0 ]
