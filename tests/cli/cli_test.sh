#!/usr/bin/env bash
# End-to-end tests of the `tcc` CLI: real key files, the conformance vectors, exit codes.
# Usage: cli_test.sh TCC_BINARY VECTORS_DIR
set -u
tcc=$1
vectors=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() {  # check NAME COMMAND... : passes when the command succeeds
  local name=$1
  shift
  if "$@" >"$work/out" 2>"$work/err"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAILED: $name"
    sed 's/^/  out: /' "$work/out" | head -5
    sed 's/^/  err: /' "$work/err" | head -5
  fi
}

expect_exit() {  # expect_exit CODE COMMAND...
  local want=$1
  shift
  "$@" >"$work/out" 2>"$work/err"
  local got=$?
  [ "$got" -eq "$want" ] || { echo "exit $got, wanted $want: $*"; cat "$work/err"; return 1; }
}

issuer_seed=$(python3 -c "import json;print(json.load(open('$vectors/identities.json'))['issuer']['seedHex'])")
issuer_did=$(python3 -c "import json;print(json.load(open('$vectors/identities.json'))['issuer']['did'])")

# key new: prints the did:key, file is 0600, refuses to overwrite.
check "key new --seed prints the vector did:key" bash -c "[ \"\$('$tcc' key new --out '$work/issuer.key' --seed $issuer_seed)\" = '$issuer_did' ]"
check "key file mode is 0600" bash -c "[ \"\$(stat -c %a '$work/issuer.key')\" = 600 ]"
check "key new refuses to overwrite" expect_exit 3 "$tcc" key new --out "$work/issuer.key"
check "key new without --out is a usage error" expect_exit 2 "$tcc" key new
check "key new rejects a short seed" expect_exit 3 "$tcc" key new --out "$work/x.key" --seed abcd
check "fresh keys differ" bash -c "[ \"\$('$tcc' key new --out '$work/a.key')\" != \"\$('$tcc' key new --out '$work/b.key')\" ]"

# did show: from the key file and from the DID, same document.
check "did show --key FILE" bash -c "'$tcc' did show --key '$work/issuer.key' > '$work/doc1.json' && grep -q '\"keyAgreement\"' '$work/doc1.json'"
check "did show --key DID matches" bash -c "'$tcc' did show --key '$issuer_did' | cmp - '$work/doc1.json'"
check "did show rejects a malformed DID" expect_exit 3 "$tcc" did show --key did:key:z6MkBAD
cp "$work/issuer.key" "$work/open.key" && chmod 644 "$work/open.key"
check "world-readable key file is refused" bash -c "'$tcc' did show --key '$work/open.key'; [ \$? -eq 3 ]"

# jcs: byte-exact against the RFC and the RFC author's data.
for name in arrays french structures unicode values weird; do
  check "jcs cyberphone $name" bash -c "'$tcc' jcs '$vectors/jcs/cyberphone-testdata/input/$name.json' | cmp - '$vectors/jcs/cyberphone-testdata/output/$name.json'"
done
check "jcs RFC 8785 primitive" bash -c "'$tcc' jcs '$vectors/jcs/rfc8785/primitive.input.json' | cmp - '$vectors/jcs/rfc8785/primitive.output.json'"
check "jcs reads stdin" bash -c "echo '{\"b\":1,\"a\":2}' | '$tcc' jcs - | grep -qx '{\"a\":2,\"b\":1}'"
printf '{"a":1,"a":2}' > "$work/dup.json"
check "jcs rejects duplicate keys" expect_exit 3 "$tcc" jcs "$work/dup.json"
printf '["\\ud800"]' > "$work/lone.json"
check "jcs rejects lone surrogates" expect_exit 3 "$tcc" jcs "$work/lone.json"
check "jcs on a missing file" expect_exit 3 "$tcc" jcs "$work/absent.json"

