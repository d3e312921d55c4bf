// Internal: ConnectionTable, the party socket's peers as tccd knows them, and the bounds on what
// any peer can make tccd hold.
//
// ZeroMQ hides connections behind routing ids that clients may choose themselves, and it keeps
// queuing what tccd sends to a peer that does not read. The table therefore follows the transport
// connections themselves (the socket monitor's accepts and disconnects, and the descriptor each
// message arrived on) and binds every routing id to the one connection it came over, and that to
// the CURVE key that carried it. When that connection goes away, or the id turns up on another
// connection or key, the entry is forgotten with all its admissions: a reused id starts
// unadmitted and is sent nothing meant for its predecessor.
//
// Bounds (DaemonLimits): connections per source address, unadmitted connections in total (the
// oldest is closed when a new one arrives over the cap) and their lifetime, admitted connections,
// pending challenges per connection, and the bytes handed to ZeroMQ for a peer that the kernel
// has not taken yet (per peer and in total). A peer over a bound is disconnected (its transport is
// shut down, which makes ZeroMQ free its queue), never silently kept.
//
// Ordering it relies on (libzmq 4.3): a connection's accept is reported before its ZAP request is
// sent, hence before any of its messages can be received, and its disconnect before its
// descriptor is closed. So the monitor is drained before each send, and once before each batch of
// received messages: every connection that can send in the batch had its ZAP request answered
// before the drain. A message received later in the batch from a connection that closed after
// the drain is still attributed to that connection (the table has not heard of any successor on
// its descriptor), and a routing id that another connection took over meanwhile arrives with
// that connection's generation, which OnRequest treats as a new peer. One window remains:
// a connection shut down by the table in the microseconds between libzmq closing an old descriptor
// and the table hearing of it could hit a new connection that reused that number; that peer
// reconnects and authenticates again.
//
// Owned by the daemon's loop; single-threaded (loop thread only).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tcc/did/challenge.h"

namespace tcc::controller {

using SteadyClock = std::chrono::steady_clock;

enum class Role { kProvider, kConsumer, kAuditor };
std::string_view RoleName(Role role);

struct PendingChallenge {
  did::Challenge challenge;
  Role role = Role::kAuditor;
  SteadyClock::time_point expires;
};

// A peer, as the routing id its requests carry, bound to one transport connection.
struct Connection {
  std::string routing_id;
  std::string curve_key;  // hex, from the ZAP handler
  std::string peer_address;
  int fd = -1;
  std::uint64_t generation = 0;  // of the transport connection
  std::map<std::string, Role, std::less<>> admitted;
  // Kept after they expire (an answer then is told so) until replaced, evicted by newer ones or
  // the connection goes.
  std::map<std::string, PendingChallenge, std::less<>> challenges;
  SteadyClock::time_point created;
  SteadyClock::time_point last_seen;
  // Requests being worked on for it (challenges, proofs, sync pages, evidence), and of those the
  // ones whose answers may be large.
  std::size_t requests_in_flight = 0;
  std::size_t large_requests_in_flight = 0;

  // Send accounting: wire bytes handed to ZeroMQ, and the kernel's written-bytes count they are
  // compared with (see ConnectionTable::ReserveSend).
  std::uint64_t handed_bytes = 0;
  std::uint64_t kernel_baseline = 0;
  std::uint64_t checked_at = 0;   // handed_bytes at the last comparison
  std::uint64_t queued_bytes = 0;  // estimate at the last comparison
};

// Who an answer goes to: the peer as it was when its request arrived.
struct PeerRef {
  std::string routing_id;
  std::uint64_t generation = 0;
};

struct ConnectionLimits {
  std::size_t max_admitted = 100000;
  std::size_t max_unauthenticated = 1024;
  std::size_t max_per_source = 256;
  std::size_t max_challenges_per_connection = 64;
  std::chrono::milliseconds unauthenticated_timeout{30000};
  std::chrono::milliseconds idle_timeout{600000};
  std::uint64_t max_queued_bytes_per_peer = 8u << 20;
  std::uint64_t max_queued_bytes_total = 256u << 20;
};

class ConnectionTable {
 public:
  struct Hooks {
    // An entry is about to go (its admissions end); the daemon removes it from its channels.
    std::function<void(const Connection&)> forgetting;
    // tccd ended a connection, and why (a bounded set: see Close callers).
    std::function<void(std::string_view reason)> disconnected;
    // Ends a transport connection; peer_socket::Shutdown unless a test observes it.
    std::function<void(int fd)> shutdown;
    // Bytes the kernel took from ZeroMQ on a connection; peer_socket::BytesWritten by default.
    std::function<std::optional<std::uint64_t>(int fd)> bytes_written;
    // The remote address of a connection; peer_socket::RemoteAddress by default.
    std::function<std::string(int fd)> remote_address;
  };

  ConnectionTable(ConnectionLimits limits, Hooks hooks);

  // Socket monitor events.
  void OnAccepted(int fd, SteadyClock::time_point now);
  void OnDisconnected(int fd);

  // A request arrived over `fd`: its peer's entry, created or renewed; nullptr when the request
  // is to be dropped unanswered (its connection is being closed).
  Connection* OnRequest(const std::string& routing_id, int fd, const std::string& curve_key,
                        SteadyClock::time_point now);

  // The entry `peer` names, if that very connection is still here.
  Connection* Find(const PeerRef& peer);
  Connection* FindByRoutingId(std::string_view routing_id);
  static PeerRef RefOf(const Connection& connection) { return {connection.routing_id, connection.generation}; }

  // Forgets the entry (its connection is unroutable) without touching the transport.
  void Forget(const PeerRef& peer);

  // Records an admission; false (nothing changed) when this would exceed the admitted connections.
  bool Admit(Connection& connection, const std::string& channel_id, Role role);
  // Stores a challenge, evicting the one expiring first when the connection has too many.
  void AddChallenge(Connection& connection, const std::string& channel_id, PendingChallenge challenge);

  // Before handing a message of `payload` bytes to ZeroMQ for this peer. false: the peer holds
  // more than its share and was disconnected; do not send.
  bool ReserveSend(Connection& connection, std::size_t payload);

  // Ends idle and over-age unadmitted connections and refreshes the queued-bytes estimates.
  void Sweep(SteadyClock::time_point now);

  std::size_t admitted_count() const { return admitted_; }
  std::size_t unauthenticated_count() const { return unadmitted_.size(); }
  std::size_t entries() const { return connections_.size(); }
  std::uint64_t queued_bytes() const { return queued_total_; }

 private:
  struct Transport {
    std::uint64_t generation = 0;
    std::string address;
    SteadyClock::time_point opened;
    std::string routing_id;  // empty until its first request
    bool admitted = false;
    bool closing = false;
  };

  Transport& Track(int fd, SteadyClock::time_point now);
  void Close(int fd, std::string_view reason);
  void Forget(std::unordered_map<std::string, Connection>::iterator entry);
  void Refresh(Connection& connection);

  ConnectionLimits limits_;
  Hooks hooks_;
  std::unordered_map<int, Transport> transports_;
  std::map<std::uint64_t, int> unadmitted_;  // generation -> fd, oldest first
  std::unordered_map<std::string, std::size_t> per_source_;
  std::unordered_map<std::string, Connection> connections_;  // by routing id
  std::uint64_t next_generation_ = 1;
  std::size_t admitted_ = 0;
  std::uint64_t queued_total_ = 0;
};

}  // namespace tcc::controller
