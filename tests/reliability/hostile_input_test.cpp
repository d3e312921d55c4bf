// Hostile input against a real tccd, the cases tests/daemon/access_test.cpp does not cover:
//  - frames with invalid UTF-8, JSON nested past the limit, members of the wrong type, frames over
//    the size limit, and clients that open TCP connections and never speak;
//  - settlement claims that violate the TST, lack or forge a signature, are signed by a key that is
//    not the DID the claim names or by an unresolvable DID, name parties other than the channel's,
//    leave a seq gap, name a wrong prev, fork a settled seq, or go to an unknown, unjoined or closed
//    channel;
//  - challenge answers that come too late, are bound to another channel or another TCC, or are
//    signed by another key, and admission requests for unknown DIDs.
// Each gets a clear error (or, for an oversized frame, the connection is dropped by ZeroMQ before
// any parsing), is counted in tcc_submissions_rejected_total or tcc_auth_failures_total, changes no
// channel state, and the daemon keeps serving members.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <functional>

#include "daemon_test_util.h"
#include "raw_peer.h"
#include "tcc/common/file.h"
#include "tcc/did/challenge.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/wire/transport.h"

namespace tcc::testing {
namespace {

using client::MessageType;

int ConnectTcp(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  return fd;
}

// A running tccd with metrics on and a short challenge lifetime, two channels between the same
// parties (`other_channel` recorded first, `trade.channel_id` second), both parties joined to the
// latter with its first TSC settled.
class HostileFixture {
 public:
  static constexpr std::chrono::milliseconds kChallengeTtl{1500};

  HostileFixture() {
    REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
    trade.Record(dir.Sub("ledger"), 10);
    other_channel = trade.channel_id;
    trade.Record(dir.Sub("ledger"), 10);
    Json limits = Json::Object();
    limits.Set("challenge_ttl_ms", static_cast<std::uint64_t>(kChallengeTtl.count()));
    Json config = Json::Object();
    config.Set("limits", std::move(limits));
    REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"), config.Serialize()).ok());
    tccd.Start(LocalTccdArguments(dir, {"--config", dir.Sub("tccd.json"), "--metrics", "127.0.0.1:0"}));
    metrics = tccd.metrics();
    REQUIRE_FALSE(metrics.empty());
    provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
    consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
    first = SettleOnce(trade, *provider, *consumer, 1, trade.channel_id);
  }

