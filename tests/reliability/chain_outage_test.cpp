// Chain outage with the embedded ledger: its directory is on a small filesystem of its own
// (ScratchVolume, a tmpfs) that fills up for about ten seconds under load, while tccd's store stays
// on the ordinary disk. The scenario and its checks are in chain_outage.h; this file sets up the
// ledger, tccd and the outage. Runs in a private mount namespace (run_in_mount_namespace.sh).
#include <doctest/doctest.h>

#include "reliability/chain_outage.h"
#include "reliability/scratch_volume.h"

namespace tcc::testing {
namespace {

constexpr std::uint64_t kBaseN = 2;  // every channel's TIC says N = 2

TEST_CASE("chain outage: the embedded ledger's disk fills up under load, then frees") {
  TempDir dir;
  auto volume = ScratchVolume::Mount(dir.Sub("chain"), 64u << 20);
  REQUIRE_MESSAGE(volume.ok(), (volume.ok() ? "" : volume.error().ToString()));
  const std::string ledger = volume->Sub("ledger");
  auto lanes = MakeLanes(3, [&](Trade& trade) { trade.Record(ledger, kBaseN); });
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  // Adaptive N reacts to a backlog over 100 items that keeps growing, or anchors over 1 s.
  const std::string config = dir.Sub("tccd.json");
  REQUIRE(WriteFileAtomic(config, R"({"anchoring": {"backlog_high": 100, "target_latency_ms": 1000}})").ok());

  ChainOutageSetup setup;
  setup.lanes = &lanes;
  setup.data_dir = dir.Sub("data");
  setup.tccd_arguments = {"--config", config, "--data-dir", setup.data_dir, "--key", dir.Sub("tcc.key"),
                          "--chain", "local:" + ledger, "--listen",
                          "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort()), "--control", "tcp://127.0.0.1:*",
                          "--metrics", "127.0.0.1:0", "--anchor-interval", "200", "--adaptive", "--n",
                          std::to_string(kBaseN), "--n-max", "1000"};
  setup.take_chain_down = [&] {
    auto filled = volume->Fill();
    REQUIRE_MESSAGE(filled.ok(), (filled.ok() ? "" : filled.error().ToString()));
    MESSAGE("ledger volume filled with " << *filled << " bytes of ballast");
  };
  setup.bring_chain_back = [&] { REQUIRE(volume->Free().ok()); };
  setup.open_chain = [&]() -> std::shared_ptr<chain::ChainAdapter> {
    return Unwrap(chain::LocalLedger::Open({.path = ledger, .create_if_missing = false}), "ledger");
  };
  RunChainOutage(setup);
}

}  // namespace
}  // namespace tcc::testing
