// The chain-outage scenario shared by the embedded-ledger test (tests/reliability, the ledger's
// disk fills up) and the EVM test (tests/evm, the node is stopped): channels settle continuously
// through a real tccd with adaptive N and metrics on while the chain goes away for a while and
// comes back. It checks that settlements go on being acknowledged, that the unanchored backlog is
// reported (metrics, control.health) and persisted (tccd is killed with SIGKILL once during the
// outage and restarted), that N rises and comes back to its base, and that afterwards every
// evidence item is anchored and its bundle verifies against the chain. It prints the figures.
//
// The caller owns the lanes, the chain and the tccd arguments; RunChainOutage owns the tccd and
// the party threads for the run. Not thread-safe; call it from the test's thread.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "reliability/settlement_load.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/wire/transport.h"

namespace tcc::testing {

struct ChainOutageSetup {
  std::vector<std::unique_ptr<Lane>>* lanes = nullptr;
  std::vector<std::string> tccd_arguments;  // with --adaptive, --metrics and a fixed --listen
  std::string data_dir;                     // tccd's --data-dir (its admin.key answers control calls)
  std::chrono::seconds outage{10};
  std::chrono::milliseconds pace{10};  // per lane between settlements (SettlementLoad::pace)
  std::function<void()> take_chain_down;
  std::function<void()> bring_chain_back;
  // Whether tccd can start while the chain is away. If it can, it is killed and restarted in the
  // middle of the outage; if not, killed near its end and restarted once the chain is back.
  bool starts_without_chain = true;
  // The chain to verify the evidence against, opened once tccd has stopped.
  std::function<std::shared_ptr<chain::ChainAdapter>()> open_chain;
};

namespace outage_detail {

using Clock = std::chrono::steady_clock;

inline double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Sample {
  double unanchored = 0;
  double factor = 0;
  double effective_n = 0;
};

inline Sample Read(const TccdProcess& tccd) {
  const std::string scrape = ScrapeMetrics(tccd.metrics());
  Sample sample;
  sample.unanchored = MetricValue(scrape, "tcc_unanchored_evidence").value_or(-1);
  sample.factor = MetricValue(scrape, "tcc_anchor_n_factor").value_or(-1);
  sample.effective_n = MetricValue(scrape, "tcc_anchor_n_default_effective").value_or(-1);
  return sample;
}

// A string member, or "" when it is missing.
inline std::string Text(const Json& object, std::string_view key) {
  auto text = object.GetString(key);
  return text.ok() ? std::string(*text) : std::string();
}

// Evidence items waiting in the batcher (queued or in flight), as control.health reports them:
// unlike the gauge, current the moment tccd is ready.
inline double Waiting(const Json& health) {
  const Json* anchoring = health.Find("anchoring");
  REQUIRE(anchoring != nullptr);
  return anchoring->GetNumber("queued").value() + anchoring->GetNumber("in_flight").value();
}

}  // namespace outage_detail

// After the load has stopped (workers joined): every acknowledgement is in the store, once; a clean
// stop anchors each channel's last TSC; after a restart every evidence item's bundle verifies
// offline, and against the chain once tccd has let go of it.
inline void AuditStopAndVerify(TccdProcess& tccd, std::vector<std::unique_ptr<Lane>>& lanes,
                               const std::vector<std::string>& tccd_arguments, std::uint64_t acks_total,
                               const std::function<std::shared_ptr<chain::ChainAdapter>()>& open_chain) {
  AuditCounts total;
  for (auto& lane : lanes) {
    auto auditor = Unwrap(ConnectUnderLoad(tccd.listen(), tccd.did(), lane->trade.auditor), "auditor connect");
    CHECK(JoinWhenOpen(*auditor, lane->trade.channel_id).role == "auditor");
    total += AuditLane(*lane, *auditor).counts;
  }
  MESSAGE("acknowledged " << total.acknowledged << " (" << acks_total << " acks), recovered " << total.recovered
                          << ", lost " << total.lost << ", duplicated " << total.duplicated);
  CHECK(total.lost == 0);
  CHECK(total.duplicated == 0);
  CHECK(total.gaps == 0);

  // A clean stop anchors each channel's last TSC: nothing settled stays unanchored. Every evidence
  // item's bundle verifies, offline now and against the chain once tccd has let go of it.
  CHECK(tccd.Stop() == 0);
  tccd.Start(tccd_arguments);
  std::vector<chain::EvidenceBundle> bundles;
  for (auto& lane : lanes) {
    const Trade& trade = lane->trade;
    auto auditor = Unwrap(ConnectUnderLoad(tccd.listen(), tccd.did(), trade.auditor), "auditor connect");
    CHECK(JoinWhenOpen(*auditor, trade.channel_id).role == "auditor");
    const Json state = Unwrap(auditor->State(trade.channel_id), "state");
    const auto last_seq = state.GetInteger("last_seq").value();
    CHECK(state.GetInteger("anchored_seq").value() == last_seq);
    for (std::uint64_t seq = 1; seq <= last_seq;) {
      auto evidence = auditor->GetEvidence(trade.channel_id, seq);
      REQUIRE_MESSAGE(evidence.ok(), "seq " << seq << ": " << (evidence.ok() ? "" : evidence.error().ToString()));
      CHECK(chain::VerifyEvidenceBundle(evidence->bundle).ok());
      REQUIRE(evidence->bundle.item.seq >= seq);
      seq = evidence->bundle.item.seq + 1;
      bundles.push_back(std::move(evidence->bundle));
    }
  }
  CHECK(tccd.Stop() == 0);
  auto chain = open_chain();
  std::size_t on_chain = 0;
  for (const auto& bundle : bundles) {
    auto verified = chain::VerifyEvidenceBundleOnChain(bundle, *chain);
    CHECK_MESSAGE(verified.ok(), (verified.ok() ? "" : verified.error().ToString()));
    on_chain += verified.ok() ? 1 : 0;
  }
  MESSAGE(bundles.size() << " evidence items, " << on_chain << " verified against the chain");
}

inline void RunChainOutage(const ChainOutageSetup& setup) {
  using namespace outage_detail;
  auto& lanes = *setup.lanes;
  TccdProcess tccd;
  tccd.Start(setup.tccd_arguments);
  SettlementLoad load;
  load.endpoint = tccd.listen();
  load.tcc_did = tccd.did();
  load.pace = setup.pace;
  Workers workers{load, {}};
  for (auto& lane : lanes) workers.threads.emplace_back([&lane, &load] { RunLane(*lane, load); });

  // Warm up: settlements flow and anchors land at the base N. Twice the highest backlog seen under
  // load with the chain healthy (what an interval collects, and its noise) is what "drained" means
  // afterwards.
  REQUIRE_MESSAGE(AwaitAcks(load, 20, std::chrono::seconds(30)), "the parties do not settle");
  double normal_backlog = 0;
  Sample before;
  for (int i = 0; i < 8; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    before = Read(tccd);
    normal_backlog = std::max(normal_backlog, 2 * before.unanchored);
  }
  CHECK(before.factor == 1);
  const double base_n = before.effective_n;

  Sample peak;
  auto track = [&](const Sample& sample) {
    peak.unanchored = std::max(peak.unanchored, sample.unanchored);
    peak.factor = std::max(peak.factor, sample.factor);
    peak.effective_n = std::max(peak.effective_n, sample.effective_n);
  };

  setup.take_chain_down();
  const auto down_at = Clock::now();
  const std::uint64_t acks_at_down = load.acks.load();
  const double outage_length = std::chrono::duration<double>(setup.outage).count();
  const double kill_at = (setup.starts_without_chain ? 0.4 : 0.8) * outage_length;
  bool killed = false, running = true, health_checked = false;
  double backlog_at_kill = 0;
  while (SecondsSince(down_at) < outage_length) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    if (!running) continue;
    track(Read(tccd));
    if (!health_checked && SecondsSince(down_at) > 2) {
      // What an operator sees: the chain unreachable, the daemon degraded, the backlog waiting.
      const Json health = ControlHealth(tccd, setup.data_dir + "/admin.key");
      const Json* chain = health.Find("chain");
      REQUIRE(chain != nullptr);
      const Json* chain_ok = chain->Find("ok");
      CHECK((chain_ok != nullptr && chain_ok->is_bool() && !chain_ok->as_bool()));
      CHECK(Text(health, "status") == "degraded");
      const double waiting = Waiting(health);
      CHECK(waiting > 0);
      MESSAGE("health during the outage: chain error \"" << Text(*chain, "error") << "\"; anchoring: " << waiting
                                                           << " items waiting, last error \""
                                                           << Text(*health.Find("anchoring"), "last_error") << "\"");
      health_checked = true;
    }
    if (!killed && SecondsSince(down_at) > kill_at) {
      backlog_at_kill = Waiting(ControlHealth(tccd, setup.data_dir + "/admin.key"));
      tccd.Kill();
      if (setup.starts_without_chain) {
        tccd.Start(setup.tccd_arguments);
        // The backlog comes back from the store.
        const double backlog_after = Waiting(ControlHealth(tccd, setup.data_dir + "/admin.key"));
        MESSAGE("SIGKILL during the outage with " << backlog_at_kill << " items unanchored; restarted with "
                                                  << backlog_after);
        CHECK(backlog_after >= backlog_at_kill);
        CHECK(backlog_after > 0);
      } else {
        running = false;
      }
      killed = true;
    }
  }
  const double outage_seconds = SecondsSince(down_at);
  const std::uint64_t acks_during = load.acks.load() - acks_at_down;

