#include "connection_table.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "tcc/wire/transport.h"

namespace tcc::controller {
namespace {

// Bytes handed to ZeroMQ between two comparisons with the kernel's count: the estimate lags by
// at most this much, and a busy peer costs two system calls per this many bytes.
constexpr std::uint64_t kCheckEvery = 64 * 1024;

}  // namespace

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kProvider: return "provider";
    case Role::kConsumer: return "consumer";
    case Role::kAuditor: return "auditor";
  }
  return "auditor";
}

ConnectionTable::ConnectionTable(ConnectionLimits limits, Hooks hooks) : limits_(limits), hooks_(std::move(hooks)) {
  if (!hooks_.shutdown) hooks_.shutdown = wire::peer_socket::Shutdown;
  if (!hooks_.bytes_written) hooks_.bytes_written = wire::peer_socket::BytesWritten;
  if (!hooks_.remote_address) hooks_.remote_address = wire::peer_socket::RemoteAddress;
  if (!hooks_.forgetting) hooks_.forgetting = [](const Connection&) {};
  if (!hooks_.disconnected) hooks_.disconnected = [](std::string_view) {};
}

ConnectionTable::Transport& ConnectionTable::Track(int fd, SteadyClock::time_point now) {
  Transport transport;
  transport.generation = next_generation_++;
  transport.address = hooks_.remote_address(fd);
  transport.opened = now;
  ++per_source_[transport.address];
  unadmitted_.emplace(transport.generation, fd);
  return transports_.insert_or_assign(fd, std::move(transport)).first->second;
}

void ConnectionTable::OnAccepted(int fd, SteadyClock::time_point now) {
  // A descriptor still tracked means its disconnect was never reported; that connection is gone.
  if (transports_.contains(fd)) OnDisconnected(fd);
  const Transport& transport = Track(fd, now);
  if (per_source_[transport.address] > limits_.max_per_source) {
    Close(fd, "per_source_limit");
    return;
  }
  while (unadmitted_.size() > limits_.max_unauthenticated) Close(unadmitted_.begin()->second, "unauthenticated_evicted");
}

void ConnectionTable::OnDisconnected(int fd) {
  auto found = transports_.find(fd);
  if (found == transports_.end()) return;
  Transport& transport = found->second;
  if (!transport.routing_id.empty()) {
    auto entry = connections_.find(transport.routing_id);
    if (entry != connections_.end() && entry->second.generation == transport.generation) Forget(entry);
  }
  if (auto source = per_source_.find(transport.address); source != per_source_.end() && --source->second == 0) {
    per_source_.erase(source);
  }
  unadmitted_.erase(transport.generation);
  if (transport.admitted) --admitted_;
  transports_.erase(found);
}

void ConnectionTable::Close(int fd, std::string_view reason) {
  auto found = transports_.find(fd);
  if (found == transports_.end() || found->second.closing) return;
  Transport& transport = found->second;
  transport.closing = true;
  unadmitted_.erase(transport.generation);
  if (transport.admitted) {
    transport.admitted = false;
    --admitted_;
  }
  if (!transport.routing_id.empty()) {
    auto entry = connections_.find(transport.routing_id);
    if (entry != connections_.end() && entry->second.generation == transport.generation) Forget(entry);
  }
  hooks_.disconnected(reason);
  // The descriptor stays tracked (and counted for its source) until ZeroMQ reports it closed.
  hooks_.shutdown(fd);
}

void ConnectionTable::Forget(std::unordered_map<std::string, Connection>::iterator entry) {
  hooks_.forgetting(entry->second);
  queued_total_ -= std::min(queued_total_, entry->second.queued_bytes);
  if (auto transport = transports_.find(entry->second.fd);
      transport != transports_.end() && transport->second.generation == entry->second.generation) {
    transport->second.routing_id.clear();
  }
  connections_.erase(entry);
}

Connection* ConnectionTable::OnRequest(const std::string& routing_id, int fd, const std::string& curve_key,
                                       SteadyClock::time_point now) {
  auto tracked = transports_.find(fd);
  if (tracked == transports_.end()) {
    // Not reported by the monitor (it may have dropped events): admitted as an accept would be.
    OnAccepted(fd, now);
    tracked = transports_.find(fd);
  }
  Transport* transport = &tracked->second;
  if (transport->closing) return nullptr;
  auto entry = connections_.find(routing_id);
  if (entry != connections_.end() &&
      (entry->second.generation != transport->generation || entry->second.curve_key != curve_key)) {
    // The id now arrives over another connection or key: another peer, which inherits nothing.
    Forget(entry);
    entry = connections_.end();
  }
  if (entry == connections_.end()) {
    if (!transport->routing_id.empty() && transport->routing_id != routing_id) {
      if (auto previous = connections_.find(transport->routing_id); previous != connections_.end()) Forget(previous);
    }
    Connection connection;
    connection.routing_id = routing_id;
    connection.curve_key = curve_key;
    connection.peer_address = transport->address;
    connection.fd = fd;
    connection.generation = transport->generation;
    connection.created = now;
    connection.kernel_baseline = hooks_.bytes_written(fd).value_or(0);
    transport->routing_id = routing_id;
    entry = connections_.emplace(routing_id, std::move(connection)).first;
  }
  entry->second.last_seen = now;
  return &entry->second;
}

