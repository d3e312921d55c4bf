// Who gets into a channel, against a real tccd process: only members who pass DID challenge-
// response. Unauthenticated, non-CURVE, wrong-server-key, non-member and impostor clients are
// refused and read nothing; challenges are single use; auditors are read-only; the control socket
// answers admin keys only; the chain tccd holds is read and written by admins, read by members.
#include <doctest/doctest.h>

#include "daemon_test_util.h"
#include "tcc/common/file.h"
#include "tcc/did/challenge.h"
#include "tcc/wire/transport.h"

namespace tcc::testing {
namespace {

using client::MessageType;

class AccessFixture {
 public:
  AccessFixture() {
    REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
    trade.Record(dir.Sub("ledger"), 10);
    tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--chain", "local:" + dir.Sub("ledger"),
                "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*"});
    provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
    consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
  }

  std::unique_ptr<client::Connection> RawConnection(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    client::ConnectOptions options;
    options.endpoint = tccd.listen();
    options.tcc_did = tccd.did();
    options.timeout = timeout;
    return Unwrap(client::Connection::Open(std::move(options)), "connect");
  }

  TempDir dir;
  Trade trade;
  TccdProcess tccd;
  std::unique_ptr<client::ChannelClient> provider;
  std::unique_ptr<client::ChannelClient> consumer;
};

void ExpectError(const Result<client::Message>& answer, ErrorCode code, const std::string& fragment = {}) {
  REQUIRE_FALSE(answer.ok());
  CHECK(answer.error().code() == code);
  if (!fragment.empty()) CHECK_MESSAGE(answer.error().message().find(fragment) != std::string::npos, answer.error().message());
}

TEST_CASE_FIXTURE(AccessFixture, "tccd: an unauthenticated connection can neither submit, subscribe nor read") {
  auto stranger = RawConnection();
  const Json joint = trade.Cosign(trade.Proposal(1, trade.channel_id));
  ExpectError(stranger->Request(MessageType::kSettleSubmit, {{"channel", trade.channel_id}, {"claim", joint}}),
              ErrorCode::kPermissionDenied, "not admitted");
  ExpectError(stranger->Request(MessageType::kChannelSync, {{"channel", trade.channel_id}, {"after", 0}}),
              ErrorCode::kPermissionDenied);
  ExpectError(stranger->Request(MessageType::kEvidenceGet, {{"channel", trade.channel_id}, {"seq", 1}}),
              ErrorCode::kPermissionDenied);
  ExpectError(stranger->Request(MessageType::kSettlePropose, {{"channel", trade.channel_id}, {"proposal", Json::Object()}}),
              ErrorCode::kPermissionDenied);
  // Nothing was settled by the refused submit; the members settle, and the stranger hears nothing.
  client::IssuedTsc issued = SettleOnce(trade, *provider, *consumer, 1, trade.channel_id);
  CHECK(issued.seq == 1);
  CHECK_FALSE(Unwrap(stranger->NextEvent(std::chrono::milliseconds(300)), "event").has_value());
  // Control requests are not served on the party socket.
  ExpectError(stranger->Request(MessageType::kControlList, {}), ErrorCode::kInvalidArgument, "not a party request");
}

TEST_CASE_FIXTURE(AccessFixture, "tccd: clients without CURVE or with the wrong server key get nothing") {
  // Plain ZeroMQ, no CURVE: the handshake never completes, so no request is even read.
  auto context = Unwrap(wire::ZmqContext::Create(1), "context");
  auto plain = Unwrap(wire::ZmqSocket::Create(context, wire::SocketType::kDealer), "socket");
  REQUIRE(plain.Connect(tccd.listen()).ok());
  const std::string ping = wire::FrameBuilder(MessageType::kPing, 1).Finish();
  const std::string_view parts[] = {ping};
  (void)plain.Send(parts, true);
  std::vector<bool> ready;
  const wire::PollItem items[] = {{&plain, -1}};
  REQUIRE(wire::PollReadable(items, std::chrono::milliseconds(500), ready).ok());
  CHECK_FALSE(ready[0]);
  // CURVE against another DID's key: the server cannot complete the handshake either, and the
  // client's socket monitor says so well before the (long) timeout.
  client::ConnectOptions options;
  options.endpoint = tccd.listen();
  options.tcc_did = DidOf(*NewKey());
  options.timeout = std::chrono::seconds(30);
  auto wrong = Unwrap(client::Connection::Open(std::move(options)), "connect");
  const auto asked = std::chrono::steady_clock::now();
  ExpectError(wrong->Request(MessageType::kPing, {}), ErrorCode::kPermissionDenied,
              "the server's key does not match the DID given");
  CHECK(std::chrono::steady_clock::now() - asked < std::chrono::seconds(10));
  // The real key works.
  CHECK(RawConnection()->Request(MessageType::kPing, {}).ok());
}

