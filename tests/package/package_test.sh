#!/usr/bin/env bash
# Installs the built TCC into a temporary prefix and builds a separate project against it with
# find_package(tcc), then runs that project, and builds the SDK examples (examples/) against it.
# Usage: package_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix/install" >/dev/null
cmake -S "$source/tests/package/consumer" -B "$prefix/consumer" -G Ninja \
  -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer"
# The SDK's example programs build unchanged against the installed package (tcc::client).
cmake -S "$source/examples" -B "$prefix/examples" -G Ninja -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/examples" >/dev/null
"$prefix/examples/gpu_provider" --help | head -n 1
"$prefix/examples/gpu_consumer" --help | head -n 1
