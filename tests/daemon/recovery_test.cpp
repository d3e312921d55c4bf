// The start-up cross-check and recovery (issue #18 items 1 and 2, tccd side) against a real tccd
// process, a real embedded ledger and real LevelDB files: a store put back to an older copy taken
// while tccd was stopped (the channel goes to `recovering`, refuses to settle, and is restored from
// the parties' TSCs, through channel.recover or `tcc channel recover`), and a ledger put back to a
// copy that lacks its last blocks (the store's batches are anchored again). Under load: three
// channels settle at once through SDK sessions with journals while `tcc backup` copies the store;
// the backup is restored, later the store's log loses its tail, and each time the parties' journals
// bring every channel back with every acknowledged TSC and no seq issued twice.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <functional>
#include <thread>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "daemon_test_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/controller/store_audit.h"

namespace tcc::testing {
namespace {

using client::MessageType;
namespace fs = std::filesystem;

const std::vector<std::string> kTccdOptions{"--anchor-interval", "50",       "--metrics",
                                            "127.0.0.1:0",       "--vc-api", "127.0.0.1:0"};

std::string HashOf(const Json& tsc) { return Unwrap(vc::CredentialHash(tsc), "TSC hash"); }

// Settles seqs tscs.size() + 1 .. to through a running tccd; every TSC issued is appended.
void SettleThrough(const Trade& trade, const TccdProcess& tccd, std::uint64_t to,
                   std::vector<Json>& tscs) {
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  for (std::uint64_t seq = tscs.size() + 1; seq <= to; ++seq) {
    const std::string prev = tscs.empty() ? trade.channel_id : HashOf(tscs.back());
    client::IssuedTsc issued = SettleOnce(trade, *provider, *consumer, seq, prev);
    REQUIRE(issued.seq == seq);
    REQUIRE_FALSE(issued.replayed);
    tscs.push_back(issued.tsc);
  }
}

// A copy of a directory taken while nothing has it open.
void CopyDirectory(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

Json RecoverRequest(client::ChannelClient& party, const std::string& channel_id,
                    const std::vector<Json>& tscs, std::size_t first, std::size_t last) {
  Json array = Json::Array();
  for (std::size_t seq = first; seq <= last; ++seq) array.PushBack(tscs[seq - 1]);
  auto reply = party.connection().Request(MessageType::kChannelRecover,
                                          {{"channel", channel_id}, {"tscs", array}});
  REQUIRE_MESSAGE(reply.ok(), reply.error().ToString());
  return reply->body;
}

std::uint64_t Count(const Json& object, std::string_view name) {
  return Unwrap(object.GetInteger(name), "count");
}

// The VC API's GET /healthz body (200 or 503), by curl.
Json Healthz(const TccdProcess& tccd) {
  const std::string text = CommandOutput("curl -s --max-time 10 http://" + tccd.vc_api() + "/healthz");
  return Unwrap(Json::Parse(text), "healthz");
}

// Every TSC tccd serves for the channel, by channel.sync.
std::vector<std::string> ServedHashes(const Trade& trade, const TccdProcess& tccd) {
  auto auditor = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  JoinWhenOpen(*auditor, trade.channel_id);
  std::vector<std::string> hashes;
  for (;;) {
    auto page = Unwrap(auditor->Sync(trade.channel_id, hashes.size()), "sync");
    if (page.empty()) break;
    for (const Json& tsc : page) hashes.push_back(HashOf(tsc));
  }
  return hashes;
}

TEST_CASE("a store put back to an older copy: the channel recovers from the parties' TSCs") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  const std::string store = dir.Sub("data") + "/store";
  const std::string admin_key = dir.Sub("data") + "/admin.key";
  std::vector<Json> tscs;
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    SettleThrough(trade, tccd, 6, tscs);
    REQUIRE(tccd.Stop() == 0);  // drains: seq 6 is anchored
  }
  CopyDirectory(store, dir.Sub("store-at-6"));
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    SettleThrough(trade, tccd, 12, tscs);
    REQUIRE(tccd.Stop() == 0);
  }
  CopyDirectory(dir.Sub("store-at-6"), store);

  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, kTccdOptions));
  {
    const Json health = ControlHealth(tccd, admin_key);
    INFO(health.Serialize());
    CHECK(Unwrap(health.GetString("status"), "status") == "recovering");
    const JsonArray& recovering = *Unwrap(health.GetArray("recovering"), "recovering");
    REQUIRE(recovering.size() == 1);
    CHECK(Unwrap(recovering[0].GetString("channel"), "channel") == trade.channel_id);
    CHECK(Count(recovering[0], "store_seq") == 6);
    CHECK(Count(recovering[0], "chain_seq") == 6);
    const std::string scrape = ScrapeMetrics(tccd.metrics());
    CHECK(MetricValue(scrape, "tcc_channels_recovering_found_total") == 1.0);
    CHECK(LogShows(tccd, "\"msg\":\"channel recovering\""));
    const Json healthz = Healthz(tccd);
    INFO(healthz.Serialize());
    CHECK(Unwrap(healthz.GetString("status"), "status") == "degraded");
    CHECK(healthz.Serialize().find("recovering channel(s)") != std::string::npos);
    CHECK(healthz.Serialize().find(trade.channel_id + " (store seq 6, chain confirms seq 6)") !=
          std::string::npos);
  }
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  const client::JoinResult joined = JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  CHECK(joined.state.Contains("recovering"));
  CHECK(Count(joined.state, "last_seq") == 6);
  // Seq 7 exists (on the parties' disks and anchored): tccd must not issue another.
  Status refused = provider->Propose(trade.channel_id, trade.Proposal(7, HashOf(tscs[5])));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
  CHECK(refused.error().message().find("recovering") != std::string::npos);

  SUBCASE("the members present their TSCs (channel.recover)") {
    // The provider's copy ends at 9; the consumer's holds all. The longest verified one wins.
    Json first = RecoverRequest(*provider, trade.channel_id, tscs, 7, 9);
    CHECK(Count(first, "restored") == 3);
    CHECK(Count(first, "last_seq") == 9);
    CHECK(first.Find("recovering")->as_bool());
    // A TSC differing from a stored seq is refused, and changes nothing.
    Json forged = tscs[2];
    forged.Find("credentialSubject")->Set("seq", 3);  // anything else: its hash differs
    forged.Set("validFrom", "2000-01-01T00:00:00Z");
    auto conflict = provider->connection().Request(
        MessageType::kChannelRecover,
        {{"channel", trade.channel_id}, {"tscs", Json(JsonArray{forged})}});
    REQUIRE_FALSE(conflict.ok());
    CHECK(conflict.error().code() == ErrorCode::kConflict);
    Json second = RecoverRequest(*consumer, trade.channel_id, tscs, 7, 12);
    CHECK(Count(second, "restored") == 3);
    CHECK(Count(second, "last_seq") == 12);
    CHECK_FALSE(second.Find("recovering")->as_bool());
  }

  SUBCASE("an operator feeds the TSC files in (tcc channel recover)") {
    std::vector<std::string> files;
    for (std::size_t seq = 7; seq <= 12; ++seq) {
      files.push_back(dir.Sub("tsc-" + std::to_string(seq) + ".json"));
      std::ofstream(files.back()) << tscs[seq - 1].Serialize();
    }
    const std::string connect = "--control " + tccd.control() + " --tcc " + tccd.did() + " --key " +
                                admin_key + " " + trade.channel_id;
    const std::string control = "--control " + tccd.control() + " --tcc " + tccd.did() +
                                " --key " + admin_key;
    CHECK(std::system((std::string(TCC_CLI_PATH) + " channel status " + control + " " +
                       trade.channel_id + " | grep -q '^RECOVERING    store seq 6'")
                          .c_str()) == 0);
    // Seq 7 missing: nothing can be linked, and the channel stays recovering (exit != 0).
    std::string later;
    for (std::size_t i = 1; i < files.size(); ++i) later += " " + files[i];
    CHECK(RunCli("channel recover " + connect + later) != 0);
    CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "recovering");
    std::string all;
    for (const std::string& file : files) all += " " + file;
    CHECK(RunCli("channel recover " + connect + all) == 0);
  }

  // Settling resumes after seq 12, every acknowledged TSC is served unchanged, none twice.
  CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "ok");
  CHECK(Unwrap(Healthz(tccd).GetString("status"), "status") == "ready");
  SettleThrough(trade, tccd, 13, tscs);
  const std::vector<std::string> served = ServedHashes(trade, tccd);
  REQUIRE(served.size() == 13);
  for (std::size_t i = 0; i < served.size(); ++i) CHECK(served[i] == HashOf(tscs[i]));
  REQUIRE(tccd.Stop() == 0);

  // The restored store audits clean against the chain, and a restart does not recover again.
  {
    auto ledger = std::shared_ptr<chain::ChainAdapter>(
        Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger")}), "ledger"));
    auto resolver = controller::MakeChainResolver(ledger);
    controller::StoreAuditOptions options;
    options.tcc_did = trade.tcc_did();
    options.resolver = resolver.get();
    options.chain = ledger.get();
    auto report = Unwrap(controller::AuditStore(store, options), "audit");
    INFO(report.ToString());
    CHECK(report.ok());
    REQUIRE(report.channels.size() == 1);
    CHECK(report.channels[0].head_seq == 13);
  }
  TccdProcess again;
  again.Start(LocalTccdArguments(dir, kTccdOptions));
  CHECK(Unwrap(ControlHealth(again, admin_key).GetString("status"), "status") == "ok");
  REQUIRE(again.Stop() == 0);
}