  TempDir dir;
  Trade trade;
  std::string other_channel;
  TccdProcess tccd;
  std::string metrics;  // ADDR:PORT
  std::unique_ptr<client::ChannelClient> provider;
  std::unique_ptr<client::ChannelClient> consumer;
  client::IssuedTsc first;
};

TEST_CASE_FIXTURE(HostileFixture, "tccd: hostile frames get clear errors and a metric, change nothing; silent clients are dropped") {
  const Json state_before = Unwrap(provider->State(trade.channel_id), "state");

  RawPeer peer(tccd.listen(), *trade.tcc);
  const std::string channel = "\"channel\":\"" + trade.channel_id + "\"";
  struct Case {
    std::string name;
    std::string frame;
    ErrorCode code;
    std::uint64_t id;  // the id the error repeats: 0 when the frame is not JSON, so has none
  };
  std::string nested_objects;
  for (int i = 0; i < 100; ++i) nested_objects += "{\"a\":";
  nested_objects += "1" + std::string(100, '}');
  const std::vector<Case> cases = {
      {"invalid UTF-8 in a string", "{\"v\":1,\"type\":\"channel.state\",\"id\":11," + channel + ",\"x\":\"\xff\xfe\"}",
       ErrorCode::kParse, 0},
      {"an overlong UTF-8 encoding", "{\"v\":1,\"type\":\"ping\",\"id\":12,\"x\":\"\xc0\xaf\"}", ErrorCode::kParse, 0},
      {"a lone surrogate escape", "{\"v\":1,\"type\":\"ping\",\"id\":13,\"x\":\"\\ud800\"}", ErrorCode::kParse, 0},
      {"objects nested 100 deep", nested_objects, ErrorCode::kParse, 0},
      {"a channel id of the wrong type", "{\"v\":1,\"type\":\"channel.state\",\"id\":14,\"channel\":42}",
       ErrorCode::kInvalidArgument, 14},
      {"a claim that is a string", "{\"v\":1,\"type\":\"settle.submit\",\"id\":15," + channel + ",\"claim\":\"{}\"}",
       ErrorCode::kInvalidArgument, 15},
      {"a duplicate member", "{\"v\":1,\"type\":\"ping\",\"id\":16,\"id\":17}", ErrorCode::kParse, 0},
  };
  for (const Case& hostile : cases) {
    CAPTURE(hostile.name);
    const std::string reason(ErrorCodeName(hostile.code));
    const double before = Rejected(metrics, reason);
    auto answer = peer.Exchange(hostile.frame);
    REQUIRE(answer.has_value());
    CHECK(answer->type == client::MessageType::kError);
    CHECK(answer->id == hostile.id);
    const Error error = wire::ErrorFromMessage(*answer);
    CHECK(error.code() == hostile.code);
    CHECK_FALSE(error.message().empty());
    CHECK(Rejected(metrics, reason) == before + 1);
  }

  // A frame over the 256 KiB limit: ZeroMQ drops that connection before tccd reads anything.
  {
    RawPeer oversized(tccd.listen(), *trade.tcc);
    REQUIRE(oversized.Exchange("{\"v\":1,\"type\":\"ping\",\"id\":1}").has_value());  // connected
    const std::string huge = "{\"v\":1,\"type\":\"ping\",\"id\":2,\"pad\":\"" +
                             std::string(wire::kMaxFrameBytes + 1024, 'x') + "\"}";
    CHECK_FALSE(oversized.Exchange(huge, std::chrono::seconds(2)).has_value());
  }

  // Clients that open TCP connections and never speak: tccd drops each after its handshake
  // timeout (10 s), so they cannot pile up; meanwhile the members keep settling.
  const auto colon = tccd.listen().rfind(':');
  const int port = std::stoi(tccd.listen().substr(colon + 1));
  std::vector<int> silent;
  for (int i = 0; i < 50; ++i) silent.push_back(ConnectTcp(port));
  client::IssuedTsc second = SettleOnce(trade, *provider, *consumer, 2, vc::CredentialHash(first.tsc).value());
  CHECK(second.seq == 2);
  std::size_t closed = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(25);
  while (closed < silent.size() && std::chrono::steady_clock::now() < deadline) {
    closed = 0;
    for (int fd : silent) {
      pollfd entry{fd, POLLIN, 0};
      char byte;
      // The peer closing shows as readable with nothing (or a reset) to read; ZMTP greeting bytes
      // tccd sent first are drained on the way.
      while (::poll(&entry, 1, 0) == 1) {
        const ssize_t got = ::recv(fd, &byte, 1, MSG_DONTWAIT);
        if (got <= 0) {
          ++closed;
          break;
        }
      }
    }
    if (closed < silent.size()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int fd : silent) ::close(fd);
  CHECK_MESSAGE(closed == silent.size(), closed << " of " << silent.size() << " silent connections closed by tccd");

  // None of it changed the channel beyond the two real settlements.
  const Json state_after = Unwrap(provider->State(trade.channel_id), "state");
  CHECK(state_before.GetNumber("last_seq").value() == 1);
  CHECK(state_after.GetNumber("last_seq").value() == 2);
  CHECK(state_after.GetString("last_hash").value() == vc::CredentialHash(second.tsc).value());
  CHECK(tccd.Stop() == 0);
}

// A settlement claim for the fixture's channel as the parties would write it, unsigned.
Json ClaimFor(const Trade& trade, std::uint64_t seq, const std::string& prev) {
  Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
  claim.Set("provider", DidOf(*trade.provider));
  claim.Set("consumer", DidOf(*trade.consumer));
  claim.Set("channel", trade.channel_id);
  claim.Set("seq", seq);
  claim.Set("prev", prev);
  return claim;
}

// Adds a party proof by `key`, without the checks the SDK makes first (a hostile client skips them).
Json SignedBy(Json claim, const did::KeyPair& key) {
  REQUIRE(vc::AddProof(claim, key, {.verification_method = did::DidKeyVerificationMethod(key.public_key())}).ok());
  return claim;
}

TEST_CASE_FIXTURE(HostileFixture, "tccd: hostile settlements and challenge answers get clear errors and a metric, change nothing") {
  const std::string prev = vc::CredentialHash(first.tsc).value();
  const Json state_before = Unwrap(provider->State(trade.channel_id), "state");
  const auto outsider = NewKey();

  SUBCASE("settlement claims") {
    Json violating = ClaimFor(trade, 2, prev);
    violating.Find("fee")->Set("amount", 38);  // the TST wants a decimal string
    Json tampered = trade.Cosign(trade.Proposal(2, prev));
    tampered.Find("fee")->Set("amount", "0.01");
    Json foreign_parties = ClaimFor(trade, 2, prev);
    foreign_parties.Set("provider", DidOf(*outsider));
    Json unresolvable = trade.Proposal(2, prev);
    REQUIRE(vc::AddProof(unresolvable, *trade.consumer, {.verification_method = "did:example:nobody#key-1"}).ok());
    struct Case {
      std::string name;
      std::string channel;
      Json claim;
      ErrorCode code;
      std::string fragment;
    };
    const std::vector<Case> cases = {
        {"a template violation", trade.channel_id, SignedBy(SignedBy(violating, *trade.provider), *trade.consumer),
         ErrorCode::kVerificationFailed, "violates"},
        {"the consumer's signature missing", trade.channel_id, trade.Proposal(2, prev), ErrorCode::kVerificationFailed,
         "two proofs"},
        {"a field changed after signing", trade.channel_id, tampered, ErrorCode::kVerificationFailed, "signature"},
        {"the consumer's proof by another key", trade.channel_id,
         SignedBy(SignedBy(ClaimFor(trade, 2, prev), *trade.provider), *outsider), ErrorCode::kVerificationFailed,
         "not signed by its consumer"},
        {"a proof naming an unresolvable DID", trade.channel_id, unresolvable, ErrorCode::kVerificationFailed,
         "did:example"},
        {"parties other than the channel's, both signing", trade.channel_id,
         SignedBy(SignedBy(foreign_parties, *outsider), *trade.consumer), ErrorCode::kPermissionDenied,
         "provider of channel"},
        {"a seq gap", trade.channel_id, trade.Cosign(trade.Proposal(3, prev)), ErrorCode::kConflict, "does not follow"},
        {"a wrong prev", trade.channel_id, trade.Cosign(trade.Proposal(2, std::string(64, 'a'))),
         ErrorCode::kVerificationFailed, "prev"},
        {"a fork of a settled seq", trade.channel_id, trade.Cosign(trade.Proposal(1, trade.channel_id, "9.99")),
         ErrorCode::kConflict, "fork"},
        {"an unknown channel", std::string(64, 'f'), trade.Cosign(trade.Proposal(2, prev)), ErrorCode::kPermissionDenied,
         ""},
        {"a channel the sender has not joined", other_channel, trade.Cosign(trade.Proposal(2, prev)),
         ErrorCode::kPermissionDenied, ""},
    };
    for (const Case& hostile : cases) {
      CAPTURE(hostile.name);
      const std::string reason(ErrorCodeName(hostile.code));
      const double before = Rejected(metrics, reason);
      auto answer = consumer->Submit(hostile.channel, hostile.claim);
      REQUIRE_FALSE(answer.ok());
      CHECK(answer.error().code() == hostile.code);
      CHECK_MESSAGE(answer.error().message().find(hostile.fragment) != std::string::npos, answer.error().message());
      CHECK(Rejected(metrics, reason) == before + 1);
    }

    // A closed channel takes nothing more. The second channel is opened, joined and closed here.
    JoinWhenOpen(*consumer, other_channel);
    auto control = ConnectControl(tccd, dir.Sub("data/admin.key"));
    Unwrap(control->Request(client::MessageType::kControlClose, {{"channel", other_channel}}), "close");
    Trade other = trade;
    other.channel_id = other_channel;
    const double before = Rejected(metrics, "conflict");
    auto closed = consumer->Submit(other_channel, other.Cosign(other.Proposal(1, other_channel)));
    REQUIRE_FALSE(closed.ok());
    CHECK(closed.error().code() == ErrorCode::kConflict);
    CHECK(closed.error().message().find("closed") != std::string::npos);
    CHECK(Rejected(metrics, "conflict") == before + 1);
  }

  SUBCASE("challenge answers") {
    // Each case starts an admission of the consumer on a fresh connection and answers it wrongly.
    struct Case {
      std::string name;
      std::function<void(did::Challenge&)> corrupt;  // changes what the consumer signs
      std::chrono::milliseconds delay;
      ErrorCode code;
      std::string reason;
    };
    const std::vector<Case> cases = {
        // Long enough for tccd's once-a-second sweep to run in between: the answer is still told
        // it came too late, not that no challenge exists.
        {"an answer after the challenge expired", [](did::Challenge&) {}, kChallengeTtl + std::chrono::milliseconds(1500),
         ErrorCode::kPermissionDenied, "expired"},
        {"an answer bound to another channel", [&](did::Challenge& c) { c.binding.channel_id = other_channel; },
         std::chrono::milliseconds(0), ErrorCode::kVerificationFailed, "bad_signature"},
        {"an answer bound to another TCC", [&](did::Challenge& c) { c.binding.tcc_did = DidOf(*outsider); },
         std::chrono::milliseconds(0), ErrorCode::kVerificationFailed, "bad_signature"},
        {"an answer by another key", [](did::Challenge&) {}, std::chrono::milliseconds(0),
         ErrorCode::kVerificationFailed, "bad_signature"},
    };
    for (const Case& hostile : cases) {
      CAPTURE(hostile.name);
      const double before = Counted(metrics, "tcc_auth_failures_total", hostile.reason);
      client::ConnectOptions options;
      options.endpoint = tccd.listen();
      options.tcc_did = tccd.did();
      auto connection = Unwrap(client::Connection::Open(std::move(options)), "connect");
      auto begun = Unwrap(connection->Request(MessageType::kAuthBegin,
                                              {{"channel", trade.channel_id}, {"did", DidOf(*trade.consumer)}}),
                          "auth.begin");
      auto challenge = Unwrap(did::OpenChallenge(HexDecode(wire::StringMember(begun, "sealed")).value(), *trade.consumer),
                              "open challenge");
      hostile.corrupt(challenge);
      const did::KeyPair& signer = hostile.name.ends_with("another key") ? *outsider : *trade.consumer;
      std::this_thread::sleep_for(hostile.delay);
      auto answer = connection->Request(MessageType::kAuthProve,
                                        {{"channel", trade.channel_id},
                                         {"nonce", HexEncode(challenge.nonce)},
                                         {"signature", HexEncode(did::SignChallengeResponse(challenge, signer))}});
      REQUIRE_FALSE(answer.ok());
      CHECK(answer.error().code() == hostile.code);
      CHECK(Counted(metrics, "tcc_auth_failures_total", hostile.reason) == before + 1);
      // Not admitted: the channel stays closed to this connection.
      CHECK_FALSE(connection->Request(MessageType::kChannelState, {{"channel", trade.channel_id}}).ok());
    }
    // A DID nobody knows is not admitted either.
    const double before = Counted(metrics, "tcc_auth_failures_total", "not_a_member");
    client::ConnectOptions options;
    options.endpoint = tccd.listen();
    options.tcc_did = tccd.did();
    auto stranger = Unwrap(client::Connection::Open(std::move(options)), "connect");
    auto unknown = stranger->Request(MessageType::kAuthBegin, {{"channel", trade.channel_id}, {"did", "did:example:nobody"}});
    REQUIRE_FALSE(unknown.ok());
    CHECK(unknown.error().code() == ErrorCode::kPermissionDenied);
    CHECK(Counted(metrics, "tcc_auth_failures_total", "not_a_member") == before + 1);
  }

  // Nothing changed the channel, and the members keep settling.
  const Json state_after = Unwrap(provider->State(trade.channel_id), "state");
  CHECK(state_after.GetNumber("last_seq").value() == state_before.GetNumber("last_seq").value());
  CHECK(state_after.GetString("last_hash").value() == prev);
  CHECK(SettleOnce(trade, *provider, *consumer, 2, prev).seq == 2);
  CHECK(tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
