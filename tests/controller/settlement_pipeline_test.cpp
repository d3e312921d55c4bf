// The settlement pipeline (settlement_pipeline.h) alone, without the daemon: real signed joint
// claims (the daemon tests' Trade: did:key parties, the example GPU-hour TST, a TIC recorded on a
// real embedded ledger), a real channel store and store writer, the TCC's real key, the did:key
// resolver, and a real anchor service over the embedded ledger in a temporary directory. This test
// is the pipeline's loop host: it runs a worker's half at once, and a store write's completion
// when the writer hands it over, on this thread, as the loop would.
#include "settlement_pipeline.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chain_crosscheck.h"
#include "daemon/daemon_test_util.h"
#include "loop_host_test_util.h"

namespace tcc::controller {
namespace {

using tcc::testing::DidOf;
using tcc::testing::TempDir;
using tcc::testing::Trade;
using tcc::testing::Unwrap;

struct Fixture {
  TempDir dir;
  Trade trade;
  std::unique_ptr<ChannelStore> store;
  std::unique_ptr<StoreWriter> writer;
  std::unique_ptr<DaemonMetrics> metrics;
  std::shared_ptr<chain::LocalLedger> ledger;
  testing::AnchoredBundles anchored;
  std::unique_ptr<AnchorService> anchor;
  RecoveryBook recovery;
  std::unique_ptr<ChannelViews> views;
  did::DidKeyResolver resolver;
  testing::RecordingLoopHost host;
  ChannelTable channels;
  std::vector<std::string> closed;
  std::unique_ptr<SettlementPipeline> pipeline;
  std::uint64_t next_request = 1;

