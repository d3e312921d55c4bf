// Party requests (party_requests.h) alone: a party's requests dispatched over the parts below
// them as daemon.cpp wires them (real ledger, store, anchor service, store writer, connection
// table, admission, dispute handler). This test is the loop host (request_parts_test_util.h);
// it counts a party's work in flight on its connection as the daemon does, and can hold that
// work back to keep it in flight.
#include "party_requests.h"

#include <doctest/doctest.h>

#include <string>

#include "dispute_host.h"
#include "request_parts_test_util.h"

namespace tcc::controller {
namespace {

using testing::Request;
using wire::FrameBuilder;
using wire::MessageType;

const std::string kChannel(64, 'a');
const std::string kOther(64, 'c');
const SteadyClock::time_point kNow{};

struct Fixture {
  testing::RequestParts parts;
  ConnectionTable peers{{},
                        {.forgetting = [](const Connection&) {},
                         .disconnected = [](std::string_view) {},
                         .shutdown = [](int) {},
                         .bytes_written = [](int) -> std::optional<std::uint64_t> { return 0; },
                         .remote_address = [](int fd) { return "10.0.0." + std::to_string(fd); }}};
  Admission admission{parts.tcc_did, {}, {}, [](std::string_view) {}};
  ChannelReads reads{parts.host, *parts.store};
  LoopDisputeHost dispute_host{parts.host, parts.channels, *parts.pipeline};
  DisputeHandler disputes{dispute_host, *parts.writer, *parts.store, *parts.resolver,
                          *parts.metrics};
  PartyRequests party;
  testing::TestHost& host = parts.host;

  explicit Fixture(std::size_t max_in_flight = 2)
      : party(parts.host, parts.channels, *parts.views,
              PartyRequests::Parts{peers, admission, *parts.resolver, *parts.metrics,
                                   *parts.pipeline, reads, *parts.recoveries, disputes,
                                   *parts.chain, parts.recovery, parts.refused, max_in_flight}) {
    parts.host.peers = &peers;
    parts.AddChannel(kChannel);
    parts.AddChannel(kOther);
  }

  // A party's transport connection (descriptor `fd`), admitted to `channel` if given.
  Connection& Connect(int fd, std::optional<std::string> channel = std::nullopt) {
    peers.OnAccepted(fd, kNow);
    Connection* connection = peers.OnRequest("peer-" + std::to_string(fd), fd, "key", kNow);
    REQUIRE(connection != nullptr);
    if (channel) REQUIRE(peers.Admit(*connection, *channel, Role::kConsumer));
    return *connection;
  }
  void Handle(Connection& connection, FrameBuilder frame) {
    const wire::Message message = Request(std::move(frame));
    party.Handle(connection,
                 Requester{false, connection.routing_id, message.id, {}, connection.generation},
                 message);
  }
  const Error& LastError() {
    REQUIRE(!host.errors.empty());
    return host.errors.back();
  }
};

bool Contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

FrameBuilder ChainRead(std::string_view op) {
  return std::move(
      FrameBuilder(MessageType::kChainRead, 3).Add("op", op).Add("args", Json::Object()));
}

TEST_CASE("a connection not admitted to the channel is refused with permission_denied") {
  Fixture f;
  Connection& stranger = f.Connect(5);
  Connection& other_member = f.Connect(6, kOther);
  Connection& member = f.Connect(7, kChannel);

  f.Handle(stranger, FrameBuilder(MessageType::kChannelState, 3).Add("channel", kChannel));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kPermissionDenied);
  CHECK(Contains(f.LastError().message(), "not admitted to channel " + kChannel));

  // Admitted to another channel is not admitted to this one, for reads and settlements alike.
  f.Handle(other_member, FrameBuilder(MessageType::kChannelState, 3).Add("channel", kChannel));
  f.Handle(other_member, FrameBuilder(MessageType::kChannelSync, 3)
                             .Add("channel", kChannel)
                             .Add("after", std::uint64_t{0}));
  f.Handle(other_member, FrameBuilder(MessageType::kSettleSubmit, 3)
                             .Add("channel", kChannel)
                             .Add("claim", Json::Object()));
  REQUIRE(f.host.errors.size() == 4);
  for (const Error& error : f.host.errors) CHECK(error.code() == ErrorCode::kPermissionDenied);
  CHECK(f.host.rejected["permission_denied"] == 4);
  CHECK(f.host.replies.empty());