# vc issue reproduces every signed vector byte for byte; vc verify accepts them.
for dir in "$vectors"/eddsa-jcs-2022/0[1-6]-*; do
  name=$(basename "$dir")
  seed=$(python3 -c "import json;print(json.load(open('$dir/vector.json'))['seedHex'])")
  created=$(python3 -c "import json;print(json.load(open('$dir/vector.json'))['created'])")
  "$tcc" key new --out "$work/$name.key" --seed "$seed" >/dev/null
  check "vc issue $name byte for byte" bash -c "'$tcc' vc issue --key '$work/$name.key' --created $created '$dir/unsigned.json' > '$work/$name.signed.json' && '$tcc' jcs '$work/$name.signed.json' | cmp - '$dir/signed.jcs'"
  check "vc verify $name" bash -c "'$tcc' vc verify '$work/$name.signed.json' | grep -qx 'OK $work/$name.signed.json'"
done

# vc issue fills the issuer from the key; vc verify reports tampering per file and exits 1.
cat > "$work/unsigned.json" <<'JSON'
{"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],
 "credentialSubject":{"id":"did:example:consumer","gpuMinutes":60}}
JSON
check "vc issue fills issuer" bash -c "'$tcc' vc issue --key '$work/a.key' '$work/unsigned.json' > '$work/good.json' && grep -q '\"issuer\": \"did:key:z6Mk' '$work/good.json'"
sed 's/"gpuMinutes": 60/"gpuMinutes": 61/' "$work/good.json" > "$work/tampered.json"
check "vc verify mixed results exit 1" expect_exit 1 "$tcc" vc verify "$work/good.json" "$work/tampered.json"
check "vc verify says OK and FAIL with a reason" bash -c "'$tcc' vc verify '$work/good.json' '$work/tampered.json' | tr '\n' '|' | grep -q \"^OK $work/good.json|FAIL $work/tampered.json: proof 0: signature does not verify\""
check "vc verify non-JSON fails" bash -c "echo nope > '$work/nope.json'; '$tcc' vc verify '$work/nope.json' | grep -q '^FAIL .*invalid JSON'"
check "vc verify --at before validFrom" bash -c "'$tcc' vc verify --at 2020-01-01T00:00:00Z '$work/01-minimal.signed.json' | grep -q 'not valid yet'"
check "vc issue rejects a credential without credentialSubject" bash -c "echo '{\"@context\":[\"https://www.w3.org/ns/credentials/v2\"],\"type\":[\"VerifiableCredential\"]}' | '$tcc' vc issue --key '$work/a.key' -; [ \$? -eq 3 ]"
check "vc issue rejects a bad --created" expect_exit 3 "$tcc" vc issue --key "$work/a.key" --created yesterday "$work/unsigned.json"

# The trade on files: templates, TIC, proposal, co-signature, TSC, chain of hashes.
examples=$(dirname "$vectors")/../schemas/examples
examples=$(cd "$examples" && pwd)
holder_seed=$(python3 -c "import json;print(json.load(open('$vectors/identities.json'))['holder']['seedHex'])")
cp "$work/issuer.key" "$work/provider.key"
"$tcc" key new --out "$work/consumer.key" --seed "$holder_seed" >/dev/null
"$tcc" key new --out "$work/tcc.key" >/dev/null
check "template validate TIT" bash -c "'$tcc' template validate '$examples/gpu-hour.tit.json' | grep -q '^OK template example.gpu-hour.tit v1 (TIT)'"
check "template validate with a good claim" "$tcc" template validate --claim "$examples/claims/gpu-hour.tsc-claim.json" "$examples/gpu-hour.tst.json"
check "template validate lists violations, exit 1" bash -c "'$tcc' template validate --claim '$examples/claims/gpu-hour.tsc-claim.bad.json' '$examples/gpu-hour.tst.json' > '$work/violations'; [ \$? -eq 1 ] && grep -q '/usage/gpuSeconds' '$work/violations'"
check "template show --json" bash -c "'$tcc' template show --json '$examples/gpu-hour.tst.json' | grep -q '\"contentHash\"'"
echo '{"id":"x"}' > "$work/bad-template.json"
check "template validate rejects a bad template" expect_exit 3 "$tcc" template validate "$work/bad-template.json"
check "tic apply" bash -c "'$tcc' tic apply --tit '$examples/gpu-hour.tit.json' '$examples/claims/gpu-hour.tic-claim.json' > '$work/application.json'"
check "tic issue by a non-provider is refused" expect_exit 3 "$tcc" tic issue --tit "$examples/gpu-hour.tit.json" --key "$work/consumer.key" "$work/application.json"
check "tic issue" bash -c "'$tcc' tic issue --tit '$examples/gpu-hour.tit.json' --key '$work/provider.key' '$work/application.json' > '$work/tic.json'"
channel=$("$tcc" vc hash "$work/tic.json")
check "tic verify prints the channel id" bash -c "'$tcc' tic verify --tit '$examples/gpu-hour.tit.json' '$work/tic.json' | grep -q 'channel=$channel'"
prev=$channel
for seq in 1 2 3; do
  check "tsc propose $seq" bash -c "'$tcc' tsc propose --tst '$examples/gpu-hour.tst.json' --key '$work/provider.key' --channel $channel --seq $seq --prev $prev '$examples/claims/gpu-hour.tsc-claim.json' > '$work/proposal$seq.json'"
  check "tsc cosign $seq" bash -c "'$tcc' tsc cosign --tst '$examples/gpu-hour.tst.json' --key '$work/consumer.key' '$work/proposal$seq.json' > '$work/joint$seq.json'"
  check "tsc issue $seq" bash -c "'$tcc' tsc issue --tst '$examples/gpu-hour.tst.json' --key '$work/tcc.key' '$work/joint$seq.json' > '$work/tsc$seq.json'"
  prev=$("$tcc" vc hash "$work/tsc$seq.json")
