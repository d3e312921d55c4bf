// Crash loop: three channels settle continuously through a real tccd (one thread per channel,
// provider and consumer over loopback TCP with CURVE) while the test kills tccd with SIGKILL at a
// random moment 20 times in a row and restarts it on the same endpoints. After each restart, with
// the parties paused: every TSC a client received an acknowledgement for is in the store, with the
// hash acknowledged, and verifies; each channel's sequence runs 1..last without a gap or a
// duplicate and links by hash; the chain seen before the crash is unchanged; the anchors pending at
// the crash complete. Then the parties reconnect and resume from the channel's state. The test
// prints the counts (acknowledged, recovered, lost, duplicated) and requires lost = duplicated = 0.
//
// TCC_CRASH_SEED=N replays the kill timings of a run (each run prints its seed).
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <random>

#include "daemon_test_util.h"
#include "tcc/chain/evidence.h"

namespace tcc::testing {
namespace {

constexpr int kCrashes = 20;
constexpr std::uint64_t kAnchorEvery = 5;  // N of every channel
constexpr std::chrono::milliseconds kRequestTimeout{1500};

// A port nobody listens on right now; tccd binds it on every restart so clients can reconnect.
int FreeLoopbackPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  ::close(fd);
  return ntohs(address.sin_port);
}

Result<std::unique_ptr<client::ChannelClient>> Connect(const std::string& endpoint, const std::string& tcc_did,
                                                       std::shared_ptr<did::KeyPair> key) {
  client::ConnectOptions options;
  options.endpoint = endpoint;
  options.tcc_did = tcc_did;
  options.timeout = kRequestTimeout;
  return client::ChannelClient::Connect(std::move(options), std::move(key));
}

// One channel under load: its trade, the parties' connections (worker thread only) and what the
// parties were acknowledged (shared with the checker).
struct Lane {
  Trade trade;
  std::unique_ptr<client::ChannelClient> provider;
  std::unique_ptr<client::ChannelClient> consumer;
  std::atomic<bool> idle{false};

  std::mutex mutex;
  std::map<std::uint64_t, std::string> acknowledged;  // seq -> TSC hash, as the submitter was told
  std::uint64_t conflicting_acks = 0;                  // a seq acknowledged with two different hashes
  std::uint64_t wrong_seq_acks = 0;                    // an acknowledgement for a seq not submitted