TEST_CASE_FIXTURE(AccessFixture, "tccd: non-members, impostors, replayed and foreign answers are refused") {
  // A DID not named by the TIC.
  const auto outsider_key = NewKey();
  auto outsider = ConnectParty(tccd.listen(), tccd.did(), outsider_key);
  auto refused = outsider->Join(trade.channel_id);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kPermissionDenied);
  CHECK(refused.error().message().find("not a member") != std::string::npos);
  // An unknown channel.
  auto unknown = outsider->Join(std::string(64, 'a'));
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code() == ErrorCode::kNotFound);
  // The operator's log has the refusal as a JSON line with the DID and the reason; a party asking
  // for a channel not opened yet is only a debug line (it polls while it waits).
  const std::string refusal = "\"msg\":\"authentication refused\",\"reason\":\"not_a_member\",\"did\":\"" +
                              DidOf(*outsider_key) + "\"";
  CHECK_MESSAGE(LogShows(tccd, refusal), tccd.Log());
  CHECK(tccd.Log().find("\"reason\":\"unknown_channel\"") == std::string::npos);

  // An impostor naming the consumer's DID cannot open the sealed challenge, so it can only guess.
  auto impostor = RawConnection();
  auto begun = impostor->Request(MessageType::kAuthBegin, {{"channel", trade.channel_id}, {"did", DidOf(*trade.consumer)}});
  REQUIRE(begun.ok());
  auto sealed = HexDecode(wire::StringMember(*begun, "sealed")).value();
  CHECK_FALSE(did::OpenChallenge(sealed, *NewKey()).ok());
  ExpectError(impostor->Request(MessageType::kAuthProve, {{"channel", trade.channel_id},
                                                          {"nonce", std::string(64, '0')},
                                                          {"signature", std::string(128, '0')}}),
              ErrorCode::kVerificationFailed, "nonce");
  // The challenge was spent by the failed answer.
  ExpectError(impostor->Request(MessageType::kAuthProve, {{"channel", trade.channel_id},
                                                          {"nonce", std::string(64, '0')},
                                                          {"signature", std::string(128, '0')}}),
              ErrorCode::kPermissionDenied, "no challenge pending");

  // The consumer's genuine answer, replayed on another connection, is refused there, and on its
  // own connection it is single use.
  auto genuine = RawConnection();
  auto challenge_frame = genuine->Request(MessageType::kAuthBegin, {{"channel", trade.channel_id}, {"did", DidOf(*trade.consumer)}});
  REQUIRE(challenge_frame.ok());
  auto challenge = did::OpenChallenge(HexDecode(wire::StringMember(*challenge_frame, "sealed")).value(), *trade.consumer);
  REQUIRE(challenge.ok());
  CHECK(challenge->binding.tcc_did == tccd.did());
  CHECK(challenge->binding.channel_id == trade.channel_id);
  const std::vector<std::pair<std::string, Json>> answer = {
      {"channel", trade.channel_id},
      {"nonce", HexEncode(challenge->nonce)},
      {"signature", HexEncode(did::SignChallengeResponse(*challenge, *trade.consumer))}};
  ExpectError(RawConnection()->Request(MessageType::kAuthProve, answer), ErrorCode::kPermissionDenied, "no challenge pending");
  CHECK(genuine->Request(MessageType::kAuthProve, answer).ok());
  ExpectError(genuine->Request(MessageType::kAuthProve, answer), ErrorCode::kPermissionDenied, "no challenge pending");

  // A signature by another key over the right transcript fails.
  auto forger = RawConnection();
  auto forged_frame = forger->Request(MessageType::kAuthBegin, {{"channel", trade.channel_id}, {"did", DidOf(*trade.consumer)}});
  REQUIRE(forged_frame.ok());
  auto opened = did::OpenChallenge(HexDecode(wire::StringMember(*forged_frame, "sealed")).value(), *trade.consumer);
  REQUIRE(opened.ok());
  ExpectError(forger->Request(MessageType::kAuthProve, {{"channel", trade.channel_id},
                                                        {"nonce", HexEncode(opened->nonce)},
                                                        {"signature", HexEncode(did::SignChallengeResponse(*opened, *NewKey()))}}),
              ErrorCode::kVerificationFailed, "signature");
}

