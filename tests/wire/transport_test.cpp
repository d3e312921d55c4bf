// peer_socket against real libzmq: what a CURVE connection puts on the wire per message, as the
// kernel counts it, is what CurveWireSize says (the send accounting relies on it).
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include "tcc/wire/transport.h"

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

}  // namespace
}  // namespace tcc::wire