  // Checker only: the chain as verified so far, and the latest evidence bundle fetched.
  std::map<std::uint64_t, std::string> verified;
  std::optional<chain::EvidenceBundle> last_bundle;
};

struct Load {
  std::string endpoint;
  std::string tcc_did;
  std::atomic<bool> stop{false};
  std::atomic<bool> paused{false};
  std::atomic<std::uint64_t> acks{0};
  std::atomic<std::uint64_t> reconnects{0};
};

// Stops and joins the party threads however the test ends (a failed REQUIRE throws).
struct Workers {
  Load& load;
  std::vector<std::thread> threads;
  ~Workers() { Join(); }
  void Join() {
    load.stop.store(true);
    for (auto& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  }
};

Status Step(Lane& lane, Load& load) {
  const std::string& channel = lane.trade.channel_id;
  TCC_ASSIGN_OR_RETURN(Json state, lane.provider->State(channel));
  TCC_ASSIGN_OR_RETURN(double last_seq, state.GetNumber("last_seq"));
  TCC_ASSIGN_OR_RETURN(std::string_view last_hash, state.GetString("last_hash"));
  const auto seq = static_cast<std::uint64_t>(last_seq) + 1;
  TCC_RETURN_IF_ERROR(lane.provider->Propose(channel, lane.trade.Proposal(seq, std::string(last_hash))));
  // The consumer takes the proposal from its events, as a real counterpart does.
  std::optional<Json> proposal;
  const auto deadline = std::chrono::steady_clock::now() + kRequestTimeout;
  while (!proposal && std::chrono::steady_clock::now() < deadline) {
    TCC_ASSIGN_OR_RETURN(auto event, lane.consumer->NextEvent(std::chrono::milliseconds(50)));
    if (!event || event->type != client::MessageType::kEventProposal) continue;
    const Json& candidate = controller::ObjectMember(*event, "proposal");
    auto candidate_seq = candidate.GetNumber("seq");
    if (candidate_seq.ok() && *candidate_seq == static_cast<double>(seq)) proposal = candidate;
  }
  if (!proposal) return Error(ErrorCode::kUnavailable, "no proposal event");
  TCC_ASSIGN_OR_RETURN(client::IssuedTsc issued, lane.consumer->Submit(channel, lane.trade.Cosign(*proposal)));
  TCC_ASSIGN_OR_RETURN(std::string hash, vc::CredentialHash(issued.tsc));
  std::lock_guard lock(lane.mutex);
  if (issued.seq != seq) ++lane.wrong_seq_acks;
  auto [entry, inserted] = lane.acknowledged.emplace(issued.seq, hash);
  if (!inserted && entry->second != hash) ++lane.conflicting_acks;
  load.acks.fetch_add(1);
  return OkStatus();
}

// Settles until stopped; on any failure drops both connections and re-joins (tccd restarted).
void RunLane(Lane& lane, Load& load) {
  while (!load.stop.load()) {
    if (load.paused.load()) {
      lane.idle.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (!lane.provider || !lane.consumer) {
      auto provider = Connect(load.endpoint, load.tcc_did, lane.trade.provider);
      auto consumer = Connect(load.endpoint, load.tcc_did, lane.trade.consumer);
      if (provider.ok() && consumer.ok() && (*provider)->Join(lane.trade.channel_id).ok() &&
          (*consumer)->Join(lane.trade.channel_id).ok()) {
        lane.provider = std::move(provider).value();
        lane.consumer = std::move(consumer).value();
        load.reconnects.fetch_add(1);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      continue;
    }
    if (!Step(lane, load).ok()) {
      lane.provider.reset();
      lane.consumer.reset();
    }
  }
}

struct Counts {
  std::uint64_t acknowledged = 0;
  std::uint64_t recovered = 0;  // acknowledged and found in the store, with the same hash
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t gaps = 0;
  std::uint64_t unacknowledged_persisted = 0;  // issued and stored, but the ack died with tccd
};

// Reads the whole channel back through a fresh auditor connection and checks it.
Counts CheckLane(Lane& lane, const TccdProcess& tccd) {
  Counts counts;
  const Trade& trade = lane.trade;
  auto auditor = Unwrap(Connect(tccd.listen(), tccd.did(), trade.auditor), "auditor connect");
  CHECK(JoinWhenOpen(*auditor, trade.channel_id).role == "auditor");
  Json state = Unwrap(auditor->State(trade.channel_id), "state");
  const auto last_seq = static_cast<std::uint64_t>(state.GetNumber("last_seq").value());

  std::map<std::uint64_t, std::string> stored;
  std::uint64_t after = 0;
  std::string prev = trade.channel_id;
  std::uint64_t expected = 1;
  while (true) {
    auto page = Unwrap(auditor->Sync(trade.channel_id, after, 500), "sync");
    if (page.empty()) break;
    for (const Json& tsc : page) {
      const Json* subject = tsc.Find("credentialSubject");
      REQUIRE(subject != nullptr);
      const auto seq = static_cast<std::uint64_t>(subject->GetNumber("seq").value());
      if (stored.count(seq) != 0) {
        ++counts.duplicated;
        continue;
      }
      if (seq != expected) counts.gaps += seq > expected ? seq - expected : 0;
      expected = seq + 1;
      after = std::max(after, seq);
      const std::string hash = vc::CredentialHash(tsc).value();
      CHECK_MESSAGE(subject->GetString("prev").value() == prev, "seq " << seq << " does not link to its predecessor");
      prev = hash;
      stored[seq] = hash;
      auto known = lane.verified.find(seq);
      if (known != lane.verified.end()) {
        CHECK_MESSAGE(known->second == hash, "seq " << seq << " changed across a crash");
        continue;
      }
      vc::TscVerifyOptions options;
      options.expected_issuer = trade.tcc_did();
      options.expected_prev = subject->GetString("prev").value();
      auto verified = vc::VerifyTsc(tsc, *trade.tst, *trade.resolver, options);
      CHECK_MESSAGE(verified.ok(), "seq " << seq << ": " << (verified.ok() ? "" : verified.error().ToString()));
      lane.verified[seq] = hash;
    }
  }
  CHECK(stored.size() == last_seq);
  CHECK((stored.empty() ? trade.channel_id : stored.rbegin()->second) == state.GetString("last_hash").value());

  {
    std::lock_guard lock(lane.mutex);
    counts.duplicated += lane.conflicting_acks + lane.wrong_seq_acks;
    counts.acknowledged = lane.acknowledged.size();
    for (const auto& [seq, hash] : lane.acknowledged) {
      auto found = stored.find(seq);
      if (found != stored.end() && found->second == hash) {
        ++counts.recovered;
      } else {
        ++counts.lost;
      }
    }
    for (const auto& entry : stored) counts.unacknowledged_persisted += lane.acknowledged.count(entry.first) == 0;
  }

  // The anchors pending at the crash complete: every N-th TSC up to the head gets anchored.
  const std::uint64_t due = last_seq - last_seq % kAnchorEvery;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::uint64_t anchored = 0;
  while (true) {
    anchored = static_cast<std::uint64_t>(Unwrap(auditor->State(trade.channel_id), "state").GetNumber("anchored_seq").value());
    if (anchored >= due || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(anchored >= due, "anchored_seq " << anchored << " < " << due);
  if (due > 0) {
    auto evidence = auditor->GetEvidence(trade.channel_id, due);
    REQUIRE_MESSAGE(evidence.ok(), evidence.error().ToString());
    CHECK(evidence->bundle.item.seq == due);
    CHECK(HexEncode(evidence->bundle.item.tsc_hash) == stored[due]);
    CHECK(chain::VerifyEvidenceBundle(evidence->bundle).ok());
    lane.last_bundle = evidence->bundle;
  }
  return counts;
}

TEST_CASE("crash loop: SIGKILL tccd 20 times under load; nothing acknowledged is lost or duplicated") {
  const char* seed_text = std::getenv("TCC_CRASH_SEED");
  const unsigned seed = seed_text != nullptr ? static_cast<unsigned>(std::strtoul(seed_text, nullptr, 10))
                                             : std::random_device{}();
  MESSAGE("crash loop seed " << seed << " (TCC_CRASH_SEED replays it)");
  std::mt19937 random(seed);

  TempDir dir;
  std::vector<std::unique_ptr<Lane>> lanes;
  lanes.push_back(std::make_unique<Lane>());
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  lanes[0]->trade.Record(dir.Sub("ledger"), kAnchorEvery);
  for (int i = 1; i < 3; ++i) {
    // Same TCC, parties and templates; a TIC of its own (its validFrom is whole seconds).
    std::this_thread::sleep_for(std::chrono::milliseconds(1050));
    lanes.push_back(std::make_unique<Lane>());
    Trade& trade = lanes.back()->trade;
    trade = lanes[0]->trade;
    trade.Record(dir.Sub("ledger"), kAnchorEvery);
    REQUIRE(trade.channel_id != lanes[0]->trade.channel_id);
  }

  const std::string listen = "tcp://127.0.0.1:" + std::to_string(FreeLoopbackPort());
  const std::vector<std::string> arguments = {
      "--data-dir", dir.Sub("data"),    "--key",     dir.Sub("tcc.key"), "--chain", "local:" + dir.Sub("ledger"),
      "--listen",   listen,             "--control", "tcp://127.0.0.1:*", "--anchor-interval", "50"};
  TccdProcess tccd;
  tccd.Start(arguments);

  Load load;
  load.endpoint = listen;
  load.tcc_did = tccd.did();
  Workers workers{load, {}};
  for (auto& lane : lanes) workers.threads.emplace_back([&lane, &load] { RunLane(*lane, load); });

  Counts total;
  std::uniform_int_distribution<int> kill_delay_ms(0, 300);
  const auto started = std::chrono::steady_clock::now();
  for (int crash = 1; crash <= kCrashes; ++crash) {
    // Under load: wait for fresh acknowledgements on this tccd, then kill it at a random moment.
    const std::uint64_t acks_before = load.acks.load();
    const auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (load.acks.load() < acks_before + 3 && std::chrono::steady_clock::now() < wait_until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    REQUIRE_MESSAGE(load.acks.load() >= acks_before + 3, "the parties did not resume after restart " << crash - 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(kill_delay_ms(random)));
    tccd.Kill();

    // Pause the parties (their in-flight requests time out against the dead tccd), restart, check.
    for (auto& lane : lanes) lane->idle.store(false);
    load.paused.store(true);
    for (auto& lane : lanes) {
      while (!lane->idle.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    tccd.Start(arguments);
    Counts round;
    for (auto& lane : lanes) {
      Counts counts = CheckLane(*lane, tccd);
      round.acknowledged += counts.acknowledged;
      round.recovered += counts.recovered;
      round.lost += counts.lost;
      round.duplicated += counts.duplicated;
      round.gaps += counts.gaps;
      round.unacknowledged_persisted += counts.unacknowledged_persisted;
    }
    MESSAGE("crash " << crash << ": acknowledged " << round.acknowledged << ", recovered " << round.recovered
                     << ", lost " << round.lost << ", duplicated " << round.duplicated << ", gaps " << round.gaps
                     << ", persisted without acknowledgement " << round.unacknowledged_persisted);
    CHECK(round.lost == 0);
    CHECK(round.duplicated == 0);
    CHECK(round.gaps == 0);
    CHECK(round.recovered == round.acknowledged);
    total = round;  // cumulative: the acknowledged set only grows
    load.paused.store(false);
  }

  // The parties resume once more on the last tccd.
  const std::uint64_t acks_before = load.acks.load();
  const auto wait_until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (load.acks.load() < acks_before + 3 && std::chrono::steady_clock::now() < wait_until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  CHECK(load.acks.load() >= acks_before + 3);
  workers.Join();
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("crash loop: " << kCrashes << " SIGKILLs in " << seconds << " s; acknowledged " << total.acknowledged
                         << ", recovered " << total.recovered << ", lost " << total.lost << ", duplicated "
                         << total.duplicated << ", reconnects " << load.reconnects.load());
  CHECK(total.acknowledged >= static_cast<std::uint64_t>(3 * kCrashes));
  CHECK(tccd.Stop() == 0);

  // The last evidence fetched for each channel is on the ledger, once tccd has released it.
  auto ledger = Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger"), .create_if_missing = false}), "ledger");
  for (const auto& lane : lanes) {
    REQUIRE(lane->last_bundle.has_value());
    auto on_chain = chain::VerifyEvidenceBundleOnChain(*lane->last_bundle, *ledger);
    CHECK_MESSAGE(on_chain.ok(), (on_chain.ok() ? "" : on_chain.error().ToString()));
  }
}

}  // namespace
}  // namespace tcc::testing