done
tcc_did=$("$tcc" did show --key "$work/tcc.key" | python3 -c "import json,sys;print(json.load(sys.stdin)['id'])")
check "tsc verify a linked run" bash -c "'$tcc' tsc verify --tst '$examples/gpu-hour.tst.json' --issuer $tcc_did --prev $channel '$work/tsc1.json' '$work/tsc2.json' '$work/tsc3.json' | grep -c '^OK' | grep -qx 3"
check "tsc verify catches a broken link" bash -c "'$tcc' tsc verify --tst '$examples/gpu-hour.tst.json' '$work/tsc1.json' '$work/tsc3.json' | grep -q '^FAIL .*tsc3.json: prev'"
# A TSC whose joint proof is broken, re-signed by the TCC key: its outer proof verifies, so a verifier
# that stops there would call a settlement the parties never signed valid.
python3 - "$work/tsc1.json" "$work/tsc-resigned.unsigned.json" <<'PY'
import json, sys
tsc = json.load(open(sys.argv[1]))
del tsc["proof"]
tsc["credentialSubject"]["fee"]["amount"] = "0.01"
json.dump(tsc, open(sys.argv[2], "w"))
PY
"$tcc" vc issue --key "$work/tcc.key" "$work/tsc-resigned.unsigned.json" > "$work/tsc-resigned.json"
check "tsc verify refuses a re-signed TSC with a broken joint proof" bash -c "'$tcc' tsc verify --tst '$examples/gpu-hour.tst.json' '$work/tsc-resigned.json' | grep -q '^FAIL .*tsc-resigned.json: .*signature does not verify'"
check "vc verify does not pass a re-signed TSC on its outer proof" bash -c "'$tcc' vc verify '$work/tsc-resigned.json'; [ \$? -eq 1 ]"
check "vc verify names tsc verify for a TSC" bash -c "'$tcc' vc verify '$work/tsc-resigned.json' '$work/tsc1.json' | grep -c '^FAIL .*: a TransactionSettlementCredential needs its TST and joint proof: use \`tcc tsc verify --tst TST.json\`' | grep -qx 2"
check "vc verify names tic verify for a TIC" bash -c "'$tcc' vc verify '$work/tic.json' | grep -q '^FAIL .*tic.json: a TransactionInitiationCredential needs its TIT: use \`tcc tic verify --tit TIT.json\`'"
python3 - "$work/tsc-resigned.unsigned.json" "$work/tsc-untyped.unsigned.json" <<'PY'
import json, sys
tsc = json.load(open(sys.argv[1]))
tsc["type"] = ["VerifiableCredential"]
json.dump(tsc, open(sys.argv[2], "w"))
PY
"$tcc" vc issue --key "$work/tcc.key" "$work/tsc-untyped.unsigned.json" > "$work/tsc-untyped.json"
check "vc verify refuses a TSC that only names its TST" bash -c "'$tcc' vc verify '$work/tsc-untyped.json' | grep -q '^FAIL .*: a credential naming a TccClaimTemplate is a TIC or TSC: use'"
check "vc verify --json says why for a TSC" bash -c "'$tcc' vc verify --json '$work/tsc1.json' | grep -q 'tcc tsc verify'"
check "tsc cosign with the provider key is refused" expect_exit 3 "$tcc" tsc cosign --tst "$examples/gpu-hour.tst.json" --key "$work/provider.key" "$work/proposal1.json"
sed 's/"amount": "0.38"/"amount": "0.01"/' "$work/joint1.json" > "$work/joint-tampered.json"
check "tsc issue refuses a tampered joint claim" expect_exit 1 "$tcc" tsc issue --tst "$examples/gpu-hour.tst.json" --key "$work/tcc.key" "$work/joint-tampered.json"
check "tsc propose rejects seq 0" expect_exit 3 "$tcc" tsc propose --tst "$examples/gpu-hour.tst.json" --key "$work/provider.key" --channel c --seq 0 --prev p "$examples/claims/gpu-hour.tsc-claim.json"
check "tsc propose requires the link options" expect_exit 2 "$tcc" tsc propose --tst "$examples/gpu-hour.tst.json" --key "$work/provider.key" "$examples/claims/gpu-hour.tsc-claim.json"

