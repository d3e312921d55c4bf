// Hostile input against a real tccd, the cases tests/daemon/access_test.cpp does not cover: frames
// with invalid UTF-8, JSON nested past the limit, members of the wrong type, frames over the size
// limit, and clients that open TCP connections and never speak. Each gets a clear error (or, for
// an oversized frame, the connection is dropped by ZeroMQ before any parsing), is counted in
// tcc_submissions_rejected_total, changes no channel state, and the daemon keeps serving members.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include <cstdio>
#include <regex>

#include "daemon_test_util.h"
#include "tcc/controller/transport.h"

namespace tcc::testing {
namespace {

double Rejected(const std::string& address, const std::string& reason) {
  const std::string text = ScrapeMetrics(address);
  std::smatch match;
  const std::regex line("tcc_submissions_rejected_total\\{reason=\"" + reason + "\"\\} ([0-9.e+]+)");
  return std::regex_search(text, match, line) ? std::stod(match[1]) : 0.0;
}

// A CURVE connection that speaks raw frames (no client SDK checks in the way).
struct RawPeer {
  std::shared_ptr<controller::ZmqContext> context = Unwrap(controller::ZmqContext::Create(1), "context");
  controller::ZmqSocket socket = Unwrap(controller::ZmqSocket::Create(context, controller::SocketType::kDealer), "socket");

  RawPeer(const std::string& endpoint, const did::KeyPair& tcc) {
    REQUIRE(socket.SetCurveClient(controller::CurveKeyPair::Generate(), tcc.X25519Public()).ok());
    REQUIRE(socket.Connect(endpoint).ok());
  }

  // Sends one frame; returns the answer, or nullopt if none comes within `wait`.
  std::optional<controller::Message> Exchange(std::string_view frame,
                                              std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    const std::string_view parts[] = {frame};
    REQUIRE(socket.Send(parts, false).ok());
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto received = socket.Receive(true);
      if (received.ok() && !received->empty()) {
        return Unwrap(controller::DecodeMessage((*received)[0].data), "decode answer");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return std::nullopt;
  }
};

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

TEST_CASE("tccd: hostile frames get clear errors and a metric, change nothing; silent clients are dropped") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 10);
  TccdProcess tccd;
  tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--chain", "local:" + dir.Sub("ledger"),
              "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0"});
  std::smatch match;
  const std::string log = tccd.Log();
  REQUIRE(std::regex_search(log, match, std::regex("\"metrics\":\"([0-9.]+:[0-9]+)\"")));
  const std::string metrics = match[1];
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  client::IssuedTsc first = SettleOnce(trade, *provider, *consumer, 1, trade.channel_id);
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
    const Error error = controller::ErrorFromMessage(*answer);
    CHECK(error.code() == hostile.code);
    CHECK_FALSE(error.message().empty());
    CHECK(Rejected(metrics, reason) == before + 1);
  }

  // A frame over the 256 KiB limit: ZeroMQ drops that connection before tccd reads anything.
  {
    RawPeer oversized(tccd.listen(), *trade.tcc);
    REQUIRE(oversized.Exchange("{\"v\":1,\"type\":\"ping\",\"id\":1}").has_value());  // connected
    const std::string huge = "{\"v\":1,\"type\":\"ping\",\"id\":2,\"pad\":\"" +
                             std::string(controller::kMaxFrameBytes + 1024, 'x') + "\"}";
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

}  // namespace
}  // namespace tcc::testing
