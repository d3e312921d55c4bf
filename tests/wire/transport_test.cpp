// peer_socket against real libzmq: what a CURVE connection puts on the wire per message, as the
// kernel counts it, is what CurveWireSize says (the send accounting relies on it). SocketPoller
// against real libzmq sockets: no queued message goes unreported.
#include "tcc/wire/transport.h"

#include <doctest/doctest.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tcc::wire {
namespace {

TEST_CASE("peer_socket: the kernel's written bytes grow by CurveWireSize per message; Shutdown ends the connection") {
  auto context = ZmqContext::Create(1).value();
  ZmqSocket server = ZmqSocket::Create(context, SocketType::kRouter).value();
  const CurveKeyPair server_key = CurveKeyPair::Generate();
  REQUIRE(server.SetCurveServer(server_key, "test").ok());
  auto monitor = server.Monitor("inproc://transport-test.monitor");
  REQUIRE(monitor.ok());
  REQUIRE(server.Bind("tcp://127.0.0.1:*").ok());
  ZmqSocket client = ZmqSocket::Create(context, SocketType::kDealer).value();
  REQUIRE(client.SetCurveClient(CurveKeyPair::Generate(), server_key.public_key).ok());
  REQUIRE(client.Connect(server.LastEndpoint().value()).ok());
  const std::string_view hello[] = {"hello"};
  REQUIRE(client.Send(hello, false).ok());
  auto request = server.Receive(false);
  REQUIRE(request.ok());
  REQUIRE(request->size() == 2);
  const int fd = (*request)[1].source_fd;
  REQUIRE(fd >= 0);
  CHECK(peer_socket::RemoteAddress(fd) == "127.0.0.1");
  auto accepted = monitor->ReceiveEvent();
  REQUIRE(accepted.has_value());
  CHECK(accepted->kind == TransportEvent::Kind::kAccepted);
  CHECK(accepted->fd == fd);

  const auto settle = [&](std::size_t expected_messages) {
    for (std::size_t i = 0; i < expected_messages; ++i) REQUIRE(client.Receive(false).ok());
  };
  const std::uint64_t before = peer_socket::BytesWritten(fd).value();
  std::uint64_t expected = 0;
  const std::string routing_id = (*request)[0].data;
  for (std::size_t size : {0, 10, 200, 222, 223, 300, 5000, 100000}) {
    const std::string payload(size, 'x');
    const std::string_view parts[] = {routing_id, payload};
    REQUIRE(server.Send(parts, false).ok());
    expected += peer_socket::CurveWireSize(size);
  }
  settle(8);
  // Everything was delivered, so the kernel has taken all of it.
  std::uint64_t written = 0;
  for (int i = 0; i < 100 && (written = peer_socket::BytesWritten(fd).value()) - before < expected; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(written - before == expected);

  peer_socket::Shutdown(fd);
  std::optional<TransportEvent> gone;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = monitor->ReceiveEvent();
    if (!gone) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(gone.has_value());
  CHECK(gone->kind == TransportEvent::Kind::kDisconnected);
  CHECK(gone->fd == fd);
}

// The daemon's loop sleeps in a SocketPoller. ZeroMQ's descriptors are edge-triggered, so a poller
// that only slept on them would miss messages whose signal a send, a receive or an events query
// had already taken in; each such case below would then sleep through the ten-second timeout and
// report nothing ready.
TEST_CASE("SocketPoller: reports queued messages whose signal was taken in, sleeps otherwise") {
  using std::chrono::milliseconds;
  auto context = ZmqContext::Create(1).value();
  ZmqSocket writer = ZmqSocket::Create(context, SocketType::kPair).value();
  ZmqSocket reader = ZmqSocket::Create(context, SocketType::kPair).value();
  REQUIRE(reader.Bind("inproc://transport-test.poller").ok());
  REQUIRE(writer.Connect("inproc://transport-test.poller").ok());
  const int plain = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  REQUIRE(plain >= 0);
  const PollItem items[] = {{&reader, -1}, {nullptr, plain}};
  SocketPoller poller = SocketPoller::Create(items).value();
  std::vector<bool> ready;
  const milliseconds long_wait(10000);
  const std::string_view one[] = {"one"};
  const std::string_view two[] = {"two"};

  // Nothing queued: the wait lasts its timeout and reports nothing.
  auto started = std::chrono::steady_clock::now();
  REQUIRE(poller.Wait(milliseconds(50), ready).ok());
  CHECK(std::chrono::steady_clock::now() - started >= milliseconds(50));
  CHECK_FALSE(ready[0]);
  CHECK_FALSE(ready[1]);
  CHECK_FALSE(reader.may_hold_unsignalled());

  // A message arrives: its signal wakes the wait.
  REQUIRE(writer.Send(one, false).ok());
  REQUIRE(poller.Wait(long_wait, ready).ok());
  CHECK(ready[0]);
  CHECK_FALSE(ready[1]);
  // Asking took in the signal, and the message is still queued: the next wait reports it again.
  CHECK(reader.may_hold_unsignalled());
  REQUIRE(poller.Wait(long_wait, ready).ok());
  CHECK(ready[0]);

  // Received, and a receive that finds nothing: nothing is reported.
  REQUIRE(reader.Receive(true).ok());
  CHECK(reader.Receive(true).error().code() == ErrorCode::kUnavailable);
  CHECK_FALSE(reader.may_hold_unsignalled());
  REQUIRE(poller.Wait(milliseconds(0), ready).ok());
  CHECK_FALSE(ready[0]);

  // Two messages, one received: the second came with the first's signal and is still reported.
  REQUIRE(writer.Send(one, false).ok());
  REQUIRE(writer.Send(two, false).ok());
  REQUIRE(poller.Wait(long_wait, ready).ok());
  REQUIRE(ready[0]);
  REQUIRE(reader.Receive(true).ok());
  REQUIRE(poller.Wait(long_wait, ready).ok());
  CHECK(ready[0]);
  REQUIRE(reader.Receive(true).ok());

  // The reader's own send processes its commands, a message's arrival among them.
  REQUIRE(writer.Send(one, false).ok());
  CHECK(reader.HasMessage().value());
  REQUIRE(reader.Receive(true).ok());
  CHECK_FALSE(reader.HasMessage().value());
  REQUIRE(writer.Send(two, false).ok());
  REQUIRE(reader.Send(one, true).ok());
  CHECK(reader.may_hold_unsignalled());
  REQUIRE(poller.Wait(long_wait, ready).ok());
  CHECK(ready[0]);
  REQUIRE(reader.Receive(true).ok());
  REQUIRE(writer.Receive(true).ok());

  // A plain descriptor is reported when readable, beside a socket with nothing queued.
  CHECK(reader.Receive(true).error().code() == ErrorCode::kUnavailable);
  const std::uint64_t wake = 1;
  REQUIRE(write(plain, &wake, sizeof wake) == sizeof wake);
  REQUIRE(poller.Wait(long_wait, ready).ok());
  CHECK_FALSE(ready[0]);
  CHECK(ready[1]);
  close(plain);
}

// Receive(true) answers "nothing" from the descriptor alone once a receive has found nothing;
// what arrives after that must still be received, in process and across the I/O thread.
TEST_CASE(
    "Receive without waiting: messages that arrive after a receive found nothing are received") {
  auto context = ZmqContext::Create(1).value();
  const auto receive_within = [](ZmqSocket& socket, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto frames = socket.Receive(true);
      if (frames.ok()) return frames.value().back().data;
      if (frames.error().code() != ErrorCode::kUnavailable) return std::string("error");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::string("nothing");
  };
  const std::string_view one[] = {"one"};
  const std::string_view two[] = {"two"};
  for (const char* endpoint : {"inproc://transport-test.receive", "tcp://127.0.0.1:*"}) {
    CAPTURE(endpoint);
    ZmqSocket reader = ZmqSocket::Create(context, SocketType::kPair).value();
    ZmqSocket writer = ZmqSocket::Create(context, SocketType::kPair).value();
    REQUIRE(reader.Bind(endpoint).ok());
    REQUIRE(writer.Connect(reader.LastEndpoint().value()).ok());
    for (int round = 0; round < 3; ++round) {
      CAPTURE(round);
      CHECK(reader.Receive(true).error().code() == ErrorCode::kUnavailable);
      CHECK_FALSE(reader.may_hold_unsignalled());
      REQUIRE(writer.Send(one, false).ok());
      CHECK(receive_within(reader, std::chrono::milliseconds(10000)) == "one");
      // Two at once: the second rides on the first's signal and is received after it.
      REQUIRE(writer.Send(one, false).ok());
      REQUIRE(writer.Send(two, false).ok());
      CHECK(receive_within(reader, std::chrono::milliseconds(10000)) == "one");
      CHECK(receive_within(reader, std::chrono::milliseconds(10000)) == "two");
    }
  }
}

}  // namespace
}  // namespace tcc::wire
