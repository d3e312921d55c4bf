// Connection: one CURVE-encrypted ZeroMQ connection to a tccd endpoint (party or control), with
// request/answer matching and a queue of the events the daemon pushes meanwhile.
//
// The server key is the X25519 form of the TCC's DID key, so knowing the TCC's DID is enough to
// reach it securely. A wrong DID makes the CURVE handshake fail: a socket monitor sees it and the
// pending request fails within about a second with kPermissionDenied ("the server's key does not
// match the DID given"), as does a key the endpoint refuses (ZAP), instead of waiting out the
// timeout. The client
// key is fresh per connection for parties, or the X25519 form of an admin DID key for the control
// endpoint (the daemon admits only configured admin keys there).
//
// Ownership: the connection owns its socket and context. Thread safety: none; use one connection
// per thread (or serialize calls).
#pragma once

#include <chrono>
#include <deque>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"

namespace tcc::client {

using wire::Message;
using wire::MessageType;

struct ConnectOptions {
  std::string endpoint;  // e.g. tcp://127.0.0.1:7700
  std::string tcc_did;   // did:key of the TCC: its key is the CURVE server key
  // The CURVE client key; empty: a fresh one (parties). Operators pass their admin key's form.
  std::optional<wire::CurveKeyPair> client_key;
  std::chrono::milliseconds timeout{10000};  // per request
};

class Connection {
 public:
  static Result<std::unique_ptr<Connection>> Open(ConnectOptions options);

  // Sends a request and waits for its answer. Returns the reply message, or the error an error
  // frame carries, or kUnavailable when no answer came within the timeout. Events that arrive
  // meanwhile are kept for NextEvent.
  Result<Message> Request(MessageType type, std::initializer_list<std::pair<std::string_view, Json>> members);
  Result<Message> Request(MessageType type, const std::vector<std::pair<std::string, Json>>& members);

  // The next event, waiting up to `wait`; nullopt when none came.
  Result<std::optional<Message>> NextEvent(std::chrono::milliseconds wait);

  const ConnectOptions& options() const { return options_; }
  // True once a request went unanswered for the whole timeout: tccd is gone or unreachable, and
  // callers should open a new connection rather than trust this one. Errors tccd itself sent
  // (error frames) never set it.
  bool lost() const { return lost_; }

 private:
  Connection(ConnectOptions options, wire::ZmqSocket socket, wire::ZmqSocket monitor)
      : options_(std::move(options)), socket_(std::move(socket)), monitor_(std::move(monitor)) {}
  // Reads the monitor's events: an error once the handshake has failed for good.
  Status CheckHandshake();
  Result<Message> Await(std::uint64_t id);
  // Receives one frame (waiting up to `wait`): an event goes to the queue; an answer is returned.
  Result<std::optional<Message>> ReceiveOne(std::chrono::milliseconds wait);

  ConnectOptions options_;
  wire::ZmqSocket socket_;
  wire::ZmqSocket monitor_;  // the socket's connection and handshake events
  int handshake_failures_ = 0;     // in a row, since the last successful handshake
  bool refused_ = false;           // a connection attempt was refused and none has connected since
  std::uint64_t next_id_ = 1;
  std::deque<Message> events_;
  bool lost_ = false;
};

}  // namespace tcc::client