// Cuts the newest LevelDB log of a closed store to `keep` of its length: the writes at its end are
// lost, as after a disk that lost the tail of a file.
void TruncateNewestLog(const std::string& store, double keep) {
  fs::path newest;
  for (const auto& entry : fs::directory_iterator(store)) {
    if (entry.path().extension() != ".log") continue;
    if (newest.empty() || entry.path().filename().string() > newest.filename().string())
      newest = entry.path();
  }
  REQUIRE_FALSE(newest.empty());
  const auto size = fs::file_size(newest);
  REQUIRE(size > 0);
  fs::resize_file(newest, static_cast<std::uintmax_t>(static_cast<double>(size) * keep));
}

TEST_CASE("a store log that lost its tail: the members restore the TSCs it lost") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  const std::string store = dir.Sub("data") + "/store";
  const std::string admin_key = dir.Sub("data") + "/admin.key";
  std::vector<Json> tscs;
  for (std::uint64_t through : {6, 12}) {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    SettleThrough(trade, tccd, through, tscs);
    REQUIRE(tccd.Stop() == 0);
  }
  // The second run's log holds TSCs 7 to 12 and their anchors; a third of it survives.
  TruncateNewestLog(store, 1.0 / 3);

  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, kTccdOptions));
  const Json health = ControlHealth(tccd, admin_key);
  INFO(health.Serialize());
  CHECK(Unwrap(health.GetString("status"), "status") == "recovering");
  const JsonArray& recovering = *Unwrap(health.GetArray("recovering"), "recovering");
  REQUIRE(recovering.size() == 1);
  const std::uint64_t kept = Count(recovering[0], "store_seq");
  CHECK(kept >= 6);
  CHECK(kept < 12);
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  // Each presents what its journal holds after seq 6; the TSCs the store kept match.
  Json first = RecoverRequest(*consumer, trade.channel_id, tscs, 7, 12);
  CHECK(Count(first, "restored") == 12 - kept);
  CHECK(Count(first, "last_seq") == 12);
  Json second = RecoverRequest(*provider, trade.channel_id, tscs, 7, 12);
  CHECK(Count(second, "restored") == 0);
  CHECK_FALSE(second.Find("recovering")->as_bool());
  SettleThrough(trade, tccd, 14, tscs);
  const std::vector<std::string> served = ServedHashes(trade, tccd);
  REQUIRE(served.size() == 14);
  for (std::size_t i = 0; i < served.size(); ++i) CHECK(served[i] == HashOf(tscs[i]));
  REQUIRE(tccd.Stop() == 0);
}

