#include "tcc/wire/transport.h"

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sodium.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <utility>

namespace tcc::wire {
namespace {

Error ZmqError(std::string_view what) {
  const int error = zmq_errno();
  ErrorCode code = ErrorCode::kIo;
  if (error == EAGAIN) code = ErrorCode::kUnavailable;
  if (error == EHOSTUNREACH) code = ErrorCode::kNotFound;
  if (error == EINVAL || error == EPROTONOSUPPORT || error == ENOCOMPATPROTO) code = ErrorCode::kInvalidArgument;
  if (error == EADDRINUSE) code = ErrorCode::kUnavailable;
  return Error(code, std::string(what) + ": " + zmq_strerror(error));
}

Status SetIntOption(void* socket, int option, int value, std::string_view what) {
  if (zmq_setsockopt(socket, option, &value, sizeof value) != 0) return ZmqError(what);
  return OkStatus();
}

Result<int> GetIntOption(void* socket, int option, std::string_view what) {
  int value = 0;
  std::size_t size = sizeof value;
  if (zmq_getsockopt(socket, option, &value, &size) != 0) return ZmqError(what);
  return value;
}

}  // namespace

CurveKeyPair CurveKeyPair::Generate() {
  EnsureSodiumInitialized();
  CurveKeyPair pair;
  pair.secret_key = SecureBytes(crypto_box_SECRETKEYBYTES);
  crypto_box_keypair(pair.public_key.data(), pair.secret_key.data());
  return pair;
}

CurveKeyPair CurveKeyPair::FromDidKey(const did::KeyPair& key) {
  CurveKeyPair pair;
  pair.public_key = key.X25519Public();
  pair.secret_key = key.X25519Secret();
  return pair;
}

Result<std::shared_ptr<ZmqContext>> ZmqContext::Create(int io_threads) {
  void* handle = zmq_ctx_new();
  if (handle == nullptr) return ZmqError("create ZeroMQ context");
  std::shared_ptr<ZmqContext> context(new ZmqContext(handle));
  if (zmq_ctx_set(handle, ZMQ_IO_THREADS, io_threads) != 0) return ZmqError("set ZeroMQ I/O threads");
  return context;
}

ZmqContext::~ZmqContext() {
  // zmq_ctx_term blocks while sockets are open; every ZmqSocket holds the context, so none is.
  while (zmq_ctx_term(handle_) != 0 && zmq_errno() == EINTR) {
  }
}

namespace {

// True unless a zero-timeout poll says the descriptor is not readable (no descriptor, or an error,
// answers true, so that libzmq is asked).
bool DescriptorSignalled(int fd) {
  if (fd < 0) return true;
  pollfd descriptor{.fd = fd, .events = POLLIN, .revents = 0};
  return ::poll(&descriptor, 1, 0) != 0;
}

}  // namespace

Result<ZmqSocket> ZmqSocket::Create(std::shared_ptr<ZmqContext> context, SocketType type) {
  int zmq_type = ZMQ_ROUTER;
  if (type == SocketType::kDealer) zmq_type = ZMQ_DEALER;
  if (type == SocketType::kRep) zmq_type = ZMQ_REP;
  if (type == SocketType::kPair) zmq_type = ZMQ_PAIR;
  void* handle = zmq_socket(context->handle(), zmq_type);
  if (handle == nullptr) return ZmqError("create ZeroMQ socket");
  ZmqSocket socket(std::move(context), handle);
  TCC_RETURN_IF_ERROR(SetIntOption(handle, ZMQ_LINGER, 0, "set linger"));
  TCC_ASSIGN_OR_RETURN(socket.signal_fd_, GetIntOption(handle, ZMQ_FD, "socket descriptor"));
  return socket;
}

ZmqSocket::~ZmqSocket() { Close(); }

ZmqSocket::ZmqSocket(ZmqSocket&& other) noexcept
    : context_(std::move(other.context_)),
      handle_(std::exchange(other.handle_, nullptr)),
      signal_fd_(std::exchange(other.signal_fd_, -1)),
      may_hold_unsignalled_(other.may_hold_unsignalled_) {}

ZmqSocket& ZmqSocket::operator=(ZmqSocket&& other) noexcept {
  if (this != &other) {
    Close();
    handle_ = std::exchange(other.handle_, nullptr);
    context_ = std::move(other.context_);
    signal_fd_ = std::exchange(other.signal_fd_, -1);
    may_hold_unsignalled_ = other.may_hold_unsignalled_;
  }
  return *this;
}

void ZmqSocket::Close() {
  if (handle_ != nullptr) zmq_close(handle_);
  handle_ = nullptr;
  signal_fd_ = -1;  // libzmq's, closed with the socket
}

Status ZmqSocket::SetCurveServer(const CurveKeyPair& server, std::string_view zap_domain) {
  TCC_RETURN_IF_ERROR(SetIntOption(handle_, ZMQ_CURVE_SERVER, 1, "enable CURVE server"));
  if (zmq_setsockopt(handle_, ZMQ_CURVE_SECRETKEY, server.secret_key.data(), 32) != 0) {
    return ZmqError("set CURVE server key");
  }
  if (zmq_setsockopt(handle_, ZMQ_ZAP_DOMAIN, zap_domain.data(), zap_domain.size()) != 0) {
    return ZmqError("set ZAP domain");
  }
  return OkStatus();
}

Status ZmqSocket::SetCurveClient(const CurveKeyPair& client, const did::X25519PublicKey& server_public_key) {
  if (zmq_setsockopt(handle_, ZMQ_CURVE_SERVERKEY, server_public_key.data(), 32) != 0 ||
      zmq_setsockopt(handle_, ZMQ_CURVE_PUBLICKEY, client.public_key.data(), 32) != 0 ||
      zmq_setsockopt(handle_, ZMQ_CURVE_SECRETKEY, client.secret_key.data(), 32) != 0) {
    return ZmqError("set CURVE client keys");
  }
  return OkStatus();
}

Status ZmqSocket::SetRouterMandatory() { return SetIntOption(handle_, ZMQ_ROUTER_MANDATORY, 1, "set ROUTER mandatory"); }

Status ZmqSocket::SetMaxMessageSize(std::int64_t bytes) {
  if (zmq_setsockopt(handle_, ZMQ_MAXMSGSIZE, &bytes, sizeof bytes) != 0) return ZmqError("set max message size");
  return OkStatus();
}

Status ZmqSocket::SetHighWaterMarks(int send, int receive) {
  TCC_RETURN_IF_ERROR(SetIntOption(handle_, ZMQ_SNDHWM, send, "set send high-water mark"));
  return SetIntOption(handle_, ZMQ_RCVHWM, receive, "set receive high-water mark");
}

Status ZmqSocket::SetRoutingId(std::string_view routing_id) {
  if (zmq_setsockopt(handle_, ZMQ_ROUTING_ID, routing_id.data(), routing_id.size()) != 0) {
    return ZmqError("set routing id");
  }
  return OkStatus();
}

Status ZmqSocket::SetReconnect(bool enabled) {
  return SetIntOption(handle_, ZMQ_RECONNECT_IVL, enabled ? 100 : -1, "set reconnect interval");
}

Status ZmqSocket::SetHeartbeat(std::chrono::milliseconds interval, std::chrono::milliseconds timeout) {
  TCC_RETURN_IF_ERROR(SetIntOption(handle_, ZMQ_HEARTBEAT_IVL, static_cast<int>(interval.count()), "set heartbeat"));
  return SetIntOption(handle_, ZMQ_HEARTBEAT_TIMEOUT, static_cast<int>(timeout.count()), "set heartbeat timeout");
}

Status ZmqSocket::SetHandshakeTimeout(std::chrono::milliseconds timeout) {
  return SetIntOption(handle_, ZMQ_HANDSHAKE_IVL, static_cast<int>(timeout.count()), "set handshake timeout");
}

Result<ZmqSocket> ZmqSocket::Monitor(const std::string& endpoint, MonitorEvents events) {
  const int mask = events == MonitorEvents::kServer
                       ? ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED
                       : ZMQ_EVENT_CONNECTED | ZMQ_EVENT_CONNECT_RETRIED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_AUTH;
  if (zmq_socket_monitor(handle_, endpoint.c_str(), mask) != 0) {
    return ZmqError("monitor " + endpoint);
  }
  TCC_ASSIGN_OR_RETURN(ZmqSocket pair, ZmqSocket::Create(context_, SocketType::kPair));
  // libzmq drops monitor events beyond the pipe's capacity; the table copes, but rarely has to.
  TCC_RETURN_IF_ERROR(pair.SetHighWaterMarks(1000, 100000));
  TCC_RETURN_IF_ERROR(pair.Connect(endpoint));
  return pair;
}

std::optional<TransportEvent> ZmqSocket::ReceiveEvent() {
  while (true) {
    auto frames = Receive(true);
    if (!frames.ok()) return std::nullopt;
    // libzmq 4.x: [16-bit event, 32-bit value] then the endpoint.
    if (frames->empty() || (*frames)[0].data.size() != 6) continue;
    std::uint16_t event = 0;
    std::uint32_t value = 0;
    std::memcpy(&event, (*frames)[0].data.data(), sizeof event);
    std::memcpy(&value, (*frames)[0].data.data() + 2, sizeof value);
    using Kind = TransportEvent::Kind;
    const int number = static_cast<int>(value);
    switch (event) {
      case ZMQ_EVENT_ACCEPTED: return TransportEvent{Kind::kAccepted, number};
      case ZMQ_EVENT_DISCONNECTED: return TransportEvent{Kind::kDisconnected, number};
      case ZMQ_EVENT_CONNECTED: return TransportEvent{Kind::kConnected, number};
      case ZMQ_EVENT_CONNECT_RETRIED: return TransportEvent{Kind::kConnectRetried};
      case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: return TransportEvent{Kind::kHandshakeSucceeded};
      case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: return TransportEvent{Kind::kHandshakeFailed, -1, number};
      case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return TransportEvent{Kind::kHandshakeRefused, -1, number};
      default: break;
    }
  }
}

Status ZmqSocket::Bind(const std::string& endpoint) {
  if (zmq_bind(handle_, endpoint.c_str()) != 0) return ZmqError("bind " + endpoint);
  return OkStatus();
}

Status ZmqSocket::Connect(const std::string& endpoint) {
  if (zmq_connect(handle_, endpoint.c_str()) != 0) return ZmqError("connect " + endpoint);
  return OkStatus();
}

Result<std::string> ZmqSocket::LastEndpoint() const {
  char buffer[512];
  std::size_t size = sizeof buffer;
  if (zmq_getsockopt(handle_, ZMQ_LAST_ENDPOINT, buffer, &size) != 0) return ZmqError("read bound endpoint");
  return std::string(buffer, size > 0 ? size - 1 : 0);
}

Result<std::vector<ReceivedFrame>> ZmqSocket::Receive(bool dont_wait) {
  // Nothing can be queued when the last receive found nothing and no command has arrived since:
  // a zero-timeout poll of the descriptor answers that in one system call, where libzmq's own
  // check (its fork check, then the same poll) takes two. Monitor drains nearly always end here.
  if (dont_wait && !may_hold_unsignalled_ && !DescriptorSignalled(signal_fd_)) {
    return Error(ErrorCode::kUnavailable, "would block");
  }
  std::vector<ReceivedFrame> frames;
  while (true) {
    zmq_msg_t message;
    zmq_msg_init(&message);
    // Later parts of a message have arrived with the first, so only the first may wait.
    const int flags = frames.empty() && dont_wait ? ZMQ_DONTWAIT : 0;
    if (zmq_msg_recv(&message, handle_, flags) < 0) {
      // Nothing queued is the common answer (every drain and monitor check ends with it): a short
      // message, held inline by the string, instead of formatting the errno text each time.
      const bool nothing_queued = zmq_errno() == EAGAIN && frames.empty();
      Error error =
          nothing_queued ? Error(ErrorCode::kUnavailable, "would block") : ZmqError("receive");
      zmq_msg_close(&message);
      // A receive that found nothing has processed the socket's commands, as ZMQ_EVENTS does:
      // the next message signals the descriptor.
      may_hold_unsignalled_ = !nothing_queued;
      return error;
    }
    may_hold_unsignalled_ = true;
    ReceivedFrame& frame = frames.emplace_back();
    frame.data.assign(static_cast<const char*>(zmq_msg_data(&message)), zmq_msg_size(&message));
    // Metadata rides on the parts the peer sent, not on the routing-id part a ROUTER prepends.
    if (const char* user = zmq_msg_gets(&message, "User-Id")) frame.user_id = user;
    if (const char* peer = zmq_msg_gets(&message, "Peer-Address")) frame.peer_address = peer;
    frame.source_fd = zmq_msg_get(&message, ZMQ_SRCFD);
    const bool more = zmq_msg_more(&message) != 0;
    zmq_msg_close(&message);
    if (!more) return frames;
  }
}

Status ZmqSocket::Send(std::span<const std::string_view> parts, bool dont_wait) {
  may_hold_unsignalled_ = true;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    int flags = dont_wait ? ZMQ_DONTWAIT : 0;
    if (i + 1 < parts.size()) flags |= ZMQ_SNDMORE;
    if (zmq_send(handle_, parts[i].data(), parts[i].size(), flags) < 0) return ZmqError("send");
  }
  return OkStatus();
}