  // A channel over the recorded TIC with strategy N = `n` (1: every TSC's evidence is anchored).
  explicit Fixture(std::uint64_t n = 1) {
    trade.Record(dir.Sub("ledger"), n);
    store = Unwrap(ChannelStore::Open(dir.Sub("store")), "store");
    writer = std::make_unique<StoreWriter>(*store, [](double, std::size_t) {});
    metrics = Unwrap(DaemonMetrics::Create("", trade.tcc_did(), "local"), "metrics");
    ledger = std::shared_ptr<chain::LocalLedger>(
        Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger")}), "ledger"));
    anchor = testing::StartAnchoring(ledger, *store, "pipeline-test", anchored);
    views = std::make_unique<ChannelViews>(*anchor, recovery);

    ChannelRecord record;
    record.channel_id = trade.channel_id;
    record.provider = DidOf(*trade.provider);
    record.consumer = DidOf(*trade.consumer);
    record.auditors = {DidOf(*trade.auditor)};
    record.tst_id = trade.tst->id();
    record.tst_version = trade.tst->version();
    record.strategy_n = n;
    record.last_hash = Unwrap(Sha256DigestFromHex(trade.channel_id), "TIC hash");
    REQUIRE(store->PutChannel(record).ok());  // as the channel's opening stores it
    ChannelRuntime runtime(std::move(record));
    runtime.tst = trade.tst;
    channels.emplace(trade.channel_id, std::move(runtime));

    pipeline = std::make_unique<SettlementPipeline>(
        host, channels, *views,
        SettlementPipeline::Parts{
            resolver, *trade.tcc, *store, *writer, *anchor, *metrics, 16,
            [this](ChannelRuntime& closing) { closed.push_back(closing.record().channel_id); }});
  }
  // The writer's last completions post to the host, so it goes before the host does, even when a
  // failed check left a write unanswered.
  ~Fixture() {
    anchor->Stop();
    writer.reset();
    // The pipeline's writes here never fail: a failure is a bug in what the test drove.
    for (const std::string& failure : host.store_failures) FAIL_CHECK(failure);
  }

  ChannelRuntime& channel() { return channels.find(trade.channel_id)->second; }

  // The provider's proposal for `seq` after `prev`, co-signed by the consumer.
  Json Joint(std::uint64_t seq, const std::string& prev, const std::string& fee = "0.38") const {
    return trade.Cosign(trade.Proposal(seq, prev, fee));
  }

  wire::Message Message(const Json& claim) {
    wire::Message message;
    message.type = wire::MessageType::kSettleSubmit;
    message.id = next_request++;
    message.body = Json::Object();
    message.body.Set("channel", trade.channel_id);
    message.body.Set("claim", claim);
    return message;
  }
  void Submit(const Json& claim, Role role = Role::kConsumer) {
    const wire::Message message = Message(claim);
    const Requester from{false, "party", message.id, Clock::now(), 1};
    pipeline->Submit(from, role, channel(), message);
  }
  std::string Head() const {
    return HexEncode(Unwrap(store->GetChannel(trade.channel_id), "channel").last_hash);
  }
};

TEST_CASE(
    "settlement pipeline: a joint claim is issued, committed, then acknowledged and published") {
  Fixture f;
  const Json claim = f.Joint(1, f.trade.channel_id);
  f.Submit(claim);

  // Issued on the worker and handed to the store writer; nobody is told before it is durable.
  CHECK(f.host.async_runs == 1);
  CHECK(f.host.replies.empty());
  CHECK(f.host.published.empty());
  CHECK(f.host.errors.empty());
  CHECK(f.channel().machine.in_flight());
  CHECK(f.channel().machine.acknowledged().seq == 0);
  CHECK(f.pipeline->issued() == 0);

  f.host.RunStoreCompletion();
  CHECK(f.host.errors.empty());
  REQUIRE(f.host.replies.size() == 1);
  const wire::Message& reply = f.host.replies[0];
  CHECK(reply.type == wire::MessageType::kReply);
  CHECK(reply.id == 1);
  CHECK(wire::UintMember(reply, "seq") == 1);
  CHECK(reply.body.Find("replayed") == nullptr);
  const Json tsc = *reply.body.Find("tsc");

  // A TSC the TCC signed over the parties' claim, linked to the TIC.
  const vc::SettlementLink link = Unwrap(
      vc::VerifyTsc(tsc, *f.trade.tst, f.resolver,
                    {.expected_issuer = f.trade.tcc_did(), .expected_prev = f.trade.channel_id}),
      "verify TSC");
  CHECK(link.seq == 1);
  CHECK(*tsc.Find("credentialSubject") == claim);

  // Stored with the head moved to it, in one commit.
  const TscRecord stored = Unwrap(f.store->GetTsc(f.trade.channel_id, 1), "stored TSC");
  CHECK(Unwrap(Json::Parse(stored.tsc), "stored text") == tsc);
  const chain::Hash256 hash = Unwrap(vc::CredentialDigest(tsc), "TSC hash");
  CHECK(stored.tsc_hash == hash);
  const ChannelRecord head = Unwrap(f.store->GetChannel(f.trade.channel_id), "channel");
  CHECK(head.last_seq == 1);
  CHECK(head.last_hash == hash);
  CHECK(f.channel().machine.acknowledged().seq == 1);
  CHECK(f.channel().machine.acknowledged().hash == hash);
  CHECK_FALSE(f.channel().machine.in_flight());
  CHECK(f.pipeline->issued() == 1);
  CHECK(f.pipeline->replayed() == 0);

  // Published to the channel's members, except the submitter's connection (it has the reply).
  REQUIRE(f.host.published.size() == 1);
  REQUIRE(f.host.published_except.size() == 1);
  REQUIRE(f.host.published_except[0].has_value());
  CHECK(f.host.published_except[0]->routing_id == "party");
  const wire::Message& event = f.host.published[0];
  CHECK(event.type == wire::MessageType::kEventTsc);
  CHECK(wire::UintMember(event, "seq") == 1);
  CHECK(*event.body.Find("tsc") == tsc);

  // N = 1: its evidence went to the anchor service, which anchored it on the ledger.
  const std::vector<chain::EvidenceBundle> landed = f.anchored.WaitFor(1);
  REQUIRE(landed.size() == 1);
  CHECK(landed[0].item.seq == 1);
  const chain::EvidenceBundle bundle = Unwrap(f.store->GetBundle(f.trade.channel_id, 1), "bundle");
  CHECK(bundle.item == EvidenceItemFor(f.trade.channel_id, 1, hash));

  // The next seq links to it.
  f.Submit(f.Joint(2, HexEncode(hash), "0.40"));
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 2);
  CHECK(wire::UintMember(f.host.replies[1], "seq") == 2);
  CHECK(Unwrap(f.store->GetChannel(f.trade.channel_id), "channel").last_seq == 2);
  CHECK(f.pipeline->issued() == 2);
  CHECK(f.host.errors.empty());
  CHECK(f.closed.empty());
}

TEST_CASE(
    "settlement pipeline: a claim whose consumer proof does not verify is refused, nothing "
    "stored") {
  Fixture f;
  Json claim = f.Joint(1, f.trade.channel_id);
  // The consumer's proof over another bill, put on this one.
  const Json other = f.Joint(1, f.trade.channel_id, "0.10");
  JsonArray& proofs = claim.Find("proof")->as_array();
  REQUIRE(proofs.size() == 2);
  proofs[1] = other.Find("proof")->as_array()[1];
  f.Submit(claim);

  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors[0].code() == ErrorCode::kVerificationFailed);
  CHECK(f.host.refused["verification_failed"] == 1);
  CHECK(f.host.replies.empty());
  CHECK(f.host.published.empty());
  CHECK(f.host.completions_waiting() == 0);
  CHECK(Unwrap(f.store->ListTscs(f.trade.channel_id, 0, 10), "list").empty());
  CHECK(Unwrap(f.store->GetChannel(f.trade.channel_id), "channel").last_seq == 0);
  CHECK(f.Head() == f.trade.channel_id);
  CHECK_FALSE(f.channel().machine.in_flight());
  CHECK(f.channel().machine.record().last_seq == 0);
  CHECK(f.pipeline->issued() == 0);

