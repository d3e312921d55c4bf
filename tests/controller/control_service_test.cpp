// The control service (control_service.h) alone: an admin's requests dispatched over the parts
// below it as daemon.cpp wires them (real ledger, store, anchor service, store writer). This test
// is the loop host (request_parts_test_util.h).
#include "control_service.h"

#include <doctest/doctest.h>

#include <string>

#include "request_parts_test_util.h"

namespace tcc::controller {
namespace {

using testing::Ok;
using testing::Request;
using wire::FrameBuilder;
using wire::MessageType;

const std::string kChannel(64, 'a');
const std::string kUnknown(64, 'b');

struct Fixture {
  testing::RequestParts parts;
  ControlService control{
      parts.host, parts.channels, *parts.views,
      ControlService::Parts{*parts.lifecycle, *parts.pipeline, *parts.recoveries, *parts.store,
                            *parts.writer, *parts.anchor, *parts.adapter, *parts.chain,
                            *parts.metrics, parts.tcc_did, parts.refused,
                            [this] {
                              control::HealthFacts facts;
                              facts.did = parts.tcc_did;
                              facts.channels = parts.channels.size();
                              return facts;
                            }},
      Json::Object()};
  testing::TestHost& host = parts.host;

  // As the daemon: the requester answered under the request's id.
  void Handle(FrameBuilder frame) {
    const wire::Message message = Request(std::move(frame));
    control.Handle(Requester{true, "admin", message.id}, message);
  }
  const wire::Message& LastReply() {
    REQUIRE(!host.replies.empty());
    return host.replies.back();
  }
  const Error& LastError() {
    REQUIRE(!host.errors.empty());
    return host.errors.back();
  }
  std::string StoredPolicy() {
    auto stored = parts.store->GetValue(control::kStoredPolicyKey);
    if (!stored.ok() && stored.error().code() == ErrorCode::kNotFound) return "";
    return Ok(std::move(stored));
  }
};

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

TEST_CASE("control.list: no channel, then the channel stored") {
  Fixture f;
  f.Handle(FrameBuilder(MessageType::kControlList, 9));
  REQUIRE(f.host.replies.size() == 1);
  CHECK(f.LastReply().id == 9);
  CHECK(f.LastReply().body.Find("channels")->as_array().empty());

  f.parts.AddChannel(kChannel);
  f.Handle(FrameBuilder(MessageType::kControlList, 9));
  REQUIRE(f.host.replies.size() == 2);
  const auto& channels = f.LastReply().body.Find("channels")->as_array();
  REQUIRE(channels.size() == 1);
  CHECK(channels[0].Find("channel")->as_string() == kChannel);
  CHECK(channels[0].Find("state")->as_string() == "open");
  CHECK(channels[0].Find("n")->as_number() == 10);  // its strategy N, within the default bounds
  CHECK(channels[0].Find("last_seq")->as_number() == 0);
  CHECK(f.host.errors.empty());
}

TEST_CASE("control.policy: a global change is set and answered once stored") {
  Fixture f;
  f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("n", 20).Add("n_max", 500));
  // Not answered before the store has it: what the reply shows must outlive a restart.
  CHECK(f.host.replies.empty());
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 1);
  const Json& policy = *f.LastReply().body.Find("policy");
  CHECK(policy.Find("default_n")->as_number() == 20);
  CHECK(policy.Find("n_max")->as_number() == 500);
  CHECK(f.parts.anchor->policy().options().default_n == 20);
  CHECK(f.parts.anchor->policy().options().n_max == 500);
  const Json stored = Ok(control::ReadStoredPolicy(f.StoredPolicy()));
  CHECK(stored.Find("n")->as_number() == 20);
  CHECK(stored.Find("n_max")->as_number() == 500);
  CHECK(stored.Find("n_min") == nullptr);  // only what was set live
  CHECK(f.host.errors.empty());
  CHECK(f.host.store_failures.empty());

