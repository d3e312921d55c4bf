// AuditStore and `tcc store verify` on a store a real (embedded) tccd wrote: 12 settled TSCs, N =
// 4, three batches anchored on a real embedded ledger. Then the store is changed behind tccd's back
// the way a disk or an attacker would: a TSC's text altered with its stored hash kept, a TSC
// altered and re-hashed (the hash chain forks there), a store checked against another TCC's DID.
#include "tcc/controller/store_audit.h"

#include <doctest/doctest.h>
#include <leveldb/db.h>

#include <cstdlib>
#include <string>

#include "daemon_test_util.h"
#include "store_layout_test_util.h"
#include "tcc/common/sha256.h"
#include "tcc/controller/daemon.h"
#include "tcc/wire/dispute.h"

namespace tcc::testing {
namespace {

using client::MessageType;

using store_layout::TscKey;

// Rewrites TSC `seq`'s fee in the closed store. Its t/ record is a format byte (2), the stored
// TSC hash (32 bytes), the claim hash (32 bytes) and the u64be number of its text, which is stored
// under O/<number>; with `rehash` the stored hash is made to match the altered text, as someone
// covering their tracks would.
void AlterFee(const std::string& store_path, const std::string& channel_id, std::uint64_t seq,
              bool rehash) {
  leveldb::DB* raw = nullptr;
  leveldb::Status opened = leveldb::DB::Open(leveldb::Options(), store_path, &raw);
  REQUIRE_MESSAGE(opened.ok(), opened.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  std::string record, text;
  REQUIRE(db->Get(leveldb::ReadOptions(), TscKey(channel_id, seq), &record).ok());
  REQUIRE(record.size() == store_layout::kTscRecordSize);
  const std::string text_key = store_layout::TscTextKey(record);
  REQUIRE(db->Get(leveldb::ReadOptions(), text_key, &text).ok());
  Json tsc = Unwrap(Json::Parse(text), "stored TSC");
  tsc.Find("credentialSubject")->Find("fee")->Set("amount", "0.01");
  leveldb::WriteOptions sync;
  sync.sync = true;
  REQUIRE(db->Put(sync, text_key, tsc.Serialize()).ok());
  if (rehash) {
    const Bytes hash = HexDecode(Unwrap(vc::CredentialHash(tsc), "hash")).value();
    record.replace(1, 32, std::string(hash.begin(), hash.end()));
    REQUIRE(db->Put(sync, TscKey(channel_id, seq), record).ok());
  }
}

controller::StoreAuditReport Audit(const std::string& store_path, const std::string& tcc_did,
                                   const std::string& ledger_path) {
  std::shared_ptr<chain::ChainAdapter> ledger;
  std::shared_ptr<did::Resolver> resolver = std::make_shared<did::DidKeyResolver>();
  if (!ledger_path.empty()) {
    ledger = std::shared_ptr<chain::ChainAdapter>(
        Unwrap(chain::LocalLedger::Open({.path = ledger_path}), "ledger"));
    resolver = controller::MakeChainResolver(ledger);
  }
  controller::StoreAuditOptions options;
  options.tcc_did = tcc_did;
  options.resolver = resolver.get();
  options.chain = ledger.get();
  return Unwrap(controller::AuditStore(store_path, options), "audit");
}

bool Mentions(const controller::StoreAuditReport& report, const std::string& fragment) {
  for (const std::string& problem : report.problems) {
    if (problem.find(fragment) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("store audit: an intact store verifies; altered TSCs and a forked hash chain are found") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  {
    controller::DaemonConfig config = LocalDaemonConfig(dir);
    config.anchoring.interval = std::chrono::milliseconds(50);
    auto daemon = Unwrap(controller::Daemon::Start(config), "start");
    auto provider = ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.provider);
    auto consumer = ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
    std::string prev = trade.channel_id;
    for (std::uint64_t seq = 1; seq <= 12; ++seq) {
      prev = vc::CredentialHash(SettleOnce(trade, *provider, *consumer, seq, prev).tsc).value();
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!provider->GetEvidence(trade.channel_id, 12).ok() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(provider->GetEvidence(trade.channel_id, 12).ok());
    daemon->Stop();
    REQUIRE(daemon->Wait().ok());
  }
  const std::string store_path = dir.Sub("data") + "/store";
  const std::string ledger_path = dir.Sub("ledger");

  SUBCASE("intact") {
    controller::StoreAuditReport report = Audit(store_path, trade.tcc_did(), ledger_path);
    INFO(report.ToString());
    CHECK(report.ok());
    CHECK(report.checked_on_chain);
    REQUIRE(report.channels.size() == 1);
    CHECK(report.channels[0].head_seq == 12);
    CHECK(report.channels[0].anchored_seq == 12);
    CHECK(report.tscs == 12);
    CHECK(report.bundles == 3);  // the leaves at 4, 8 and 12
    CHECK(Audit(store_path, trade.tcc_did(), "").ok());
    // The CLI: a data directory (its tcc.key names the TCC) and the chain.
    CHECK(RunCli("store verify " + dir.Sub("data") + " --tcc-did " + trade.tcc_did() +
                 " --chain local:" + ledger_path) == 0);
    CHECK(RunCli("store verify " + store_path + " --json") == 0);
    CHECK(RunCli("store verify " + dir.Sub("absent")) == 3);
  }

  SUBCASE("a TSC altered with its stored hash kept is refused by the store") {
    AlterFee(store_path, trade.channel_id, 5, false);
    controller::StoreAuditReport report = Audit(store_path, trade.tcc_did(), ledger_path);
    INFO(report.ToString());
    CHECK_FALSE(report.ok());
    CHECK(report.problem_count == 1);
    CHECK(Mentions(report, "seq 5: channel store record"));
    CHECK(Mentions(report, "does not hash to its stored hash"));
    CHECK(report.tscs == 11);
    CHECK(RunCli("store verify " + store_path) == 1);
  }

  SUBCASE("a TSC altered and re-hashed fails its proofs and forks the chain at the next TSC") {
    AlterFee(store_path, trade.channel_id, 7, true);
    controller::StoreAuditReport report = Audit(store_path, trade.tcc_did(), ledger_path);
    INFO(report.ToString());
    CHECK_FALSE(report.ok());
    CHECK(Mentions(report, "seq 7: "));
    CHECK(Mentions(report, "seq 8: prev is"));
    CHECK(Mentions(report, "the hash chain forks"));
    // Offline (no chain): the TCC's proof over the credential still catches it.
    controller::StoreAuditReport offline = Audit(store_path, trade.tcc_did(), "");
    INFO(offline.ToString());
    CHECK(Mentions(offline, "seq 7: the TCC's proof"));
    CHECK(RunCli("store verify " + store_path + " --chain local:" + ledger_path) == 1);
  }

  SUBCASE("TSCs checked against another TCC's DID") {
    controller::StoreAuditReport report = Audit(store_path, DidOf(*NewKey()), "");
    CHECK(report.problem_count == 12);
    CHECK(Mentions(report, "not by this TCC"));
  }
}

TEST_CASE("store audit: a party's closing record and its anchored leaf verify; an altered record is "
          "found") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  Json closing;
  {
    controller::DaemonConfig config = LocalDaemonConfig(dir);
    config.anchoring.interval = std::chrono::milliseconds(50);
    auto daemon = Unwrap(controller::Daemon::Start(config), "start");
    auto provider = ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.provider);
    auto consumer = ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
    std::string prev = trade.channel_id;
    for (std::uint64_t seq = 1; seq <= 2; ++seq) {
      prev = vc::CredentialHash(SettleOnce(trade, *provider, *consumer, seq, prev).tsc).value();
    }
    const Json request = Unwrap(
        wire::MakeCloseRequest(trade.channel_id, {wire::ReasonCode::kOther, "done"}, *trade.consumer),
        "close request");
    closing = Unwrap(consumer->Close(trade.channel_id, request), "close");
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!Unwrap(provider->Disputes(trade.channel_id), "disputes").closing_evidence &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    REQUIRE(Unwrap(provider->Disputes(trade.channel_id), "disputes").closing_evidence);
    daemon->Stop();
    REQUIRE(daemon->Wait().ok());
  }
  const std::string store_path = dir.Sub("data") + "/store";
  const std::string ledger_path = dir.Sub("ledger");

  SUBCASE("intact") {
    controller::StoreAuditReport report = Audit(store_path, trade.tcc_did(), ledger_path);
    INFO(report.ToString());
    CHECK(report.ok());
    CHECK(report.channels[0].anchored_seq == 2);
    CHECK(report.bundles == 2);  // the last TSC's leaf and the closing leaf
    CHECK(RunCli("store verify " + store_path + " --chain local:" + ledger_path) == 0);
  }

  SUBCASE("a closing record altered on disk") {
    Json altered = closing;
    altered.Set("text", "not what was signed");
    {
      leveldb::DB* raw = nullptr;
      REQUIRE(leveldb::DB::Open(leveldb::Options(), store_path, &raw).ok());
      std::unique_ptr<leveldb::DB> db(raw);
      leveldb::WriteOptions sync;
      sync.sync = true;
      REQUIRE(db->Put(sync, "z/" + trade.channel_id, altered.Serialize()).ok());
    }
    controller::StoreAuditReport report = Audit(store_path, trade.tcc_did(), ledger_path);
    INFO(report.ToString());
    CHECK_FALSE(report.ok());
    CHECK(Mentions(report, "seq 2: the closing record"));
    CHECK(Mentions(report, "the closing evidence bundle commits record hash"));
    CHECK(RunCli("store verify " + store_path) == 1);
  }
}

}  // namespace
}  // namespace tcc::testing
