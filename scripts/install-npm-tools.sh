#!/usr/bin/env bash
# Installs the pinned npm tools of package-lock.json into node_modules/ with `npm ci`: the Solidity
# compiler (solcjs) that builds chain-adapter/evm/TccRegistry.sol and the anvil node the EVM tests
# and benchmarks run. Only the npm registry is contacted (no GitHub, no compiler downloads).
# Does nothing when node_modules/ already matches the lockfile. The build runs this itself when
# package-lock.json changes; test.sh and demo.sh run it up front.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
lock="$root/package-lock.json"
stamp="$root/node_modules/.tcc-lock.sha256"
want=$(sha256sum "$lock" | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] \
    && [ -x "$root/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil" ] \
    && [ -f "$root/node_modules/solc/soljson.js" ]; then
  exit 0
fi
if ! command -v npm >/dev/null; then
  echo "install-npm-tools: npm is missing; run scripts/install-deps.sh first" >&2
  exit 1
fi
echo "Installing the pinned npm tools (solc, anvil, hardhat, swagger-ui-dist, redocly) into $root/node_modules"
# No install scripts run: neither package needs one, and none should run at build time.
(cd "$root" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
echo "$want" >"$stamp"