// The next settlement through two SDK sessions: the provider proposes `claim`, the consumer sees
// the proposal, co-signs and submits it, and the provider receives the TSC. Returns the TSC's
// hash. No doctest macros: the under-load test runs it on several threads.
Result<std::string> TrySettle(client::PartySession& provider, client::PartySession& consumer,
                              const Json& claim) {
  auto proposal = provider.ProposeNext(claim);
  if (!proposal.ok()) return std::move(proposal).error().WithContext("propose");
  std::optional<Json> seen;
  for (int i = 0; i < 300 && !seen; ++i) {
    auto event = consumer.Poll(std::chrono::milliseconds(100));
    if (!event.ok()) return std::move(event).error().WithContext("poll");
    if (*event && (*event)->kind == client::SessionEventKind::kProposal) seen = (*event)->body;
  }
  if (!seen) return Error(ErrorCode::kUnavailable, "the consumer never saw the proposal");
  if (!(*seen == *proposal)) return Error(ErrorCode::kInternal, "the consumer saw another proposal");
  auto joint = consumer.Cosign(*seen);
  if (!joint.ok()) return std::move(joint).error().WithContext("cosign");
  auto tsc = consumer.Submit(*joint);
  if (!tsc.ok()) return std::move(tsc).error().WithContext("submit");
  TCC_RETURN_IF_ERROR(provider.AwaitTsc(consumer.head().seq, std::chrono::seconds(60)));
  return vc::CredentialHash(*tsc);
}

