#include "tcc/controller/store_backup.h"

#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "channel_store.h"
#include "store_backup_online.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/json_object_reader.h"
#include "tcc/common/time.h"

namespace tcc::controller {
namespace {

namespace fs = std::filesystem;

// Records per write into the copy: bounded memory, few writes.
constexpr std::size_t kBatchRecords = 10000;
constexpr std::size_t kBatchBytes = 4u << 20;

// The target must be new or an empty directory, so a backup never mixes with other files nor
// overwrites an earlier one. Returns whether it was created here (then a failure removes it).
Result<bool> PrepareTarget(const std::string& target) {
  if (target.empty() || !fs::path(target).is_absolute()) {
    return Error(ErrorCode::kInvalidArgument,
                 "the backup target must be an absolute path, not \"" + target + "\"");
  }
  std::error_code error;
  const bool existed = fs::exists(target, error);
  if (existed) {
    if (!fs::is_directory(target, error)) {
      return Error(ErrorCode::kAlreadyExists,
                   "the backup target " + target + " is not a directory");
    }
    if (!fs::is_empty(target, error) || error) {
      return Error(ErrorCode::kAlreadyExists,
                   "the backup target " + target + " is not empty; name a new directory");
    }
  }
  TCC_RETURN_IF_ERROR(EnsurePrivateDirectory(target, "backup directory"));
  return !existed;
}

void RemoveTarget(const std::string& target, bool created) {
  std::error_code ignored;
  if (created) {
    fs::remove_all(target, ignored);
    return;
  }
  for (const auto& entry : fs::directory_iterator(target, ignored)) fs::remove_all(entry, ignored);
}

// Copies every record of one snapshot into a new LevelDB at `copy_path`, the last write synced.
Result<std::pair<std::uint64_t, std::uint64_t>> CopyRecords(ChannelStore& store,
                                                            const std::string& copy_path,
                                                            const BackupOptions& options) {
  std::unique_ptr<const leveldb::FilterPolicy> filter(leveldb::NewBloomFilterPolicy(10));
  leveldb::Options db_options;
  db_options.create_if_missing = true;
  db_options.error_if_exists = true;
  db_options.paranoid_checks = true;
  db_options.filter_policy = filter.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status opened = leveldb::DB::Open(db_options, copy_path, &raw);
  if (!opened.ok())
    return Error(ErrorCode::kIo, "creating " + copy_path + ": " + opened.ToString());
  std::unique_ptr<leveldb::DB> copy(raw);

  std::uint64_t records = 0, bytes = 0;
  leveldb::WriteBatch batch;
  std::size_t batched = 0;
  const auto flush = [&](bool sync) -> Status {
    leveldb::WriteOptions write;
    write.sync = sync;
    leveldb::Status written = copy->Write(write, &batch);
    if (!written.ok())
      return Error(ErrorCode::kIo, "writing " + copy_path + ": " + written.ToString());
    batch.Clear();
    batched = 0;
    return OkStatus();
  };
  const auto copy_record = [&](std::string_view key, std::string_view value) -> Result<bool> {
    batch.Put(leveldb::Slice(key.data(), key.size()), leveldb::Slice(value.data(), value.size()));
    ++records;
    bytes += key.size() + value.size();
    if (++batched >= kBatchRecords || batch.ApproximateSize() >= kBatchBytes) {
      TCC_RETURN_IF_ERROR(flush(false));
    }
    if (options.progress && options.progress_every > 0 && records % options.progress_every == 0)
      options.progress(records);
    return true;
  };
  TCC_RETURN_IF_ERROR(store.ScanSnapshot(copy_record));
  // The synced write makes the log durable; the tables LevelDB wrote are synced as they are made.
  TCC_RETURN_IF_ERROR(flush(true));
  if (options.progress) options.progress(records);
  return std::make_pair(records, bytes);
}

// What the manifest says about each channel, read back from the copy through ChannelStore's
// checked decoders.
Result<std::vector<BackupChannel>> ReadChannels(ChannelStore& store) {
  TCC_ASSIGN_OR_RETURN(std::vector<ChannelRecord> records, store.ListChannels());
  std::vector<BackupChannel> channels;
  for (const ChannelRecord& record : records) {
    TCC_ASSIGN_OR_RETURN(std::uint64_t anchored, store.AnchoredSeq(record.channel_id));
    channels.push_back({record.channel_id, std::string(ChannelStateName(record.state)),
                        record.last_seq, HexEncode(record.last_hash), anchored});
  }
  return channels;
}

Result<BackupResult> Backup(ChannelStore& store, const std::string& target,
                            const BackupOptions& options) {
  const auto started = std::chrono::steady_clock::now();
  BackupResult result;
  result.directory = target;
  result.manifest.tcc_did = options.tcc_did;
  result.manifest.created = FormatRfc3339(
      std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now()));
  const std::string copy_path = (fs::path(target) / kBackupStoreDir).string();
  TCC_ASSIGN_OR_RETURN(auto copied, CopyRecords(store, copy_path, options));
  result.manifest.records = copied.first;
  result.bytes = copied.second;
  {
    TCC_ASSIGN_OR_RETURN(std::unique_ptr<ChannelStore> copy,
                         ChannelStore::Open(copy_path, {.create_if_missing = false}));
    TCC_ASSIGN_OR_RETURN(result.manifest.channels, ReadChannels(*copy));
  }
  // Last: a directory with a manifest holds a complete copy.
  TCC_RETURN_IF_ERROR(WriteFileAtomic((fs::path(target) / kBackupManifestFile).string(),
                                      result.manifest.ToJson().SerializePretty() + "\n",
                                      {.mode = 0600, .overwrite = false}));
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace

Json BackupManifest::ToJson() const {
  Json json = Json::Object();
  json.Set("format", format);
  json.Set("tcc_did", tcc_did);
  json.Set("created", created);
  json.Set("records", records);
  Json list = Json::Array();
  for (const BackupChannel& channel : channels) {
    Json entry = Json::Object();
    entry.Set("channel", channel.channel_id);
    entry.Set("state", channel.state);
    entry.Set("head_seq", channel.head_seq);
    entry.Set("head_hash", channel.head_hash);
    entry.Set("anchored_seq", channel.anchored_seq);
    list.PushBack(std::move(entry));
  }
  json.Set("channels", std::move(list));
  return json;
}

Result<BackupManifest> BackupManifest::FromJson(const Json& json) {
  const auto parse_error = [](const Error& error) {
    return Error(ErrorCode::kParse, "backup manifest: " + error.message());
  };
  JsonObjectReader reader(json, "backup manifest");
  BackupManifest manifest;
  if (Status is_object = reader.CheckIsObject(); !is_object.ok())
    return parse_error(is_object.error());
  auto format = reader.String("format");
  if (!format.ok()) return parse_error(format.error());
  if (*format != kBackupFormat) {
    return Error(ErrorCode::kParse, "backup manifest: format \"" + format->substr(0, 64) +
                                        "\" is not " + std::string(kBackupFormat));
  }
  auto did = reader.String("tcc_did");
  auto created = reader.String("created");
  auto records = reader.Integer("records");
  auto list = reader.Member("channels", Json::Type::kArray);
  if (!did.ok()) return parse_error(did.error());
  if (!created.ok()) return parse_error(created.error());
  if (!records.ok()) return parse_error(records.error());
  if (!list.ok()) return parse_error(list.error());
  if (Status finished = reader.Finish(); !finished.ok()) return parse_error(finished.error());
  if (!ParseRfc3339(*created).ok()) {
    return Error(ErrorCode::kParse, "backup manifest: created is not an RFC 3339 time");
  }
  manifest.tcc_did = *did;
  manifest.created = *created;
  manifest.records = *records;
  for (const Json& entry : (*list)->as_array()) {
    JsonObjectReader channel_reader(entry, "backup manifest channel");
    BackupChannel channel;
    Status read = channel_reader.CheckIsObject();
    if (read.ok()) {
      auto id = channel_reader.LowerHex("channel");
      auto state = channel_reader.String("state");
      auto head_seq = channel_reader.Integer("head_seq");
      auto head_hash = channel_reader.LowerHex("head_hash");
      auto anchored = channel_reader.Integer("anchored_seq");
      if (!id.ok())
        read = id.error();
      else if (!state.ok())
        read = state.error();
      else if (!head_seq.ok())
        read = head_seq.error();
      else if (!head_hash.ok())
        read = head_hash.error();
      else if (!anchored.ok())
        read = anchored.error();
      else if (read = channel_reader.Finish(); read.ok()) {
        channel = {*id, *state, *head_seq, *head_hash, *anchored};
      }
    }
    if (!read.ok()) return parse_error(read.error());
    manifest.channels.push_back(std::move(channel));
  }
  return manifest;
}

Result<BackupResult> BackupStore(ChannelStore& store, const std::string& target_dir,
                                 const BackupOptions& options) {
  TCC_ASSIGN_OR_RETURN(bool created, PrepareTarget(target_dir));
  Result<BackupResult> result = Backup(store, target_dir, options);
  if (!result.ok()) RemoveTarget(target_dir, created);
  return result;
}

Result<BackupResult> BackupStoreOffline(const std::string& store_path,
                                        const std::string& target_dir,
                                        const BackupOptions& options) {
  TCC_ASSIGN_OR_RETURN(std::unique_ptr<ChannelStore> store,
                       ChannelStore::Open(store_path, {.create_if_missing = false}));
  return BackupStore(*store, target_dir, options);
}

std::string BackupVerifyReport::ToString() const {
  std::ostringstream out;
  out << (ok() ? "OK" : "PROBLEMS") << ": backup of " << manifest.channels.size()
      << " channel(s) taken " << manifest.created << " ("
      << (manifest.tcc_did.empty() ? "TCC not named" : manifest.tcc_did) << "), "
      << mismatches.size() << " difference(s) from its manifest\n";
  for (const std::string& mismatch : mismatches) out << "  manifest: " << mismatch << "\n";
  out << audit.ToString();
  return out.str();
}

Result<BackupVerifyReport> VerifyBackup(const std::string& backup_dir, StoreAuditOptions audit) {
  const std::string manifest_path = (fs::path(backup_dir) / kBackupManifestFile).string();
  const std::string store_path = (fs::path(backup_dir) / kBackupStoreDir).string();
  auto text = ReadFile(manifest_path);
  if (!text.ok()) {
    return std::move(text).error().WithContext(manifest_path +
                                               " (a backup directory without it is incomplete)");
  }
  auto json = Json::Parse(*text);
  if (!json.ok()) return std::move(json).error().WithContext(manifest_path);
  BackupVerifyReport report;
  TCC_ASSIGN_OR_RETURN(report.manifest, BackupManifest::FromJson(*json));
  if (audit.tcc_did.empty()) audit.tcc_did = report.manifest.tcc_did;
  TCC_ASSIGN_OR_RETURN(report.audit, AuditStore(store_path, audit));

  TCC_ASSIGN_OR_RETURN(std::unique_ptr<ChannelStore> store,
                       ChannelStore::Open(store_path, {.create_if_missing = false}));
  TCC_ASSIGN_OR_RETURN(std::vector<BackupChannel> stored, ReadChannels(*store));
  std::map<std::string, const BackupChannel*> in_store;
  for (const BackupChannel& channel : stored) in_store[channel.channel_id] = &channel;
  for (const BackupChannel& expected : report.manifest.channels) {
    auto found = in_store.find(expected.channel_id);
    if (found == in_store.end()) {
      report.mismatches.push_back("channel " + expected.channel_id + " is not in the copy");
      continue;
    }
    const BackupChannel& actual = *found->second;
    const auto differs = [&](std::string_view what, const std::string& want,
                             const std::string& got) {
      report.mismatches.push_back("channel " + expected.channel_id + ": " + std::string(what) +
                                  " is " + got + " in the copy, " + want + " in the manifest");
    };
    if (actual.state != expected.state) differs("state", expected.state, actual.state);
    if (actual.head_seq != expected.head_seq)
      differs("head seq", std::to_string(expected.head_seq), std::to_string(actual.head_seq));
    if (actual.head_hash != expected.head_hash)
      differs("head hash", expected.head_hash, actual.head_hash);
    if (actual.anchored_seq != expected.anchored_seq) {
      differs("anchored seq", std::to_string(expected.anchored_seq),
              std::to_string(actual.anchored_seq));
    }
    in_store.erase(found);
  }
  for (const auto& [id, channel] : in_store)
    report.mismatches.push_back("channel " + id + " is in the copy but not in the manifest");
  return report;
}

}  // namespace tcc::controller
