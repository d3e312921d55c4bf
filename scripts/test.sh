#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): installs what is missing, then, stopping at the
# first failure:
#   1. the whole suite under AddressSanitizer + UndefinedBehaviorSanitizer (scripts/sanitize.sh,
#      build-sanitize/);
#   2. a short run of every fuzzer (scripts/fuzz.sh, clang, build-fuzz/, TCC_FUZZ_SECONDS each,
#      default 10);
#   3. the normal build and the whole suite with ctest, whose summary ends the output.
# TCC_TEST_SANITIZERS=0 skips 1 and 2 (a quick local run).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_BUILD_DIR:-$root/build}
if [ "${TCC_TEST_SANITIZERS:-1}" != 0 ]; then
  started=$(date +%s)
  echo "== the whole suite under ASan + UBSan (scripts/sanitize.sh)"
  bash "$root/scripts/sanitize.sh"
  echo "== fuzz smoke (scripts/fuzz.sh)"
  bash "$root/scripts/fuzz.sh" "${TCC_FUZZ_SECONDS:-10}"
  echo "== sanitizers and fuzzing passed in $(( $(date +%s) - started )) s; now the normal build"
fi
bash "$root/scripts/build.sh" -DTCC_BUILD_TESTS=ON
cd "$build"
ctest --output-on-failure -j "$(nproc)"
