#!/usr/bin/env bash
# The main demo of README.md: builds TCC, then walks through what the foundation does today:
# keys and DIDs for a TCC, a provider and a consumer; a settlement claim issued as a W3C
# Verifiable Credential (eddsa-jcs-2022); verification; and tampering being caught.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" >/dev/null
tcc="$build/tcc/tcc"
work=${TCC_DEMO_DIR:-$root/demo-data}
rm -rf "$work"
mkdir -p "$work"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. Keys and DIDs (key files are created with mode 0600)"
tcc_did=$("$tcc" key new --out "$work/tcc.key")
provider_did=$("$tcc" key new --out "$work/provider.key")
consumer_did=$("$tcc" key new --out "$work/consumer.key")
echo "TCC      $tcc_did"
echo "provider $provider_did"
echo "consumer $consumer_did"
ls -l "$work"/*.key | awk '{print $1, $NF}'

step "2. The TCC's DID document (Multikey signing key + X25519 key agreement)"
"$tcc" did show --key "$work/tcc.key"

step "3. A settlement claim between provider and consumer, as an unsigned VC 2.0 credential"
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat > "$work/settlement.unsigned.json" <<JSON
{
  "@context": ["https://www.w3.org/ns/credentials/v2",
               "https://www.w3.org/ns/credentials/undefined-terms/v2"],
  "type": ["VerifiableCredential", "TransactionSettlementCredential"],
  "validFrom": "$now",
  "credentialSubject": {
    "channel": "demo-channel-1",
    "seq": 1,
    "provider": "$provider_did",
    "consumer": "$consumer_did",
    "usage": {"gpuSeconds": 60, "gpuModel": "A100"},
    "fee": {"amount": 0.35, "currency": "USD"},
    "start": "$now",
    "end": "$now"
  }
}
JSON
cat "$work/settlement.unsigned.json"

step "4. The TCC issues it (issuer and verification method come from the TCC key)"
"$tcc" vc issue --key "$work/tcc.key" "$work/settlement.unsigned.json" | tee "$work/settlement.json"

step "5. Its canonical form (RFC 8785): the proof signs this form of the credential and of the proof options"
"$tcc" jcs "$work/settlement.json"
echo

step "6. Anyone can verify it from the DID alone"
"$tcc" vc verify "$work/settlement.json"

step "7. Tampering is caught: the fee is changed after issuance"
sed 's/"amount": 0.35/"amount": 0.01/' "$work/settlement.json" > "$work/settlement.tampered.json"
"$tcc" vc verify "$work/settlement.json" "$work/settlement.tampered.json" || echo "(exit code $?: at least one credential failed)"

step "Done"
echo "Files are in $work. Try: $tcc --help"
