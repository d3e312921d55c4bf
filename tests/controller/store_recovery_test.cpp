// Store recovery (store_recovery.h) alone, over a real StoreGuard and ChannelStore in a temporary
// directory and the parts below it as daemon.cpp wires them (request_parts_test_util.h). The
// host answers StoreStatus from the guard, as the daemon does, so the settlement pipeline refuses
// while the store is failed; the metrics are served on loopback and scraped like Prometheus.
#include "store_recovery.h"

#include <doctest/doctest.h>

#include <span>
#include <string>

#include "daemon/daemon_test_util.h"
#include "in_flight.h"
#include "request_parts_test_util.h"
#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"

namespace tcc::controller {
namespace {

using testing::Ok;
using testing::Request;
using wire::FrameBuilder;
using wire::MessageType;

const std::string kChannel(64, 'a');
const std::string kUnstored(64, 'b');

// The request parts' TestHost, but with the store status the guard says (the daemon's).
class GuardedHost final : public LoopHost {
 public:
  GuardedHost(testing::TestHost& inner, const StoreGuard& guard) : inner_(inner), guard_(guard) {}

  void Reply(const Requester& to, std::string frame) override {
    inner_.Reply(to, std::move(frame));
  }
  void ReplyError(const Requester& to, const Error& error) override {
    inner_.ReplyError(to, error);
  }
  void CountRejection(const Error& error) override { inner_.CountRejection(error); }
  std::size_t Publish(ChannelRuntime& channel, std::string_view frame, std::optional<Role> role,
                      const Requester* answered) override {
    return inner_.Publish(channel, frame, role, answered);
  }
  void Async(std::function<Task()> work) override { inner_.Async(std::move(work)); }
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work) override {
    inner_.PeerAsync(from, large, std::move(work));
  }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override {
    return inner_.OnLoop(std::move(done));
  }
  Status StoreStatus() const override { return guard_.status(); }
  void OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                          const Error& error) override {
    inner_.OnStoreWriteFailed(what, channel_id, error);
  }
  Connection* LiveConnection(const Requester& from) override { return inner_.LiveConnection(from); }
  bool draining() const override { return false; }

 private:
  testing::TestHost& inner_;
  const StoreGuard& guard_;
};

struct Fixture {
  testing::RequestParts parts;
  StoreGuard guard{*parts.store};
  GuardedHost host{parts.host, guard};
  std::unique_ptr<DaemonMetrics> metrics =
      Ok(DaemonMetrics::Create("127.0.0.1:0", parts.tcc_did, "local"));
  SettlementPipeline pipeline{
      host, parts.channels, *parts.views,
      SettlementPipeline::Parts{
          *parts.resolver, parts.key, *parts.store, *parts.writer, *parts.anchor, *metrics, 64,
          [this](ChannelRuntime& channel) { parts.lifecycle->Close(channel); }}};
  StoreRecovery recovery{host, parts.channels,
                         StoreRecovery::Parts{guard, *parts.anchor, *metrics, pipeline}};

  double Metric(const std::string& series) {
    std::optional<double> value =
        tcc::testing::MetricValue(tcc::testing::ScrapeMetrics(metrics->bound_address()), series);
    REQUIRE_MESSAGE(value.has_value(), "missing series " << series);
    return *value;
  }

  // A settle.submit of an (unsigned) claim for seq `seq` after `prev`, shaped well enough to reach
  // the channel's state machine.
  void Submit(ChannelRuntime& channel, std::uint64_t seq, const chain::Hash256& prev) {
    Json claim = Json::Object();
    claim.Set("channel", kChannel);
    claim.Set("seq", seq);
    claim.Set("prev", HexEncode(prev));
    claim.Set("provider", channel.record().provider);
    claim.Set("consumer", channel.record().consumer);
    const wire::Message message = Request(std::move(FrameBuilder(MessageType::kSettleSubmit, seq)
                                                        .Add("channel", kChannel)
                                                        .Add("claim", claim)));
    pipeline.Submit(Requester{false, "consumer", seq, {}, 1}, Role::kConsumer, channel, message);
  }
};

// Channel kChannel's seq 1 committed with its evidence, as a commit reported failed may have
// reached the disk all the same.
SettlementCommit StoredFirstTsc(const ChannelRecord& record) {
  SettlementCommit commit;
  commit.tsc.channel_id = kChannel;
  commit.tsc.seq = 1;
  commit.tsc.tsc = "{\"seq\":1}";
  commit.tsc.tsc_hash = Sha256(commit.tsc.tsc);
  commit.tsc.claim_hash = HexEncode(Sha256(std::string("claim 1")));
  commit.channel = record;
  commit.channel.last_seq = 1;
  commit.channel.last_hash = commit.tsc.tsc_hash;
  commit.channel.evidence_seq = 1;
  commit.evidence = EvidenceItemFor(kChannel, 1, commit.tsc.tsc_hash);
  return commit;
}

