#include "party_connections.h"

#include <string>
#include <vector>

namespace tcc::controller {

void PartyConnections::ApplyEvents() {
  while (auto event = monitor_->ReceiveEvent()) {
    if (event->kind == wire::TransportEvent::Kind::kAccepted) {
      table_.OnAccepted(event->fd, Clock::now());
    } else {
      table_.OnDisconnected(event->fd);
    }
  }
}

Connection* PartyConnections::Live(const Requester& from) {
  ApplyEvents();
  return table_.Find({from.routing_id, from.generation});
}

void PartyConnections::Send(const Requester& to, std::string_view frame) {
  // The asker's connection may have gone, and its routing id may now be another peer's.
  if (Connection* connection = Live(to)) Send(*connection, frame);
}

bool PartyConnections::Send(Connection& connection, std::string_view frame) {
  // Over its share of unsent bytes the peer is disconnected instead (ConnectionTable).
  if (!table_.ReserveSend(connection, frame.size())) return false;
  const std::string routing_id = connection.routing_id;
  const std::string_view parts[] = {routing_id, frame};
  Status sent = socket_->Send(parts, true);
  if (sent.ok()) return true;
  if (sent.error().code() == ErrorCode::kNotFound) {
    table_.Forget(ConnectionTable::RefOf(connection));
  } else {
    ++dropped_events_;  // the peer's queue is full; it can catch up with channel.sync
  }
  return false;
}

std::size_t PartyConnections::Publish(const ChannelRuntime& channel, std::string_view frame,
                                      std::optional<Role> only, const Requester* answered) {
  ApplyEvents();
  // Copy: a send may disconnect a peer, which edits the member set.
  const std::vector<std::string> members(channel.members.begin(), channel.members.end());
  std::size_t delivered = 0;
  for (const auto& routing_id : members) {
    Connection* connection = table_.FindByRoutingId(routing_id);
    if (connection == nullptr) continue;
    if (answered != nullptr && !answered->control &&
        connection->routing_id == answered->routing_id &&
        connection->generation == answered->generation) {
      continue;
    }
    auto role = connection->admitted.find(channel.record().channel_id);
    // Members are admitted connections; the check guards against a stale member entry.
    if (role == connection->admitted.end() || (only && role->second != *only)) continue;
    if (Send(*connection, frame)) ++delivered;
  }
  return delivered;
}

void PartyConnections::Close() {
  socket_.reset();
  monitor_.reset();
}

}  // namespace tcc::controller
