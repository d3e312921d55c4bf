// tccd settling at full speed on three channels while its anchors wait for blocks: anvil seals a
// block every 1, 2 and 5 s (as QBFT/PBFT chains do), tccd runs with the adaptive N. For each block
// time the test reports anchored evidence per second, the unanchored backlog and the adaptive
// factor, checks the backlog stays bounded (its peak in the second half of the run is not above
// twice the first half's, plus one block's worth of settlements), and that after the load every
// acknowledged TSC is in the store once and every evidence item verifies against the chain.
#include <doctest/doctest.h>

#include "evm_tccd_load.h"

namespace tcc::testing {
namespace {

constexpr double kRunSeconds = 12;

double LeavesAnchored(const TccdProcess& tccd) {
  return MetricValue(ScrapeMetrics(tccd.metrics()), "tcc_anchor_batch_leaves_sum").value_or(0);
}

void RunAtBlockTime(unsigned block_time_s) {
  CAPTURE(block_time_s);
  EvmTccdLoad setup(block_time_s);
  auto& lanes = setup.lanes;
  const std::vector<std::string>& arguments = setup.arguments;
  constexpr std::uint64_t kBaseN = EvmTccdLoad::kBaseN;

  TccdProcess tccd;
  tccd.Start(arguments);
  SettlementLoad load;
  load.endpoint = tccd.listen();
  load.tcc_did = tccd.did();
  load.pace = std::chrono::milliseconds(10);
  Workers workers{load, {}};
  for (auto& lane : lanes) workers.threads.emplace_back([&lane, &load] { RunLane(*lane, load); });
  REQUIRE_MESSAGE(AwaitAcks(load, 20, std::chrono::seconds(30)), "the parties do not settle");

  using outage_detail::Clock;
  using outage_detail::SecondsSince;
  const auto start = Clock::now();
  const double leaves_before = LeavesAnchored(tccd);
  const std::uint64_t acks_before = load.acks.load();
  double first_half_peak = 0, second_half_peak = 0, factor_peak = 0, n_peak = 0;
  while (SecondsSince(start) < kRunSeconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    const auto sample = outage_detail::Read(tccd);
    double& peak = SecondsSince(start) < kRunSeconds / 2 ? first_half_peak : second_half_peak;
    peak = std::max(peak, sample.unanchored);
    factor_peak = std::max(factor_peak, sample.factor);
    n_peak = std::max(n_peak, sample.effective_n);
  }
  const double elapsed = SecondsSince(start);
  const double anchored_per_second = (LeavesAnchored(tccd) - leaves_before) / elapsed;
  const double acks_per_second = static_cast<double>(load.acks.load() - acks_before) / elapsed;
  MESSAGE("block time " << block_time_s << " s: " << acks_per_second << " TSCs/s acknowledged, "
                        << anchored_per_second << " evidence items/s anchored, unanchored peak "
                        << first_half_peak << " (first half) / " << second_half_peak
                        << " (second half), adaptive factor peak " << factor_peak << " (N " << kBaseN << " -> "
                        << n_peak << ")");
  CHECK(anchored_per_second > 0);
  // Bounded: what one block interval collects at the base N, on top of twice the first half.
  const double one_block = acks_per_second / kBaseN * block_time_s;
  CHECK(second_half_peak <= 2 * first_half_peak + one_block);
  load.stop = true;
  workers.Join();
  AuditStopAndVerify(tccd, lanes, arguments, load.acks.load(), [&] { return setup.writer; });
}

TEST_CASE("interval mining under load: 1 s blocks") { RunAtBlockTime(1); }
TEST_CASE("interval mining under load: 2 s blocks") { RunAtBlockTime(2); }
TEST_CASE("interval mining under load: 5 s blocks") { RunAtBlockTime(5); }

}  // namespace
}  // namespace tcc::testing