  // A member of the channel is answered.
  f.Handle(member, FrameBuilder(MessageType::kChannelState, 3).Add("channel", kChannel));
  REQUIRE(f.host.replies.size() == 1);
  CHECK(f.host.replies[0].body.Find("state")->Find("channel")->as_string() == kChannel);
  CHECK(f.host.errors.size() == 4);
}

TEST_CASE("chain requests from a party: chain.write refused, reads only for members") {
  Fixture f;
  Connection& stranger = f.Connect(5);
  Connection& member = f.Connect(7, kChannel);

  f.Handle(member, std::move(FrameBuilder(MessageType::kChainWrite, 3)
                                 .Add("op", "anchor")
                                 .Add("args", Json::Object())));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kPermissionDenied);
  CHECK(Contains(f.LastError().message(), "chain.write is served on tccd's control endpoint only"));

  f.Handle(stranger, ChainRead("status"));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.LastError().code() == ErrorCode::kPermissionDenied);
  CHECK(Contains(f.LastError().message(), "join a channel first"));

  f.Handle(member, ChainRead("list_templates"));
  REQUIRE(f.host.errors.size() == 3);
  CHECK(f.LastError().code() == ErrorCode::kPermissionDenied);
  CHECK(f.host.rejected["permission_denied"] == 3);

  f.Handle(member, ChainRead("status"));
  REQUIRE(f.host.replies.size() == 1);
  CHECK(f.host.replies[0].body.Find("result")->Find("adapter")->as_string() == "local");
  CHECK(f.host.errors.size() == 3);
}

TEST_CASE("a control request on the party socket is not a party request") {
  Fixture f;
  Connection& member = f.Connect(7, kChannel);
  f.Handle(member, FrameBuilder(MessageType::kControlList, 3));
  f.Handle(member, FrameBuilder(MessageType::kControlClose, 3).Add("channel", kChannel));
  REQUIRE(f.host.errors.size() == 2);
  CHECK(f.host.errors[0].message() == "control.list is not a party request");
  CHECK(f.host.errors[1].message() == "control.close is not a party request");
  CHECK(f.host.rejected["invalid_argument"] == 2);
  CHECK(f.host.replies.empty());
}

TEST_CASE("a connection's requests in flight are capped; others and ping go on") {
  Fixture f(/*max_in_flight=*/2);
  Connection& busy = f.Connect(7, kChannel);
  Connection& calm = f.Connect(8, kChannel);
  f.host.hold_peer_work = true;

  f.Handle(busy, ChainRead("status"));
  f.Handle(busy, ChainRead("status"));
  CHECK(f.host.held() == 2);
  CHECK(busy.requests_in_flight == 2);

  f.Handle(busy, ChainRead("status"));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kResourceExhausted);
  CHECK(Contains(f.LastError().message(), "too many requests in flight on this connection"));
  CHECK(f.host.rejected["resource_exhausted"] == 1);
  CHECK(f.host.held() == 2);

  // Answered on the loop, not counted; another connection has its own share.
  f.Handle(busy, FrameBuilder(MessageType::kPing, 4));
  REQUIRE(f.host.replies.size() == 1);
  f.Handle(calm, ChainRead("status"));
  CHECK(f.host.held() == 3);
  CHECK(f.host.errors.size() == 1);

  f.host.RunHeld();
  CHECK(f.host.replies.size() == 4);
  CHECK(busy.requests_in_flight == 0);
  CHECK(busy.large_requests_in_flight == 0);
  // Its answers came: it may ask again.
  f.Handle(busy, ChainRead("status"));
  CHECK(f.host.held() == 1);
  CHECK(f.host.errors.size() == 1);
  f.host.RunHeld();
  CHECK(f.host.replies.size() == 5);
}

TEST_CASE("at most four requests with large answers in flight per connection, under a higher cap") {
  Fixture f(/*max_in_flight=*/10);
  Connection& member = f.Connect(7, kChannel);
  f.host.hold_peer_work = true;
  for (int i = 0; i < 4; ++i) f.Handle(member, ChainRead("status"));
  CHECK(member.large_requests_in_flight == 4);
  f.Handle(member, ChainRead("status"));
  REQUIRE(f.host.errors.size() == 1);
  CHECK(f.LastError().code() == ErrorCode::kResourceExhausted);
  CHECK(f.host.held() == 4);
  f.host.RunHeld();
  CHECK(f.host.replies.size() == 4);
  CHECK(member.requests_in_flight == 0);
}

}  // namespace
}  // namespace tcc::controller