  // The channel goes on: the genuine claim for seq 1 is issued.
  f.Submit(f.Joint(1, f.trade.channel_id));
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 1);
  CHECK(wire::UintMember(f.host.replies[0], "seq") == 1);
  CHECK(f.host.errors.size() == 1);
}

TEST_CASE(
    "settlement pipeline: the same claim again is answered with the stored TSC, not issued again") {
  Fixture f;
  const Json claim = f.Joint(1, f.trade.channel_id);
  f.Submit(claim);
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 1);
  const std::string first_tsc = f.host.replies[0].body.Find("tsc")->Serialize();

  f.Submit(claim);
  // Answered from the store: no commit, no event.
  CHECK(f.host.completions_waiting() == 0);
  CHECK(f.host.errors.empty());
  REQUIRE(f.host.replies.size() == 2);
  const wire::Message& replayed = f.host.replies[1];
  CHECK(replayed.id == 2);
  CHECK(wire::UintMember(replayed, "seq") == 1);
  REQUIRE(replayed.body.Find("replayed") != nullptr);
  CHECK(replayed.body.Find("replayed")->as_bool());
  CHECK(replayed.body.Find("tsc")->Serialize() == first_tsc);
  CHECK(f.host.published.size() == 1);
  CHECK(f.pipeline->issued() == 1);
  CHECK(f.pipeline->replayed() == 1);
  CHECK(Unwrap(f.store->ListTscs(f.trade.channel_id, 0, 10), "list").size() == 1);
  CHECK(Unwrap(f.store->GetChannel(f.trade.channel_id), "channel").last_seq == 1);

  // A different claim for the settled seq is a fork: refused, the stored TSC stays.
  f.Submit(f.Joint(1, f.trade.channel_id, "0.99"));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors[0].code() == ErrorCode::kConflict);
  CHECK(f.host.replies.size() == 2);
  CHECK(f.pipeline->replayed() == 1);
  CHECK(Unwrap(f.store->GetTsc(f.trade.channel_id, 1), "TSC").tsc ==
        Unwrap(Json::Parse(first_tsc), "first").Serialize());
}

TEST_CASE("settlement pipeline: an auditor's submission is refused before anything runs") {
  Fixture f;
  f.Submit(f.Joint(1, f.trade.channel_id), Role::kAuditor);
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors[0].code() == ErrorCode::kPermissionDenied);
  CHECK(f.host.errors[0].message().find("auditors are read-only") != std::string::npos);
  CHECK(f.host.refused["permission_denied"] == 1);
  CHECK(f.host.async_runs == 0);
  CHECK(f.host.replies.empty());
  CHECK(f.host.completions_waiting() == 0);
  CHECK_FALSE(f.channel().machine.in_flight());
  CHECK(Unwrap(f.store->ListTscs(f.trade.channel_id, 0, 10), "list").empty());
  CHECK(f.pipeline->issued() == 0);
}

TEST_CASE("settlement pipeline: a claim naming the wrong prev hash is refused") {
  Fixture f;
  f.Submit(f.Joint(1, f.trade.channel_id));
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 1);
  const std::string head = f.Head();
  REQUIRE(head != f.trade.channel_id);

  // Seq 2 naming the TIC (the head before TSC 1) as its predecessor.
  f.Submit(f.Joint(2, f.trade.channel_id));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors[0].code() == ErrorCode::kVerificationFailed);
  CHECK(f.host.errors[0].message().find("prev") != std::string::npos);
  CHECK(f.host.refused["verification_failed"] == 1);
  CHECK(f.host.async_runs == 1);  // only TSC 1's issue ran
  CHECK(f.host.completions_waiting() == 0);
  CHECK(f.host.replies.size() == 1);
  CHECK(f.host.published.size() == 1);
  CHECK_FALSE(f.channel().machine.in_flight());
  CHECK(f.pipeline->issued() == 1);
  CHECK(Unwrap(f.store->GetChannel(f.trade.channel_id), "channel").last_seq == 1);
  CHECK(f.Head() == head);
  CHECK_FALSE(f.store->GetTsc(f.trade.channel_id, 2).ok());
}

TEST_CASE("settlement pipeline: a claim for another channel or naming other parties is refused") {
  Fixture f;
  Trade other;
  TempDir other_dir;
  other.Record(other_dir.Sub("ledger"), 1);
  // Another channel's claim, signed by its own parties.
  f.Submit(other.Cosign(other.Proposal(1, other.channel_id)));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors[0].code() == ErrorCode::kInvalidArgument);
  // This channel's id, but signed by parties of the claim's own choosing.
  other.channel_id = f.trade.channel_id;
  f.Submit(other.Cosign(other.Proposal(1, f.trade.channel_id)));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.host.errors[1].code() == ErrorCode::kPermissionDenied);
  CHECK(f.host.async_runs == 0);
  CHECK(Unwrap(f.store->ListTscs(f.trade.channel_id, 0, 10), "list").empty());
}

}  // namespace
}  // namespace tcc::controller