TEST_CASE_FIXTURE(AccessFixture, "tccd: auditors follow read-only; malformed frames get clear errors") {
  auto auditor = ConnectParty(tccd.listen(), tccd.did(), trade.auditor);
  CHECK(JoinWhenOpen(*auditor, trade.channel_id).role == "auditor");
  client::IssuedTsc issued = SettleOnce(trade, *provider, *consumer, 1, trade.channel_id);
  client::Message event = AwaitEvent(*auditor, MessageType::kEventTsc);
  CHECK(wire::UintMember(event, "seq") == 1);
  CHECK(vc::CredentialHash(wire::ObjectMember(event, "tsc")).value() == vc::CredentialHash(issued.tsc).value());
  const Json next = trade.Cosign(trade.Proposal(2, vc::CredentialHash(issued.tsc).value()));
  auto submitted = auditor->Submit(trade.channel_id, next);
  REQUIRE_FALSE(submitted.ok());
  CHECK(submitted.error().code() == ErrorCode::kPermissionDenied);
  CHECK(auditor->Sync(trade.channel_id, 0).value().size() == 1);

  // Raw bytes that are not a message.
  auto context = Unwrap(wire::ZmqContext::Create(1), "context");
  auto socket = Unwrap(wire::ZmqSocket::Create(context, wire::SocketType::kDealer), "socket");
  wire::CurveKeyPair key = wire::CurveKeyPair::Generate();
  REQUIRE(socket.SetCurveClient(key, trade.tcc->X25519Public()).ok());
  REQUIRE(socket.Connect(tccd.listen()).ok());
  for (const std::string& frame : {std::string("not json"), std::string("{\"v\":2,\"type\":\"ping\",\"id\":1}"),
                                  std::string(200, '[')}) {
    const std::string_view parts[] = {frame};
    REQUIRE(socket.Send(parts, false).ok());
    auto reply = Unwrap(socket.Receive(false), "reply");
    auto decoded = Unwrap(wire::DecodeMessage(reply[0].data), "decode");
    CHECK(decoded.type == MessageType::kError);
  }
  // The daemon still serves the members.
  CHECK(provider->State(trade.channel_id).ok());
}

TEST_CASE_FIXTURE(AccessFixture, "tccd: the control socket answers admin keys only") {
  client::ConnectOptions options;
  options.endpoint = tccd.control();
  options.tcc_did = tccd.did();
  options.timeout = std::chrono::seconds(30);
  auto not_admin = Unwrap(client::Connection::Open(std::move(options)), "connect");
  // ZAP refuses the key during the handshake, which the client's socket monitor reports.
  ExpectError(not_admin->Request(MessageType::kControlList, {}), ErrorCode::kPermissionDenied,
              "refused this client's key");

  auto admin_key = Unwrap(did::KeyPair::ReadFile(dir.Sub("data/admin.key")), "admin key");
  client::ConnectOptions admin_options;
  admin_options.endpoint = tccd.control();
  admin_options.tcc_did = tccd.did();
  admin_options.client_key = wire::CurveKeyPair::FromDidKey(admin_key);
  auto admin = Unwrap(client::Connection::Open(std::move(admin_options)), "connect");
  auto listed = Unwrap(admin->Request(MessageType::kControlList, {}), "list");
  const JsonArray& channels = *listed.body.GetArray("channels").value();
  REQUIRE(channels.size() == 1);
  CHECK(channels[0].GetString("channel").value() == trade.channel_id);
  auto health = Unwrap(admin->Request(MessageType::kControlHealth, {}), "health");
  const Json* body = health.body.Find("health");
  REQUIRE(body != nullptr);
  CHECK(body->GetString("status").value() == "ok");
  CHECK(body->GetString("did").value() == tccd.did());
}

