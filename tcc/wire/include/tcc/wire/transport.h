// ZeroMQ transport: RAII sockets that return Result instead of throwing or setting errno, with the
// CURVE settings TCC uses. Neither zmq.h nor any exception escapes this header.
//
// Keys: a CURVE key pair is an X25519 key pair. A TCC's CURVE server key is the X25519 form of its
// DID key (did::KeyPair::X25519Public), so a client derives the server key from the TCC's DID
// alone. Parties use a fresh CURVE client key per connection; their identity is proven in the
// channel protocol (DID challenge-response), not by the CURVE key. Every server socket names a ZAP
// domain; the ZAP handler (the daemon's Admission) decides per domain which client keys may
// connect and reports the key as the message's User-Id, to which an admission is then bound.
//
// Ownership: a ZmqContext is shared (std::shared_ptr) by its sockets and outlives them; a
// ZmqSocket owns its socket and closes it with linger 0 on destruction. Thread safety: as
// ZeroMQ's: a context is thread-safe, a socket must be used by one thread at a time.
#pragma once

#include <poll.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/result.h"
#include "tcc/common/secure_memory.h"
#include "tcc/did/key_pair.h"

namespace tcc::wire {

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

enum class SocketType { kRouter, kDealer, kRep, kPair };

// One received message part with the metadata ZeroMQ attaches to it.
struct ReceivedFrame {
  std::string data;
  std::string user_id;       // what the ZAP handler returned (empty without ZAP)
  std::string peer_address;  // the peer's IP address (TCP), empty for other transports
  // The transport connection (file descriptor) it came over, -1 for inproc. A descriptor is
  // reused after its connection closes: pair it with the socket monitor's events (below).
  int source_fd = -1;
};

// A transport connection of a monitored socket was accepted or went away (ZMQ_EVENT_ACCEPTED,
// ZMQ_EVENT_DISCONNECTED). For one descriptor the monitor reports them in order, and a
// connection's accept is reported before any of its messages can be received.
// A client's monitor (MonitorEvents::kClient) reports instead how its outgoing connections fare:
// connected, refused (ZMQ_EVENT_CONNECT_RETRIED), and the CURVE handshake's outcome. A server that
// cannot open the client's HELLO (the client was given the wrong server key, i.e. the wrong TCC
// DID) drops the connection, which the client sees as kHandshakeFailed with no detail; a ZAP
// refusal (a key the endpoint does not admit) is kHandshakeRefused with the ZAP status in `detail`.
struct TransportEvent {
  enum class Kind {
    kAccepted,
    kDisconnected,
    kConnected,
    kConnectRetried,
    kHandshakeSucceeded,
    kHandshakeFailed,   // dropped or a ZMTP error in the handshake; detail: errno or ZMTP code
    kHandshakeRefused,  // the server's ZAP handler refused the client key; detail: ZAP status
  };
  Kind kind = Kind::kAccepted;
  int fd = -1;
  int detail = 0;
};

enum class MonitorEvents { kServer, kClient };

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
  // A client's routing id (ZMQ_ROUTING_ID), before Connect; by default the server assigns one.
  Status SetRoutingId(std::string_view routing_id);
  // Whether a client reconnects by itself after losing its connection (ZMQ_RECONNECT_IVL); on by
  // default.
  Status SetReconnect(bool enabled);
  // ZMTP heartbeats: a silent or vanished peer is disconnected after `timeout`.
  Status SetHeartbeat(std::chrono::milliseconds interval, std::chrono::milliseconds timeout);
  // Outgoing connections: how long the CURVE handshake may take.
  Status SetHandshakeTimeout(std::chrono::milliseconds timeout);

  // Starts a socket monitor on `endpoint` (inproc://) and returns the PAIR socket that receives
  // its events (ReceiveEvent): accepted and closed connections (kServer), or a client's
  // connection attempts and handshakes (kClient).
  Result<ZmqSocket> Monitor(const std::string& endpoint,
                            MonitorEvents events = MonitorEvents::kServer);
  // On a monitor's PAIR socket: the next event, or nullopt when none is queued.
  std::optional<TransportEvent> ReceiveEvent();

  Status Bind(const std::string& endpoint);
  Status Connect(const std::string& endpoint);
  // The endpoint actually bound (resolves "tcp://127.0.0.1:*" to the port chosen).
  Result<std::string> LastEndpoint() const;