TEST_CASE("a failed write refuses settlements until a probe finds the store writing again") {
  Fixture f;
  ChannelRuntime& channel = f.parts.AddChannel(kChannel);
  // The daemon holds each channel's TST; issuing verifies claims against it.
  channel.tst = std::make_shared<vc::Template>(
      tcc::testing::Trade::Example("gpu-hour.tst.json", channel.record().provider));
  const ChannelRecord opened = channel.record();
  // Opened while the store could not write: only in memory.
  f.parts.channels.emplace(kUnstored, ChannelRuntime(testing::NewChannel(kUnstored)));

  f.recovery.ReportHealth();
  CHECK(f.Metric("tcc_store_writable") == 1);

  f.recovery.WriteFailed("tsc commit", kChannel, Error(ErrorCode::kIo, "No space left on device"));
  CHECK_FALSE(f.guard.ok());
  CHECK(f.Metric("tcc_store_writable") == 0);
  // Sticky: a later failure keeps the first cause.
  f.recovery.WriteFailed("store channel", kChannel, Error(ErrorCode::kIo, "EIO"));
  CHECK(f.guard.error() == "No space left on device");

  f.Submit(channel, 1, opened.last_hash);
  REQUIRE(f.parts.host.errors.size() == 1);
  CHECK(f.parts.host.errors[0].code() == ErrorCode::kUnavailable);
  CHECK(f.parts.host.errors[0].message().find("No space left on device") != std::string::npos);
  CHECK(f.parts.host.rejected["unavailable"] == 1);
  CHECK(f.pipeline.issued() == 0);

  // The failed commit reached the disk after all.
  const SettlementCommit commit = StoredFirstTsc(opened);
  REQUIRE(f.parts.store->CommitSettlements(std::span<const SettlementCommit>(&commit, 1)).ok());
  CHECK(f.parts.anchor->stats().queued_items == 0);

  CHECK_FALSE(f.parts.store->GetChannel(kUnstored).ok());

  // While a write is on its way to the store writer, the sweep does not probe: the heads could
  // still move.
  InFlight::Carried write = f.guard.BeginWrite();
  f.recovery.Sweep();
  CHECK_FALSE(f.guard.ok());
  CHECK(channel.machine.acknowledged().seq == 0);
  CHECK(f.Metric("tcc_store_writable") == 0);

  // Once it is back, the sweep probes the (real, writing) store and recovers.
  write.Take().Release();
  f.recovery.Sweep();
  CHECK(f.guard.ok());
  CHECK(f.guard.status().ok());
  CHECK(f.Metric("tcc_store_writable") == 1);
  CHECK(f.Metric("tcc_store_write_failures_total") ==
        static_cast<double>(f.parts.store->write_health().write_failures));
  // The head is the store's; the evidence that commit made durable went to the anchor service.
  CHECK(channel.machine.acknowledged().seq == 1);
  CHECK(channel.machine.acknowledged().hash == commit.tsc.tsc_hash);
  CHECK(channel.machine.acknowledged().evidence_seq == 1);
  CHECK(channel.record().last_seq == 1);
  CHECK(f.parts.anchor->stats().queued_items == 1);

  // The channel opened while the store could not write has its record written now.
  f.parts.host.RunStoreCompletion();
  CHECK(Ok(f.parts.store->GetChannel(kUnstored)).channel_id == kUnstored);
  CHECK_FALSE(f.parts.channels.find(kUnstored)->second.machine.settings_dirty());

  // Settlements are taken again, after the reloaded head: seq 2 reaches verification (this claim
  // has no proofs), neither refused as unavailable nor as out of sequence (conflict).
  f.Submit(channel, 2, commit.tsc.tsc_hash);
  REQUIRE(f.parts.host.errors.size() == 2);
  CHECK(f.parts.host.errors[1].code() == ErrorCode::kVerificationFailed);
  CHECK(f.parts.host.rejected["unavailable"] == 1);
}

TEST_CASE("a store that writes is not probed, and recovery happens once") {
  Fixture f;
  ChannelRuntime& channel = f.parts.AddChannel(kChannel);
  const SettlementCommit commit = StoredFirstTsc(channel.record());
  REQUIRE(f.parts.store->CommitSettlements(std::span<const SettlementCommit>(&commit, 1)).ok());
  // Not failed: the sweep leaves the heads as the loop holds them.
  f.recovery.Sweep();
  CHECK(channel.machine.acknowledged().seq == 0);
  CHECK(f.parts.anchor->stats().queued_items == 0);

  f.recovery.WriteFailed("tsc commit", kChannel, Error(ErrorCode::kIo, "EIO"));
  f.recovery.Sweep();
  CHECK(f.guard.ok());
  CHECK(channel.machine.acknowledged().seq == 1);
  CHECK(f.parts.anchor->stats().queued_items == 1);
  // A second sweep finds nothing to do: the evidence is not sent twice.
  f.recovery.Sweep();
  CHECK(f.parts.anchor->stats().queued_items == 1);
}

}  // namespace
}  // namespace tcc::controller
