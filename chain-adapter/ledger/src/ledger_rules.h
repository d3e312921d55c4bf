// The embedded ledger's write rules, shared by the packer (deciding what a request does) and the
// verifier (replaying stored entries must reproduce them), so the two can never drift apart.
//
// LedgerView is the state a decision reads: index keys (an overlay of this commit's writes, over
// LevelDB or over nothing) and entries (this commit's fresh ones, else blocks in LevelDB). One view
// belongs to one thread; LevelDB itself is safe to read concurrently with writes.
#pragma once

#include <leveldb/db.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tcc/chain/ledger_format.h"
#include "tcc/chain/ledger_verifier.h"
#include "tcc/chain/types.h"
#include "tcc/common/result.h"
#include "tcc/storage/database.h"

namespace tcc::chain::ledger {

// How a ledger directory is opened (storage::Database: a held lock is kUnavailable, a missing
// directory kNotFound, LevelDB corruption kVerificationFailed), with CheckFormat as its check.
storage::DatabaseOptions DatabaseOptionsFor(const std::string& path, bool create_if_missing);
// An empty database gets the format marker (if it may be created); anything else must carry it.
tcc::Status CheckFormat(leveldb::DB& db, const std::string& path, bool create_if_missing);

Result<Block> ReadBlock(leveldb::DB& db, const leveldb::ReadOptions& options,
                        std::uint64_t height);
Result<Entry> ReadEntry(leveldb::DB& db, const leveldb::ReadOptions& options,
                        const Location& location);
ChainReceipt MakeReceipt(const BlockHeader& header, const Bytes& entry_bytes);

class LedgerView {
 public:
  // `index_from_db`: read index keys that this view has not written from LevelDB (the packer)
  // or treat them as absent (the verifier, which rebuilds the index from blocks).
  LedgerView(leveldb::DB& db, leveldb::ReadOptions options, bool index_from_db)
      : db_(db), options_(options), index_from_db_(index_from_db) {}

  Result<std::optional<std::string>> Get(const std::string& key) const;
  void Put(std::string key, std::string value) { writes_[std::move(key)] = std::move(value); }
  Result<Entry> Load(const Location& location) const;
  // Entries not yet in LevelDB (the packer's commit in progress) are found here first.
  void AddFresh(const Location& location, Entry entry) { fresh_[location] = std::move(entry); }
  const std::map<Location, Entry>& fresh() const { return fresh_; }

  // Every index key written through this view, in LevelDB's byte order.
  const std::map<std::string, std::string>& writes() const { return writes_; }

 private:
  leveldb::DB& db_;
  leveldb::ReadOptions options_;
  bool index_from_db_;
  std::map<std::string, std::string> writes_;
  std::map<Location, Entry> fresh_;
};

enum class WriteKind { kRegisterDid, kUpdateDid, kPublishTemplate, kRecordTic, kAnchor };

// What a write request does against the current state: return an existing entry (an idempotent
// retry) or append `fresh` (for DIDs, with its version filled in). Errors are the request's fault
// (kAlreadyExists, kConflict, kPermissionDenied, kNotFound) or a corrupt store (kInternal).
struct Decision {
  std::optional<Location> existing;
  std::optional<Entry> fresh;
};
Result<Decision> Decide(WriteKind kind, const Entry& request, const LedgerView& view);

// Records a fresh entry's index keys in the view.
Status IndexFresh(const Entry& entry, const Location& location, LedgerView& view);

// Walks the store as seen through `options` (use a snapshot) and reports every problem.
Result<LedgerReport> VerifyDatabase(leveldb::DB& db, const leveldb::ReadOptions& options);

// The request a stored entry must have come from (for replay).
WriteKind KindOf(const Entry& entry);

}  // namespace tcc::chain::ledger
