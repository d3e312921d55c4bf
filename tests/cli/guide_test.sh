#!/usr/bin/env bash
# Runs the ```sh blocks of a Markdown page exactly as written, in order and in one bash shell
# (set -euo pipefail), with this build's tcc and tccd first on PATH, in a fresh directory that
# holds a link to the source tree's schemas/ (the pages run in the source tree), then checks the
# output for the lines the page promises. Any process the page left running is stopped.
# Usage: guide_test.sh TCC TCCD SOURCE_DIR PAGE.md AFTER_TEXT BLOCKS EXPECT_REGEX...
#   AFTER_TEXT: only blocks after the first line containing it ("" = all);
#   BLOCKS: at most this many blocks (0 = all); each EXPECT_REGEX must match a line of the output.
set -euo pipefail
tcc=$1
tccd=$2
source=$3
page=$4
after=$5
blocks=$6
shift 6
out=$(mktemp -d)
runner=""
cleanup() {
  # The page runs in its own process group: whatever it left in the background goes with it.
  if [ -n "$runner" ]; then kill -TERM -- "-$runner" 2>/dev/null || true; fi
  rm -rf "$out"
}
trap cleanup EXIT
python3 - "$source/$page" "$after" "$blocks" > "$out/page.sh" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
after, limit = sys.argv[2], int(sys.argv[3])
if after:
    index = text.find(after)
    assert index >= 0, f"{sys.argv[1]} has no line containing {after!r}"
    text = text[index:]
found = re.findall(r"^```sh\n(.*?)^```$", text, flags=re.S | re.M)
if limit:
    found = found[:limit]
assert found, f"no sh block in {sys.argv[1]}"
print("\n".join(found))
PY
echo "--- the commands of $page, as written:"
cat "$out/page.sh"
mkdir "$out/run"
ln -s "$source/schemas" "$out/run/schemas"
bin=$(cd "$(dirname "$tcc")" && pwd)
daemon_bin=$(cd "$(dirname "$tccd")" && pwd)
[ "$(basename "$tcc")" = tcc ] && [ "$(basename "$tccd")" = tccd ] || { echo "binaries must be named tcc and tccd" >&2; exit 2; }
status=0
(cd "$out/run" && PATH="$bin:$daemon_bin:$PATH" exec setsid bash -euo pipefail "$out/page.sh") > "$out/log" 2>&1 &
runner=$!
wait "$runner" || status=$?
echo "--- its output (exit $status):"
cat "$out/log"
if [ -f "$out/run/trade/tccd.log" ]; then echo "--- tccd.log:"; tail -n 20 "$out/run/trade/tccd.log"; fi
[ "$status" -eq 0 ] || { echo "FAIL: the commands of $page exited $status" >&2; exit 1; }
failures=0
for expect in "$@"; do
  grep -Eq -- "$expect" "$out/log" || { echo "FAIL: no line matches $expect" >&2; failures=$((failures + 1)); }
done
[ "$failures" -eq 0 ] || exit 1
echo "OK: $page runs as written"
