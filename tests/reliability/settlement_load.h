// Settlement load against a real tccd, shared by the reliability tests that disturb a running
// tccd (crash loop, chain outages, a full disk): channels ("lanes") between one TCC and the same
// parties, one thread per lane settling continuously over loopback TCP with CURVE and re-joining on
// its own after any failure (tccd killed and restarted) but a store refusal (tried again on the
// same connections), the acknowledgements each party received, and an audit that reads a channel
// back through an auditor connection and checks it against them and its anchors.
//
// Ownership: the test owns the lanes and the SettlementLoad; Workers joins the lane threads. A
// lane's connections belong to its thread; its acknowledgements are guarded by its mutex; the
// audit state (verified, last_bundle) belongs to the checking thread.
#pragma once

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <functional>
#include <map>

#include "daemon/daemon_test_util.h"
#include "tcc/chain/evidence.h"

namespace tcc::testing {

constexpr std::chrono::milliseconds kLoadRequestTimeout{1500};

// A port nobody listens on right now; tccd binds it on every restart so clients can reconnect.
inline int FreeLoopbackPort() {
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

// A connection with the load's short request timeout, so a party notices a dead tccd quickly.
inline Result<std::unique_ptr<client::ChannelClient>> ConnectUnderLoad(const std::string& endpoint,
                                                                       const std::string& tcc_did,
                                                                       std::shared_ptr<did::KeyPair> key) {
  client::ConnectOptions options;
  options.endpoint = endpoint;
  options.tcc_did = tcc_did;
  options.timeout = kLoadRequestTimeout;
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

// `count` lanes between the same TCC, parties and templates, each with a TIC of its own that
// `record` records (e.g. trade.Record(ledger_path, n)). Each trade starts as a copy of the one
// before, so their TICs get distinct validFrom stamps (see Trade::Record) and distinct ids.
inline std::vector<std::unique_ptr<Lane>> MakeLanes(int count, const std::function<void(Trade&)>& record) {
  std::vector<std::unique_ptr<Lane>> lanes;
  for (int i = 0; i < count; ++i) {
    lanes.push_back(std::make_unique<Lane>());
    Trade& trade = lanes.back()->trade;
    if (i > 0) trade = lanes[i - 1]->trade;
    record(trade);
    for (int j = 0; j < i; ++j) REQUIRE(trade.channel_id != lanes[j]->trade.channel_id);
  }
  return lanes;
}

struct SettlementLoad {
  std::string endpoint;
  std::string tcc_did;
  // Each lane waits this long after a settlement: zero settles as fast as tccd answers.
  std::chrono::milliseconds pace{0};
  std::atomic<bool> stop{false};
  std::atomic<bool> paused{false};
  std::atomic<std::uint64_t> acks{0};
  std::atomic<std::uint64_t> reconnects{0};
  std::atomic<std::uint64_t> store_refusals{0};  // submissions tccd refused because its store could not write
};

// tccd's answer while its store cannot write: not acknowledged, to be submitted again later.
inline bool IsStoreRefusal(const Error& error) {
  return error.code() == ErrorCode::kUnavailable && error.message().find("store") != std::string::npos;
}

// Stops and joins the party threads however the test ends (a failed REQUIRE throws).
struct Workers {
  SettlementLoad& load;
  std::vector<std::thread> threads;
  ~Workers() { Join(); }
  void Join() {
    load.stop.store(true);
    for (auto& thread : threads) {
      if (thread.joinable()) thread.join();
    }
  }
};

// One settlement from the channel's state: the provider proposes, the consumer takes the
// proposal from its events (as a real counterpart does), co-signs and submits.
inline Status SettleStep(Lane& lane, SettlementLoad& load) {
  const std::string& channel = lane.trade.channel_id;
  TCC_ASSIGN_OR_RETURN(Json state, lane.provider->State(channel));
  TCC_ASSIGN_OR_RETURN(double last_seq, state.GetNumber("last_seq"));
  TCC_ASSIGN_OR_RETURN(std::string_view last_hash, state.GetString("last_hash"));
  const auto seq = static_cast<std::uint64_t>(last_seq) + 1;
  TCC_RETURN_IF_ERROR(lane.provider->Propose(channel, lane.trade.Proposal(seq, std::string(last_hash))));
  std::optional<Json> proposal;
  const auto deadline = std::chrono::steady_clock::now() + kLoadRequestTimeout;
  while (!proposal && std::chrono::steady_clock::now() < deadline) {
    TCC_ASSIGN_OR_RETURN(auto event, lane.consumer->NextEvent(std::chrono::milliseconds(50)));
    if (!event || event->type != client::MessageType::kEventProposal) continue;
    const Json& candidate = wire::ObjectMember(*event, "proposal");
    auto candidate_seq = candidate.GetNumber("seq");
    if (candidate_seq.ok() && *candidate_seq == static_cast<double>(seq)) proposal = candidate;
  }
  if (!proposal) return Error(ErrorCode::kUnavailable, "no proposal event");
  auto submitted = lane.consumer->Submit(channel, lane.trade.Cosign(*proposal));
  if (!submitted.ok()) {
    if (IsStoreRefusal(submitted.error())) load.store_refusals.fetch_add(1);
    return std::move(submitted).error();
  }
  const client::IssuedTsc& issued = *submitted;
  TCC_ASSIGN_OR_RETURN(std::string hash, vc::CredentialHash(issued.tsc));
  std::lock_guard lock(lane.mutex);
  if (issued.seq != seq) ++lane.wrong_seq_acks;
  auto [entry, inserted] = lane.acknowledged.emplace(issued.seq, hash);
  if (!inserted && entry->second != hash) ++lane.conflicting_acks;
  load.acks.fetch_add(1);
  return OkStatus();
}

// Settles until stopped. A store refusal is tried again shortly on the same connections; any other
// failure drops both connections and re-joins (tccd restarted).
inline void RunLane(Lane& lane, SettlementLoad& load) {
  while (!load.stop.load()) {
    if (load.paused.load()) {
      lane.idle.store(true);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (!lane.provider || !lane.consumer) {
      auto provider = ConnectUnderLoad(load.endpoint, load.tcc_did, lane.trade.provider);
      auto consumer = ConnectUnderLoad(load.endpoint, load.tcc_did, lane.trade.consumer);
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
    const Status settled = SettleStep(lane, load);
    if (!settled.ok() && IsStoreRefusal(settled.error())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    } else if (!settled.ok()) {
      lane.provider.reset();
      lane.consumer.reset();
    } else if (load.pace.count() > 0) {
      std::this_thread::sleep_for(load.pace);
    }
  }
}

// Pauses the lanes and waits until each has finished its settlement in flight.
inline void PauseLanes(SettlementLoad& load, const std::vector<std::unique_ptr<Lane>>& lanes) {
  for (auto& lane : lanes) lane->idle.store(false);
  load.paused.store(true);
  for (auto& lane : lanes) {
    while (!lane->idle.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// Waits until `more` acknowledgements arrived after this call (or `timeout` passed); false on
// timeout.
inline bool AwaitAcks(const SettlementLoad& load, std::uint64_t more, std::chrono::milliseconds timeout) {
  const std::uint64_t target = load.acks.load() + more;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (load.acks.load() < target && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return load.acks.load() >= target;
}

struct AuditCounts {
  std::uint64_t acknowledged = 0;
  std::uint64_t recovered = 0;  // acknowledged and found in the store, with the same hash
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t gaps = 0;
  std::uint64_t unacknowledged_persisted = 0;  // issued and stored, but the ack died with tccd

  AuditCounts& operator+=(const AuditCounts& other) {
    acknowledged += other.acknowledged;
    recovered += other.recovered;
    lost += other.lost;
    duplicated += other.duplicated;
    gaps += other.gaps;
    unacknowledged_persisted += other.unacknowledged_persisted;
    return *this;
  }
};

struct LaneAudit {
  AuditCounts counts;
  std::uint64_t last_seq = 0;
  std::map<std::uint64_t, std::string> stored;  // seq -> TSC hash, as tccd has them
};

// Reads the whole channel back through an auditor connection (joined) and checks it: each seq
// 1..last once, linked by hash, every new TSC verifies, nothing verified before changed, and every
// acknowledgement is there with the hash acknowledged.
inline LaneAudit AuditLane(Lane& lane, client::ChannelClient& auditor) {
  LaneAudit audit;
  AuditCounts& counts = audit.counts;
  const Trade& trade = lane.trade;
  Json state = Unwrap(auditor.State(trade.channel_id), "state");
  audit.last_seq = state.GetInteger("last_seq").value();

  std::map<std::uint64_t, std::string>& stored = audit.stored;
  std::uint64_t after = 0;
  std::string prev = trade.channel_id;
  std::uint64_t expected = 1;
  while (true) {
    auto page = Unwrap(auditor.Sync(trade.channel_id, after, 500), "sync");
    if (page.empty()) break;
    for (const Json& tsc : page) {
      const Json* subject = tsc.Find("credentialSubject");
      REQUIRE(subject != nullptr);
      const auto seq = subject->GetInteger("seq").value();
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
  CHECK(stored.size() == audit.last_seq);
  CHECK((stored.empty() ? trade.channel_id : stored.rbegin()->second) == state.GetString("last_hash").value());

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
  return audit;
}

// AuditLane through a fresh auditor connection, then the anchors of a channel whose every
// anchor_every-th TSC carries evidence: the last one due is anchored within 20 s and its evidence
// bundle verifies (kept in lane.last_bundle).
inline AuditCounts CheckLane(Lane& lane, const TccdProcess& tccd, std::uint64_t anchor_every) {
  const Trade& trade = lane.trade;
  auto auditor = Unwrap(ConnectUnderLoad(tccd.listen(), tccd.did(), trade.auditor), "auditor connect");
  CHECK(JoinWhenOpen(*auditor, trade.channel_id).role == "auditor");
  LaneAudit audit = AuditLane(lane, *auditor);

  const std::uint64_t due = audit.last_seq - audit.last_seq % anchor_every;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  std::uint64_t anchored = 0;
  while (true) {
    anchored = Unwrap(auditor->State(trade.channel_id), "state").GetInteger("anchored_seq").value();
    if (anchored >= due || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  CHECK_MESSAGE(anchored >= due, "anchored_seq " << anchored << " < " << due);
  if (due > 0) {
    auto evidence = auditor->GetEvidence(trade.channel_id, due);
    REQUIRE_MESSAGE(evidence.ok(), (evidence.ok() ? "" : evidence.error().ToString()));
    CHECK(evidence->bundle.item.seq == due);
    CHECK(HexEncode(evidence->bundle.item.tsc_hash) == audit.stored[due]);
    CHECK(chain::VerifyEvidenceBundle(evidence->bundle).ok());
    lane.last_bundle = evidence->bundle;
  }
  return audit.counts;
}

}  // namespace tcc::testing
