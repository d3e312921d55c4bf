#!/usr/bin/env bash
# The command-line conventions of tcc and tccd (issue #21, item 8), on this build:
#   - --version prints "PROGRAM VERSION (git REVISION)", the same revision for both, the source
#     tree's when it has git, and "unknown" when the tree has no .git;
#   - -h is --help; tccd's usage line says tccd; each program has one error prefix (tcc: / tccd:);
#   - an endpoint without its transport (127.0.0.1:7700) is refused with the tcp:// form to use;
#   - deploy/tccd.example.json names every member tccd's config reader knows and tccd accepts it;
#   - tccd --print-did prints the DID of the data directory's key without starting;
#   - cmake --install puts the docs, the sample config, the schemas and the systemd unit in place,
#     and the unit's ExecStart and Documentation= paths exist under the prefix.
# Usage: conventions_test.sh TCC TCCD SOURCE_DIR BUILD_DIR
set -euo pipefail
tcc=$1
tccd=$2
source=$3
build=$4
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}
# expect_exit CODE OUTFILE COMMAND...: runs COMMAND with stdout+stderr to OUTFILE, checks its exit code.
expect_exit() {
  local want=$1 file=$2 status=0
  shift 2
  "$@" > "$file" 2>&1 || status=$?
  [ "$status" -eq "$want" ] || fail "$* exited $status, expected $want: $(head -c 400 "$file")"
}

# --- versions
version_tcc=$("$tcc" --version)
version_tccd=$("$tccd" --version)
[[ $version_tcc =~ ^tcc\ [0-9]+\.[0-9]+\.[0-9]+\ \(git\ ([^ ]+)\)$ ]] || fail "tcc --version: \"$version_tcc\""
revision=${BASH_REMATCH[1]:-}
[ "$version_tccd" = "tccd ${version_tcc#tcc }" ] || fail "tccd --version \"$version_tccd\" differs from \"$version_tcc\""
if head=$(git -C "$source" describe --always --abbrev=12 2>/dev/null); then
  [ "${revision%-dirty}" = "$head" ] || fail "--version names git $revision, the source tree is at $head"
fi
# A source tree without .git (a tarball) says "unknown"; a build may name its revision itself.
mkdir "$out/no-git"
cmake -DSOURCE_DIR="$out/no-git" -DOUTPUT="$out/rev.cpp" -P "$source/cmake/TccGitRevision.cmake"
grep -q 'kGitRevision = "unknown";' "$out/rev.cpp" || fail "no .git: $(cat "$out/rev.cpp")"
cmake -DSOURCE_DIR="$out/no-git" -DOUTPUT="$out/rev.cpp" -DTCC_GIT_REVISION=v1.2-release \
  -P "$source/cmake/TccGitRevision.cmake"
grep -q 'kGitRevision = "v1.2-release";' "$out/rev.cpp" || fail "TCC_GIT_REVISION: $(cat "$out/rev.cpp")"

# --- help and usage lines
expect_exit 0 "$out/h" "$tccd" -h
[ "$(head -n 1 "$out/h")" = "Usage: tccd [options]" ] || fail "tccd -h: $(head -n 1 "$out/h")"
expect_exit 0 "$out/help" "$tccd" --help
cmp -s "$out/h" "$out/help" || fail "tccd -h and --help differ"
expect_exit 0 "$out/h" "$tcc" -h
grep -q '^Usage: tcc <command>' "$out/h" || fail "tcc -h: $(head -n 1 "$out/h")"
expect_exit 0 "$out/h" "$tcc" key new -h
[ "$(head -n 1 "$out/h")" = "Usage: tcc key new [options]" ] || fail "tcc key new -h: $(head -n 1 "$out/h")"
expect_exit 0 "$out/h" "$tcc" channel -h
grep -q 'channel status' "$out/h" || fail "tcc channel -h does not list the group"

# --- one error prefix per program
expect_exit 2 "$out/e" "$tccd" --bogus
[ "$(head -n 1 "$out/e")" = "tccd: unknown option --bogus" ] || fail "tccd usage error: $(cat "$out/e")"
grep -q '^(see: tccd --help)$' "$out/e" || fail "tccd usage error does not point at tccd --help: $(cat "$out/e")"
# (exit 2 or 3: whether a missing config file is a usage error is the daemon's start-up policy)
status=0
"$tccd" --config "$out/missing.json" --data-dir "$out/d" > "$out/e" 2>&1 || status=$?
[ "$status" -eq 2 ] || [ "$status" -eq 3 ] || fail "tccd --config MISSING exited $status"
grep -q "^tccd: .*$out/missing.json" "$out/e" || fail "tccd config error: $(cat "$out/e")"
expect_exit 2 "$out/e" "$tcc" key new --bogus
[ "$(head -n 1 "$out/e")" = "tcc key new: unknown option --bogus" ] || fail "tcc usage error: $(cat "$out/e")"
expect_exit 2 "$out/e" "$tcc" nosuch
grep -q '^tcc: unknown command' "$out/e" || fail "tcc unknown command: $(cat "$out/e")"
if grep -rh 'std::cerr << "tcc tccd\|ReportError("tccd"' "$source/tcc/tccd" "$source/tcc/cli" > /dev/null; then
  fail "tccd reports an error with the tcc prefix"
fi

