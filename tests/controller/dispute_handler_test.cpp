// The dispute handler alone, without the daemon: a real embedded ledger with a recorded TIC and
// real signed proposals (the daemon tests' Trade), a real channel store and store writer in a
// temporary directory, the did:key resolver. This test is the handler's host, playing the daemon's
// loop: it records replies, events and close requests, runs a request's worker step at once, and
// runs a store write's completion when the writer hands it over, as the loop would.
#include "dispute_handler.h"

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

namespace tcc::controller {
namespace {

using tcc::testing::DidOf;
using tcc::testing::TempDir;
using tcc::testing::Trade;
using tcc::testing::Unwrap;

class TestHost final : public DisputeHandler::Host {
 public:
  std::map<std::string, ChannelStateMachine, std::less<>> machines;
  std::vector<wire::Message> replies;
  std::vector<Error> errors;
  std::vector<std::pair<Role, Json>> events;
  std::vector<Json> close_requests;
  std::map<std::string, std::uint64_t> refused;

  ChannelStateMachine* Machine(const std::string& channel_id) override {
    auto found = machines.find(channel_id);
    return found == machines.end() ? nullptr : &found->second;
  }
  void Reply(const Requester&, std::string frame) override {
    replies.push_back(Unwrap(wire::DecodeMessage(frame), "reply"));
  }
  void ReplyError(const Requester&, const Error& error) override { errors.push_back(error); }
  void CountRejection(const Error& error) override {
    ++refused[std::string(ErrorCodeName(error.code()))];
  }
  void PeerAsync(const Requester&, bool, std::function<Task()> work) override { work()(); }
  Status StoreStatus() const override { return OkStatus(); }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override {
    return [this, done](const Status& status) {
      std::lock_guard lock(mutex_);
      loop_.push_back([done, status] { done(status); });
      posted_.notify_all();
    };
  }
  void OnStoreWriteFailed(std::string_view what, const std::string&, const Error& error) override {
    FAIL(std::string(what) << ": " << error.ToString());
  }
  std::size_t Publish(const std::string&, std::string_view frame, Role role) override {
    events.emplace_back(role, Unwrap(wire::DecodeMessage(frame), "event").body);
    return 1;
  }
  void ClosePerParty(const std::string&, Json request, const Requester&) override {
    close_requests.push_back(std::move(request));
  }

  // Runs the next store completion on this (the "loop") thread, waiting for the writer.
  void RunStoreCompletion() {
    std::function<void()> next;
    {
      std::unique_lock lock(mutex_);
      REQUIRE(posted_.wait_for(lock, std::chrono::seconds(20), [&] { return !loop_.empty(); }));
      next = std::move(loop_.front());
      loop_.pop_front();
    }
    next();
  }

 private:
  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> loop_;
};

struct Fixture {
  TempDir dir;
  Trade trade;
  std::unique_ptr<ChannelStore> store;
  std::unique_ptr<StoreWriter> writer;
  std::unique_ptr<DaemonMetrics> metrics;
  did::DidKeyResolver resolver;
  TestHost host;
  std::unique_ptr<DisputeHandler> handler;
  const Requester from{false, "party", 1, {}, 1};

  explicit Fixture(std::optional<std::uint64_t> amend_after_s = std::nullopt) {
    trade.Record(dir.Sub("ledger"), 5);
    store = Unwrap(ChannelStore::Open(dir.Sub("store")), "store");
    writer = std::make_unique<StoreWriter>(*store, [](double, std::size_t) {});
    metrics = Unwrap(DaemonMetrics::Create("", trade.tcc_did(), "ledger"), "metrics");
    ChannelRecord record;
    record.channel_id = trade.channel_id;
    record.provider = DidOf(*trade.provider);
    record.consumer = DidOf(*trade.consumer);
    record.tst_id = trade.tst->id();
    record.tst_version = trade.tst->version();
    record.last_hash = Sha256DigestFromHex(trade.channel_id).value();
    record.amend_after_s = amend_after_s;
    host.machines.emplace(trade.channel_id, ChannelStateMachine(std::move(record)));
    handler = std::make_unique<DisputeHandler>(host, *writer, *store, resolver, *metrics);
  }

  // The provider's proposal for seq 1; true if it was relayed.
  bool Propose(const Json& proposal) {
    bool relayed = false;
    const std::size_t errors = host.errors.size();
    handler->ProviderProposal(from, trade.channel_id,
                              Unwrap(vc::ReadSettlementLink(proposal), "link"), proposal,
                              [&relayed] { relayed = true; });
    if (!relayed && host.errors.size() == errors) {
      host.RunStoreCompletion();  // a new bill: relayed once its mark is written
    }
    return relayed;
  }

