// Backups and a damaged store, against a real tccd process, real LevelDB files and a real embedded
// ledger.
//  - `tcc backup` takes a copy through control.backup while a party settles; the copy, put in
//    place as a new data directory's store, passes `tcc store verify` (on the chain too), and its
//    heads are the manifest's (`tcc backup --verify`). The offline form copies a stopped tccd's
//    store and is refused while tccd has it open; a non-empty target is refused.
//  - Flipped bytes in a table file (.ldb): tccd starts but refuses the channel whose records sit
//    in the damaged block, naming LevelDB's error, and reports itself degraded.
#include "tcc/controller/store_backup.h"

#include <doctest/doctest.h>
#include <leveldb/db.h>
#include <leveldb/iterator.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <vector>

#include "daemon_test_util.h"
#include "store_layout_test_util.h"
#include "tcc/common/file.h"

namespace tcc::testing {
namespace {

namespace fs = std::filesystem;

Json ReadJsonFile(const std::string& path) {
  return Unwrap(Json::Parse(Unwrap(ReadFile(path), path.c_str())), path.c_str());
}

// Settles `count` more TSCs on the trade's channel after `prev`; returns the last hash.
std::string Settle(const Trade& trade, client::ChannelClient& provider,
                   client::ChannelClient& consumer, std::uint64_t first, std::uint64_t count,
                   std::string prev) {
  for (std::uint64_t seq = first; seq < first + count; ++seq) {
    prev = vc::CredentialHash(SettleOnce(trade, provider, consumer, seq, prev).tsc).value();
  }
  return prev;
}

// Every key of the store but its TSCs ("t/..." and their texts, "O/..."), read before any damage.
std::vector<std::string> KeysBesideTscs(const std::string& store_path) {
  leveldb::DB* raw = nullptr;
  REQUIRE(leveldb::DB::Open(leveldb::Options(), store_path, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  std::vector<std::string> keys;
  std::unique_ptr<leveldb::Iterator> it(db->NewIterator(leveldb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (!it->key().starts_with("t/") && !it->key().starts_with("O/"))
      keys.push_back(it->key().ToString());
  }
  REQUIRE(it->status().ok());
  return keys;
}

// LevelDB's error reading one of the channel's TSCs 1..last, empty when all read. Damage that
// also reaches a record beside the TSCs (`beside`) does not count (empty): tccd's start needs
// those records (counters, channel records), and this test is about a block of TSCs.
std::string TscReadError(const std::string& store_path, const std::string& channel_id,
                         std::uint64_t last, const std::vector<std::string>& beside) {
  leveldb::Options options;
  options.paranoid_checks = true;
  leveldb::DB* raw = nullptr;
  leveldb::Status opened = leveldb::DB::Open(options, store_path, &raw);
  if (!opened.ok()) return "open: " + opened.ToString();
  std::unique_ptr<leveldb::DB> db(raw);
  leveldb::ReadOptions read;
  read.verify_checksums = true;
  read.fill_cache = false;
  for (std::uint64_t seq = 1; seq <= last; ++seq) {
    std::string value;
    leveldb::Status got = db->Get(read, store_layout::TscKey(channel_id, seq), &value);
    if (got.ok() && value.size() == store_layout::kTscRecordSize)
      got = db->Get(read, store_layout::TscTextKey(value), &value);
    if (!got.ok()) {
      for (const std::string& key : beside) {
        if (!db->Get(read, key, &value).ok()) return "";
      }
      return got.ToString();
    }
  }
  return "";
}

TEST_CASE(
    "backup: taken through tccd while a party settles, restored, it verifies and matches its "
    "manifest") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir));
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  std::string prev = Settle(trade, *provider, *consumer, 1, 8, trade.channel_id);

  const std::string data = dir.Sub("data");
  const std::string backup = dir.Sub("backup");
  // The copy is taken while settlements 9..40 go on.
  std::string backup_output;
  auto taken = std::async(std::launch::async, [&] {
    return RunCli("backup --data-dir " + data + " --tcc " + trade.tcc_did() + " --out " + backup,
                  &backup_output);
  });
  prev = Settle(trade, *provider, *consumer, 9, 32, prev);
  REQUIRE_MESSAGE(taken.get() == 0, backup_output);
  CHECK(backup_output.find("channel       " + trade.channel_id) != std::string::npos);
  CHECK(LogShows(tccd, "\"msg\":\"backup finished\""));

  // A second backup into the same (now non-empty) directory is refused and changes nothing.
  const std::string manifest_text = ReadFile(backup + "/manifest.json").value();
  std::string refused;
  CHECK(RunCli("backup --data-dir " + data + " --tcc " + trade.tcc_did() + " --out " + backup,
               &refused) == 3);
  CHECK(refused.find("not empty") != std::string::npos);
  CHECK(ReadFile(backup + "/manifest.json").value() == manifest_text);
  // The offline form cannot open the store tccd holds.
  CHECK(RunCli("backup --offline --data-dir " + data + " --tcc " + trade.tcc_did() + " --out " +
                   dir.Sub("offline-early"),
               &refused) == 3);
  CHECK(refused.find("in use") != std::string::npos);
  CHECK_FALSE(fs::exists(dir.Sub("offline-early")));
  provider.reset();
  consumer.reset();
  REQUIRE(tccd.Stop() == 0);

  // The manifest: this TCC, the channel at a head between the two phases.
  const Json manifest = ReadJsonFile(backup + "/manifest.json");
  INFO(manifest.SerializePretty());
  CHECK(manifest.GetString("format").value() == "tcc-store-backup/1");
  CHECK(manifest.GetString("tcc_did").value() == trade.tcc_did());
  const Json& channel = manifest.Find("channels")->as_array().at(0);
  CHECK(channel.GetString("channel").value() == trade.channel_id);
  const std::uint64_t head = channel.GetInteger("head_seq").value();
  MESSAGE("the backup holds seq 1.." << head << " of the 40 settled");
  CHECK(head >= 8);
  CHECK(head <= 40);
  CHECK(channel.GetInteger("anchored_seq").value() <= head);

  std::string verified;
  CHECK_MESSAGE(RunCli("backup --verify " + backup, &verified) == 0, verified);

  // Restore into a new data directory: its store verifies, on the chain too, at the manifest's
  // head.
  const std::string restored = dir.Sub("restored");
  fs::create_directories(restored);
  fs::copy(backup + "/store", restored + "/store", fs::copy_options::recursive);
  REQUIRE(RunCli("store verify " + restored + " --tcc-did " + trade.tcc_did() +
                     " --chain local:" + dir.Sub("ledger") + " --json",
                 &verified) == 0);
  const Json audit = Unwrap(Json::Parse(verified), verified.c_str());
  CHECK(audit.Find("channels")->as_array().at(0).GetInteger("headSeq").value() == head);
  CHECK(audit.GetInteger("tscs").value() == head);

  // Offline, from the stopped tccd: the full head.
  REQUIRE(RunCli("backup --offline --data-dir " + data + " --tcc " + trade.tcc_did() + " --out " +
                     dir.Sub("offline"),
                 &verified) == 0);
  const Json offline = ReadJsonFile(dir.Sub("offline") + "/manifest.json");
  CHECK(offline.Find("channels")->as_array().at(0).GetInteger("head_seq").value() == 40);
  CHECK(offline.Find("channels")->as_array().at(0).GetString("head_hash").value() == prev);
  CHECK(RunCli("backup --verify " + dir.Sub("offline")) == 0);

  // The library refuses a relative target, and a target that is a file, touching neither.
  auto relative = controller::BackupStoreOffline(data + "/store", "relative/backup");
  REQUIRE_FALSE(relative.ok());
  CHECK(relative.error().code() == ErrorCode::kInvalidArgument);
  CHECK_FALSE(fs::exists("relative"));
  REQUIRE(WriteFileAtomic(dir.Sub("a-file"), "keep").ok());
  auto onto_file = controller::BackupStoreOffline(data + "/store", dir.Sub("a-file"));
  REQUIRE_FALSE(onto_file.ok());
  CHECK(onto_file.error().code() == ErrorCode::kAlreadyExists);
  CHECK(ReadFile(dir.Sub("a-file")).value() == "keep");
  // A manifest is read strictly: an unknown member or another format is refused.
  Json unknown = manifest;
  unknown.Set("extra", 1);
  CHECK(controller::BackupManifest::FromJson(unknown).error().code() == ErrorCode::kParse);
  Json other = manifest;
  other.Set("format", "tcc-store-backup/2");
  CHECK_FALSE(controller::BackupManifest::FromJson(other).ok());
  CHECK(controller::BackupManifest::FromJson(manifest).ok());

  // A manifest that does not match its copy fails the check.
  Json altered = manifest;
  altered.Find("channels")->as_array().at(0).Set("head_seq", head + 1);
  REQUIRE(WriteFileAtomic(backup + "/manifest.json", altered.SerializePretty()).ok());
  CHECK(RunCli("backup --verify " + backup, &verified) == 1);
  CHECK(verified.find("head seq is " + std::to_string(head)) != std::string::npos);
  fs::remove(backup + "/manifest.json");
  CHECK(RunCli("backup --verify " + backup) == 3);
}

TEST_CASE(
    "corrupt store: a damaged table file makes tccd refuse the channel with LevelDB's error") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 4);
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir));
  {
    auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
    auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
    JoinWhenOpen(*provider, trade.channel_id);
    JoinWhenOpen(*consumer, trade.channel_id);
    Settle(trade, *provider, *consumer, 1, 12, trade.channel_id);
  }
  REQUIRE(tccd.Stop() == 0);

  // Everything into table files, then one byte flipped inside a block that holds TSCs only: the
  // first candidate offset (every 256 bytes) at which a fresh open cannot read one of them.
  const std::string store = dir.Sub("data") + "/store";
  {
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(leveldb::Options(), store, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    db->CompactRange(nullptr, nullptr);
  }
  const std::vector<std::string> beside = KeysBesideTscs(store);
  std::string damage;
  for (const auto& entry : fs::directory_iterator(store)) {
    if (entry.path().extension() != ".ldb" || !damage.empty()) continue;
    const std::string path = entry.path().string();
    std::string bytes = ReadFile(path).value();
    for (std::size_t offset = 0; offset + 64 < bytes.size() && damage.empty(); offset += 256) {
      std::string flipped = bytes;
      flipped[offset] = static_cast<char>(flipped[offset] ^ 0x5a);
      std::ofstream(path, std::ios::binary | std::ios::trunc) << flipped;
      damage = TscReadError(store, trade.channel_id, 12, beside);
      if (damage.empty()) std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    }
  }
  INFO("LevelDB reads: " << damage);
  REQUIRE(damage.find("Corruption") != std::string::npos);

  tccd.Start(LocalTccdArguments(dir, {"--metrics", "127.0.0.1:0", "--vc-api", "127.0.0.1:0"}));
  const Json health = ControlHealth(tccd, dir.Sub("data") + "/admin.key");
  INFO(health.SerializePretty());
  CHECK(health.GetString("status").value() == "degraded");
  const Json* store_health = health.Find("store");
  REQUIRE(store_health != nullptr);
  CHECK(store_health->Find("readable")->as_bool() == false);
  CHECK(store_health->GetString("read_error").value().find("Corruption") != std::string::npos);
  const Json* refused = store_health->Find("refused_channels")->Find(trade.channel_id);
  REQUIRE(refused != nullptr);
  CHECK(refused->as_string().find("Corruption") != std::string::npos);
  CHECK(LogShows(tccd, "channel refused: its records cannot be read"));

  // The parties are refused with the error, and control.open does not make the channel afresh.
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto joined = provider->Join(trade.channel_id);
  REQUIRE_FALSE(joined.ok());
  CHECK(joined.error().code() == ErrorCode::kUnavailable);
  CHECK(joined.error().message().find("refused") != std::string::npos);
  CHECK(joined.error().message().find("Corruption") != std::string::npos);
  auto opened = ConnectControl(tccd, dir.Sub("data") + "/admin.key")
                    ->Request(client::MessageType::kControlOpen, {{"tic", trade.channel_id}});
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().message().find("refused") != std::string::npos);

  // The VC API's /healthz says so too.
  TempDir curl_dir;
  const std::string body = curl_dir.Sub("healthz.json");
  CHECK(std::system(("curl -s --max-time 10 -o " + body + " -w '%{http_code}' http://" +
                     tccd.vc_api() + "/healthz > " + curl_dir.Sub("code"))
                        .c_str()) == 0);
  CHECK(ReadFile(curl_dir.Sub("code")).value() == "503");
  CHECK(ReadFile(body).value().find("cannot be read") != std::string::npos);

  const std::string scrape = ScrapeMetrics(tccd.metrics());
  CHECK(MetricValue(scrape, "tcc_store_readable") == 0.0);
  CHECK(MetricValue(scrape, "tcc_channels_refused") == 1.0);
}

}  // namespace
}  // namespace tcc::testing
