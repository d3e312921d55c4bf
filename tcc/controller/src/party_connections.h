// Internal: the party socket and its connections: the CURVE ROUTER socket parties connect to, its
// monitor (accepts and disconnects), and the connection table (connection_table.h) they keep
// current. Sending goes through here so that every frame is counted against the peer's share of
// unsent bytes, sent to the very connection meant (not to a reused routing id), and a peer that is
// gone is forgotten; a frame a full queue refused is counted as a dropped event (the peer catches
// up with channel.sync).
//
// Owned by the daemon's wiring; loop thread only. Close() releases the sockets at shutdown while
// the table stays readable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "channel_runtime.h"
#include "connection_table.h"
#include "requester.h"
#include "tcc/wire/transport.h"

namespace tcc::controller {

class PartyConnections {
 public:
  PartyConnections(wire::ZmqSocket socket, wire::ZmqSocket monitor, ConnectionLimits limits,
                   ConnectionTable::Hooks hooks)
      : socket_(std::move(socket)),
        monitor_(std::move(monitor)),
        table_(limits, std::move(hooks)) {}

  // For the loop's poll.
  wire::ZmqSocket& socket() { return *socket_; }
  wire::ZmqSocket& monitor() { return *monitor_; }
  ConnectionTable& table() { return table_; }

  // Applies the monitor's events to the table: before each batch of received messages and each
  // send (connection_table.h says why that suffices).
  void ApplyEvents();
  // The connection `from` asked over, if it is still there.
  Connection* Live(const Requester& from);
  // To the connection `to` asked over; dropped if it has gone.
  void Send(const Requester& to, std::string_view frame);
  // To the channel's admitted members (only those in `only`'s role), except the connection
  // `answered` asked over; returns how many got it.
  std::size_t Publish(const ChannelRuntime& channel, std::string_view frame,
                      std::optional<Role> only, const Requester* answered = nullptr);
  std::uint64_t dropped_events() const { return dropped_events_; }
  void Close();

 private:
  // false when nothing was sent (the peer was disconnected or its queue is full).
  bool Send(Connection& connection, std::string_view frame);

  std::optional<wire::ZmqSocket> socket_;
  std::optional<wire::ZmqSocket> monitor_;
  ConnectionTable table_;
  std::uint64_t dropped_events_ = 0;
};

}  // namespace tcc::controller