  SUBCASE("a change out of bounds is refused; nothing is set or stored") {
    const std::string before = f.StoredPolicy();
    // default N 20 would be above n_max 5.
    f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("n_max", 5));
    REQUIRE(f.host.errors.size() == 1);
    CHECK(f.LastError().code() == ErrorCode::kInvalidArgument);
    CHECK(Contains(f.LastError().message(), "outside [n_min, n_max]"));
    // n above n_max.
    f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("n", 501));
    REQUIRE(f.host.errors.size() == 2);
    CHECK(f.LastError().code() == ErrorCode::kInvalidArgument);
    // n_min above n.
    f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("n_min", 21));
    REQUIRE(f.host.errors.size() == 3);
    CHECK(f.LastError().code() == ErrorCode::kInvalidArgument);

    CHECK(f.host.replies.size() == 1);
    CHECK(f.parts.anchor->policy().options().default_n == 20);
    CHECK(f.parts.anchor->policy().options().n_min == 1);
    CHECK(f.parts.anchor->policy().options().n_max == 500);
    // A refused change is not merged into what is stored by the next accepted one either.
    f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("adaptive", true));
    f.host.RunStoreCompletion();
    REQUIRE(f.host.replies.size() == 2);
    const Json now = Ok(control::ReadStoredPolicy(f.StoredPolicy()));
    CHECK(now.Find("adaptive")->as_bool());
    CHECK(now.Find("n_min") == nullptr);
    CHECK(now.Find("n_max")->as_number() == 500);
    CHECK(before != f.StoredPolicy());
  }
}

TEST_CASE("control.policy for a channel: n within the bounds only, and only for a known channel") {
  Fixture f;
  f.parts.AddChannel(kChannel);
  f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("channel", kChannel).Add("n", 10001));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kInvalidArgument);
  CHECK(Contains(f.LastError().message(), "n must be within [1, 10000]"));

  f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("channel", kChannel).Add("n_min", 2));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(Contains(f.LastError().message(), "only n can be set per channel"));

  f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("channel", kUnknown).Add("n", 5));
  REQUIRE(f.host.errors.size() == 3);
  CHECK(f.LastError().code() == ErrorCode::kNotFound);

  CHECK(f.host.replies.empty());
  CHECK(!f.parts.channels.at(kChannel).record().n_override.has_value());
  CHECK(Ok(f.parts.store->GetChannel(kChannel)).n_override == std::nullopt);
}

TEST_CASE(
    "control.policy for a channel: n within the bounds is stored through the pipeline, then "
    "answered") {
  Fixture f;
  f.parts.AddChannel(kChannel);
  f.Handle(FrameBuilder(MessageType::kControlPolicy, 9).Add("channel", kChannel).Add("n", 25));
  CHECK(f.host.replies.empty());  // answered once the channel record is stored
  CHECK(f.parts.channels.at(kChannel).record().n_override == 25);
  f.host.RunStoreCompletion();
  REQUIRE(f.host.replies.size() == 1);
  const Json& policy = *f.LastReply().body.Find("policy");
  CHECK(policy.Find("channel")->as_string() == kChannel);
  CHECK(policy.Find("n_override")->as_number() == 25);
  CHECK(policy.Find("n")->as_number() == 25);
  CHECK(Ok(f.parts.store->GetChannel(kChannel)).n_override == 25);
  CHECK(f.parts.channels.at(kChannel).settings_requesters.empty());
  // The global policy is not touched.
  CHECK(f.StoredPolicy().empty());
  CHECK(f.parts.anchor->policy().options().default_n == 10);

  f.Handle(FrameBuilder(MessageType::kControlList, 9));
  REQUIRE(f.host.replies.size() == 2);
  CHECK(f.LastReply().body.Find("channels")->as_array()[0].Find("n")->as_number() == 25);
  CHECK(f.host.errors.empty());
  CHECK(f.host.store_failures.empty());
}

TEST_CASE("a party's request on the control socket is not a control request") {
  Fixture f;
  f.parts.AddChannel(kChannel);
  f.Handle(FrameBuilder(MessageType::kChannelState, 9).Add("channel", kChannel));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kInvalidArgument);
  CHECK(f.LastError().message() == "channel.state is not a control request");
  f.Handle(FrameBuilder(MessageType::kAuthBegin, 9).Add("channel", kChannel).Add("did", "did:x:y"));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.LastError().message() == "auth.begin is not a control request");
  CHECK(f.host.rejected["invalid_argument"] == 2);
  CHECK(f.host.replies.empty());
}

