#include "tcc/client/connection.h"

#include <vector>

#include "tcc/did/did_key.h"

namespace tcc::client {

using wire::FrameBuilder;

Result<std::unique_ptr<Connection>> Connection::Open(ConnectOptions options) {
  auto server_key = did::ParseDidKey(options.tcc_did);
  if (!server_key.ok()) return std::move(server_key).error().WithContext("TCC DID");
  TCC_ASSIGN_OR_RETURN(did::X25519PublicKey server_curve, did::X25519FromEd25519(*server_key));
  TCC_ASSIGN_OR_RETURN(auto context, wire::ZmqContext::Create(1));
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket socket, wire::ZmqSocket::Create(context, wire::SocketType::kDealer));
  if (!options.client_key) options.client_key = wire::CurveKeyPair::Generate();
  TCC_RETURN_IF_ERROR(socket.SetCurveClient(*options.client_key, server_curve));
  TCC_RETURN_IF_ERROR(socket.SetMaxMessageSize(static_cast<std::int64_t>(wire::kMaxFrameBytes)));
  TCC_RETURN_IF_ERROR(socket.SetHeartbeat(std::chrono::seconds(5), std::chrono::seconds(30)));
  // Each connection has its own context, so the monitor's inproc name cannot clash.
  TCC_ASSIGN_OR_RETURN(
      wire::ZmqSocket monitor,
      socket.Monitor("inproc://tcc-client-monitor", wire::MonitorEvents::kClient));
  TCC_RETURN_IF_ERROR(socket.Connect(options.endpoint));
  return std::unique_ptr<Connection>(
      new Connection(std::move(options), std::move(socket), std::move(monitor)));
}

Status Connection::CheckHandshake() {
  using Kind = wire::TransportEvent::Kind;
  while (auto event = monitor_.ReceiveEvent()) {
    switch (event->kind) {
      case Kind::kConnected:
        refused_ = false;
        break;
      case Kind::kConnectRetried:
        refused_ = true;
        break;
      case Kind::kHandshakeSucceeded:
        handshake_failures_ = 0;
        break;
      case Kind::kHandshakeFailed:
        ++handshake_failures_;
        break;
      case Kind::kHandshakeRefused:
        return Error(
            ErrorCode::kPermissionDenied,
            "tccd at " + options_.endpoint + " refused this client's key (ZAP status " +
                std::to_string(event->detail) +
                "): the control endpoint admits only tccd's admin keys (--admin, DIR/admin.key)");
      default:
        break;
    }
  }
  // Two in a row: one could be a tccd stopping half-way through a handshake; a wrong key fails
  // every time, each retry 100 ms after the last.
  if (handshake_failures_ >= 2) {
    return Error(ErrorCode::kPermissionDenied,
                 "the server's key does not match the DID given: the CURVE handshake with " +
                     options_.endpoint + " failed, so the server there is not the TCC " +
                     options_.tcc_did + " (wrong --tcc DID, or another server at that endpoint)");
  }
  return OkStatus();
}

Result<Message> Connection::Request(MessageType type, std::initializer_list<std::pair<std::string_view, Json>> members) {
  std::vector<std::pair<std::string, Json>> copied;
  for (const auto& [name, value] : members) copied.emplace_back(std::string(name), value);
  return Request(type, copied);
}

Result<Message> Connection::Request(MessageType type, const std::vector<std::pair<std::string, Json>>& members) {
  const std::uint64_t id = next_id_++;
  FrameBuilder builder(type, id);
  for (const auto& [name, value] : members) builder.Add(name, value);
  const std::string frame = builder.Finish();
  const std::string_view parts[] = {frame};
  TCC_RETURN_IF_ERROR(socket_.Send(parts, false));
  return Await(id);
}

Result<std::optional<Message>> Connection::ReceiveOne(std::chrono::milliseconds wait) {
  std::vector<bool> ready;
  const wire::PollItem items[] = {{&socket_, -1}, {&monitor_, -1}};
  TCC_RETURN_IF_ERROR(wire::PollReadable(items, wait, ready));
  if (ready[1]) TCC_RETURN_IF_ERROR(CheckHandshake());
  if (!ready[0]) return std::optional<Message>();
  TCC_ASSIGN_OR_RETURN(auto frames, socket_.Receive(true));
  if (frames.size() != 1) return Error(ErrorCode::kParse, "tccd sent a message of " + std::to_string(frames.size()) + " frames");
  auto message = wire::DecodeMessage(frames[0].data);
  if (!message.ok()) return std::move(message).error().WithContext("message from tccd");
  if (wire::IsEvent(message->type)) {
    events_.push_back(std::move(message).value());
    return std::optional<Message>();
  }
  return std::optional<Message>(std::move(message).value());
}

Result<Message> Connection::Await(std::uint64_t id) {
  const auto deadline = std::chrono::steady_clock::now() + options_.timeout;
  while (true) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      lost_ = true;
      return Error(
          ErrorCode::kUnavailable,
          "no answer from tccd at " + options_.endpoint + " within " +
              std::to_string(options_.timeout.count()) + " ms" +
              (refused_ ? ": nothing accepts connections there (is tccd running, on that port?)"
                        : ""));
    }
    TCC_ASSIGN_OR_RETURN(auto answer, ReceiveOne(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
    if (!answer) continue;
    // An answer to an earlier request that timed out is stale; skip it.
    if (answer->id != id) continue;
    if (answer->type == MessageType::kError) return wire::ErrorFromMessage(*answer);
    return std::move(answer).value();
  }
}

Result<std::optional<Message>> Connection::NextEvent(std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (events_.empty()) {
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline && wait.count() > 0) break;
    TCC_ASSIGN_OR_RETURN(auto answer, ReceiveOne(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                    std::max(deadline - now, std::chrono::steady_clock::duration::zero()))));
    (void)answer;  // a late answer to a timed-out request
    if (wait.count() == 0) break;
  }
  if (events_.empty()) return std::optional<Message>();
  Message event = std::move(events_.front());
  events_.pop_front();
  return std::optional<Message>(std::move(event));
}

}  // namespace tcc::client
