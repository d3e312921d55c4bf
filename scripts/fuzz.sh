#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang (ASan + UBSan + coverage) into build-fuzz/ (or
# $TCC_FUZZ_BUILD_DIR) and runs each one for SECONDS (default 20) on its seed corpus plus the
# corpus earlier runs grew. Fails on the first crash, leak, timeout or broken property, naming the
# fuzzer and the input that reproduces it. docs/reliability.md describes longer runs.
# Before the fuzzers it also runs the lock annotation check (target tcc_thread_safety, clang
# -Wthread-safety -Werror=thread-safety) over the libraries that hold locks.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: scripts/fuzz.sh [SECONDS]
  Builds fuzz/ (clang, -fsanitize=fuzzer,address,undefined) into build-fuzz/ and runs every
  fuzzer for SECONDS (default 20). Environment:
    TCC_FUZZ_BUILD_DIR   build directory (default: <repo>/build-fuzz)
    TCC_FUZZERS          space-separated subset to run (default: all, see build-fuzz/fuzz/fuzzers.txt)
    TCC_FUZZ_JOBS        parallel build jobs (default: nproc)
  Crashing inputs are written to build-fuzz/fuzz/artifacts/<fuzzer>/; rerun one with
  build-fuzz/fuzz/<fuzzer>_fuzz ARTIFACT.
USAGE
}
case "${1:-}" in
  -h|--help) usage; exit 0 ;;
esac
seconds=${1:-20}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: SECONDS must be a positive integer, not '$seconds'" >&2
  usage >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
build=${TCC_FUZZ_BUILD_DIR:-$root/build-fuzz}
bash "$root/scripts/install-deps.sh"
# -O1 keeps fuzzing fast; no -DNDEBUG, so the asserts that guard against bugs stay armed.
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
  -DTCC_SANITIZE=address,undefined -DTCC_FUZZ=ON -DTCC_BUILD_TESTS=OFF -DTCC_BUILD_PERF=OFF >/dev/null
read -r -a all_fuzzers < "$build/fuzz/fuzzers.txt"
fuzzers=(${TCC_FUZZERS:-${all_fuzzers[*]}})
# tcc_thread_safety: clang's lock annotation check over the daemon's libraries (syntax only, cheap;
# cmake/ThreadSafetyCheck.cmake), which the fuzzers do not link.
targets=(tcc_fuzz_corpus tcc_thread_safety)
for name in "${fuzzers[@]}"; do targets+=("${name}_fuzz"); done
cmake --build "$build" -j "${TCC_FUZZ_JOBS:-$(nproc)}" --target "${targets[@]}"

export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
for name in "${fuzzers[@]}"; do
  corpus="$build/fuzz/corpus/$name"
  artifacts="$build/fuzz/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  log="$build/fuzz/$name.log"
  echo "fuzz: $name for ${seconds}s (log $log)"
  # The first directory receives new inputs; the seeds stay as generated.
  if "$build/fuzz/${name}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$artifacts/" "$corpus" "$build/fuzz/seeds/$name" \
       >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    cover=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    echo "fuzz: $name ok, $runs runs, $cover, corpus $(ls "$corpus" | wc -l) files"
  else
    echo "fuzz: $name FAILED; the end of its log:" >&2
    tail -n 60 "$log" >&2
    failed+=("$name")
    break
  fi
done
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]} (inputs in $build/fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: all ${#fuzzers[@]} fuzzers ran ${seconds}s each without a failure"
