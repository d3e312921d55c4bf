// Test helpers for hostile peers: a CURVE connection to tccd's party socket that speaks raw frames
// (no client SDK checks in the way), and metric readings by reason.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>

#include "daemon_test_util.h"
#include "tcc/common/bytes.h"
#include "tcc/did/challenge.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"

namespace tcc::testing {

// One labelled counter of a family, e.g. tcc_submissions_rejected_total{reason="conflict"}.
inline double Counted(const std::string& address, const std::string& family, const std::string& reason) {
  return MetricValue(ScrapeMetrics(address), family + "{reason=\"" + reason + "\"}").value_or(0);
}

inline double Rejected(const std::string& address, const std::string& reason) {
  return Counted(address, "tcc_submissions_rejected_total", reason);
}

struct RawPeerOptions {
  std::string routing_id;    // empty: tccd's socket assigns one
  int receive_high_water = 1000;  // 1: stops reading from TCP once one message waits unread
};

class RawPeer {
 public:
  RawPeer(const std::string& endpoint, const did::KeyPair& tcc, RawPeerOptions options = {}) {
    REQUIRE(socket.SetCurveClient(wire::CurveKeyPair::Generate(), tcc.X25519Public()).ok());
    if (!options.routing_id.empty()) REQUIRE(socket.SetRoutingId(options.routing_id).ok());
    REQUIRE(socket.SetHighWaterMarks(100000, options.receive_high_water).ok());
    // A peer tccd disconnects stays gone, so tests count exactly.
    REQUIRE(socket.SetReconnect(false).ok());
    REQUIRE(socket.Connect(endpoint).ok());
  }

  void Send(std::string_view frame) { REQUIRE(TrySend(frame)); }

  // false when the frame cannot be queued now: the connection is gone (a DEALER without a peer
  // would block) or the send queue is full.
  bool TrySend(std::string_view frame) {
    const std::string_view parts[] = {frame};
    return socket.Send(parts, true).ok();
  }

  // The next frame within `wait`, or nullopt.
  std::optional<wire::Message> Next(std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (true) {
      auto received = socket.Receive(true);
      if (received.ok() && !received->empty()) {
        return Unwrap(wire::DecodeMessage((*received)[0].data), "decode answer");
      }
      if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

  // Sends one frame; returns the answer, or nullopt if none comes within `wait`.
  std::optional<wire::Message> Exchange(std::string_view frame,
                                              std::chrono::milliseconds wait = std::chrono::seconds(10)) {
    Send(frame);
    return Next(wait);
  }

  // DID challenge-response for `channel` as `party`; true when admitted.
  bool Authenticate(const std::string& channel, const did::KeyPair& party) {
    const std::string did = did::DidKeyFromPublicKey(party.public_key());
    auto begun = Exchange(wire::FrameBuilder(wire::MessageType::kAuthBegin, 1)
                              .Add("channel", channel)
                              .Add("did", did)
                              .Finish());
    if (!begun || begun->type != wire::MessageType::kReply) return false;
    auto sealed = HexDecode(wire::StringMember(*begun, "sealed"));
    REQUIRE(sealed.ok());
    auto challenge = Unwrap(did::OpenChallenge(*sealed, party), "open challenge");
    auto proved = Exchange(wire::FrameBuilder(wire::MessageType::kAuthProve, 2)
                               .Add("channel", channel)
                               .Add("nonce", HexEncode(challenge.nonce))
                               .Add("signature", HexEncode(did::SignChallengeResponse(challenge, party)))
                               .Finish());
    return proved && proved->type == wire::MessageType::kReply;
  }

 private:
  std::shared_ptr<wire::ZmqContext> context = Unwrap(wire::ZmqContext::Create(1), "context");

 public:
  wire::ZmqSocket socket =
      Unwrap(wire::ZmqSocket::Create(context, wire::SocketType::kDealer), "socket");
};

}  // namespace tcc::testing
