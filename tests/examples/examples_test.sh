#!/usr/bin/env bash
# Runs a GPU provider and a GPU consumer example against a real tccd on the embedded ledger
# (N = 5), stops tccd after the 4th TSC (SIGKILL, or SIGTERM when told) and restarts it on the same
# endpoints. Both programs must rejoin by themselves, settle all 12 minutes exactly once each with
# the same hashes, and the provider must fetch and verify the evidence of its latest anchored TSC.
# A party may be the C++ example or its Python twin (examples/python/*.py, run with $TCC_PYTHON,
# default python3): every pairing must interoperate.
# Usage: examples_test.sh TCC TCCD GPU_PROVIDER GPU_CONSUMER [KILL|TERM]
set -euo pipefail
tcc=$1 tccd=$2 provider_bin=$3 consumer_bin=$4 stop_signal=${5:-KILL}
provider=("$provider_bin") consumer=("$consumer_bin")
[[ $provider_bin == *.py ]] && provider=("${TCC_PYTHON:-python3}" "$provider_bin")
[[ $consumer_bin == *.py ]] && consumer=("${TCC_PYTHON:-python3}" "$consumer_bin")
work=$(mktemp -d)
chain="local:$work/ledger"
tccd_pid="" consumer_pid="" provider_pid=""
cleanup() {
  for pid in $provider_pid $consumer_pid $tccd_pid; do { kill -KILL "$pid" && wait "$pid"; } 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for log in provider consumer tccd; do echo "--- $log.log"; tail -n 30 "$work/$log.log" 2>/dev/null || true; done
  exit 1
}
# shellcheck source=../../scripts/lib/trade.sh
source "$(dirname "$0")/../../scripts/lib/trade.sh"

trade_keys
trade_templates > /dev/null
trade_tic 5 > /dev/null
trade_start_tccd || fail "tccd did not start"
trade_await_channel || fail "tccd did not open the channel"

party=(--listen "$listen" --tcc "$tcc_did" --channel "$channel" --tst "$work/tst.json" --tic "$work/tic.json"
       --count 12 --timeout 2000)
"${consumer[@]}" "${party[@]}" --key "$work/consumer.key" > "$work/consumer.log" 2>&1 &
consumer_pid=$!
# The C++ pair also disputes a bill: the provider misbills minute 2 once, the consumer rejects it,
# the provider amends it.
misbill=()
[[ $provider_bin != *.py && $consumer_bin != *.py ]] && misbill=(--misbill 2)
"${provider[@]}" "${party[@]}" --key "$work/provider.key" --interval 100 "${misbill[@]}" > "$work/provider.log" 2>&1 &
provider_pid=$!

for _ in $(seq 1 300); do
  grep -q '^TSC seq=4 ' "$work/provider.log" && break
  kill -0 "$provider_pid" 2>/dev/null || break
  sleep 0.05
done
grep -q '^TSC seq=4 ' "$work/provider.log" || fail "no TSC 4 before the crash"
{ kill -"$stop_signal" "$tccd_pid" && wait "$tccd_pid"; } 2>/dev/null || true
sleep 0.5
trade_start_tccd || fail "tccd did not restart"

# Both parties end by themselves within seconds; one that stalls (e.g. a bill the consumer refuses
# holds the channel) fails the test here, with the logs, instead of at ctest's timeout.
for _ in $(seq 1 1200); do
  kill -0 "$provider_pid" 2>/dev/null || kill -0 "$consumer_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$provider_pid" 2>/dev/null || kill -0 "$consumer_pid" 2>/dev/null; then
  fail "a party did not finish within 120 s"
fi
provider_status=0 consumer_status=0
wait "$provider_pid" || provider_status=$?
provider_pid=""
wait "$consumer_pid" || consumer_status=$?
consumer_pid=""

passed=0 failed=0
check() {
  if eval "$2"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: $1"; fi
}
check "the provider exits 0 (got $provider_status)" '[ "$provider_status" -eq 0 ]'
check "the consumer exits 0 (got $consumer_status)" '[ "$consumer_status" -eq 0 ]'
for seq in $(seq 1 12); do
  check "the provider applied TSC $seq exactly once" "[ \$(grep -c '^TSC seq=$seq hash=[0-9a-f]\\{64\\} fee=[0-9]*\\.[0-9][0-9]$' '$work/provider.log') -eq 1 ]"
  check "the consumer applied TSC $seq exactly once" "[ \$(grep -c '^cosigned TSC seq=$seq hash=[0-9a-f]\\{64\\}$' '$work/consumer.log') -eq 1 ]"
done
check "no TSC beyond 12" "! grep -q '^TSC seq=1[3-9]' '$work/provider.log'"
provider_hashes=$(sed -n 's/^TSC seq=\([0-9]*\) hash=\([0-9a-f]*\) .*/\1 \2/p' "$work/provider.log")
consumer_hashes=$(sed -n 's/^cosigned TSC seq=\([0-9]*\) hash=\([0-9a-f]*\)$/\1 \2/p' "$work/consumer.log")
check "both parties applied the same TSCs, seq by seq, with the same hashes" \
  '[ -n "$provider_hashes" ] && [ "$provider_hashes" = "$consumer_hashes" ]'
last_hash=$(sed -n 's/^TSC seq=12 hash=\([0-9a-f]*\) .*/\1/p' "$work/provider.log")
check "both parties end on the same hash" "grep -q '^settled through seq 12, last hash $last_hash\$' '$work/consumer.log'"
check "a party noticed the crash and rejoined" "grep -q '^reconnected at seq' '$work/provider.log' '$work/consumer.log'"
check "the consumer refused nothing" "! grep -q '^refused' '$work/consumer.log'"
if [ ${#misbill[@]} -gt 0 ]; then
  check "the consumer rejected the misbilled minute 2 with its reason" \
    "[ \$(grep -c '^rejected seq=2: fee [0-9.]* for [0-9]* GPU-seconds; the TIC.s price gives [0-9.]*$' '$work/consumer.log') -eq 1 ]"
  check "the provider was told, with the reason" "grep -q '^rejected seq=2 by the consumer: wrong_amount: fee ' '$work/provider.log'"
fi
# Batches close every 5 TSCs (N = 5), so the latest anchored TSC is 10 — unless tccd was stopped
# with SIGTERM, which anchors what it holds (TSC 4, or 5 if it came first) before exiting; the next
# batches then close 5 TSCs after that one, so the latest is one of 8 to 12.
evidence_seqs='10'
[ "$stop_signal" = TERM ] && evidence_seqs='\(8\|9\|10\|11\|12\)'
check "the provider verified the evidence of its latest anchored TSC" \
  "grep -q '^evidence for seq $evidence_seqs verified: root [0-9a-f]\\{64\\} in batch .* at height [0-9]*$' '$work/provider.log'"
check "--help prints the usage" \
  '"${provider[@]}" --help | grep -q "^usage: gpu_provider" && "${consumer[@]}" --help | grep -q "^usage: gpu_consumer"'
check "a missing option is a usage error (exit 2)" '"${consumer[@]}" --listen x > /dev/null 2>&1; [ $? -eq 2 ]'
if [ "$failed" -ne 0 ]; then
  for log in provider consumer; do echo "--- $log.log"; cat "$work/$log.log"; done
  echo "--- tccd.log (tail)"; tail -n 40 "$work/tccd.log"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