# The chain, on a fresh local: ledger: templates, TIC records, DIDs, evidence, the ledger verifier.
chain="local:$work/ledger"
for name in gpu-hour storage-lease tiered-time-of-day; do
  for kind in tit tst; do
    check "template register $name.$kind" bash -c "'$tcc' template register --chain '$chain' --key '$work/provider.key' '$examples/$name.$kind.json' | grep -q '^registered T'"
  done
done
check "template register again is a no-op" bash -c "'$tcc' template register --chain '$chain' --key '$work/provider.key' '$examples/gpu-hour.tit.json' | grep -q '^already registered TIT example.gpu-hour.tit v1'"
check "template register with a non-owner key is refused" expect_exit 3 "$tcc" template register --chain "$chain" --key "$work/consumer.key" "$examples/gpu-hour.tit.json"
consumer_did=$("$tcc" did show --key "$work/consumer.key" | python3 -c "import json,sys;print(json.load(sys.stdin)['id'])")
python3 - "$examples/gpu-hour.tit.json" "$work" "$consumer_did" <<'PY'
import json, sys
source, work, consumer = sys.argv[1:]
def variant(name, **changes):
    document = json.load(open(source))
    document.update(changes)
    json.dump(document, open(f"{work}/{name}", "w"))
variant("changed.tit.json", title="changed after registration")
variant("taken.tit.json", owner=consumer, version=2)
variant("gap.tit.json", version=3)
PY
check "template register of a changed version is refused" bash -c "'$tcc' template register --chain '$chain' --key '$work/provider.key' '$work/changed.tit.json'; [ \$? -eq 3 ]"
check "template register of another owner's id is refused" expect_exit 3 "$tcc" template register --chain "$chain" --key "$work/consumer.key" "$work/taken.tit.json"
check "template register with a version gap is refused" expect_exit 3 "$tcc" template register --chain "$chain" --key "$work/provider.key" "$work/gap.tit.json"
check "template register requires --chain" expect_exit 2 "$tcc" template register --key "$work/provider.key" "$examples/gpu-hour.tit.json"
check "template list shows the six examples" bash -c "'$tcc' template list --chain '$chain' | grep -c ' v1 ' | grep -qx 6"
check "template list --json --kind TST" bash -c "'$tcc' template list --chain '$chain' --json --kind TST | python3 -c 'import json,sys; l=json.load(sys.stdin); assert [e[\"kind\"] for e in l] == [\"TST\"] * 3, l'"
check "template list rejects a bad --kind" expect_exit 3 "$tcc" template list --chain "$chain" --kind XYZ
check "template show --chain matches the file" bash -c "cmp <('$tcc' template show --json --chain '$chain' --id example.gpu-hour.tst --version 1) <('$tcc' template show --json '$examples/gpu-hour.tst.json')"
check "template show --chain of a missing version" expect_exit 3 "$tcc" template show --chain "$chain" --id example.gpu-hour.tst --version 2
check "template show needs a file or --chain" expect_exit 2 "$tcc" template show
check "template show --id needs --chain" expect_exit 2 "$tcc" template show --id example.gpu-hour.tst "$examples/gpu-hour.tst.json"