Result<bool> ZmqSocket::HasMessage() {
  Result<int> events = GetIntOption(handle_, ZMQ_EVENTS, "socket events");
  if (!events.ok()) {
    may_hold_unsignalled_ = true;
    return events.error();
  }
  // A message known to be queued will not signal again; none queued, and the next one will.
  may_hold_unsignalled_ = (*events & ZMQ_POLLIN) != 0;
  return may_hold_unsignalled_;
}

Result<int> ZmqSocket::SignalDescriptor() const {
  if (signal_fd_ < 0) return Error(ErrorCode::kIo, "socket descriptor: the socket is closed");
  return signal_fd_;
}

Result<SocketPoller> SocketPoller::Create(std::span<const PollItem> items) {
  std::vector<ZmqSocket*> sockets;
  std::vector<pollfd> descriptors;
  for (const PollItem& item : items) {
    int descriptor = item.fd;
    if (item.socket != nullptr) {
      TCC_ASSIGN_OR_RETURN(descriptor, item.socket->SignalDescriptor());
    }
    sockets.push_back(item.socket);
    descriptors.push_back({descriptor, POLLIN, 0});
  }
  return SocketPoller(std::move(sockets), std::move(descriptors));
}

Status SocketPoller::Wait(std::chrono::milliseconds timeout, std::vector<bool>& ready) {
  using Clock = std::chrono::steady_clock;
  const std::size_t count = sockets_.size();
  ready.assign(count, false);
  const Clock::time_point deadline = Clock::now() + std::max(timeout, std::chrono::milliseconds(0));
  while (true) {
    bool any = false;
    for (std::size_t i = 0; i < count; ++i) {
      ZmqSocket* socket = sockets_[i];
      if (socket == nullptr || !socket->may_hold_unsignalled()) continue;
      TCC_ASSIGN_OR_RETURN(const bool has_message, socket->HasMessage());
      if (has_message) ready[i] = any = true;
    }
    int wait_ms = -1;
    if (any) {
      wait_ms = 0;  // still look at the rest, without sleeping
    } else if (timeout.count() >= 0) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
      wait_ms = static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0));
    }
    for (pollfd& descriptor : descriptors_) descriptor.revents = 0;
    if (::poll(descriptors_.data(), static_cast<nfds_t>(count), wait_ms) < 0) {
      if (errno == EINTR) return OkStatus();
      return Error(ErrorCode::kIo, std::string("poll: ") + std::strerror(errno));
    }
    for (std::size_t i = 0; i < count; ++i) {
      if (descriptors_[i].revents == 0 || ready[i]) continue;
      ZmqSocket* socket = sockets_[i];
      if (socket == nullptr) {
        if ((descriptors_[i].revents & POLLIN) != 0) ready[i] = any = true;
        continue;
      }
      // The socket has commands: one of them may be a message's arrival, or not.
      TCC_ASSIGN_OR_RETURN(const bool has_message, socket->HasMessage());
      if (has_message) ready[i] = any = true;
    }
    if (any || wait_ms == 0 || (timeout.count() >= 0 && Clock::now() >= deadline))
      return OkStatus();
  }
}