// The same, asserting.
std::string SettleSessions(client::PartySession& provider, client::PartySession& consumer) {
  return Unwrap(TrySettle(provider, consumer, ReadExampleJson("claims/gpu-hour.tsc-claim.json")),
                "settle");
}

std::unique_ptr<client::PartySession> JoinWithJournal(const Trade& trade, const TccdProcess& tccd,
                                                      std::shared_ptr<did::KeyPair> key,
                                                      const std::string& tsc_dir) {
  client::PartySessionOptions options = SessionOptions(trade, tccd, std::move(key));
  options.tsc_dir = tsc_dir;
  return Unwrap(client::PartySession::Join(std::move(options)), "join with journal");
}

TEST_CASE("SDK sessions with TSC journals restore a recovering channel when they rejoin") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 2);
  const std::string store = dir.Sub("data") + "/store";
  const std::string admin_key = dir.Sub("data") + "/admin.key";
  const std::string provider_tscs = dir.Sub("provider-tscs");
  const std::string consumer_tscs = dir.Sub("consumer-tscs");
  std::vector<std::string> hashes;
  auto run = [&](int settlements) {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    auto provider = JoinWithJournal(trade, tccd, trade.provider, provider_tscs);
    auto consumer = JoinWithJournal(trade, tccd, trade.consumer, consumer_tscs);
    for (int i = 0; i < settlements; ++i) hashes.push_back(SettleSessions(*provider, *consumer));
    provider.reset();
    consumer.reset();
    REQUIRE(tccd.Stop() == 0);
  };
  run(3);
  CopyDirectory(store, dir.Sub("store-at-3"));
  run(4);
  CopyDirectory(dir.Sub("store-at-3"), store);

  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, kTccdOptions));
  CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "recovering");
  // The consumer's journal brings tccd back to seq 7; the channel settles once the provider has
  // presented its journal too.
  auto consumer = JoinWithJournal(trade, tccd, trade.consumer, consumer_tscs);
  CHECK(consumer->head().seq == 7);
  CHECK(consumer->head().hash == hashes.back());
  CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "recovering");
  auto provider = JoinWithJournal(trade, tccd, trade.provider, provider_tscs);
  CHECK(provider->head().seq == 7);
  CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "ok");
  hashes.push_back(SettleSessions(*provider, *consumer));
  CHECK(consumer->head().seq == 8);
  const std::vector<std::string> served = ServedHashes(trade, tccd);
  CHECK(served == hashes);
  provider.reset();
  consumer.reset();
  REQUIRE(tccd.Stop() == 0);
}