check "tic record" bash -c "'$tcc' tic record --chain '$chain' --tcc '$tcc_did' '$work/tic.json' | grep -q '^recorded TIC $channel for $tcc_did'"
check "tic record again is idempotent" bash -c "'$tcc' tic record --chain '$chain' --tcc '$tcc_did' '$work/tic.json' | grep -q '^recorded TIC $channel'"
python3 -c "import json;t=json.load(open('$work/tic.json'));t['validFrom']='2001-01-01T00:00:00Z';json.dump(t,open('$work/tic-tampered.json','w'))"
check "tic record refuses a TIC that does not verify" bash -c "'$tcc' tic record --chain '$chain' --tcc '$tcc_did' '$work/tic-tampered.json' 2>&1; [ \$? -eq 1 ]"
check "tic record says why" bash -c "'$tcc' tic record --chain '$chain' --tcc '$tcc_did' '$work/tic-tampered.json' 2>&1 | grep -q 'signature does not verify'"
check "tic record refuses an unknown TCC DID" expect_exit 3 "$tcc" tic record --chain "$chain" --tcc did:web:nowhere.example "$work/tic.json"
check "tic record needs the TIT on that chain" expect_exit 3 "$tcc" tic record --chain "local:$work/empty-ledger" --tcc "$tcc_did" "$work/tic.json"
check "tic record requires --tcc" expect_exit 2 "$tcc" tic record --chain "$chain" "$work/tic.json"

check "did register" bash -c "'$tcc' did register --chain '$chain' --key '$work/consumer.key' | grep -q '^registered $consumer_did version 1'"
check "did register again is a no-op" bash -c "'$tcc' did register --chain '$chain' --key '$work/consumer.key' | grep -q 'version 1'"
check "did register --document needs the document's key" expect_exit 3 "$tcc" did register --chain "$chain" --key "$work/consumer.key" --document "$work/doc1.json"

mkdir -p "$work/bundles"
check "evidence anchor" bash -c "'$tcc' evidence anchor --chain '$chain' --out-dir '$work/bundles' '$work/tsc1.json' '$work/tsc2.json' '$work/tsc3.json' | grep -q '^anchored batch cli-.*: 3 leaves'"
check "evidence anchor wrote a bundle per TSC" test -s "$work/bundles/tsc3.evidence.json"
check "evidence anchor again returns the same receipt" bash -c "'$tcc' evidence anchor --chain '$chain' --out-dir '$work/bundles' '$work/tsc1.json' '$work/tsc2.json' '$work/tsc3.json' > '$work/anchor2' && cmp <(head -1 '$work/anchor2') <('$tcc' evidence anchor --chain '$chain' --out-dir '$work/bundles' '$work/tsc1.json' '$work/tsc2.json' '$work/tsc3.json' | head -1)"
check "evidence anchor refuses a non-TSC" expect_exit 3 "$tcc" evidence anchor --chain "$chain" "$work/tic.json"
check "evidence verify offline" bash -c "'$tcc' evidence verify '$work'/bundles/tsc*.evidence.json | grep -c '(offline)' | grep -qx 3"
check "evidence verify --chain" bash -c "'$tcc' evidence verify --chain '$chain' '$work'/bundles/tsc*.evidence.json | grep -c 'anchored at height' | grep -qx 3"
check "evidence verify --tsc" "$tcc" evidence verify --chain "$chain" --tsc "$work/tsc2.json" "$work/bundles/tsc2.evidence.json"
check "evidence verify --tsc of another TSC fails" expect_exit 1 "$tcc" evidence verify --tsc "$work/tsc1.json" "$work/bundles/tsc2.evidence.json"
check "evidence verify --tsc takes one bundle" expect_exit 2 "$tcc" evidence verify --tsc "$work/tsc1.json" "$work/bundles/tsc1.evidence.json" "$work/bundles/tsc2.evidence.json"
python3 - "$work/bundles/tsc2.evidence.json" "$work/tampered.evidence.json" <<'PY'
import json, sys
bundle = json.load(open(sys.argv[1]))
bundle["path"][0] = ("0" if bundle["path"][0][0] != "0" else "1") + bundle["path"][0][1:]
json.dump(bundle, open(sys.argv[2], "w"))
PY
check "evidence verify catches a tampered path" bash -c "'$tcc' evidence verify '$work/bundles/tsc1.evidence.json' '$work/tampered.evidence.json' > '$work/ev'; [ \$? -eq 1 ] && grep -q '^OK .*tsc1.evidence.json' '$work/ev' && grep -q '^FAIL .*tampered.evidence.json' '$work/ev'"
check "evidence verify against a chain without the anchor" expect_exit 1 "$tcc" evidence verify --chain "local:$work/empty-ledger" "$work/bundles/tsc1.evidence.json"