Status PollReadable(std::span<const PollItem> items, std::chrono::milliseconds timeout,
                    std::vector<bool>& ready) {
  TCC_ASSIGN_OR_RETURN(SocketPoller poller, SocketPoller::Create(items));
  return poller.Wait(timeout, ready);
}

namespace peer_socket {

std::string RemoteAddress(int fd) {
  sockaddr_storage address{};
  socklen_t size = sizeof address;
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&address), &size) != 0) return {};
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(address).sin_addr, text, sizeof text);
  } else if (address.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(address).sin6_addr, text, sizeof text);
  } else {
    return "local";
  }
  return text;
}

void Shutdown(int fd) {
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

std::optional<std::uint64_t> BytesWritten(int fd) {
  tcp_info info{};
  socklen_t size = sizeof info;
  if (fd < 0 || ::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0 ||
      size < offsetof(tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked) {
    return std::nullopt;
  }
  int unacknowledged = 0;  // sent and not acknowledged, or not sent yet
  if (::ioctl(fd, SIOCOUTQ, &unacknowledged) != 0 || unacknowledged < 0) return std::nullopt;
  return info.tcpi_bytes_acked + static_cast<std::uint64_t>(unacknowledged);
}

std::uint64_t CurveWireSize(std::size_t payload) {
  // MESSAGE command: name (8), short nonce (8), MAC (16), flags (1); measured against libzmq 4.3
  // (tests/wire/transport_test.cpp). Frames up to 255 bytes have a 1-byte size, others 8.
  const std::uint64_t command = payload + 33;
  return command + (command <= 255 ? 2 : 9);
}

}  // namespace peer_socket

}  // namespace tcc::wire
