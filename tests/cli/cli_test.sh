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
check "tsc cosign with the provider key is refused" expect_exit 3 "$tcc" tsc cosign --tst "$examples/gpu-hour.tst.json" --key "$work/provider.key" "$work/proposal1.json"
sed 's/"amount": "0.38"/"amount": "0.01"/' "$work/joint1.json" > "$work/joint-tampered.json"
check "tsc issue refuses a tampered joint claim" expect_exit 1 "$tcc" tsc issue --tst "$examples/gpu-hour.tst.json" --key "$work/tcc.key" "$work/joint-tampered.json"
check "tsc propose rejects seq 0" expect_exit 3 "$tcc" tsc propose --tst "$examples/gpu-hour.tst.json" --key "$work/provider.key" --channel c --seq 0 --prev p "$examples/claims/gpu-hour.tsc-claim.json"
check "tsc propose requires the link options" expect_exit 2 "$tcc" tsc propose --tst "$examples/gpu-hour.tst.json" --key "$work/provider.key" "$examples/claims/gpu-hour.tsc-claim.json"

# Every command has --help; unknown commands and options are usage errors.
for command in "key new" "did show" "jcs" "vc issue" "vc verify" "vc hash" "template validate" "template show" \
  "tic apply" "tic issue" "tic verify" "tsc propose" "tsc cosign" "tsc issue" "tsc verify"; do
  check "$command --help" bash -c "'$tcc' $command --help | grep -q '^Usage: tcc $command'"
done
check "tcc --help" bash -c "'$tcc' --help | grep -q 'vc verify'"
check "tcc vc lists its subcommands" bash -c "'$tcc' vc --help | grep -q 'vc issue'"
check "unknown command" expect_exit 2 "$tcc" frobnicate
check "unknown option" expect_exit 2 "$tcc" jcs --frob x

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
