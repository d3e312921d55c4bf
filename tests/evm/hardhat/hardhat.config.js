// The Hardhat node the EVM tests run as a second implementation beside anvil
// (tests/evm/evm_node.h starts `hardhat node --config THIS --hostname 127.0.0.1 --port P`).
// It compiles nothing (no solidity section, so no compiler is ever downloaded: the registry is
// built by chain-adapter/evm/compile.js and deployed by the adapter), forks nothing and logs no
// requests. The node matches the anvil the tests run: chain id 31337, the `london` rule set the
// registry is compiled for. TCC_HARDHAT_BLOCK_TIME_S > 0 seals a block every that many seconds
// instead of one per transaction; TCC_HARDHAT_DIR keeps Hardhat's cache and artifacts folders
// out of the source tree.
const os = require("os");
const path = require("path");

const blockTimeS = Number(process.env.TCC_HARDHAT_BLOCK_TIME_S || "0");

// A test binary killed before it could stop the node (a ctest timeout, SIGKILL) leaves it
// orphaned: it then stops itself instead of holding its port and a core's share for good.
if (process.env.TCC_HARDHAT_DIR) {
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) process.exit(0);
  }, 1000).unref();
}
const scratch = process.env.TCC_HARDHAT_DIR || path.join(os.tmpdir(), "tcc-hardhat");

module.exports = {
  paths: {
    sources: path.join(scratch, "contracts"),
    tests: path.join(scratch, "test"),
    cache: path.join(scratch, "cache"),
    artifacts: path.join(scratch, "artifacts"),
  },
  networks: {
    hardhat: {
      chainId: 31337,
      hardfork: "london",
      loggingEnabled: false,
      mining: blockTimeS > 0 ? { auto: false, interval: blockTimeS * 1000 } : { auto: true },
    },
  },
};
