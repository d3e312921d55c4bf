// The request parts' common ground for their tests (control_service_test, party_requests_test):
// a LoopHost played by the test, and the parts below the one under test built as daemon.cpp's
// MakeParts builds them, over a real embedded ledger and a real channel store in a temporary
// directory (real anchor service, store writer, template cache, resolver, key, metrics).
//
// TestHost runs a worker's half at once on the calling thread (the "loop") unless asked to hold
// a party's work back, counts a party's requests in flight on its connection the way the daemon
// does, and runs a store write's completion when the test asks for it, once the writer hands it
// over. Everything here is used from the test's thread, apart from the completions the writer
// hands over (under a mutex).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "anchor_service.h"
#include "chain/chain_test_util.h"
#include "chain_crosscheck.h"
#include "chain_service.h"
#include "channel_lifecycle.h"
#include "channel_runtime.h"
#include "channel_store.h"
#include "connection_table.h"
#include "loop_host.h"
#include "loop_host_test_util.h"
#include "metrics.h"
#include "recovery_requests.h"
#include "settlement_pipeline.h"
#include "store_check.h"
#include "store_records_test_util.h"
#include "store_writer.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/common/sha256.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/wire/protocol.h"
#include "template_cache.h"

namespace tcc::controller::testing {

class TestHost final : public LoopHost {
 public:
  // Answers as the requester sees them: an error frame (the chain service replies with one) and
  // ReplyError both land in `errors`.
  std::vector<wire::Message> replies;
  std::vector<Error> errors;
  std::map<std::string, std::uint64_t> rejected;  // CountRejection, by error code
  std::vector<std::string> store_failures;
  // The party connection table the daemon would find a requester's connection in (party tests).
  ConnectionTable* peers = nullptr;
  // When set, a party's work waits in `held` until RunHeld, still counted in flight.
  bool hold_peer_work = false;

  void Reply(const Requester&, std::string frame) override {
    wire::Message message = Ok(wire::DecodeMessage(frame));
    if (message.type == wire::MessageType::kError) {
      errors.push_back(wire::ErrorFromMessage(message));
    } else {
      replies.push_back(std::move(message));
    }
  }
  void ReplyError(const Requester&, const Error& error) override { errors.push_back(error); }
  void CountRejection(const Error& error) override {
    ++rejected[std::string(ErrorCodeName(error.code()))];
  }
  std::size_t Publish(ChannelRuntime&, std::string_view, std::optional<Role>,
                      const Requester*) override {
    return 0;
  }
  void Async(std::function<Task()> work) override { work()(); }
  // As the daemon: counted against the connection until the loop half has run.
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work) override {
    if (Connection* connection = Find(from)) {
      ++connection->requests_in_flight;
      if (large) ++connection->large_requests_in_flight;
    }
    auto run = [this, from, large, work = std::move(work)] {
      Task done = work();
      if (Connection* connection = Find(from)) {
        --connection->requests_in_flight;
        if (large) --connection->large_requests_in_flight;
      }
      done();
    };
    if (hold_peer_work) {
      held_.push_back(std::move(run));
    } else {
      run();
    }
  }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override {
    return completions_.Wrap(std::move(done));
  }
  Status StoreStatus() const override { return OkStatus(); }
  void OnStoreWriteFailed(std::string_view what, const std::string&, const Error& error) override {
    store_failures.push_back(std::string(what) + ": " + error.ToString());
  }
  Connection* LiveConnection(const Requester& from) override { return Find(from); }
  bool draining() const override { return false; }

  // Runs the next store write's completion on this thread, waiting for the writer to hand it over.
  void RunStoreCompletion() { completions_.RunNext(); }
  std::size_t held() const { return held_.size(); }
  // Runs the party work held back, oldest first.
  void RunHeld() {
    std::deque<std::function<void()>> held;
    held.swap(held_);
    for (auto& run : held) run();
  }

 private:
  Connection* Find(const Requester& from) {
    return peers == nullptr ? nullptr : peers->Find({from.routing_id, from.generation});
  }

  testing::StoreCompletions completions_;
  std::deque<std::function<void()>> held_;
};


// The services and the parts below control and party requests, as MakeParts wires them.
struct RequestParts {
  chain::testing::TempDir dir;
  TestHost host;
  did::KeyPair key = did::KeyPair::Generate();
  std::string tcc_did = did::DidKeyFromPublicKey(key.public_key());
  std::shared_ptr<chain::ChainAdapter> adapter{
      Ok(chain::LocalLedger::Open({.path = dir.Sub("ledger")}))};
  std::shared_ptr<did::CachingResolver> resolver = MakeChainResolver(adapter);
  std::unique_ptr<ChannelStore> store = Ok(ChannelStore::Open(dir.Sub("store")));
  TemplateCache templates{adapter, *store};
  std::unique_ptr<DaemonMetrics> metrics = Ok(DaemonMetrics::Create("", tcc_did, "local"));
  RecoveryBook recovery;
  RefusedChannels refused;
  std::unique_ptr<AnchorService> anchor;
  std::unique_ptr<StoreWriter> writer;
  ChannelTable channels;
  std::unique_ptr<ChannelViews> views;
  std::unique_ptr<ChannelLifecycle> lifecycle;
  std::unique_ptr<SettlementPipeline> pipeline;
  std::unique_ptr<RecoveryRequests> recoveries;
  std::unique_ptr<ChainService> chain;

  explicit RequestParts(AnchorPolicyOptions policy = {}) {
    AnchorServiceOptions anchoring;
    anchoring.interval = std::chrono::milliseconds(60000);  // nothing to anchor here
    anchoring.batch_id_prefix = tcc_did;
    anchor = std::make_unique<AnchorService>(adapter, *store, anchoring, policy,
                                             [](const auto&, std::chrono::microseconds) {});
    const Status started = anchor->Start();
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.error().ToString()));
    writer = std::make_unique<StoreWriter>(*store, [](double, std::size_t) {});
    views = std::make_unique<ChannelViews>(*anchor, recovery);
    lifecycle = std::make_unique<ChannelLifecycle>(
        host, channels, *views,
        ChannelLifecycle::Parts{*adapter, templates, *resolver, tcc_did, key, *writer, *anchor,
                                *metrics, refused, 1000});
    pipeline = std::make_unique<SettlementPipeline>(
        host, channels, *views,
        SettlementPipeline::Parts{*resolver, key, *store, *writer, *anchor, *metrics, 64,
                                  [this](ChannelRuntime& channel) { lifecycle->Close(channel); }});
    recoveries = std::make_unique<RecoveryRequests>(
        host, channels, *views,
        RecoveryRequests::Parts{*store, *resolver, tcc_did, recovery, *writer, *anchor});
    chain = std::make_unique<ChainService>(host, adapter);
  }

  // A channel stored and loaded back, as the daemon holds it after start.
  ChannelRuntime& AddChannel(const std::string& channel_id) {
    const Status saved = store->PutChannel(NewChannel(channel_id));
    REQUIRE_MESSAGE(saved.ok(), (saved.ok() ? "" : saved.error().ToString()));
    return channels.emplace(channel_id, ChannelRuntime(Ok(store->GetChannel(channel_id))))
        .first->second;
  }
};

// A request as the daemon decodes it from a frame.
inline wire::Message Request(wire::FrameBuilder frame) {
  return Ok(wire::DecodeMessage(frame.Finish()));
}

}  // namespace tcc::controller::testing
