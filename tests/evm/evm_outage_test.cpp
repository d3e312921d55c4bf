// Chain outage with the EVM adapter: the anvil node is stopped for about ten seconds under load and
// started again on the same port and state (a restarted consortium node). The scenario and its
// checks are in tests/reliability/chain_outage.h. tccd cannot start without its node (the adapter
// reads the chain id and the registry when it opens), so the SIGKILL comes near the end of the
// outage and tccd restarts once the node is back.
#include <doctest/doctest.h>

#include "evm_test_util.h"
#include "reliability/chain_outage.h"

namespace tcc::testing {
namespace {

using chain::testing::EvmChain;

constexpr std::uint64_t kBaseN = 2;  // every channel's TIC says N = 2

TEST_CASE("chain outage: the EVM node stops under load, then comes back on the same chain") {
  EvmChain chain;
  const TempDir& dir = chain.dir();
  std::shared_ptr<chain::ChainAdapter> writer = chain.Open();
  auto lanes = MakeLanes(3, [&](Trade& trade) { trade.Record(writer, kBaseN); });
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  // Adaptive N reacts to a backlog over 100 items that keeps growing, or anchors over 2 s.
  const std::string config = dir.Sub("tccd.json");
  REQUIRE(WriteFileAtomic(config, R"({"anchoring": {"backlog_high": 100, "target_latency_ms": 2000}})").ok());
  chain::EvmOptions options = chain.options();
  options.key_file = chain.NewFundedKey("tccd-evm.key");  // tccd's own account: its nonces are its own

  ChainOutageSetup setup;
  setup.lanes = &lanes;
  setup.data_dir = dir.Sub("data");
  setup.tccd_arguments = {"--config", config, "--data-dir", setup.data_dir, "--key", dir.Sub("tcc.key"),
                          "--chain", chain::EvmUri(options), "--listen",
                          "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort()), "--control", "tcp://127.0.0.1:*",
                          "--metrics", "127.0.0.1:0", "--anchor-interval", "200", "--adaptive", "--n",
                          std::to_string(kBaseN), "--n-max", "1000"};
  setup.starts_without_chain = false;
  setup.take_chain_down = [&] { chain.node().Stop(); };
  setup.bring_chain_back = [&] {
    const std::string started = chain.node().Start();
    REQUIRE_MESSAGE(started.empty(), started);
  };
  setup.open_chain = [&] { return writer; };
  RunChainOutage(setup);
}

}  // namespace
}  // namespace tcc::testing