TEST_CASE("a ledger missing its last blocks: the store's batches are anchored again") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  const std::string admin_key = dir.Sub("data") + "/admin.key";
  std::vector<Json> tscs;
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    SettleThrough(trade, tccd, 4, tscs);
    REQUIRE(tccd.Stop() == 0);
  }
  CopyDirectory(dir.Sub("ledger"), dir.Sub("ledger-at-4"));
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    SettleThrough(trade, tccd, 8, tscs);
    REQUIRE(tccd.Stop() == 0);
  }
  CopyDirectory(dir.Sub("ledger-at-4"), dir.Sub("ledger"));
  {
    // What the ledger lost: the batch that anchors seq 8.
    auto ledger = Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger")}), "ledger");
    CHECK(ledger->FindAnchor(trade.tcc_did() + "-2").error().code() == ErrorCode::kNotFound);
  }

  chain::EvidenceBundle bundle;
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    CHECK(LogShows(tccd, "\"reanchored_batches\":1"));
    const Json health = ControlHealth(tccd, admin_key);
    INFO(health.Serialize());
    CHECK(Unwrap(health.GetString("status"), "status") == "ok");
    CHECK(Unwrap(health.GetArray("recovering"), "recovering")->empty());
    auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
    const client::JoinResult joined = JoinWhenOpen(*provider, trade.channel_id);
    CHECK(Count(joined.state, "anchored_seq") == 8);
    bundle = Unwrap(provider->GetEvidence(trade.channel_id, 8), "evidence").bundle;
    CHECK(HexEncode(bundle.item.tsc_hash) == HashOf(tscs[7]));
    REQUIRE(tccd.Stop() == 0);
  }
  auto ledger = Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger")}), "ledger");
  auto on_chain = chain::VerifyEvidenceBundleOnChain(bundle, *ledger);
  CHECK_MESSAGE(on_chain.ok(), on_chain.error().ToString());
}


// One channel's load: two SDK sessions with TSC journals settling on their own thread. The
// thread uses no doctest macros (they are not thread-safe); the first failure ends it and is kept.
struct ChannelLoad {
  std::string channel_id;
  std::vector<std::string> hashes;  // every acknowledged TSC's hash, in seq order
  std::atomic<std::size_t> settled{0};
  std::string error;
};

// Joins (the journals restore a recovering channel on the way), checks that tccd's head is this
// party's, then settles until `more` TSCs were acknowledged and, while `backup_done` is given, at
// least 4 more after it became true.
void SettleLoad(const Trade& trade, const TccdProcess& tccd, const Json& claim,
                const std::string& journals, ChannelLoad& load, std::size_t more,
                const std::atomic<bool>* backup_done) {
  auto join = [&](const std::shared_ptr<did::KeyPair>& key, const char* role) {
    client::PartySessionOptions options = SessionOptions(trade, tccd, key);
    options.channel_id = load.channel_id;
    options.tsc_dir = journals + "/" + load.channel_id.substr(0, 16) + "-" + role;
    return client::PartySession::Join(std::move(options));
  };
  auto provider = join(trade.provider, "provider");
  if (!provider.ok()) return void(load.error = "provider join: " + provider.error().ToString());
  auto consumer = join(trade.consumer, "consumer");
  if (!consumer.ok()) return void(load.error = "consumer join: " + consumer.error().ToString());
  for (const auto* session : {&**provider, &**consumer}) {
    if (session->head().seq != load.hashes.size() ||
        (!load.hashes.empty() && session->head().hash != load.hashes.back())) {
      return void(load.error = "joined at seq " + std::to_string(session->head().seq) +
                               ", the parties acknowledged " + std::to_string(load.hashes.size()));
    }
  }
  const std::size_t target = load.hashes.size() + more;
  std::optional<std::size_t> after_backup;
  while (load.hashes.size() < target || (backup_done != nullptr && (!after_backup || load.hashes.size() < *after_backup + 4))) {
    if (backup_done != nullptr && !after_backup && backup_done->load()) after_backup = load.hashes.size();
    auto hash = TrySettle(**provider, **consumer, claim);
    if (!hash.ok()) return void(load.error = hash.error().ToString());
    load.hashes.push_back(*hash);
    load.settled = load.hashes.size();
  }
}

