// The channel lifecycle (channel_lifecycle.h) alone, without the daemon: a TIC the provider issued
// and recorded on a real embedded ledger (the daemon tests' Trade), a real channel store, store
// writer, template cache and anchor service over that ledger in a temporary directory, the TCC's
// real key and the did:key resolver. Settlements before a close go through the real settlement
// pipeline, whose close effect runs the lifecycle's Close as the daemon wires it. This test is the
// loop host: it runs a worker's half at once, and a store write's completion when the writer hands
// it over, on this thread, as the loop would; anchored batches are handed to OnAnchored the same
// way the daemon posts them to its loop.
#include "channel_lifecycle.h"

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

#include "daemon/daemon_test_util.h"
#include "loop_host_test_util.h"
#include "settlement_pipeline.h"

namespace tcc::controller {
namespace {

using tcc::testing::DidOf;
using tcc::testing::TempDir;
using tcc::testing::Trade;
using tcc::testing::Unwrap;

// N large enough that no TSC settled here is anchored before the close.
constexpr std::uint64_t kN = 100;

struct Fixture {
  TempDir dir;
  Trade trade;
  std::shared_ptr<chain::ChainAdapter> ledger;
  std::unique_ptr<ChannelStore> store;
  std::unique_ptr<TemplateCache> templates;
  std::unique_ptr<StoreWriter> writer;
  std::unique_ptr<DaemonMetrics> metrics;
  testing::AnchoredBundles anchored;
  std::unique_ptr<AnchorService> anchor;
  RecoveryBook recovery;
  RefusedChannels refused;
  std::unique_ptr<ChannelViews> views;
  did::DidKeyResolver resolver;
  std::string tcc_did;
  testing::RecordingLoopHost host;
  ChannelTable channels;
  std::unique_ptr<ChannelLifecycle> lifecycle;
  std::unique_ptr<SettlementPipeline> pipeline;
  std::uint64_t next_request = 1;

