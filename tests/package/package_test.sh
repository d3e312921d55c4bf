#!/usr/bin/env bash
# Installs the built TCC into a temporary prefix and builds a separate project against it with
# find_package(tcc), then runs that project, and builds the SDK examples (examples/) against it.
# With PYTHON and the Python package's install directory, it also imports the installed tcc
# package in a virtual environment and runs the Python examples' --help.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR [PYTHON PYTHON_INSTALL_DIR]
set -euo pipefail
build=$1
source=$2
python=${3:-}
python_dir=${4:-}
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/install" >/dev/null
# A party program needs none of the daemon's packages: they are hidden from find_package here,
# and neither the consumer's nor the examples' link lines may name them.
no_daemon=(-DCMAKE_DISABLE_FIND_PACKAGE_leveldb=ON -DCMAKE_DISABLE_FIND_PACKAGE_CURL=ON
  -DCMAKE_DISABLE_FIND_PACKAGE_prometheus-cpp=ON -DCMAKE_DISABLE_FIND_PACKAGE_civetweb=ON)
party_only() {  # build dir, target: fails when the link line names a daemon-side library
  local line
  if [ -f "$1/build.ninja" ]; then
    line=$(ninja -C "$1" -t commands "$2" | tail -n 1)
  else
    line=$(cat "$1/CMakeFiles/$2.dir/link.txt")
  fi
  if grep -Eo 'leveldb|prometheus|civetweb|curl|secp256k1|crypto\+\+|tcc_controller|tcc_vcapi|tcc_chain_(ledger|evm|factory)' <<<"$line"; then
    echo "FAIL: $2 links daemon-side libraries: $line" >&2
    return 1
  fi
  echo "$2: party-only link ($(grep -Eo 'libtcc_[a-z_]+\.a' <<<"$line" | sort -u | tr '\n' ' '))"
}
cmake -S "$source/tests/package/consumer" -B "$prefix/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix/install" -DTCC_CONSUMER_EXPECT_NO_DAEMON=ON "${no_daemon[@]}" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
party_only "$prefix/consumer" consumer
"$prefix/consumer/consumer"
# With the daemon's packages present, the daemon component is there for programs that embed it.
cmake -S "$source/tests/package/daemon" -B "$prefix/daemon" -G Ninja -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/daemon" >/dev/null
"$prefix/daemon/embedder"
# The SDK's example programs build unchanged against the installed package (tcc::client).
cmake -S "$source/examples" -B "$prefix/examples" -DCMAKE_PREFIX_PATH="$prefix/install" \
  "${no_daemon[@]}" >/dev/null
cmake --build "$prefix/examples" >/dev/null
party_only "$prefix/examples" gpu_provider
party_only "$prefix/examples" gpu_consumer
"$prefix/examples/gpu_provider" --help | head -n 1
"$prefix/examples/gpu_consumer" --help | head -n 1
if [ -n "$python" ]; then
  [[ $python_dir == /* ]] || python_dir="$prefix/install/$python_dir"
  "$python" -m venv --system-site-packages "$prefix/venv"
  venv_site=$("$prefix/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$python_dir" > "$venv_site/tcc.pth"
  (cd "$prefix" && "$prefix/venv/bin/python" -c 'import tcc; assert tcc.__file__.startswith(__import__("sys").argv[1]); print("python: tcc", tcc.Key.generate().did[:8])' "$python_dir")
  "$prefix/venv/bin/python" "$source/examples/python/gpu_provider.py" --help | head -n 1
fi
