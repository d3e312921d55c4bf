#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages TCC needs to build, test and run, if any are missing.
# Safe to run repeatedly; does nothing when everything is present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config python3
  libsodium-dev libssl-dev libsimdjson-dev libleveldb-dev doctest-dev
  libre2-dev libsnappy-dev libzmq3-dev prometheus-cpp-dev libcivetweb-dev prometheus curl
  clang libclang-rt-14-dev llvm
  python3-yaml systemd strace docker-compose
  libcurl4-openssl-dev libsecp256k1-dev libcrypto++-dev
  libjemalloc-dev  # tccd's allocator (cmake/TccMalloc.cmake)
  python3-dev pybind11-dev
  chromium  # headless, for the test that opens tccd's Swagger UI page (tests/vcapi)
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
# Node.js runs the pinned npm tools (solc, anvil) of the EVM adapter tests. A Node.js from
# elsewhere (e.g. NodeSource, which bundles npm) is fine, so look for the commands, not packages.
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  missing+=(nodejs npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "Installing missing packages: ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