  Fixture() {
    ledger = std::shared_ptr<chain::ChainAdapter>(
        Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger")}), "ledger"));
    trade.Record(ledger, kN);
    tcc_did = trade.tcc_did();
    store = Unwrap(ChannelStore::Open(dir.Sub("store")), "store");
    templates = std::make_unique<TemplateCache>(ledger, *store);
    writer = std::make_unique<StoreWriter>(*store, [](double, std::size_t) {});
    metrics = Unwrap(DaemonMetrics::Create("", tcc_did, "local"), "metrics");
    anchor = testing::StartAnchoring(ledger, *store, "lifecycle-test", anchored);
    views = std::make_unique<ChannelViews>(*anchor, recovery);
    lifecycle = std::make_unique<ChannelLifecycle>(
        host, channels, *views,
        ChannelLifecycle::Parts{*ledger, *templates, resolver, tcc_did, *trade.tcc, *writer,
                                *anchor, *metrics, refused, 16});
    pipeline = std::make_unique<SettlementPipeline>(
        host, channels, *views,
        SettlementPipeline::Parts{resolver, *trade.tcc, *store, *writer, *anchor, *metrics, 16,
                                  [this](ChannelRuntime& closing) { lifecycle->Close(closing); }});
  }
  ~Fixture() {
    anchor->Stop();
    writer.reset();
  }

  Requester NextRequester() { return Requester{true, "control", next_request++, Clock::now(), 0}; }
  ChannelRuntime& channel() { return channels.find(trade.channel_id)->second; }

  // Opens the recorded TIC's channel and runs its store write's completion.
  void OpenChannel() {
    lifecycle->Open(trade.channel_id, NextRequester());
    host.RunStoreCompletion();
    REQUIRE(host.errors.empty());
    REQUIRE(channels.contains(trade.channel_id));
  }

  // Settles TSC `seq` after `prev` through the pipeline; returns its hash.
  std::string Settle(std::uint64_t seq, const std::string& prev) {
    wire::Message message;
    message.type = wire::MessageType::kSettleSubmit;
    message.id = next_request++;
    message.body = Json::Object();
    message.body.Set("channel", trade.channel_id);
    message.body.Set("claim", trade.Cosign(trade.Proposal(seq, prev)));
    const std::size_t before = host.replies.size();
    pipeline->Submit(Requester{false, "party", message.id, Clock::now(), 1}, Role::kConsumer,
                     channel(), message);
    host.RunStoreCompletion();
    REQUIRE(host.errors.empty());
    REQUIRE(host.replies.size() == before + 1);
    CHECK(wire::UintMember(host.replies.back(), "seq") == seq);
    return HexEncode(channel().machine.acknowledged().hash);
  }
};

TEST_CASE("channel lifecycle: a recorded TIC is opened, stored, and its requester answered") {
  Fixture f;
  f.lifecycle->Open(f.trade.channel_id, f.NextRequester());
  // Prepared on the worker, then handed to the store writer; nobody is answered before it is
  // stored.
  CHECK(f.host.async_runs == 1);
  CHECK(f.host.replies.empty());
  REQUIRE(f.channels.contains(f.trade.channel_id));

  f.host.RunStoreCompletion();
  CHECK(f.host.errors.empty());
  CHECK(f.host.store_failures.empty());
  const ChannelRecord stored = Unwrap(f.store->GetChannel(f.trade.channel_id), "stored channel");
  CHECK(stored.channel_id == f.trade.channel_id);
  CHECK(stored.provider == DidOf(*f.trade.provider));
  CHECK(stored.consumer == DidOf(*f.trade.consumer));
  CHECK(stored.auditors == std::vector<std::string>{DidOf(*f.trade.auditor)});
  CHECK(stored.strategy_n == kN);
  CHECK(stored.state == ChannelState::kOpen);
  CHECK(stored.last_seq == 0);
  CHECK(HexEncode(stored.last_hash) == f.trade.channel_id);
  CHECK(f.channel().record().channel_id == f.trade.channel_id);
  REQUIRE(f.channel().tst != nullptr);
  CHECK(f.channel().tst->content_hash() == f.trade.tst->content_hash());

  REQUIRE(f.host.replies.size() == 1);
  const wire::Message& reply = f.host.replies[0];
  CHECK(reply.type == wire::MessageType::kReply);
  CHECK(reply.id == 1);
  const Json* state = reply.body.Find("channel");
  REQUIRE(state != nullptr);
  CHECK(state->Find("channel")->as_string() == f.trade.channel_id);
  CHECK(state->Find("state")->as_string() == "open");

  // Opened again: answered as it is, prepared and stored no second time.
  f.lifecycle->Open(f.trade.channel_id, f.NextRequester());
  CHECK(f.host.async_runs == 1);
  CHECK(f.host.completions_waiting() == 0);
  REQUIRE(f.host.replies.size() == 2);
  CHECK(f.host.replies[1].id == 2);
  CHECK(f.host.replies[1].body.Find("channel")->Find("channel")->as_string() == f.trade.channel_id);
  CHECK(f.channels.size() == 1);
}

TEST_CASE("channel lifecycle: a TIC not on the chain is refused, nothing stored") {
  Fixture f;
  const std::string unknown(64, 'f');
  f.lifecycle->Open(unknown, f.NextRequester());
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors[0].code() == ErrorCode::kNotFound);
  CHECK(f.host.replies.empty());
  CHECK(f.channels.empty());
  CHECK(f.host.completions_waiting() == 0);
  const Result<ChannelRecord> stored = f.store->GetChannel(unknown);
  REQUIRE_FALSE(stored.ok());
  CHECK(stored.error().code() == ErrorCode::kNotFound);
  CHECK(Unwrap(f.store->ListChannels(), "channels").empty());
}

TEST_CASE(
    "channel lifecycle: a close is stored and anchors the last TSC; anchors are published, a "
    "closing leaf is not") {
  Fixture f;
  f.OpenChannel();
  const std::string first = f.Settle(1, f.trade.channel_id);
  const std::string last = f.Settle(2, first);
  CHECK(f.channel().machine.acknowledged().evidence_seq == 0);  // N = 100: nothing queued yet
  CHECK_FALSE(f.store->GetBundle(f.trade.channel_id, 2).ok());
  f.host.published.clear();

  // control.close as the control service makes it: the requester waits, the pipeline closes.
  const Requester closer = f.NextRequester();
  f.channel().close_requesters.push_back(closer);
  f.pipeline->RequestClose(f.channel());
  const std::size_t replies_before = f.host.replies.size();
  f.host.RunStoreCompletion();
  CHECK(f.host.errors.empty());
  CHECK(f.host.store_failures.empty());

  const ChannelRecord stored = Unwrap(f.store->GetChannel(f.trade.channel_id), "closed channel");
  CHECK(stored.state == ChannelState::kClosed);
  CHECK(stored.closed_ms > 0);
  CHECK(stored.last_seq == 2);
  CHECK(stored.evidence_seq == 2);
  CHECK(HexEncode(stored.last_hash) == last);
  CHECK(f.channel().machine.acknowledged().evidence_seq == 2);

  // Members told, the requester answered with the closed state.
  REQUIRE(f.host.published.size() == 1);
  CHECK(f.host.published[0].type == wire::MessageType::kEventChannel);
  CHECK(f.host.published[0].body.Find("state")->Find("state")->as_string() == "closed");
  REQUIRE(f.host.replies.size() == replies_before + 1);
  CHECK(f.host.replies.back().id == closer.request_id);
  CHECK(f.host.replies.back().body.Find("channel")->Find("state")->as_string() == "closed");

  // The last TSC anchored at once (interval 50 ms, not N), its bundle in the store.
  const std::vector<chain::EvidenceBundle> bundles = f.anchored.WaitFor(1);
  REQUIRE(bundles.size() == 1);
  const chain::EvidenceBundle& bundle = bundles[0];
  CHECK(bundle.item.kind == chain::EvidenceKind::kTsc);
  CHECK(bundle.item.channel_id == f.trade.channel_id);
  CHECK(bundle.item.seq == 2);
  CHECK(HexEncode(bundle.item.tsc_hash) == last);
  CHECK(Unwrap(f.store->GetBundle(f.trade.channel_id, 2), "bundle") == bundle);
  CHECK_FALSE(f.store->GetBundle(f.trade.channel_id, 1).ok());

  // Told of it on the loop: anchored_seq moves and event.anchored is published.
  f.host.published.clear();
  CHECK(f.channel().anchored_seq == 0);
  f.lifecycle->OnAnchored(bundles);
  CHECK(f.channel().anchored_seq == 2);
  REQUIRE(f.host.published.size() == 1);
  const wire::Message& event = f.host.published[0];
  CHECK(event.type == wire::MessageType::kEventAnchored);
  CHECK(wire::StringMember(event, "channel") == f.trade.channel_id);
  CHECK(wire::UintMember(event, "seq") == 2);
  CHECK(wire::StringMember(event, "batch") == bundle.batch_id);
  CHECK(wire::StringMember(event, "root") == HexEncode(bundle.root));

  // A closing record's leaf in a batch anchors no TSC: neither published nor counted, even when
  // it names a later seq. An older TSC's anchor does not move anchored_seq back.
  chain::EvidenceBundle closing = bundle;
  closing.item.kind = chain::EvidenceKind::kClosing;
  closing.item.seq = 7;
  f.host.published.clear();
  f.lifecycle->OnAnchored({closing});
  CHECK(f.host.published.empty());
  CHECK(f.channel().anchored_seq == 2);
  chain::EvidenceBundle older = bundle;
  older.item.seq = 1;
  f.lifecycle->OnAnchored({older});
  CHECK(f.channel().anchored_seq == 2);
  CHECK(f.host.published.size() == 1);
}

}  // namespace
}  // namespace tcc::controller