# --- endpoints need their transport
expect_exit 2 "$out/e" "$tccd" --data-dir "$out/d" --listen 127.0.0.1:7700 --check-config
grep -q '^tccd: --listen (listen) needs a ZeroMQ endpoint TRANSPORT://ADDRESS, e.g. tcp://127.0.0.1:7700' "$out/e" ||
  fail "tccd --listen 127.0.0.1:7700: $(cat "$out/e")"
expect_exit 2 "$out/e" "$tccd" --data-dir "$out/d" --control localhost:7701 --check-config
grep -q 'e.g. tcp://localhost:7701' "$out/e" || fail "tccd --control localhost:7701: $(cat "$out/e")"
"$tcc" key new --out "$out/party.key" > /dev/null
expect_exit 2 "$out/e" "$tcc" evidence show --listen 127.0.0.1:7700 --tcc "$("$tcc" key new --out "$out/t.key")" \
  --key "$out/party.key" --channel "$(printf '%064d' 0)" --seq 1
grep -q '^tcc evidence show: --listen needs a ZeroMQ endpoint .* e.g. tcp://127.0.0.1:7700' "$out/e" ||
  fail "tcc --listen 127.0.0.1:7700: $(cat "$out/e")"
[ ! -e "$out/d" ] || fail "--check-config created the data directory"

# --- the sample config: every member, accepted
sample="$source/deploy/tccd.example.json"
python3 - "$sample" "$source/tcc/controller/src/daemon_config.cpp" <<'PY' || fail "the sample config lacks members"
import json, re, sys
sample = json.load(open(sys.argv[1]))
known = set(re.findall(r'\.(?:String|Bool|Uint|Millis|Number|Strings|Object)\("([a-z_]+)"', open(sys.argv[2]).read()))
assert len(known) > 40, f"read only {len(known)} members from daemon_config.cpp"
named = set()
def walk(node):
    for key, value in node.items():
        named.add(key)
        if isinstance(value, dict):
            walk(value)
walk(sample)
missing, unknown = sorted(known - named), sorted(named - known)
if missing or unknown:
    print("missing:", missing, "unknown:", unknown, file=sys.stderr)
    sys.exit(1)
PY
expect_exit 0 "$out/c" "$tccd" --config "$sample" --check-config
grep -q '^tccd: configuration OK (data dir /var/lib/tccd' "$out/c" || fail "--check-config: $(cat "$out/c")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["anchoring"]["n_min"]=20; json.dump(d,open(sys.argv[2],"w"))' \
  "$sample" "$out/bad.json"
expect_exit 2 "$out/c" "$tccd" --config "$out/bad.json" --check-config
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["store"]["group_commit_linger_ms"]=5000; json.dump(d,open(sys.argv[2],"w"))' \
  "$sample" "$out/slow.json"
expect_exit 2 "$out/c" "$tccd" --config "$out/slow.json" --check-config
grep -q 'group_commit_linger_ms must be at most 1000' "$out/c" || fail "a long group commit linger: $(cat "$out/c")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["store"]["group_commit_idle_linger_ms"]=500; json.dump(d,open(sys.argv[2],"w"))' \
  "$sample" "$out/idle.json"
expect_exit 2 "$out/c" "$tccd" --config "$out/idle.json" --check-config
grep -q 'group_commit_idle_linger_ms must be at most 100' "$out/c" || fail "a long idle linger: $(cat "$out/c")"

# --- tccd --print-did: the data directory's key, without starting
mkdir -m 700 "$out/data"
did=$("$tcc" key new --out "$out/data/tcc.key")
[ "$("$tccd" --data-dir "$out/data" --print-did)" = "$did" ] || fail "tccd --print-did does not print $did"
[ ! -e "$out/data/store" ] || fail "tccd --print-did started the daemon (store/ exists)"
expect_exit 3 "$out/e" "$tccd" --data-dir "$out/empty" --print-did
grep -q '^tccd: no TCC key to print' "$out/e" || fail "--print-did without a key: $(cat "$out/e")"

# --- cmake --install: docs, sample, schemas, the unit and the paths it names
cmake --install "$build" --prefix "$out/prefix" > "$out/install.log" 2>&1 || fail "cmake --install: $(tail -5 "$out/install.log")"
for file in share/doc/tcc/README.md share/doc/tcc/deploy.md share/doc/tcc/tccd.md share/doc/tcc/getting-started.md \
            share/doc/tcc/tccd.example.json share/tcc/schemas/tit-template.schema.json \
            share/tcc/schemas/examples/gpu-hour.tst.json lib/systemd/system/tccd.service bin/tccd bin/tcc; do
  [ -f "$out/prefix/$file" ] || fail "cmake --install did not install $file"
done
unit="$out/prefix/lib/systemd/system/tccd.service"
if [ -f "$unit" ]; then
  documentation=$(sed -n 's|^Documentation=file://||p' "$unit")
  [ -n "$documentation" ] && [ -f "$documentation" ] || fail "the unit's Documentation= path does not exist: \"$documentation\""
  exec_start=$(sed -n 's|^ExecStart=\([^ ]*\).*|\1|p' "$unit")
  [ -x "$exec_start" ] || fail "the unit's ExecStart binary does not exist: \"$exec_start\""
  ! grep -q /usr/local "$unit" || fail "the installed unit still names /usr/local"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures convention check(s) failed" >&2
  exit 1
fi
echo "conventions: --version ($version_tcc), -h, usage lines, error prefixes, endpoint forms, sample config, --print-did, install layout"
