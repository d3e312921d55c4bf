// Disk full, for real: the store lives on a size-limited tmpfs (ScratchVolume) that the test fills
// until the kernel answers ENOSPC and later empties again. First ChannelStore alone: a write that
// fails heals by reopening once space returns, while reads go on. Then a real tccd under load
// (three channels settling continuously, a fourth through the SDK's PartySession): while the disk
// is full it acknowledges nothing, refuses submissions with kUnavailable, says so in its metrics
// and health, and keeps serving reads; once space returns it recovers by itself, without a
// restart, and settles again, and the PartySession submit that waited through the outage returns
// its TSC. The audit afterwards, and again after a restart, finds every acknowledged TSC with the
// hash acknowledged, each channel 1..last without a gap or a duplicate, and the anchors due
// complete. Last, a disk whose syncs fail after the write (fail_sync_shim.cpp, preloaded into
// tccd): the commits that failed are on disk after the reopen, so recovery finds TSCs that were
// stored but never acknowledged, makes them the channels' heads and anchors their evidence.
//
// Mounting needs a private mount namespace: ctest runs this through run_in_mount_namespace.sh.
#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <future>

#include "channel_store.h"
#include "scratch_volume.h"
#include "settlement_load.h"
#include "tcc/client/connection.h"
#include "tcc/wire/transport.h"

namespace tcc::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kAnchorEvery = 5;  // N of every channel

double Seconds(Clock::duration duration) { return std::chrono::duration<double>(duration).count(); }

