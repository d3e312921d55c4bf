// ZeroMQ transport: RAII sockets that return Result instead of throwing or setting errno, with the
// CURVE settings TCC uses. Neither zmq.h nor any exception escapes this header.
//
// Keys: a CURVE key pair is an X25519 key pair. A TCC's CURVE server key is the X25519 form of its
// DID key (did::KeyPair::X25519Public), so a client derives the server key from the TCC's DID
// alone. Parties use a fresh CURVE client key per connection; their identity is proven in the
// channel protocol (DID challenge-response), not by the CURVE key. Every server socket names a ZAP
// domain; the ZAP handler (server.cpp) decides per domain which client keys may connect and
// reports the key as the message's User-Id, to which an admission is then bound.
//
// Ownership: a ZmqContext is shared (std::shared_ptr) by its sockets and outlives them; a
// ZmqSocket owns its socket and closes it with linger 0 on destruction. Thread safety: as
// ZeroMQ's: a context is thread-safe, a socket must be used by one thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/result.h"
#include "tcc/common/secure_memory.h"
#include "tcc/did/key_pair.h"

namespace tcc::controller {

struct CurveKeyPair {
  did::X25519PublicKey public_key{};
  SecureBytes secret_key;  // 32 bytes

  static CurveKeyPair Generate();
  // The X25519 form of a DID key: the TCC's server key, or an operator's control-client key.
  static CurveKeyPair FromDidKey(const did::KeyPair& key);
};

class ZmqContext {
 public:
  static Result<std::shared_ptr<ZmqContext>> Create(int io_threads = 1);
  ~ZmqContext();
  ZmqContext(const ZmqContext&) = delete;
  ZmqContext& operator=(const ZmqContext&) = delete;
  void* handle() const { return handle_; }

 private:
  explicit ZmqContext(void* handle) : handle_(handle) {}
  void* handle_;
};

enum class SocketType { kRouter, kDealer, kRep };

// One received message part with the metadata ZeroMQ attaches to it.
struct ReceivedFrame {
  std::string data;
  std::string user_id;       // what the ZAP handler returned (empty without ZAP)
  std::string peer_address;  // the peer's IP address (TCP), empty for other transports
};

class ZmqSocket {
 public:
  static Result<ZmqSocket> Create(std::shared_ptr<ZmqContext> context, SocketType type);
  ~ZmqSocket();
  ZmqSocket(ZmqSocket&& other) noexcept;
  ZmqSocket& operator=(ZmqSocket&& other) noexcept;

  Status SetCurveServer(const CurveKeyPair& server, std::string_view zap_domain);
  Status SetCurveClient(const CurveKeyPair& client, const did::X25519PublicKey& server_public_key);
  // ROUTER: report unroutable sends (EHOSTUNREACH) instead of dropping them silently.
  Status SetRouterMandatory();
  // Drops a peer whose incoming message would exceed this size (ZMQ_MAXMSGSIZE).
  Status SetMaxMessageSize(std::int64_t bytes);
  Status SetHighWaterMarks(int send, int receive);
  // ZMTP heartbeats: a silent or vanished peer is disconnected after `timeout`.
  Status SetHeartbeat(std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
  // Outgoing connections: how long the CURVE handshake may take.
  Status SetHandshakeTimeout(std::chrono::milliseconds timeout);

  Status Bind(const std::string& endpoint);
  Status Connect(const std::string& endpoint);
  // The endpoint actually bound (resolves "tcp://127.0.0.1:*" to the port chosen).
  Result<std::string> LastEndpoint() const;

  // All parts of one message. With dont_wait and nothing queued: kUnavailable. A ROUTER's
  // routing-id part carries no metadata; the parts the peer sent do.
  Result<std::vector<ReceivedFrame>> Receive(bool dont_wait);
  // kUnavailable when the send would block (dont_wait), kNotFound when a ROUTER with
  // SetRouterMandatory has no such peer.
  Status Send(std::span<const std::string_view> parts, bool dont_wait);

  void* handle() const { return handle_; }

 private:
  ZmqSocket(std::shared_ptr<ZmqContext> context, void* handle)
      : context_(std::move(context)), handle_(handle) {}
  void Close();

  std::shared_ptr<ZmqContext> context_;
  void* handle_ = nullptr;
};

// Waits until one of the sockets or file descriptors is readable. `ready` gets one flag per item.
struct PollItem {
  const ZmqSocket* socket = nullptr;  // or
  int fd = -1;
};
Status PollReadable(std::span<const PollItem> items, std::chrono::milliseconds timeout,
                    std::vector<bool>& ready);

}  // namespace tcc::controller
