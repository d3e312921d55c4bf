#!/usr/bin/env bash
# The main demo of README.md: builds TCC, then runs a provider and a consumer through a trade on
# the embedded ledger, with the `tcc` CLI doing what each party and the TCC do:
#   keys and DIDs -> templates registered on chain -> TIC applied for, issued and recorded ->
#   settlements proposed, co-signed and issued as TSCs -> evidence anchored in a Merkle batch ->
#   everything verified, offline and against the ledger -> tampering caught.
# (The daemon tccd, which will run the channel live over ZeroMQ, is the next milestone.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" >/dev/null
tcc="$build/tcc/tcc"
work=${TCC_DEMO_DIR:-$root/demo-data}
settlements=${TCC_DEMO_SETTLEMENTS:-5}
rm -rf "$work"
mkdir -p "$work/tsc"
chain="local:$work/ledger"
examples="$root/schemas/examples"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# Rewrites members of a JSON file: edit FILE OUT key=value... (top-level string members).
edit() {
  python3 - "$@" <<'PY'
import json, sys
source, target, *pairs = sys.argv[1:]
document = json.load(open(source))
for pair in pairs:
    key, value = pair.split("=", 1)
    document[key] = value
json.dump(document, open(target, "w"), indent=2)
PY
}

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

step "3. The consumer applies for a TIC; the provider issues it; it is recorded on chain for the TCC"
edit "$examples/claims/gpu-hour.tic-claim.json" "$work/tic-claim.json" \
  provider="$provider_did" consumer="$consumer_did"
"$tcc" tic apply --tit "$work/tit.json" "$work/tic-claim.json" > "$work/tic-application.json"
"$tcc" tic issue --tit "$work/tit.json" --key "$work/provider.key" "$work/tic-application.json" \
  > "$work/tic.json" 2>/dev/null
"$tcc" tic record --chain "$chain" --tcc "$tcc_did" "$work/tic.json"
channel=$("$tcc" vc hash "$work/tic.json")
echo "channel id (the TIC's hash): $channel"

step "4. $settlements settlements: provider proposes, consumer checks and co-signs, the TCC issues a TSC"
edit "$examples/claims/gpu-hour.tsc-claim.json" "$work/tsc-claim.json" \
  provider="$provider_did" consumer="$consumer_did"
prev=$channel
for seq in $(seq 1 "$settlements"); do
  "$tcc" tsc propose --tst "$work/tst.json" --key "$work/provider.key" \
    --channel "$channel" --seq "$seq" --prev "$prev" "$work/tsc-claim.json" > "$work/tsc/proposal-$seq.json"
  "$tcc" tsc cosign --tst "$work/tst.json" --key "$work/consumer.key" \
    "$work/tsc/proposal-$seq.json" > "$work/tsc/joint-$seq.json"
  "$tcc" tsc issue --tst "$work/tst.json" --key "$work/tcc.key" "$work/tsc/joint-$seq.json" > "$work/tsc/tsc-$seq.json"
  prev=$("$tcc" vc hash "$work/tsc/tsc-$seq.json")
  echo "TSC seq=$seq hash=$prev"
done

step "5. Both proof levels, the TST and the hash chain verify"
tscs=()
for seq in $(seq 1 "$settlements"); do tscs+=("$work/tsc/tsc-$seq.json"); done
"$tcc" tsc verify --tst "$work/tst.json" --issuer "$tcc_did" --prev "$channel" "${tscs[@]}"

step "6. Evidence: one Merkle root over the TSCs is anchored on the ledger; each TSC gets a bundle"
"$tcc" evidence anchor --chain "$chain" --out-dir "$work/evidence" "${tscs[@]}"
last_bundle="$work/evidence/tsc-$settlements.evidence.json"
"$tcc" evidence verify --chain "$chain" --tsc "${tscs[-1]}" "$last_bundle"

step "7. The ledger's hash links and entries check out"
"$tcc" ledger verify "$chain"

step "8. Tampering is caught: a TSC's usage is changed after issuance"
sed 's/"gpuSeconds": 480/"gpuSeconds": 48/' "${tscs[0]}" > "$work/tsc/tampered.json"
"$tcc" tsc verify --tst "$work/tst.json" "${tscs[0]}" "$work/tsc/tampered.json" || echo "(exit code $?: a TSC failed)"

step "Done"
echo "Files are in $work; the ledger is $chain."
echo "Verify the last settlement's evidence yourself:"
echo "  $tcc evidence verify --chain $chain --tsc ${tscs[-1]} $last_bundle"
