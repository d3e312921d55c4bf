// The settlement load the reliability tests run through a real tccd, and the audit that follows:
// one Lane per channel, whose thread settles continuously with a provider and a consumer over
// loopback TCP with CURVE and records every acknowledgement; CheckLane reads the channel back
// through a fresh auditor connection and checks that nothing acknowledged was lost, changed or
// duplicated, and that the anchors due complete. A Lane's acknowledgements are shared between its
// thread and the checker (under its mutex); its connections belong to its thread. Header-only,
// doctest assertions.
#pragma once

#include <doctest/doctest.h>

#include <atomic>
#include <map>
#include <thread>

#include "daemon_test_util.h"
#include "tcc/chain/evidence.h"

namespace tcc::testing {

// Short, so a lane notices a dead tccd quickly.
constexpr std::chrono::milliseconds kRequestTimeout{1500};

inline Result<std::unique_ptr<client::ChannelClient>> Connect(const std::string& endpoint, const std::string& tcc_did,
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
  std::atomic<std::uint64_t> store_refusals{0};  // submissions tccd refused because its store could not write
};

// tccd's answer while its store cannot write: not acknowledged, to be submitted again later.
inline bool IsStoreRefusal(const Error& error) {
  return error.code() == ErrorCode::kUnavailable && error.message().find("store") != std::string::npos;
}

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

inline Status Step(Lane& lane, Load& load) {
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
inline void RunLane(Lane& lane, Load& load) {
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
    Status stepped = Step(lane, load);
    if (stepped.ok()) continue;
    if (IsStoreRefusal(stepped.error())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    lane.provider.reset();
    lane.consumer.reset();
  }
}

struct Counts {
  std::uint64_t acknowledged = 0;
  std::uint64_t recovered = 0;  // acknowledged and found in the store, with the same hash
  std::uint64_t lost = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t gaps = 0;
  std::uint64_t unacknowledged_persisted = 0;  // issued and stored, but never acknowledged

  Counts& operator+=(const Counts& other) {
    acknowledged += other.acknowledged;
    recovered += other.recovered;
    lost += other.lost;
    duplicated += other.duplicated;
    gaps += other.gaps;
    unacknowledged_persisted += other.unacknowledged_persisted;
    return *this;
  }
};

// Reads the whole channel back through a fresh auditor connection and checks it; `anchor_every` is
// the channel's N.
inline Counts CheckLane(Lane& lane, const TccdProcess& tccd, std::uint64_t anchor_every) {
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
  const std::uint64_t due = last_seq - last_seq % anchor_every;
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
    REQUIRE_MESSAGE(evidence.ok(), (evidence.ok() ? "" : evidence.error().ToString()));
    CHECK(evidence->bundle.item.seq == due);
    CHECK(HexEncode(evidence->bundle.item.tsc_hash) == stored[due]);
    CHECK(chain::VerifyEvidenceBundle(evidence->bundle).ok());
    lane.last_bundle = evidence->bundle;
  }
  return counts;
}

// `count` channels between the same TCC, parties and templates, each with a TIC of its own and
// settlement N = anchor_every, recorded on the ledger at dir/ledger; the TCC key is dir/tcc.key.
inline std::vector<std::unique_ptr<Lane>> MakeLanes(const TempDir& dir, int count, std::uint64_t anchor_every) {
  std::vector<std::unique_ptr<Lane>> lanes;
  lanes.push_back(std::make_unique<Lane>());
  REQUIRE(lanes[0]->trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  lanes[0]->trade.Record(dir.Sub("ledger"), anchor_every);
  for (int i = 1; i < count; ++i) {
    // A TIC's validFrom is whole seconds: one second apart keeps the TICs (and channels) distinct.
    std::this_thread::sleep_for(std::chrono::milliseconds(1050));
    lanes.push_back(std::make_unique<Lane>());
    Trade& trade = lanes.back()->trade;
    trade = lanes[0]->trade;
    trade.Record(dir.Sub("ledger"), anchor_every);
    REQUIRE(trade.channel_id != lanes[0]->trade.channel_id);
  }
  return lanes;
}

// Waits until `more` acknowledgements beyond `before` arrived; false at the deadline.
inline bool AwaitAcks(const Load& load, std::uint64_t before, std::uint64_t more, std::chrono::milliseconds wait) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (load.acks.load() < before + more) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Pauses the lanes and waits until each thread has noticed (its requests have ended).
inline void PauseLanes(Load& load, std::vector<std::unique_ptr<Lane>>& lanes) {
  for (auto& lane : lanes) lane->idle.store(false);
  load.paused.store(true);
  for (auto& lane : lanes) {
    while (!lane->idle.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace tcc::testing