  // All parts of one message. With dont_wait and nothing queued: kUnavailable (without entering
  // libzmq when the last receive found nothing and the descriptor has not signalled since). A
  // ROUTER's routing-id part carries no metadata; the parts the peer sent do.
  Result<std::vector<ReceivedFrame>> Receive(bool dont_wait);
  // kUnavailable when the send would block (dont_wait), kNotFound when a ROUTER with
  // SetRouterMandatory has no such peer.
  Status Send(std::span<const std::string_view> parts, bool dont_wait);

  void* handle() const { return handle_; }

  // For SocketPoller. ZeroMQ's descriptor for a socket (ZMQ_FD) is edge-triggered: a send or a
  // receive may take in the signal of a message that then waits unannounced. So after either, the
  // socket may hold messages no poll would wake for, until a receive finds nothing queued or
  // HasMessage is asked.
  bool may_hold_unsignalled() const { return may_hold_unsignalled_; }
  // ZMQ_EVENTS: whether a message can be received now. Processes the socket's pending commands
  // (two system calls inside libzmq), after which a message that arrives signals the descriptor.
  Result<bool> HasMessage();
  // The descriptor (ZMQ_FD) that becomes readable when the socket has commands to process, read
  // once when the socket is made; an error once the socket is closed or moved from.
  Result<int> SignalDescriptor() const;

 private:
  ZmqSocket(std::shared_ptr<ZmqContext> context, void* handle)
      : context_(std::move(context)), handle_(handle) {}
  void Close();

  std::shared_ptr<ZmqContext> context_;
  void* handle_ = nullptr;
  int signal_fd_ = -1;                // ZMQ_FD, fixed for the socket's life; -1 once closed
  bool may_hold_unsignalled_ = true;  // nothing is known of a new socket
};

struct PollItem {
  ZmqSocket* socket = nullptr;  // or
  int fd = -1;
};

// SocketPoller: waits until one of a fixed set of sockets and file descriptors is readable, in one
// poll(2) over their descriptors. A socket is asked for ZMQ_EVENTS only when its descriptor
// signalled or it may hold messages that did not signal (ZmqSocket::may_hold_unsignalled); a
// socket whose last receive found nothing queued costs nothing. zmq_poll asks every socket before
// and after each sleep, two system calls each time, which on a loop serving four sockets came to
// about 50 system calls per settlement (docs/perf.md).
//
// The poller borrows its items: they outlive it, and the thread that waits is the one that uses
// the sockets.
class SocketPoller {
 public:
  static Result<SocketPoller> Create(std::span<const PollItem> items);
  // Until an item is readable or `timeout` has passed (a negative timeout waits without limit).
  // `ready` gets one flag per item, in the order given. Interrupted by a signal: returns early.
  Status Wait(std::chrono::milliseconds timeout, std::vector<bool>& ready);

 private:
  SocketPoller(std::vector<ZmqSocket*> sockets, std::vector<pollfd> descriptors)
      : sockets_(std::move(sockets)), descriptors_(std::move(descriptors)) {}

  // One entry per item in each: the socket (nullptr for a plain descriptor) and what poll(2)
  // watches for it.
  std::vector<ZmqSocket*> sockets_;
  std::vector<pollfd> descriptors_;
};

// One wait with a poller made for it: for callers that poll now and then.
Status PollReadable(std::span<const PollItem> items, std::chrono::milliseconds timeout,
                    std::vector<bool>& ready);

// The operating system's side of a transport connection ZeroMQ owns, by its descriptor. ZeroMQ
// keeps the descriptor; these only look at it or ask the kernel to end the connection.
namespace peer_socket {
// "ADDR" of the remote end (IPv4 or IPv6, no port); "local" for Unix sockets; empty when unknown.
std::string RemoteAddress(int fd);
// Ends the connection (shutdown(2), not close): ZeroMQ sees it fail, drops its queued messages and
// reports it disconnected.
void Shutdown(int fd);
// Bytes ZeroMQ has written into the kernel on this TCP connection since it opened (acknowledged
// by the peer, or still in the kernel's send queue); nullopt for other transports.
std::optional<std::uint64_t> BytesWritten(int fd);
// Bytes a message of `payload` bytes takes on a CURVE connection (ZMTP frame header, MESSAGE
// command, nonce and MAC), so that BytesWritten can be compared with what was handed to ZeroMQ.
std::uint64_t CurveWireSize(std::size_t payload);
}  // namespace peer_socket

}  // namespace tcc::wire
