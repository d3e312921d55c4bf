# Shared by the shell tests that drive a real tccd: named checks counted in `failures`, and a wait
# for a log line. Sourced; expects nothing but bash.
failures=0
# check NAME COMMAND...: passes when the command succeeds.
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
# await_line FILE PATTERN: waits up to AWAIT_SECONDS (default 120) for FILE to hold a line matching
# PATTERN; prints the file when it never does. A condition, not a fixed sleep: a busy machine only
# makes it wait longer.
await_line() {
  local tries=$((${AWAIT_SECONDS:-120} * 10))
  for _ in $(seq 1 "$tries"); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "--- $1:" && cat "$1"
  return 1
}