check "ledger verify after all of it" bash -c "'$tcc' ledger verify '$work/ledger' | grep -q '^ledger OK'"
check "ledger verify accepts local:PATH" "$tcc" ledger verify "$chain"
check "ledger verify of no ledger" expect_exit 3 "$tcc" ledger verify "$work/no-ledger"

# --json: one JSON document for scripts, with the same facts as the text.
# json_holds EXPR: the JSON on stdin, as d, makes the Python expression true.
json_holds() { python3 -c "import json,sys; d=json.load(sys.stdin); sys.exit(0 if ($1) else 1)"; }
export -f json_holds
check "template register --json" bash -c "'$tcc' template register --json --chain '$chain' --key '$work/provider.key' '$examples/gpu-hour.tit.json' | json_holds \"d['registered'] is False and d['id']=='example.gpu-hour.tit' and d['receipt']['height']>0\""
check "tic record --json" bash -c "'$tcc' tic record --json --chain '$chain' --tcc '$tcc_did' '$work/tic.json' | json_holds \"d['channel']=='$channel' and d['tcc']=='$tcc_did'\""
check "did register --json" bash -c "'$tcc' did register --json --chain '$chain' --key '$work/consumer.key' | json_holds \"d['did']=='$consumer_did' and d['version']==1\""
check "evidence verify --json" bash -c "'$tcc' evidence verify --json '$work/bundles/tsc1.evidence.json' '$work/tampered.evidence.json' > '$work/ev.json'; [ \$? -eq 1 ] && json_holds \"[r['ok'] for r in d]==[True, False] and 'error' in d[1]\" < '$work/ev.json'"
check "ledger verify --json" bash -c "'$tcc' ledger verify --json '$chain' | json_holds \"d['ok'] and d['blocks']>0 and d['problemCount']==0\""

# Read-only commands never create a ledger at a mistyped path.
check "template list on a missing ledger fails and creates nothing" bash -c "'$tcc' template list --chain 'local:$work/no-such-ledger'; [ \$? -eq 3 ] && [ ! -e '$work/no-such-ledger' ]"
check "ledger verify on a missing ledger fails and creates nothing" bash -c "'$tcc' ledger verify '$work/no-such-ledger'; [ \$? -eq 3 ] && [ ! -e '$work/no-such-ledger' ]"

