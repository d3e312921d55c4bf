// One tccd under settlement load against an EVM chain (anvil, optionally sealing on an interval):
// three channels at base N = 2 whose templates and TICs are on the registry, tccd's own account,
// and its arguments with --adaptive and --metrics (backlog_high 100, target latency 2 s, anchor
// interval 200 ms). Shared by the outage and interval-mining load tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "evm_test_util.h"
#include "reliability/chain_outage.h"

namespace tcc::testing {

struct EvmTccdLoad {
  static constexpr std::uint64_t kBaseN = 2;  // every channel's TIC says N = 2

  explicit EvmTccdLoad(unsigned block_time_s = 0) : chain(block_time_s) {
    const chain::testing::TempDir& dir = chain.dir();
    writer = chain.Open();
    lanes = MakeLanes(3, [&](Trade& trade) { trade.Record(writer, kBaseN); });
    REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
    // Adaptive N reacts to a backlog over 100 items that keeps growing, or anchors over 2 s.
    const std::string config = dir.Sub("tccd.json");
    REQUIRE(WriteFileAtomic(config, R"({"anchoring": {"backlog_high": 100, "target_latency_ms": 2000}})").ok());
    chain::EvmOptions options = chain.options();
    options.key_file = chain.NewFundedKey("tccd-evm.key");  // tccd's own account: its nonces are its own
    data_dir = dir.Sub("data");
    arguments = {"--config", config, "--data-dir", data_dir, "--key", dir.Sub("tcc.key"), "--chain",
                 chain::EvmUri(options), "--listen", "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort()),
                 "--control", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0", "--anchor-interval", "200",
                 "--adaptive", "--n", std::to_string(kBaseN), "--n-max", "1000"};
  }

  chain::testing::EvmChain chain;
  std::shared_ptr<chain::ChainAdapter> writer;  // wrote the records; verifies the evidence after
  std::vector<std::unique_ptr<Lane>> lanes;
  std::string data_dir;
  std::vector<std::string> arguments;  // tccd's
};

}  // namespace tcc::testing