  wire::Message Request(wire::MessageType type, std::string_view member, Json document) const {
    wire::Message message;
    message.type = type;
    message.id = 1;
    message.body = Json::Object();
    message.body.Set("channel", trade.channel_id);
    message.body.Set(member, std::move(document));
    return message;
  }
};

TEST_CASE(
    "dispute handler: an amend only after a rejection, which is verified, stored and relayed") {
  Fixture f;
  const Json first = f.trade.Proposal(1, f.trade.channel_id, "0.50");
  const Json second = f.trade.Proposal(1, f.trade.channel_id, "0.45");
  REQUIRE(f.Propose(first));
  auto mark = Unwrap(f.store->GetProposal(f.trade.channel_id), "mark");
  REQUIRE(mark.has_value());
  CHECK(mark->proposal_hash == Unwrap(wire::ProposalHash(first), "hash"));
  // The same bill again is a re-send; a different one is refused before a rejection.
  REQUIRE(f.Propose(first));
  CHECK_FALSE(f.Propose(second));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.host.errors.back().code() == ErrorCode::kConflict);
  CHECK(f.host.errors.back().message().find("only after a rejection") != std::string::npos);

  const Json rejection = Unwrap(
      wire::MakeRejection(first, {wire::ReasonCode::kPrice, "0.38 agreed"}, *f.trade.consumer),
      "make rejection");
  // Only the consumer rejects.
  f.handler->Reject(f.from, Role::kProvider, f.trade.channel_id,
                    f.Request(wire::MessageType::kSettleReject, "rejection", rejection));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.host.errors.back().code() == ErrorCode::kPermissionDenied);
  // A document not signed by the consumer fails verification and changes nothing.
  Json forged = rejection;
  forged.Set("text", "forged");
  f.handler->Reject(f.from, Role::kConsumer, f.trade.channel_id,
                    f.Request(wire::MessageType::kSettleReject, "rejection", forged));
  REQUIRE(f.host.errors.size() == 3);
  CHECK(f.host.errors.back().code() == ErrorCode::kVerificationFailed);
  CHECK(Unwrap(f.store->ListRejections(f.trade.channel_id), "list").empty());

  f.handler->Reject(f.from, Role::kConsumer, f.trade.channel_id,
                    f.Request(wire::MessageType::kSettleReject, "rejection", rejection));
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 1);
  CHECK(wire::UintMember(f.host.replies.back(), "seq") == 1);
  REQUIRE(f.host.events.size() == 1);
  CHECK(f.host.events[0].first == Role::kProvider);
  CHECK(*f.host.events[0].second.Find("rejection") == rejection);
  const auto stored = Unwrap(f.store->ListRejections(f.trade.channel_id), "list");
  REQUIRE(stored.size() == 1);
  CHECK(stored[0].document == rejection);
  CHECK(f.host.refused["conflict"] == 1);
  CHECK(f.host.refused["permission_denied"] == 1);

  // The rejected bill stays dead; the amend is relayed.
  CHECK_FALSE(f.Propose(first));
  CHECK(f.host.errors.back().message().find("rejected this bill") != std::string::npos);
  CHECK(f.Propose(second));

  // The dispute record, with the closing record the daemon passes.
  Json closing = Json::Object();
  closing.Set("type", "ChannelClosing");
  f.handler->Rejections(f.from, f.trade.channel_id, closing,
                        f.Request(wire::MessageType::kChannelRejections, "unused", Json::Object()));
  const wire::Message& record = f.host.replies.back();
  REQUIRE(record.body.Find("rejections")->as_array().size() == 1);
  CHECK(*record.body.Find("rejections")->as_array()[0].Find("rejection") == rejection);
  CHECK(*record.body.Find("closing") == closing);
}

TEST_CASE("dispute handler: with a TIC timeout of 0 a bill may be amended at once") {
  Fixture f(0);
  REQUIRE(f.Propose(f.trade.Proposal(1, f.trade.channel_id, "0.50")));
  CHECK(f.Propose(f.trade.Proposal(1, f.trade.channel_id, "0.45")));
  CHECK(f.host.errors.empty());
}

TEST_CASE("dispute handler: a party's verified close request goes back to the daemon") {
  Fixture f;
  const wire::Reason reason{wire::ReasonCode::kOther, "done"};
  const Json by_provider =
      Unwrap(wire::MakeCloseRequest(f.trade.channel_id, reason, *f.trade.provider), "request");
  // Auditors are read-only; a request must name the party that sends it.
  f.handler->Close(f.from, Role::kAuditor, f.trade.channel_id,
                   f.Request(wire::MessageType::kChannelClose, "request", by_provider));
  f.handler->Close(f.from, Role::kConsumer, f.trade.channel_id,
                   f.Request(wire::MessageType::kChannelClose, "request", by_provider));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.host.errors[0].code() == ErrorCode::kPermissionDenied);
  CHECK(f.host.errors[1].code() == ErrorCode::kPermissionDenied);
  CHECK(f.host.close_requests.empty());
  f.handler->Close(f.from, Role::kProvider, f.trade.channel_id,
                   f.Request(wire::MessageType::kChannelClose, "request", by_provider));
  REQUIRE(f.host.close_requests.size() == 1);
  CHECK(f.host.close_requests[0] == by_provider);
}

}  // namespace
}  // namespace tcc::controller
