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
cmake -S "$source/tests/package/consumer" -B "$prefix/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/consumer" >/dev/null
"$prefix/consumer/consumer"
# The SDK's example programs build unchanged against the installed package (tcc::client).
cmake -S "$source/examples" -B "$prefix/examples" -DCMAKE_PREFIX_PATH="$prefix/install" >/dev/null
cmake --build "$prefix/examples" >/dev/null
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
