// Resource exhaustion and eavesdropping against a real tccd over loopback TCP with CURVE (issue
// 17), one class per test:
//  - peers that send requests and never read: an admitted member asking channel.sync, an outsider
//    sending refused requests, a member to whom large proposals are relayed. tccd disconnects each
//    once its unsent bytes pass limits.max_queued_bytes_per_connection, and its peak memory stays
//    bounded;
//  - connections: per source address, unauthenticated ones in total and over time, and a closed
//    transport forgetting its entry at once;
//  - a routing id reused after its member left receives nothing of that member's channel.
// Under each attack the channel's legitimate provider and consumer keep settling.
#include <doctest/doctest.h>

#include <fstream>

#include "daemon_test_util.h"
#include "raw_peer.h"
#include "tcc/common/file.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/wire/dispute.h"

namespace tcc::testing {
namespace {

using client::MessageType;
using wire::FrameBuilder;

// tccd's resident and peak resident memory, in bytes (/proc/PID/status VmRSS, VmHWM).
std::pair<std::uint64_t, std::uint64_t> Memory(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  std::uint64_t rss = 0;
  std::uint64_t peak = 0;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) rss = std::stoull(line.substr(6)) * 1024;
    if (line.starts_with("VmHWM:")) peak = std::stoull(line.substr(6)) * 1024;
  }
  REQUIRE(rss > 0);
  return {rss, peak};
}

// A running tccd with metrics and the given `limits` (members of the config's "limits"), one
// channel whose provider and consumer are joined and have settled `settled` TSCs.
class Setup {
 public:
  explicit Setup(Json limits, std::uint64_t settled = 1) {
    REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
    trade.Record(dir.Sub("ledger"), 1000);
    prev = trade.channel_id;
    limits.Set("challenge_ttl_ms", std::uint64_t{1500});
    Json config = Json::Object();
    config.Set("limits", std::move(limits));
    REQUIRE(WriteFileAtomic(dir.Sub("tccd.json"), config.Serialize()).ok());
    tccd.Start(LocalTccdArguments(dir, {"--config", dir.Sub("tccd.json"), "--metrics", "127.0.0.1:0"}));
    metrics = tccd.metrics();
    provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
    consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
    for (std::uint64_t i = 0; i < settled; ++i) Settle();
  }

  // One more settlement by the legitimate parties.
  void Settle() {
    const client::IssuedTsc tsc = SettleOnce(trade, *provider, *consumer, seq + 1, prev);
    REQUIRE(tsc.seq == seq + 1);
    seq = tsc.seq;
    prev = vc::CredentialHash(tsc.tsc).value();
  }

  Json Health() { return ControlHealth(tccd, dir.Sub("data/admin.key")); }
  double Disconnects(const std::string& reason) { return Counted(metrics, "tcc_peer_disconnects_total", reason); }

  // Waits until `done` holds; false after `wait`.
  template <typename Condition>
  bool WaitFor(Condition done, std::chrono::seconds wait = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return true;
  }

  TempDir dir;
  Trade trade;
  TccdProcess tccd;
  std::string metrics;
  std::unique_ptr<client::ChannelClient> provider;
  std::unique_ptr<client::ChannelClient> consumer;
  std::uint64_t seq = 0;
  std::string prev;  // the last TSC's hash (the channel id before the first)
};

// Sends `frame` over and over, in bursts, until the connection is gone (tccd disconnected the
// peer: a DEALER without a peer refuses to queue); false if that did not happen within `wait`.
// Between bursts the legitimate parties settle: they must keep doing so under the attack.
bool Flood(Setup& setup, RawPeer& peer, const std::string& frame, std::chrono::seconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    for (int i = 0; i < 200; ++i) {
      if (!peer.TrySend(frame)) return true;
    }
    setup.Settle();
  }
  return false;
}

constexpr std::uint64_t kPeerShare = 512 * 1024;  // the smallest allowed per-connection share
// What the attacks below made tccd hold without the bound: 117 MiB to 2.8 GiB in 20 s; with it,
// tccd's peak stays within this of its size before the attack (the share, one frame, allocator
// slack).
constexpr std::uint64_t kMemoryAllowance = 48u << 20;

#if defined(__SANITIZE_ADDRESS__)
// tccd (built like this test) keeps freed memory in ASan's quarantine, 256 MiB by default, so its
// resident size says little about what it holds: the memory bound is checked in the normal build.
constexpr bool kResidentSizeMeaningful = false;
#else
constexpr bool kResidentSizeMeaningful = true;
#endif