TEST_CASE_FIXTURE(AccessFixture, "tccd: chain requests: admins read and write, members read, others get nothing") {
  auto chain_request = [](client::Connection& connection, MessageType type, std::string op, Json args) {
    return connection.Request(type, {{"op", Json(std::move(op))}, {"args", std::move(args)}});
  };
  Json tic_args = Json::Object();
  tic_args.Set("tic", trade.channel_id);

  // A connection admitted to no channel reads nothing.
  auto stranger = RawConnection();
  ExpectError(chain_request(*stranger, MessageType::kChainRead, "status", Json::Object()),
              ErrorCode::kPermissionDenied, "join a channel first");

  // A member reads DIDs, templates and anchors, and nothing else; writes are the control socket's.
  auto status = Unwrap(chain_request(provider->connection(), MessageType::kChainRead, "status", Json::Object()), "status");
  CHECK(status.body.Find("result")->GetString("adapter").value() == "local");
  Json batch = Json::Object();
  batch.Set("batch", "no-such-batch");
  ExpectError(chain_request(provider->connection(), MessageType::kChainRead, "find_anchor", batch), ErrorCode::kNotFound);
  ExpectError(chain_request(provider->connection(), MessageType::kChainRead, "get_tic", tic_args),
              ErrorCode::kPermissionDenied, "control endpoint only");
  Json did_args = Json::Object();
  did_args.Set("did", "did:web:example.com");
  did_args.Set("document", "7b7d");
  ExpectError(chain_request(provider->connection(), MessageType::kChainWrite, "register_did", did_args),
              ErrorCode::kPermissionDenied, "chain.write is served on tccd's control endpoint only");
  ExpectError(chain_request(provider->connection(), MessageType::kChainRead, "register_did", did_args),
              ErrorCode::kInvalidArgument, "is a write");
  Json bad = Json::Object();
  bad.Set("did", 5);
  ExpectError(chain_request(provider->connection(), MessageType::kChainRead, "resolve_did", bad),
              ErrorCode::kInvalidArgument, "did");
  ExpectError(chain_request(provider->connection(), MessageType::kChainRead, "drop_ledger", Json::Object()),
              ErrorCode::kInvalidArgument, "unknown chain op");

  // The admin reads the TIC and writes.
  auto admin_key = Unwrap(did::KeyPair::ReadFile(dir.Sub("data/admin.key")), "admin key");
  client::ConnectOptions options;
  options.endpoint = tccd.control();
  options.tcc_did = tccd.did();
  options.client_key = wire::CurveKeyPair::FromDidKey(admin_key);
  auto admin = Unwrap(client::Connection::Open(std::move(options)), "connect");
  auto tic = Unwrap(chain_request(*admin, MessageType::kChainRead, "get_tic", tic_args), "get_tic");
  CHECK(tic.body.Find("result")->Find("value")->GetString("tic").value() == trade.channel_id);
  auto registered = Unwrap(chain_request(*admin, MessageType::kChainWrite, "register_did", did_args), "register");
  CHECK(registered.body.Find("result")->Find("value")->GetString("did").value() == "did:web:example.com");
  // The member now resolves what the admin wrote.
  Json resolve = Json::Object();
  resolve.Set("did", "did:web:example.com");
  auto resolved = Unwrap(chain_request(provider->connection(), MessageType::kChainRead, "resolve_did", resolve), "resolve");
  CHECK(resolved.body.Find("result")->Find("value")->GetString("document").value() == "7b7d");
}

}  // namespace
}  // namespace tcc::testing

namespace tcc::testing {
namespace {

TEST_CASE("tccd: a config file sets limits; challenge floods from one address are rate-limited") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 10);
  Json config = Json::Object();
  config.Set("data_dir", dir.Sub("data"));
  config.Set("key_file", dir.Sub("tcc.key"));
  config.Set("chain", "local:" + dir.Sub("ledger"));
  config.Set("listen", "tcp://127.0.0.1:*");
  config.Set("control", "tcp://127.0.0.1:*");
  Json limits = Json::Object();
  limits.Set("auth_rate_per_source", 2);
  config.Set("limits", std::move(limits));
  REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"), config.Serialize()).ok());
  TccdProcess tccd;
  tccd.Start({"--config", dir.Sub("tccd.json")});
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*consumer, trade.channel_id);  // uses up one of the burst of 4

  client::ConnectOptions options;
  options.endpoint = tccd.listen();
  options.tcc_did = tccd.did();
  auto flooder = Unwrap(client::Connection::Open(std::move(options)), "connect");
  std::size_t limited = 0;
  for (int i = 0; i < 10; ++i) {
    auto begun = flooder->Request(client::MessageType::kAuthBegin,
                                  {{"channel", trade.channel_id}, {"did", DidOf(*trade.consumer)}});
    if (!begun.ok()) {
      CHECK(begun.error().code() == ErrorCode::kResourceExhausted);
      ++limited;
    }
  }
  CHECK(limited >= 6);
  // The members already admitted keep working.
  CHECK(consumer->State(trade.channel_id).ok());
}

TEST_CASE("tccd: bad command lines and config files are refused with a clear message") {
  TempDir dir;
  REQUIRE(WriteFileAtomic(dir.Sub("bad.json"), R"({"data_dir":"/tmp/x","listne":"tcp://127.0.0.1:1"})").ok());
  TccdProcess tccd;
  CHECK(tccd.RunToExit({"--config", dir.Sub("bad.json")}) == 3);
  CHECK(tccd.LogContains("unknown config member listne"));
  CHECK(tccd.RunToExit({"--listen", "tcp://127.0.0.1:*"}) == 2);
  CHECK(tccd.LogContains("a data directory is required"));
  CHECK(tccd.RunToExit({"--data-dir", dir.Sub("d"), "--n-min", "20", "--n", "10"}) == 2);
  CHECK(tccd.RunToExit({"--help"}) == 0);
  CHECK(tccd.LogContains("--data-dir"));
}

}  // namespace
}  // namespace tcc::testing