  setup.bring_chain_back();
  const auto back_at = Clock::now();
  if (!setup.starts_without_chain) {
    tccd.Start(setup.tccd_arguments);
    const double backlog_after = Waiting(ControlHealth(tccd, setup.data_dir + "/admin.key"));
    MESSAGE("SIGKILL near the end of the outage with " << backlog_at_kill << " items unanchored; restarted once "
            "the chain was back, with " << backlog_after << " (anchoring may have begun; the final check "
            "below finds every item anchored)");
  }
  double drained_after = -1, base_after = -1;
  Sample last;
  while (SecondsSince(back_at) < 30) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    last = Read(tccd);
    track(last);
    // The backlog from control.health: the gauges of a restarted tccd read 0 until its first
    // refresh (once a second), and a 0 backlog must not pass for a drained one.
    const double waiting = Waiting(ControlHealth(tccd, setup.data_dir + "/admin.key"));
    if (drained_after < 0 && waiting <= normal_backlog) drained_after = SecondsSince(back_at);
    if (base_after < 0 && last.factor == 1) base_after = SecondsSince(back_at);
    if (drained_after >= 0 && base_after >= 0) break;
  }
  const std::uint64_t acks_total = load.acks.load();
  MESSAGE("chain outage: " << outage_seconds << " s; acknowledged during it " << acks_during << " ("
                           << static_cast<double>(acks_during) / outage_seconds << "/s, " << acks_at_down
                           << " before it); unanchored peak " << peak.unanchored << "; adaptive factor peak "
                           << peak.factor << " (default N " << base_n << " -> " << peak.effective_n
                           << "); after the chain came back: drained (to " << normal_backlog
                           << " items, twice the normal-load peak) in " << drained_after << " s, N back at base in " << base_after
                           << " s (factor " << last.factor << ")");
  CHECK(acks_during > 0);
  CHECK(peak.unanchored > 0);
  CHECK(peak.factor > 1);
  CHECK(drained_after >= 0);
  CHECK(base_after >= 0);

  // Every acknowledgement is in the store (the SIGKILL lost none).
  workers.Join();
  AuditStopAndVerify(tccd, lanes, setup.tccd_arguments, acks_total, setup.open_chain);
}

}  // namespace tcc::testing