TEST_CASE("tccd: a peer that sends requests and never reads is disconnected at its share; tccd's memory stays bounded") {
  Json limits = Json::Object();
  limits.Set("max_queued_bytes_per_connection", kPeerShare);
  Setup setup(std::move(limits), 40);  // channel.sync then answers ~70 KiB
  const auto [rss_before, peak_before] = Memory(setup.tccd.pid());
  const std::uint64_t seq_before = setup.seq;
  const double slow_before = setup.Disconnects("slow_reader");

  SUBCASE("an admitted member asking channel.sync") {
    RawPeer member(setup.tccd.listen(), *setup.trade.tcc, {.receive_high_water = 1});
    REQUIRE(member.Authenticate(setup.trade.channel_id, *setup.trade.consumer));
    const std::string sync = FrameBuilder(MessageType::kChannelSync, 3)
                                 .Add("channel", setup.trade.channel_id)
                                 .Add("after", std::uint64_t{0})
                                 .Finish();
    // Without the bound, tccd would queue ~70 KiB per answer, for as long as this goes on.
    const double refused_before = Rejected(setup.metrics, "resource_exhausted");
    CHECK(Flood(setup, member, sync, std::chrono::seconds(60)));
    CHECK(setup.WaitFor([&] { return setup.Disconnects("slow_reader") > slow_before; }));
    // Beyond 4 pages in preparation, its requests were refused rather than worked on.
    CHECK(Rejected(setup.metrics, "resource_exhausted") > refused_before);
  }
  SUBCASE("an outsider sending refused requests") {
    RawPeer outsider(setup.tccd.listen(), *setup.trade.tcc, {.receive_high_water = 1});
    const std::string refused = FrameBuilder(MessageType::kChannelState, 4).Add("channel", std::string(64, 'f')).Finish();
    CHECK(Flood(setup, outsider, refused, std::chrono::seconds(60)));
    CHECK(setup.WaitFor([&] { return setup.Disconnects("slow_reader") > slow_before; }));
  }
  SUBCASE("a member to whom large proposals are relayed") {
    RawPeer counterpart(setup.tccd.listen(), *setup.trade.tcc, {.receive_high_water = 1});
    REQUIRE(counterpart.Authenticate(setup.trade.channel_id, *setup.trade.consumer));
    Json proposal = setup.trade.Proposal(setup.seq + 1, setup.prev);
    proposal.Set("padding", std::string(100 * 1024, 'p'));  // relayed as is; never settled
    for (int i = 0; i < 1000 && setup.Disconnects("slow_reader") == slow_before; ++i) {
      REQUIRE(setup.provider->Propose(setup.trade.channel_id, proposal).ok());
      // The legitimate consumer reads its copies.
      while (Unwrap(setup.consumer->NextEvent(std::chrono::milliseconds(0)), "event")) {
      }
    }
    CHECK(setup.Disconnects("slow_reader") > slow_before);
    // The legitimate consumer reads the rest of the relayed copies before settling again, and
    // rejects the padded bill: tccd lets the provider propose a different one for the seq only
    // after a rejection.
    while (Unwrap(setup.consumer->NextEvent(std::chrono::milliseconds(500)), "event")) {
    }
    const Json rejection =
        Unwrap(wire::MakeRejection(proposal, {wire::ReasonCode::kWrongUsage, "padding"},
                                         *setup.trade.consumer),
               "rejection");
    Unwrap(setup.consumer->Reject(setup.trade.channel_id, rejection), "reject the padded bill");
  }

  const auto [rss_after, peak_after] = Memory(setup.tccd.pid());
  MESSAGE("settled during the attack: " << setup.seq - seq_before << "; tccd resident memory " << rss_before / 1024 << " KiB before, " << rss_after / 1024 << " KiB after, peak "
                                  << peak_after / 1024 << " KiB");
  if (kResidentSizeMeaningful) CHECK(peak_after < std::max(peak_before, rss_before) + kMemoryAllowance);
  CHECK(setup.Health().GetNumber("peer_queued_bytes").value() <= static_cast<double>(kPeerShare) * 2);
  // The parties' own connections were never touched.
  setup.Settle();
  CHECK(setup.tccd.Stop() == 0);
}

const std::string kPing = FrameBuilder(MessageType::kPing, 1).Finish();

double Unauthenticated(Setup& setup) { return setup.Health().GetNumber("unauthenticated_connections").value(); }