template <typename Predicate>
bool WaitFor(Predicate done, std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  while (!done()) {
    if (Clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

TEST_CASE("ChannelStore: a write that fails for want of space heals by reopening once space returns") {
  TempDir dir;
  ScratchVolume volume = Unwrap(ScratchVolume::Mount(dir.Sub("volume"), 8u << 20), "mount");
  const std::string path = volume.Sub("store");
  auto store = Unwrap(controller::ChannelStore::Open(path), "open");
  REQUIRE(store->PutValue("before", "1").ok());
  REQUIRE(Unwrap(volume.Fill(), "fill") > 0);

  // Larger than what is left of the log's last page: the append itself fails.
  const std::string large(512u << 10, 'x');
  Status failed = store->PutValue("large", large);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == ErrorCode::kIo);
  CHECK_FALSE(store->write_health().writable);
  // No reopen before the interval, none while the disk is full; reads go on meanwhile.
  Status refused = store->PutValue("during", "2");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
  CHECK(refused.error().message().find("store cannot write") != std::string::npos);
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  Status still_full = store->Probe();
  REQUIRE_FALSE(still_full.ok());
  CHECK(still_full.error().message().find("must be free to reopen") != std::string::npos);
  CHECK(Unwrap(store->GetValue("before"), "read while full") == "1");
  CHECK(store->write_health().reopens == 0);

  REQUIRE(volume.Free().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(350));
  REQUIRE(store->Probe().ok());
  const controller::ChannelStore::WriteHealth health = store->write_health();
  CHECK(health.writable);
  CHECK(health.reopens == 1);
  CHECK(health.write_failures >= 3);
  REQUIRE(store->PutValue("after", "3").ok());
  auto during = store->GetValue("during");
  CHECK((!during.ok() && during.error().code() == ErrorCode::kNotFound));

  // The healed store reopens as usual, with everything acknowledged.
  store.reset();
  store = Unwrap(controller::ChannelStore::Open(path), "reopen");
  CHECK(Unwrap(store->GetValue("before"), "before") == "1");
  CHECK(Unwrap(store->GetValue("after"), "after") == "3");
}

// tccd's first log line with this message, parsed.
Json LogLine(const TccdProcess& tccd, const std::string& message) {
  const std::string log = tccd.Log();
  const std::size_t at = log.find("\"msg\":\"" + message + "\"");
  REQUIRE_MESSAGE(at != std::string::npos, "no \"" << message << "\" in the log:\n" << log);
  const std::size_t start = log.rfind('\n', at) + 1;  // 0 on the first line
  return Unwrap(Json::Parse(log.substr(start, log.find('\n', at) - start)), "log line");
}

bool StoreOk(const Json& health) { return health.Find("store")->Find("ok")->as_bool(); }

// Records a TSC a PartySession was given as acknowledged in its lane, for CheckLane.
void RecordAcknowledged(Lane& lane, const Json& tsc) {
  const auto seq = tsc.Find("credentialSubject")->GetInteger("seq").value();
  std::lock_guard lock(lane.mutex);
  lane.acknowledged[seq] = vc::CredentialHash(tsc).value();
}

// One settlement between two PartySessions, seen by both; returns the TSC the consumer was
// acknowledged.
Json SettleWithSessions(client::PartySession& provider, client::PartySession& consumer) {
  const Json joint = Unwrap(consumer.Cosign(NextProposal(provider, consumer)), "cosign");
  Json tsc = Unwrap(consumer.Submit(joint), "submit");
  REQUIRE(provider.AwaitTsc(consumer.head().seq, std::chrono::seconds(10)).ok());
  return tsc;
}

TEST_CASE("disk full: tccd acknowledges nothing while its store cannot write and recovers by itself") {
  TempDir dir;  // the TCC key and the ledger, on the ordinary disk
  ScratchVolume volume = Unwrap(ScratchVolume::Mount(dir.Sub("volume"), 48u << 20), "mount");
  std::vector<std::unique_ptr<Lane>> lanes = MakeLanes(4, [&](Trade& trade) { trade.Record(dir.Sub("ledger"), kAnchorEvery); });
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  std::unique_ptr<Lane> sdk_lane_owner = std::move(lanes.back());  // settled through PartySession
  lanes.pop_back();
  Lane& sdk_lane = *sdk_lane_owner;
  const std::vector<std::string> arguments = {
      "--data-dir", volume.Sub("data"), "--key",     dir.Sub("tcc.key"), "--chain",   "local:" + dir.Sub("ledger"),
      "--listen",   "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0",
      "--anchor-interval", "50"};
  const std::string admin_key = volume.Sub("data") + "/admin.key";
  TccdProcess tccd;
  tccd.Start(arguments);

  SettlementLoad load;
  load.endpoint = tccd.listen();
  load.tcc_did = tccd.did();
  Workers workers{load, {}};
  for (auto& lane : lanes) workers.threads.emplace_back([&lane, &load] { RunLane(*lane, load); });
  auto provider = JoinSession(sdk_lane.trade, tccd, sdk_lane.trade.provider);
  auto consumer = JoinSession(sdk_lane.trade, tccd, sdk_lane.trade.consumer);
  for (std::uint64_t i = 0; i < kAnchorEvery; ++i) RecordAcknowledged(sdk_lane, SettleWithSessions(*provider, *consumer));
  REQUIRE_MESSAGE(AwaitAcks(load, 30, std::chrono::seconds(30)), "no settlements before the disk filled");
  CHECK(MetricValue(ScrapeMetrics(tccd.metrics()), "tcc_store_writable") == 1);

  // Full: the first commit that needs a new page fails; from then on nothing is acknowledged.
  const std::uint64_t ballast = Unwrap(volume.Fill(), "fill");
  const auto filled = Clock::now();
  REQUIRE_MESSAGE(WaitFor([&] { return load.store_refusals.load() > 0; }, std::chrono::seconds(15)),
                  "tccd did not refuse settlements on a full disk");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // acknowledgements already on their way
  const std::uint64_t acks_when_full = load.acks.load();
  auto auditor = ConnectParty(tccd.listen(), tccd.did(), lanes[0]->trade.auditor);
  JoinWhenOpen(*auditor, lanes[0]->trade.channel_id);
  const Json state_when_full = Unwrap(auditor->State(lanes[0]->trade.channel_id), "state while full");

  const std::string metrics_full = ScrapeMetrics(tccd.metrics());
  CHECK(MetricValue(metrics_full, "tcc_store_writable") == 0);
  CHECK(MetricValue(metrics_full, "tcc_store_write_failures_total") > 0);
  CHECK(MetricValue(metrics_full, "tcc_submissions_rejected_total{reason=\"unavailable\"}") > 0);
  const Json health_full = ControlHealth(tccd, admin_key);
  CHECK(health_full.GetString("status").value() == "degraded");
  CHECK_FALSE(StoreOk(health_full));
  CHECK(tccd.LogContains("store cannot write; settlements stop until it recovers"));

  // The SDK waits refusals out: this submit returns only once tccd has recovered.
  const Json joint = Unwrap(consumer->Cosign(NextProposal(*provider, *consumer)), "cosign while full");
  std::future<Result<Json>> sdk_submit = std::async(std::launch::async, [&] { return consumer->Submit(joint); });

  // A few seconds full: reads are served (from memory and through the store's open handle), the
  // refusals go on, and nothing is acknowledged or changes.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const auto synced = auditor->Sync(lanes[0]->trade.channel_id, 0, 20);
  CHECK_MESSAGE(synced.ok(), "sync while full: " << (synced.ok() ? "" : synced.error().ToString()));
  const Json state_later = Unwrap(auditor->State(lanes[0]->trade.channel_id), "state while full");
  CHECK(state_later.GetNumber("last_seq").value() == state_when_full.GetNumber("last_seq").value());
  CHECK(state_later.GetString("last_hash").value() == state_when_full.GetString("last_hash").value());
  const std::uint64_t acks_while_full = load.acks.load() - acks_when_full;
  CHECK(acks_while_full == 0);
  const std::uint64_t refused_while_full = load.store_refusals.load();
  CHECK(refused_while_full > 3);
  CHECK(sdk_submit.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);

  // Space returns: tccd recovers by itself and acknowledges again.
  REQUIRE(volume.Free().ok());
  const auto freed = Clock::now();
  REQUIRE_MESSAGE(WaitFor([&] { return load.acks.load() > acks_when_full; }, std::chrono::seconds(20)), "tccd did not recover:\n" << tccd.Log());
  const double recovery_seconds = Seconds(Clock::now() - freed);
  CHECK(recovery_seconds < 10);
  // The log line precedes the first acknowledgement, but travels through another pipe.
  REQUIRE(WaitFor([&] { return tccd.LogContains("\"msg\":\"store recovered\""); }, std::chrono::seconds(5)));
  REQUIRE(sdk_submit.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  const Json sdk_tsc = Unwrap(sdk_submit.get(), "PartySession submit across the outage");
  CHECK(sdk_tsc.Find("credentialSubject")->GetNumber("seq").value() == static_cast<double>(kAnchorEvery + 1));
  RecordAcknowledged(sdk_lane, sdk_tsc);
  CHECK(provider->AwaitTsc(kAnchorEvery + 1, std::chrono::seconds(10)).ok());
  CHECK(provider->head().hash == consumer->head().hash);
  REQUIRE(AwaitAcks(load, 30, std::chrono::seconds(30)));
  const std::string metrics_after = ScrapeMetrics(tccd.metrics());
  CHECK(MetricValue(metrics_after, "tcc_store_writable") == 1);
  CHECK(MetricValue(metrics_after, "tcc_store_reopens_total") >= 1);
  const Json health_after = ControlHealth(tccd, admin_key);
  CHECK(health_after.GetString("status").value() == "ok");
  CHECK(StoreOk(health_after));

  PauseLanes(load, lanes);
  AuditCounts total;
  for (auto& lane : lanes) total += CheckLane(*lane, tccd, kAnchorEvery);
  total += CheckLane(sdk_lane, tccd, kAnchorEvery);
  const Json recovered = LogLine(tccd, "store recovered");
  MESSAGE("tccd: store down " << recovered.GetNumber("down_ms").value() << " ms, "
                              << MetricValue(metrics_after, "tcc_store_write_failures_total").value_or(-1) << " failed or refused writes, "
                              << MetricValue(metrics_after, "tcc_store_reopens_total").value_or(-1) << " reopens");
  MESSAGE("disk full: " << ballast << " bytes of ballast; full for " << Seconds(freed - filled)
                        << " s; acknowledged " << total.acknowledged << ", refused while full "
                        << refused_while_full << ", acknowledged while full " << acks_while_full
                        << ", recovered " << total.recovered << ", lost " << total.lost << ", duplicated "
                        << total.duplicated << ", gaps " << total.gaps << ", persisted without acknowledgement "
                        << total.unacknowledged_persisted << ", first acknowledgement " << recovery_seconds
                        << " s after space returned");
  CHECK(total.lost == 0);
  CHECK(total.duplicated == 0);
  CHECK(total.gaps == 0);
  CHECK(total.recovered == total.acknowledged);

  // A restart finds the same store.
  workers.Join();
  CHECK(tccd.Stop() == 0);
  tccd.Start(arguments);
  AuditCounts restarted;
  for (auto& lane : lanes) restarted += CheckLane(*lane, tccd, kAnchorEvery);
  restarted += CheckLane(sdk_lane, tccd, kAnchorEvery);
  MESSAGE("after a restart: acknowledged " << restarted.acknowledged << ", recovered " << restarted.recovered
                                           << ", lost " << restarted.lost << ", duplicated " << restarted.duplicated);
  CHECK(restarted.acknowledged == total.acknowledged);
  CHECK(restarted.recovered == restarted.acknowledged);
  CHECK(restarted.lost == 0);
  CHECK(restarted.duplicated == 0);
  CHECK(restarted.gaps == 0);
  CHECK(tccd.Stop() == 0);

  auto ledger = Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger"), .create_if_missing = false}), "ledger");
  lanes.push_back(std::move(sdk_lane_owner));
  for (const auto& lane : lanes) {
    REQUIRE(lane->last_bundle.has_value());
    auto on_chain = chain::VerifyEvidenceBundleOnChain(*lane->last_bundle, *ledger);
    CHECK_MESSAGE(on_chain.ok(), (on_chain.ok() ? "" : on_chain.error().ToString()));
  }
}

// Sets environment variables for the children started while it lives (tccd), then restores them.
class ChildEnvironment {
 public:
  void Set(const char* name, const std::string& value) {
    const char* old = std::getenv(name);
    saved_.emplace_back(name, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(name, value.c_str(), 1);
  }
  ~ChildEnvironment() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_CASE("failed sync: commits on disk but never acknowledged become the heads after recovery; evidence anchored") {
  TempDir dir;
  std::vector<std::unique_ptr<Lane>> lanes = MakeLanes(3, [&](Trade& trade) { trade.Record(dir.Sub("ledger"), 1); });  // N = 1: every TSC carries evidence
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  const std::string failing = dir.Sub("fail-sync");
  TccdProcess tccd;
  {
    ChildEnvironment environment;
    environment.Set("LD_PRELOAD", FAIL_SYNC_SHIM_PATH);
    environment.Set("TCC_FAIL_SYNC_UNDER", dir.Sub("data") + "/store/");
    environment.Set("TCC_FAIL_SYNC_WHILE", failing);
    // The preloaded library comes before the sanitizer runtime in a sanitized tccd.
    const char* asan = std::getenv("ASAN_OPTIONS");
    environment.Set("ASAN_OPTIONS", std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0");
    // Batches only every 5 s: then the first sync that fails is almost surely a settlement
    // commit's (not a batch record's), which is what leaves a TSC on disk without its
    // acknowledgement.
    tccd.Start(LocalTccdArguments(dir, {"--anchor-interval", "5000"}));
  }
  SettlementLoad load;
  load.endpoint = tccd.listen();
  load.tcc_did = tccd.did();
  Workers workers{load, {}};
  for (auto& lane : lanes) workers.threads.emplace_back([&lane, &load] { RunLane(*lane, load); });
  REQUIRE(AwaitAcks(load, 30, std::chrono::seconds(30)));

  std::ofstream(failing).put('1');
  REQUIRE_MESSAGE(WaitFor([&] { return load.store_refusals.load() > 0; }, std::chrono::seconds(15)),
                  "tccd did not refuse settlements when its syncs failed");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // acknowledgements already on their way
  const std::uint64_t acks_when_failing = load.acks.load();
  // Long enough for a probe to try a reopen, which fails too (the recovery syncs what it writes).
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  CHECK(load.acks.load() == acks_when_failing);
  REQUIRE(std::remove(failing.c_str()) == 0);
  REQUIRE_MESSAGE(WaitFor([&] { return load.acks.load() >= acks_when_failing + 30; }, std::chrono::seconds(20)), "tccd did not recover:\n" << tccd.Log());
  REQUIRE(WaitFor([&] { return tccd.LogContains("\"msg\":\"store recovered\""); }, std::chrono::seconds(5)));
  const Json recovered = LogLine(tccd, "store recovered");
  const auto stored_unacknowledged = recovered.GetInteger("stored_unacknowledged_tscs").value();
  const auto evidence_resubmitted = recovered.GetInteger("evidence_resubmitted").value();
  CHECK(stored_unacknowledged >= 1);
  CHECK(evidence_resubmitted == stored_unacknowledged);

  PauseLanes(load, lanes);
  AuditCounts total;
  for (auto& lane : lanes) total += CheckLane(*lane, tccd, 1);
  MESSAGE("failed sync: acknowledged " << total.acknowledged << ", refused " << load.store_refusals.load()
                                       << ", recovered " << total.recovered << ", lost " << total.lost
                                       << ", duplicated " << total.duplicated << ", gaps " << total.gaps
                                       << ", stored without acknowledgement " << total.unacknowledged_persisted
                                       << " (tccd found " << stored_unacknowledged << ", resubmitted "
                                       << evidence_resubmitted << " evidence items), store down "
                                       << recovered.GetNumber("down_ms").value() << " ms");
  CHECK(total.lost == 0);
  CHECK(total.duplicated == 0);
  CHECK(total.gaps == 0);
  CHECK(total.recovered == total.acknowledged);
  CHECK(total.unacknowledged_persisted == stored_unacknowledged);
  workers.Join();
  CHECK(tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