// Runs SettleLoad for every channel at once; `midway` runs on this thread once every channel has
// `midway_after` TSCs, while they go on settling.
void SettleAll(const Trade& trade, const TccdProcess& tccd, const Json& claim,
               const std::string& journals, std::vector<ChannelLoad>& loads, std::size_t more,
               std::size_t midway_after = 0, const std::function<void()>& midway = {}) {
  std::atomic<bool> backup_done{false};
  std::vector<std::thread> threads;
  for (ChannelLoad& load : loads) {
    threads.emplace_back(SettleLoad, std::cref(trade), std::cref(tccd), std::cref(claim),
                         std::cref(journals), std::ref(load), more, midway ? &backup_done : nullptr);
  }
  if (midway) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    auto reached = [&] {
      return std::all_of(loads.begin(), loads.end(), [&](const ChannelLoad& load) {
        return load.settled.load() >= midway_after || !load.error.empty();
      });
    };
    while (!reached() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    midway();
    backup_done = true;
  }
  for (std::thread& thread : threads) thread.join();
  for (const ChannelLoad& load : loads) {
    INFO("channel " << load.channel_id);
    REQUIRE(load.error.empty());
  }
}

void CheckServed(Trade& trade, const TccdProcess& tccd, const std::vector<ChannelLoad>& loads) {
  for (const ChannelLoad& load : loads) {
    trade.channel_id = load.channel_id;
    INFO("channel " << load.channel_id);
    CHECK(ServedHashes(trade, tccd) == load.hashes);
  }
}

TEST_CASE("under load: a backup restored and a log that lost its tail, every channel comes back") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  std::vector<ChannelLoad> loads(3);
  for (ChannelLoad& load : loads) {
    trade.Record(dir.Sub("ledger"), 4);
    load.channel_id = trade.channel_id;
  }
  const Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
  const std::string data = dir.Sub("data");
  const std::string store = data + "/store";
  const std::string admin_key = data + "/admin.key";
  const std::string journals = dir.Sub("journals");
  const std::string backup = dir.Sub("backup");

  // Three channels settle; `tcc backup` copies the store while they go on.
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    SettleAll(trade, tccd, claim, journals, loads, 6, 6, [&] {
      REQUIRE(RunCli("backup --data-dir " + data + " --tcc " + trade.tcc_did() + " --out " + backup) == 0);
    });
    REQUIRE(tccd.Stop() == 0);  // drains: what was settled is anchored
  }
  const Json manifest = Unwrap(Json::Parse(Unwrap(ReadFile(backup + "/manifest.json"), "manifest")), "manifest");
  for (const Json& channel : *Unwrap(manifest.GetArray("channels"), "channels")) {
    const std::string id(Unwrap(channel.GetString("channel"), "channel"));
    const auto load = std::find_if(loads.begin(), loads.end(), [&](const ChannelLoad& l) { return l.channel_id == id; });
    REQUIRE(load != loads.end());
    // The copy is behind what the parties hold: 4 TSCs each came after the backup finished.
    CHECK(Count(channel, "head_seq") + 4 <= load->hashes.size());
  }

  // The backup put in place: tccd finds its store behind its anchors, the parties' journals bring
  // every channel back as they rejoin, and they settle on.
  fs::rename(store, dir.Sub("store.newer"));
  CopyDirectory(backup + "/store", store);
  {
    TccdProcess tccd;
    tccd.Start(LocalTccdArguments(dir, kTccdOptions));
    CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "recovering");
    SettleAll(trade, tccd, claim, journals, loads, 6);
    CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "ok");
    CheckServed(trade, tccd, loads);
    REQUIRE(tccd.Stop() == 0);
  }

  // The store's newest log loses two thirds: again the journals restore what it lost.
  TruncateNewestLog(store, 1.0 / 3);
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, kTccdOptions));
  CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "recovering");
  SettleAll(trade, tccd, claim, journals, loads, 2);
  CHECK(Unwrap(ControlHealth(tccd, admin_key).GetString("status"), "status") == "ok");
  CheckServed(trade, tccd, loads);
  REQUIRE(tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