TEST_CASE("tccd: connections are capped per source address") {
  Json limits = Json::Object();
  limits.Set("max_connections_per_source", std::uint64_t{8});
  Setup setup(std::move(limits));
  const double refused_before = setup.Disconnects("per_source_limit");
  {
    // The parties hold 2 of the 8 connections 127.0.0.1 may have: 6 of these get in.
    std::vector<std::unique_ptr<RawPeer>> peers;
    for (int i = 0; i < 10; ++i) peers.push_back(std::make_unique<RawPeer>(setup.tccd.listen(), *setup.trade.tcc));
    CHECK(setup.WaitFor([&] { return setup.Disconnects("per_source_limit") == refused_before + 4; }));
    CHECK(setup.WaitFor([&] { return Unauthenticated(setup) == 6; }));
    setup.Settle();
  }
  // Their slots free up as the connections close.
  CHECK(setup.WaitFor([&] { return Unauthenticated(setup) == 0; }, std::chrono::seconds(10)));
  RawPeer later(setup.tccd.listen(), *setup.trade.tcc);
  CHECK(later.Exchange(kPing).has_value());
  CHECK(setup.Disconnects("per_source_limit") == refused_before + 4);
  setup.Settle();
  CHECK(setup.tccd.Stop() == 0);
}

TEST_CASE("tccd: unauthenticated connections are capped, short-lived and forgotten as soon as they close") {
  Json limits = Json::Object();
  limits.Set("max_unauthenticated_connections", std::uint64_t{4});
  limits.Set("unauthenticated_timeout_ms", std::uint64_t{3000});
  Setup setup(std::move(limits));
  const double evicted_before = setup.Disconnects("unauthenticated_evicted");
  {
    std::vector<std::unique_ptr<RawPeer>> peers;
    for (int i = 0; i < 6; ++i) {
      peers.push_back(std::make_unique<RawPeer>(setup.tccd.listen(), *setup.trade.tcc));
      REQUIRE(peers.back()->Exchange(kPing).has_value());
    }
    // The newest four stay; the two oldest made room.
    CHECK(Unauthenticated(setup) == 4);
    CHECK(setup.Disconnects("unauthenticated_evicted") == evicted_before + 2);
    // With every unauthenticated slot taken, a party still joins (the oldest outsider goes) and
    // settles.
    auto late = ConnectParty(setup.tccd.listen(), setup.tccd.did(), setup.trade.consumer);
    JoinWhenOpen(*late, setup.trade.channel_id);
    REQUIRE(late->State(setup.trade.channel_id).ok());
    setup.Settle();
  }
  // Closing their TCP connections forgets them at once, not after an idle timeout.
  CHECK(setup.WaitFor([&] { return Unauthenticated(setup) == 0; }, std::chrono::seconds(2)));

  const double expired_before = setup.Disconnects("unauthenticated_timeout");
  RawPeer lingering(setup.tccd.listen(), *setup.trade.tcc);
  REQUIRE(lingering.Exchange(kPing).has_value());
  CHECK(setup.WaitFor([&] { return setup.Disconnects("unauthenticated_timeout") == expired_before + 1; },
                      std::chrono::seconds(10)));
  CHECK(Unauthenticated(setup) == 0);
  setup.Settle();
  CHECK(setup.tccd.Stop() == 0);
}

TEST_CASE("tccd: a routing id reused after its member left receives nothing of the channel") {
  Setup setup(Json::Object());
  const std::string reused = "chosen-routing-id";
  {
    RawPeer member(setup.tccd.listen(), *setup.trade.tcc, {.routing_id = reused});
    REQUIRE(member.Authenticate(setup.trade.channel_id, *setup.trade.consumer));
    setup.Settle();
    auto event = member.Next(std::chrono::seconds(10));  // the member did receive events
    REQUIRE(event.has_value());
  }
  // The member has gone. Someone connects with its routing id and never authenticates.
  RawPeer eavesdropper(setup.tccd.listen(), *setup.trade.tcc, {.routing_id = reused});
  CHECK(setup.WaitFor([&] {
    const Json health = setup.Health();
    return health.GetNumber("unauthenticated_connections").value() == 1 && health.GetNumber("connections").value() == 2;
  }));
  for (int i = 0; i < 3; ++i) setup.Settle();  // events go to every member of the channel
  REQUIRE(setup.provider->Propose(setup.trade.channel_id, setup.trade.Proposal(setup.seq + 1, setup.prev)).ok());
  AwaitEvent(*setup.consumer, MessageType::kEventProposal);  // delivered to the real consumer by now
  const auto overheard = eavesdropper.Next(std::chrono::milliseconds(500));
  CHECK_MESSAGE(!overheard.has_value(), "received " << wire::MessageTypeName(overheard->type));
  // Asking is no better: the id starts unadmitted.
  auto asked = eavesdropper.Exchange(
      FrameBuilder(MessageType::kChannelState, 9).Add("channel", setup.trade.channel_id).Finish());
  REQUIRE(asked.has_value());
  CHECK(asked->type == MessageType::kError);
  CHECK(setup.tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