TEST_CASE("control.close: an unknown channel is refused, a closed one answered with its state") {
  Fixture f;
  f.Handle(FrameBuilder(MessageType::kControlClose, 9).Add("channel", kUnknown));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kNotFound);
  CHECK(f.LastError().message() == "no channel " + kUnknown);

  SUBCASE("a channel whose records cannot be read is refused as such") {
    f.parts.refused[kUnknown] = "Corruption: bad block";
    f.Handle(FrameBuilder(MessageType::kControlClose, 9).Add("channel", kUnknown));
    REQUIRE(f.host.errors.size() == 2);
    CHECK(f.LastError().code() == ErrorCode::kUnavailable);
    CHECK(Contains(f.LastError().message(), "Corruption: bad block"));
  }
  SUBCASE("closed already: its state, nothing written") {
    ChannelRecord closed = testing::NewChannel(kChannel);
    closed.state = ChannelState::kClosed;
    REQUIRE(f.parts.store->PutChannel(closed).ok());
    f.parts.channels.emplace(kChannel, ChannelRuntime(Ok(f.parts.store->GetChannel(kChannel))));
    f.Handle(FrameBuilder(MessageType::kControlClose, 9).Add("channel", kChannel));
    REQUIRE(f.host.replies.size() == 1);
    CHECK(f.LastReply().body.Find("channel")->Find("state")->as_string() == "closed");
    CHECK(f.parts.channels.at(kChannel).close_requesters.empty());
  }
  CHECK(f.host.store_failures.empty());
}

TEST_CASE(
    "chain.read with admin access: status answered through the chain service; bad ops refused") {
  Fixture f;
  f.Handle(
      FrameBuilder(MessageType::kChainRead, 9).Add("op", "status").Add("args", Json::Object()));
  REQUIRE(f.host.replies.size() == 1);
  const Json& result = *f.LastReply().body.Find("result");
  CHECK(result.Find("adapter")->as_string() == "local");
  CHECK(result.Find("height") != nullptr);
  CHECK(f.host.errors.empty());

  // The admin also reads what a member may not (other channels' TICs): an unknown one is the
  // adapter's kNotFound, not a refusal.
  Json args = Json::Object();
  args.Set("tic", "urn:tcc:tic:none");
  f.Handle(FrameBuilder(MessageType::kChainRead, 9).Add("op", "get_tic").Add("args", args));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kNotFound);

  f.Handle(
      FrameBuilder(MessageType::kChainRead, 9).Add("op", "frobnicate").Add("args", Json::Object()));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.LastError().code() == ErrorCode::kInvalidArgument);
  CHECK(Contains(f.LastError().message(), "unknown chain op \"frobnicate\""));

  f.Handle(
      FrameBuilder(MessageType::kChainRead, 9).Add("op", "anchor").Add("args", Json::Object()));
  REQUIRE(f.host.errors.size() == 3);
  CHECK(Contains(f.LastError().message(), "is a write; send it as chain.write"));
  CHECK(f.host.rejected["invalid_argument"] == 2);
  CHECK(f.host.replies.size() == 1);
}

TEST_CASE("ping and control.health are answered") {
  Fixture f;
  f.Handle(FrameBuilder(MessageType::kPing, 4));
  REQUIRE(f.host.replies.size() == 1);
  CHECK(f.LastReply().id == 4);

  f.Handle(FrameBuilder(MessageType::kControlHealth, 9));
  REQUIRE(f.host.replies.size() == 2);
  const Json& health = *f.LastReply().body.Find("health");
  CHECK(health.Find("did")->as_string() == f.parts.tcc_did);
  CHECK(health.Find("status")->as_string() == "ok");
  CHECK(health.Find("chain")->Find("adapter")->as_string() == "local");
  CHECK(health.Find("policy")->Find("default_n")->as_number() == 10);
  CHECK(!health.Find("store")->Find("backup_running")->as_bool());
}

}  // namespace
}  // namespace tcc::controller
