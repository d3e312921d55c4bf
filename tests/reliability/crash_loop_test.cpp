// Crash loop: three channels settle continuously through a real tccd (one thread per channel,
// provider and consumer over loopback TCP with CURVE) while the test kills tccd with SIGKILL at a
// random moment 20 times in a row and restarts it on the same endpoints. After each restart, with
// the parties paused: every TSC a client received an acknowledgement for is in the store, with the
// hash acknowledged, and verifies; each channel's sequence runs 1..last without a gap or a
// duplicate and links by hash; the chain seen before the crash is unchanged; the anchors pending at
// the crash complete. Then the parties reconnect and resume from the channel's state. The test
// prints the counts (acknowledged, recovered, lost, duplicated) and requires lost = duplicated = 0.
//
// TCC_CRASH_SEED=N replays the kill timings of a run (each run prints its seed).
#include <doctest/doctest.h>

#include <cstdlib>
#include <random>

#include "reliability/settlement_load.h"

namespace tcc::testing {
namespace {

constexpr int kCrashes = 20;
constexpr std::uint64_t kAnchorEvery = 5;  // N of every channel

TEST_CASE("crash loop: SIGKILL tccd 20 times under load; nothing acknowledged is lost or duplicated") {
  const char* seed_text = std::getenv("TCC_CRASH_SEED");
  const unsigned seed = seed_text != nullptr ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 10))
                                             : std::random_device{}();
  MESSAGE("crash loop seed " << seed << " (TCC_CRASH_SEED replays it)");
  std::mt19937 random(seed);

  TempDir dir;
  auto lanes = MakeLanes(3, [&](Trade& trade) { trade.Record(dir.Sub("ledger"), kAnchorEvery); });
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());

  const std::string listen = "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  const std::vector<std::string> arguments = {
      "--data-dir", dir.Sub("data"),    "--key",     dir.Sub("tcc.key"), "--chain", "local:" + dir.Sub("ledger"),
      "--listen",   listen,             "--control", "tcp://127.0.0.1:*", "--anchor-interval", "50"};
  TccdProcess tccd;
  tccd.Start(arguments);

  SettlementLoad load;
  load.endpoint = listen;
  load.tcc_did = tccd.did();
  Workers workers{load, {}};
  for (auto& lane : lanes) workers.threads.emplace_back([&lane, &load] { RunLane(*lane, load); });

  AuditCounts total;
  std::uniform_int_distribution<int> kill_delay_ms(0, 300);
  const auto started = std::chrono::steady_clock::now();
  for (int crash = 1; crash <= kCrashes; ++crash) {
    // Under load: wait for fresh acknowledgements on this tccd, then kill it at a random moment.
    REQUIRE_MESSAGE(AwaitAcks(load, 3, std::chrono::seconds(30)), "the parties did not resume after restart " << crash - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_delay_ms(random)));
    tccd.Kill();

    // Pause the parties (their in-flight requests time out against the dead tccd), restart, check.
    PauseLanes(load, lanes);
    tccd.Start(arguments);
    AuditCounts round;
    for (auto& lane : lanes) round += CheckLane(*lane, tccd, kAnchorEvery);
    MESSAGE("crash " << crash << ": acknowledged " << round.acknowledged << ", recovered " << round.recovered
                     << ", lost " << round.lost << ", duplicated " << round.duplicated << ", gaps " << round.gaps
                     << ", persisted without acknowledgement " << round.unacknowledged_persisted);
    CHECK(round.lost == 0);
    CHECK(round.duplicated == 0);
    CHECK(round.gaps == 0);
    CHECK(round.recovered == round.acknowledged);
    total = round;  // cumulative: the acknowledged set only grows
    load.paused.store(false);
  }

  // The parties resume once more on the last tccd.
  CHECK(AwaitAcks(load, 3, std::chrono::seconds(30)));
  workers.Join();
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("crash loop: " << kCrashes << " SIGKILLs in " << seconds << " s; acknowledged " << total.acknowledged
                         << ", recovered " << total.recovered << ", lost " << total.lost << ", duplicated "
                         << total.duplicated << ", reconnects " << load.reconnects.load());
  CHECK(total.acknowledged >= static_cast<std::uint64_t>(3 * kCrashes));
  CHECK(tccd.Stop() == 0);

  // The last evidence fetched for each channel is on the ledger, once tccd has released it.
  auto ledger = Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger"), .create_if_missing = false}), "ledger");
  for (const auto& lane : lanes) {
    REQUIRE(lane->last_bundle.has_value());
    auto on_chain = chain::VerifyEvidenceBundleOnChain(*lane->last_bundle, *ledger);
    CHECK_MESSAGE(on_chain.ok(), (on_chain.ok() ? "" : on_chain.error().ToString()));
  }
}

}  // namespace
}  // namespace tcc::testing
