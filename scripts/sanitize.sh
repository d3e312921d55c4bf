#!/usr/bin/env bash
# Builds TCC and its tests with AddressSanitizer and UndefinedBehaviorSanitizer (the default
# compiler, as the normal build; -O1 -g, asserts armed, any UB report fatal) into build-sanitize/
# (or $TCC_SANITIZE_BUILD_DIR) and runs the whole ctest suite there. Extra arguments go to ctest
# (e.g. -R daemon_test).
set -euo pipefail
case "${1:-}" in
  -h|--help)
    cat <<'USAGE'
usage: scripts/sanitize.sh [CTEST ARGS...]
  Configures build-sanitize/ (-fsanitize=address,undefined -fno-sanitize-recover=all, -O1 -g,
  asserts on), builds everything the tests need and runs ctest there.
  Environment: TCC_SANITIZE_BUILD_DIR (default <repo>/build-sanitize), TCC_SANITIZE_JOBS
  (build and ctest parallelism, default nproc).
  package_test is left out: it links an outside project against the installed libraries, which
  would need the sanitizer runtime too; the normal pass of scripts/test.sh runs it. deploy_test
  runs last with leak checking off (it runs tccd under strace, where LeakSanitizer cannot work).
  The Python package is not built here and the python_* tests report skipped: an ASan-instrumented
  extension cannot be loaded into the uninstrumented python3; the normal pass runs them.
USAGE
    exit 0 ;;
esac
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_SANITIZE_BUILD_DIR:-$root/build-sanitize}
jobs=${TCC_SANITIZE_JOBS:-$(nproc)}
bash "$root/scripts/install-deps.sh"
# No -DNDEBUG: the asserts that guard against bugs stay armed.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DTCC_SANITIZE=address,undefined \
  -DTCC_BUILD_PERF=OFF -DTCC_BUILD_TESTS=ON >/dev/null
cmake --build "$build" -j "$jobs"

# Leak checking stays on (the default); UBSan prints a stack and stops the process.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$build"
# deploy_test runs tccd under strace, and LeakSanitizer cannot work under ptrace: that one test
# runs afterwards with leak checking off (ASan's other checks stay on).
# The python_* tests report skipped: CMake leaves the Python package out of a sanitizer build (an
# ASan-instrumented extension cannot be loaded into the uninstrumented python3).
ctest --output-on-failure -j "$jobs" -E '^(package_test|deploy_test)$' "$@"
if [ $# -eq 0 ]; then
  ASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" ctest --output-on-failure -R '^deploy_test$'
fi
