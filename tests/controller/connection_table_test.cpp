// ConnectionTable alone: transport events, entries, caps and send accounting, with the kernel's
// side (shutdown, written bytes, addresses) observed through its hooks.
#include "connection_table.h"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "tcc/wire/transport.h"

namespace tcc::controller {
namespace {

using namespace std::chrono_literals;

struct Kernel {
  std::map<int, std::string> addresses;
  std::map<int, std::uint64_t> written;  // what the kernel took per descriptor
  std::set<int> shut;
  std::vector<std::string> reasons;
  std::vector<std::string> forgotten;

  ConnectionTable::Hooks Hooks() {
    return {.forgetting = [this](const Connection& c) { forgotten.push_back(c.routing_id); },
            .disconnected = [this](std::string_view reason) { reasons.emplace_back(reason); },
            .shutdown = [this](int fd) { shut.insert(fd); },
            .bytes_written = [this](int fd) -> std::optional<std::uint64_t> { return written[fd]; },
            .remote_address = [this](int fd) { return addresses.contains(fd) ? addresses[fd] : "10.0.0.1"; }};
  }
};

const SteadyClock::time_point kStart{};

TEST_CASE("ConnectionTable: an entry is bound to its transport connection and key") {
  Kernel kernel;
  ConnectionTable table({}, kernel.Hooks());
  table.OnAccepted(5, kStart);
  Connection* entry = table.OnRequest("peer", 5, "key-a", kStart);
  REQUIRE(entry != nullptr);
  REQUIRE(table.Admit(*entry, "channel", Role::kConsumer));
  const PeerRef ref = ConnectionTable::RefOf(*entry);
  CHECK(table.admitted_count() == 1);
  CHECK(table.unauthenticated_count() == 0);

  SUBCASE("the same id under another key is another peer") {
    Connection* other = table.OnRequest("peer", 5, "key-b", kStart);
    REQUIRE(other != nullptr);
    CHECK(other->admitted.empty());
    CHECK(kernel.forgotten == std::vector<std::string>{"peer"});
  }
  SUBCASE("the connection closing forgets the entry; the id on a new connection starts unadmitted") {
    table.OnDisconnected(5);
    CHECK(table.Find(ref) == nullptr);
    CHECK(table.admitted_count() == 0);
    table.OnAccepted(5, kStart);  // the descriptor is reused
    Connection* reused = table.OnRequest("peer", 5, "key-a", kStart);
    REQUIRE(reused != nullptr);
    CHECK(reused->admitted.empty());
    CHECK(table.Find(ref) == nullptr);  // answers for the old connection go nowhere
  }
}

TEST_CASE("ConnectionTable: connections per source and unauthenticated ones are capped") {
  Kernel kernel;
  ConnectionLimits limits;
  limits.max_per_source = 2;
  limits.max_unauthenticated = 3;
  limits.unauthenticated_timeout = 10s;
  ConnectionTable table(limits, kernel.Hooks());
  kernel.addresses = {{1, "a"}, {2, "a"}, {3, "a"}, {4, "b"}, {5, "c"}};
  for (int fd = 1; fd <= 3; ++fd) table.OnAccepted(fd, kStart);
  CHECK(kernel.shut == std::set<int>{3});
  CHECK(kernel.reasons == std::vector<std::string>{"per_source_limit"});
  CHECK(table.OnRequest("x", 3, "k", kStart) == nullptr);  // closing: its requests are dropped

  table.OnAccepted(4, kStart + 1s);
  table.OnAccepted(5, kStart + 2s);  // the fourth unauthenticated one: the oldest (1) goes
  CHECK(kernel.shut == std::set<int>{1, 3});
  CHECK(table.unauthenticated_count() == 3);

  // An admitted connection leaves the unauthenticated count and is not timed out.
  Connection* admitted = table.OnRequest("admitted", 4, "k", kStart + 2s);
  REQUIRE(table.Admit(*admitted, "channel", Role::kProvider));
  table.Sweep(kStart + 13s);
  CHECK(kernel.shut == std::set<int>{1, 2, 3, 5});
  CHECK(kernel.reasons.back() == "unauthenticated_timeout");
  CHECK(table.unauthenticated_count() == 0);
  CHECK(table.admitted_count() == 1);

  // The source's count drops only when the transport is reported gone.
  table.OnDisconnected(1);
  table.OnDisconnected(3);
  kernel.addresses.emplace(6, std::string(1, 'a'));
  table.OnAccepted(6, kStart + 12s);  // source "a" had 2 (1 and 3): now 1 of its 2
  CHECK_FALSE(kernel.shut.contains(6));
}

TEST_CASE("ConnectionTable: a peer whose sent bytes the kernel does not take is disconnected at its share") {
  Kernel kernel;
  ConnectionLimits limits;
  limits.max_queued_bytes_per_peer = 1 << 20;
  limits.max_queued_bytes_total = 4 << 20;
  ConnectionTable table(limits, kernel.Hooks());
  table.OnAccepted(7, kStart);
  kernel.written[7] = 300;  // the handshake
  Connection* peer = table.OnRequest("reader", 7, "k", kStart);
  REQUIRE(peer != nullptr);

  // A reader: the kernel takes what is handed over (plus ZeroMQ's own heartbeats).
  std::uint64_t handed = 0;
  for (int i = 0; i < 2000; ++i) {
    REQUIRE(table.ReserveSend(*peer, 10000));
    handed += wire::peer_socket::CurveWireSize(10000);
    kernel.written[7] = 300 + handed + 42 * static_cast<std::uint64_t>(i / 100);
  }
  CHECK(table.queued_bytes() <= wire::peer_socket::CurveWireSize(10000));  // at most the last one

  // It stops reading: once over 1 MiB it is shut down and forgotten, and nothing is sent.
  std::size_t sent = 0;
  while (table.ReserveSend(*peer, 10000)) ++sent;
  CHECK(sent * 10000 >= (1u << 20) - 70000);
  CHECK(sent * 10000 <= (1u << 20) + 70000);
  CHECK(kernel.shut == std::set<int>{7});
  CHECK(kernel.reasons == std::vector<std::string>{"slow_reader"});
  CHECK(table.queued_bytes() == 0);  // forgotten with its entry
}

TEST_CASE("ConnectionTable: challenges per connection are capped, the first to expire goes") {
  Kernel kernel;
  ConnectionLimits limits;
  limits.max_challenges_per_connection = 2;
  ConnectionTable table(limits, kernel.Hooks());
  table.OnAccepted(3, kStart);
  Connection* peer = table.OnRequest("p", 3, "k", kStart);
  table.AddChallenge(*peer, "c1", {.expires = kStart + 5s});
  table.AddChallenge(*peer, "c2", {.expires = kStart + 3s});
  table.AddChallenge(*peer, "c3", {.expires = kStart + 9s});
  CHECK(peer->challenges.size() == 2);
  CHECK(peer->challenges.contains("c1"));
  CHECK(peer->challenges.contains("c3"));
  // Expired ones stay (an answer is told it came too late) until replaced or evicted. (Admitted,
  // so that the sweep does not close the connection itself.)
  REQUIRE(table.Admit(*peer, "c0", Role::kConsumer));
  table.Sweep(kStart + 60s);
  CHECK(peer->challenges.size() == 2);
}

}  // namespace
}  // namespace tcc::controller
