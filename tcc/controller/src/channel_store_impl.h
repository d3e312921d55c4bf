// Internal: what ChannelStore's source files share: the database (storage::Database, which owns
// the handle, the failure latch and the reopen policy) and the read helpers over a handle the
// caller holds through a storage::Database::Reader or Writer. Thread safety as ChannelStore's.
#pragma once

#include <leveldb/db.h>
#include <leveldb/iterator.h>
#include <leveldb/write_batch.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "channel_store.h"
#include "channel_store_keys.h"
#include "channel_store_records.h"
#include "tcc/storage/database.h"

namespace tcc::controller {

class ChannelStore::Impl {
 public:
  std::unique_ptr<storage::Database> database;

  // The lastSeq of the channel record this store last wrote, per channel: read from the record
  // once, then kept in step by every write of a channel record (a failed write drops the entry:
  // it may or may not be on disk). Touched only while holding the database's Writer, which is
  // what serializes it (clang cannot follow that lock; see storage::Database).
  std::unordered_map<std::string, std::uint64_t> written_heads;

  // The number of the next TSC text's O/ key: one above the highest on disk, read once, then
  // advanced by every commit that uses one, written or not (a failed write may be on disk after
  // all, so its numbers are never handed out again). Serialized as written_heads is.
  std::optional<std::uint64_t> next_body;

  // The batch CommitSettlements fills, cleared and kept between calls: a group's texts (a few
  // hundred KB) would otherwise be copied into a growing buffer and freed on every group. It
  // keeps the capacity of the largest group written. Serialized as written_heads is.
  leveldb::WriteBatch commit_batch;

  // 0 for a channel with no record yet.
  Result<std::uint64_t> WrittenHead(leveldb::DB& db, const std::string& channel_id);
  Result<std::uint64_t> NextBody(leveldb::DB& db);
  void WroteChannel(const std::string& channel_id, std::uint64_t last_seq, const Status& written) {
    if (written.ok()) {
      written_heads[channel_id] = last_seq;
    } else {
      written_heads.erase(channel_id);
    }
  }
};

namespace store_format {

inline leveldb::ReadOptions Read(const leveldb::Snapshot* snapshot = nullptr) {
  leveldb::ReadOptions options;
  options.verify_checksums = true;
  options.snapshot = snapshot;
  return options;
}

inline Result<std::optional<std::string>> Get(leveldb::DB& db, const std::string& key,
                                              const leveldb::ReadOptions& options = Read()) {
  std::string value;
  leveldb::Status status = db.Get(options, key, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) {
    return store_format::StoreError(status, "reading " + store_format::DescribeKey(key));
  }
  return std::optional<std::string>(std::move(value));
}

// Calls visit(key, value) -> Result<bool> (false: stop) for each key under `prefix`, in key
// order, starting at `start` (which must not sort before `prefix`).
template <typename Visit>
Status Scan(leveldb::DB& db, std::string_view prefix, std::string_view start, Visit&& visit,
            const leveldb::ReadOptions& options = Read()) {
  std::unique_ptr<leveldb::Iterator> it(db.NewIterator(options));
  for (it->Seek(store_format::AsSlice(start)); it->Valid(); it->Next()) {
    std::string_view key = store_format::View(it->key());
    if (!key.starts_with(prefix)) break;
    TCC_ASSIGN_OR_RETURN(bool more, visit(key, store_format::View(it->value())));
    if (!more) break;
  }
  if (!it->status().ok()) {
    return store_format::StoreError(it->status(), "scanning " + store_format::DescribeKey(prefix));
  }
  return OkStatus();
}

// The TSC a t/ record (`key`, `value`) stands for, its text read from its O/ record when it is
// not inline, checked against its stored hash. Errors name the t/ key.
inline Result<TscRecord> ReadTsc(leveldb::DB& db, std::string_view key, std::string_view value,
                                 const leveldb::ReadOptions& options = Read()) {
  TCC_ASSIGN_OR_RETURN(TscEntry entry, DecodeTscEntry(key, value));
  if (entry.body) {
    const std::string body_key = TscBodyKey(*entry.body);
    Result<std::optional<std::string>> text = Get(db, body_key, options);
    if (!text.ok()) return std::move(text).error().WithContext("TSC " + DescribeKey(key));
    if (!text->has_value())
      return Corrupt(key, "its text " + DescribeKey(body_key) + " is missing");
    entry.tsc.tsc = std::move(**text);
  }
  return CheckStoredTsc(key, std::move(entry.tsc));
}

}  // namespace store_format

}  // namespace tcc::controller
