#!/usr/bin/env bash
# The test command of README.md (and of .ci/run): installs what is missing, builds, runs every
# test with ctest. The output ends with ctest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_BUILD_DIR:-$root/build}
bash "$root/scripts/build.sh" -DTCC_BUILD_TESTS=ON
cd "$build"
ctest --output-on-failure -j "$(nproc)"