# Commands that talk to tccd: usage errors before any network, and a clear error (exit 3) when no
# tccd answers. Port 9 (discard) has no tccd; --timeout keeps the wait short.
live_channel=$(printf '%064d' 7)
nobody=tcp://127.0.0.1:9
tst="$examples/gpu-hour.tst.json"
live=(--tcc "$tcc_did" --key "$work/consumer.key" --channel "$live_channel")
check "channel list needs --tcc (or --data-dir)" expect_exit 2 "$tcc" channel list --key "$work/tcc.key"
check "channel list needs --key (or --data-dir)" expect_exit 2 "$tcc" channel list --tcc "$tcc_did"
check "channel status rejects a malformed id" expect_exit 2 "$tcc" channel status --tcc "$tcc_did" --key "$work/tcc.key" xyz
check "channel open needs a TIC id" expect_exit 2 "$tcc" channel open --tcc "$tcc_did" --key "$work/tcc.key"
check "channel policy --n needs --channel" expect_exit 2 "$tcc" channel policy --tcc "$tcc_did" --key "$work/tcc.key" --n 5
check "channel policy --adaptive on|off" expect_exit 2 "$tcc" channel policy --tcc "$tcc_did" --key "$work/tcc.key" --adaptive maybe
check "channel policy --n must be a number" expect_exit 2 "$tcc" channel policy --tcc "$tcc_did" --key "$work/tcc.key" --channel "$live_channel" --n ten
check "anchor status --data-dir without tcc.key" expect_exit 3 "$tcc" anchor status --data-dir "$work/no-tccd"
check "settle needs --role" expect_exit 2 "$tcc" settle "${live[@]}" --tst "$tst"
check "settle rejects a bad --role" bash -c "'$tcc' settle --role auditor --tcc $tcc_did --key '$work/consumer.key' --channel $live_channel --tst '$tst' 2>'$work/e'; [ \$? -eq 2 ] && grep -q 'provider or consumer' '$work/e'"
check "settle needs --tcc" expect_exit 2 "$tcc" settle --role consumer --key "$work/consumer.key" --channel "$live_channel" --tst "$tst"
check "settle needs --channel" expect_exit 2 "$tcc" settle --role consumer --tcc "$tcc_did" --key "$work/consumer.key" --tst "$tst"
check "settle needs --tst" expect_exit 2 "$tcc" settle --role consumer "${live[@]}"
check "settle provider needs --claim" expect_exit 2 "$tcc" settle --role provider "${live[@]}" --tst "$tst"
check "settle rejects a bad --count" expect_exit 2 "$tcc" settle --role consumer "${live[@]}" --tst "$tst" --count -1
check "evidence show needs --seq" expect_exit 2 "$tcc" evidence show "${live[@]}"
check "evidence show rejects seq 0" expect_exit 2 "$tcc" evidence show "${live[@]}" --seq 0
check "channel list: no tccd answers, exit 3" bash -c "'$tcc' channel list --control $nobody --tcc $tcc_did --key '$work/tcc.key' --timeout 300 2>'$work/e'; [ \$? -eq 3 ] && grep -q 'no answer from tccd' '$work/e'"
check "anchor status: no tccd answers, exit 3" expect_exit 3 "$tcc" anchor status --control "$nobody" --tcc "$tcc_did" --key "$work/tcc.key" --timeout 300
check "settle: no tccd answers, exit 3" bash -c "'$tcc' settle --role consumer --listen $nobody --tcc $tcc_did --key '$work/consumer.key' --channel $live_channel --tst '$tst' --timeout 300 2>'$work/e'; [ \$? -eq 3 ] && grep -q 'no answer from tccd' '$work/e'"
check "evidence show: no tccd answers, exit 3" expect_exit 3 "$tcc" evidence show --listen "$nobody" "${live[@]}" --seq 1 --timeout 300

# Every command has --help; unknown commands and options are usage errors.
for command in "key new" "did show" "jcs" "vc issue" "vc verify" "vc hash" "template validate" "template show" \
  "tic apply" "tic issue" "tic verify" "tsc propose" "tsc cosign" "tsc issue" "tsc verify" \
  "ledger verify" "evidence anchor" "evidence verify" "template register" "template list" "tic record" "did register" \
  "channel open" "channel close" "channel recover" "channel status" "channel list" "channel policy" "anchor status" "settle" "evidence show" \
  "dispute show" "dispute close"; do
  check "$command --help" bash -c "'$tcc' $command --help | grep -q '^Usage: tcc $command'"
done
check "tcc --help" bash -c "'$tcc' --help | grep -q 'vc verify'"
check "tcc vc lists its subcommands" bash -c "'$tcc' vc --help | grep -q 'vc issue'"
check "unknown command" expect_exit 2 "$tcc" frobnicate
check "unknown option" expect_exit 2 "$tcc" jcs --frob x

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