Connection* ConnectionTable::Find(const PeerRef& peer) {
  auto entry = connections_.find(peer.routing_id);
  if (entry == connections_.end() || entry->second.generation != peer.generation) return nullptr;
  return &entry->second;
}

void ConnectionTable::Forget(const PeerRef& peer) {
  auto entry = connections_.find(peer.routing_id);
  if (entry != connections_.end() && entry->second.generation == peer.generation) Forget(entry);
}

Connection* ConnectionTable::FindByRoutingId(std::string_view routing_id) {
  auto entry = connections_.find(std::string(routing_id));
  return entry == connections_.end() ? nullptr : &entry->second;
}

bool ConnectionTable::Admit(Connection& connection, const std::string& channel_id, Role role) {
  auto transport = transports_.find(connection.fd);
  if (transport == transports_.end() || transport->second.generation != connection.generation) return false;
  if (!transport->second.admitted) {
    if (admitted_ >= limits_.max_admitted) return false;
    transport->second.admitted = true;
    unadmitted_.erase(transport->second.generation);
    ++admitted_;
  }
  connection.admitted[channel_id] = role;
  return true;
}

void ConnectionTable::AddChallenge(Connection& connection, const std::string& channel_id, PendingChallenge challenge) {
  auto& challenges = connection.challenges;
  if (!challenges.contains(channel_id) && challenges.size() >= limits_.max_challenges_per_connection) {
    auto first = std::min_element(challenges.begin(), challenges.end(),
                                  [](const auto& a, const auto& b) { return a.second.expires < b.second.expires; });
    challenges.erase(first);
  }
  challenges.insert_or_assign(channel_id, std::move(challenge));
}

void ConnectionTable::Refresh(Connection& connection) {
  connection.checked_at = connection.handed_bytes;
  auto written = hooks_.bytes_written(connection.fd);
  if (!written) return;  // not TCP: only ZeroMQ's own high-water mark applies
  // Bytes the kernel took beyond our count are ZeroMQ's own (handshake, heartbeats): move the
  // baseline so they are not credited to later messages.
  if (*written > connection.kernel_baseline + connection.handed_bytes) {
    connection.kernel_baseline = *written - connection.handed_bytes;
  }
  const std::uint64_t queued = connection.kernel_baseline + connection.handed_bytes - *written;
  queued_total_ = queued_total_ - std::min(queued_total_, connection.queued_bytes) + queued;
  connection.queued_bytes = queued;
}

bool ConnectionTable::ReserveSend(Connection& connection, std::size_t payload) {
  connection.handed_bytes += wire::peer_socket::CurveWireSize(payload);
  if (connection.handed_bytes - connection.checked_at < kCheckEvery) return true;
  Refresh(connection);
  const bool over_share = connection.queued_bytes > limits_.max_queued_bytes_per_peer ||
                          (queued_total_ > limits_.max_queued_bytes_total && connection.queued_bytes >= kCheckEvery);
  if (!over_share) return true;
  Close(connection.fd, "slow_reader");
  return false;
}

void ConnectionTable::Sweep(SteadyClock::time_point now) {
  std::vector<std::pair<int, std::string_view>> to_close;
  for (const auto& [generation, fd] : unadmitted_) {
    if (now - transports_.at(fd).opened > limits_.unauthenticated_timeout) to_close.emplace_back(fd, "unauthenticated_timeout");
  }
  for (auto& [routing_id, connection] : connections_) {
    if (now - connection.last_seen > limits_.idle_timeout) to_close.emplace_back(connection.fd, "idle");
    if (connection.queued_bytes > 0) {
      Refresh(connection);
      if (connection.queued_bytes > limits_.max_queued_bytes_per_peer) to_close.emplace_back(connection.fd, "slow_reader");
    }
  }
  for (const auto& [fd, reason] : to_close) Close(fd, reason);
}

}  // namespace tcc::controller
