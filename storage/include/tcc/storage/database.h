// storage::Database: one LevelDB database on disk with the failure policy every TCC store shares
// (the daemon's channel store and the embedded ledger).
//
// Writes go through a Writer, one at a time, each from its first read to its synced write. The
// first write that fails latches the database: it stops writing through that handle (LevelDB
// latches the error of a failed sync or compaction, and after a failed log append the next append
// would land behind a torn record, which recovery refuses as corruption), and every write is
// refused at once with kUnavailable "<state name> cannot write: <cause>". A reopen (close, open,
// which replays the log and drops a torn tail, then the owner's check hook) clears the latch. It
// is tried by BeginWrite and Heal, at most once per reopen interval, and, while the old handle
// still serves reads, only once the logs' size plus a headroom is free: the reopen writes the logs
// out, and without room it would fail after closing the handle and take the reads with it. Reads
// go on through the old handle; only a failed reopen (or an open at start that failed for an I/O
// reason, if the owner asks for that) leaves none, and reads are then kUnavailable
// "<state name> cannot read: <cause>" until a reopen succeeds (BeginRead tries one too then, by
// the same interval). A write that reported failure may
// still be on disk after the reopen (its sync failed after the append): owners treat a failed
// write as "maybe durable" and read back before relying on it.
//
// health() is what the owner reports: writable, the cause, cumulative failed or refused writes and
// reopens.
//
// Thread-safe. Writers exclude each other, Readers run alongside them, a reopen waits for both.
// Readers and Writers hold locks: keep them short and never ask for a Writer while holding a
// Reader on the same thread. The check hook runs with the handle held exclusively. The Database
// owns its handle, block cache and filter policy; destroying it closes the database.
#pragma once

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>

#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
#include "tcc/storage/health.h"

namespace tcc::storage {

struct DatabaseOptions {
  std::string path;
  // How messages name the database: "no <name> at PATH", "<name> PATH is in use by another
  // process"; and its state: "<state_name> cannot write: <cause>".
  std::string name = "store";
  std::string state_name = "store";
  bool create_if_missing = true;
  // An existing database (CURRENT present) that cannot be opened for an I/O reason (a full disk)
  // is opened latched, without a handle, instead of failing: it heals like a failed write.
  bool open_latched_on_io_error = false;
  // What a LevelDB corruption at open is reported as.
  ErrorCode corruption_code = ErrorCode::kInternal;
  // LevelDB tuning; 0 keeps LevelDB's default (no shared cache, no filter).
  std::size_t write_buffer_bytes = 0;
  std::size_t block_cache_bytes = 0;
  std::size_t block_bytes = 0;  // uncompressed size of a table block
  int bloom_filter_bits = 0;
  // The reopen policy.
  std::chrono::milliseconds reopen_interval{300};
  std::uint64_t reopen_headroom_bytes = 1u << 20;
  // Runs after every open and reopen with the fresh handle (held exclusively; writes through the
  // handle itself are allowed here, nothing else uses it yet): format checks, the owner reading
  // its own state back. An error fails Open, or fails the reopen (the handle is closed again and
  // the database stays latched with that message as its cause).
  std::function<Status(leveldb::DB&)> check;
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> Open(DatabaseOptions options);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Shared use of the handle for reads.
  class Reader {
   public:
    leveldb::DB& db() const { return *db_; }

   private:
    friend class Database;
    Reader(std::shared_lock<std::shared_mutex> handle, leveldb::DB* db)
        : handle_(std::move(handle)), db_(db) {}
    std::shared_lock<std::shared_mutex> handle_;
    leveldb::DB* db_;
  };

  // The one write in progress: reads through db() see the state the write builds on.
  class Writer {
   public:
    leveldb::DB& db() const { return *db_; }
    // A write through the handle; `sync` false only for records whose loss in a power failure is
    // harmless. A failure latches the database; the error is kIo for an I/O error, else
    // kInternal, with `doing` as context.
    Status Write(leveldb::WriteBatch& batch, std::string_view doing, bool sync = true);

   private:
    friend class Database;
    Writer(Database& owner, std::unique_lock<std::mutex> writing,
           std::shared_lock<std::shared_mutex> handle)
        : owner_(&owner),
          writing_(std::move(writing)),
          handle_(std::move(handle)),
          db_(owner.db_.get()) {}
    Database* owner_;
    std::unique_lock<std::mutex> writing_;
    std::shared_lock<std::shared_mutex> handle_;
    leveldb::DB* db_;
  };

  // kUnavailable while there is no handle (after trying a reopen, if one is due).
  Result<Reader> BeginRead();
  // Reopens first when latched (if due and there is room); kUnavailable while still latched.
  Result<Writer> BeginWrite();
  // Ok while writable; otherwise tries a reopen as BeginWrite does, without writing. For owners
  // that refuse work before queueing it.
  Status Heal();

  // The latched refusal: kUnavailable "<state name> cannot write: <cause>".
  Error WriteRefused() const;
  Health health() const;
  const DatabaseOptions& options() const { return options_; }

 private:
  explicit Database(DatabaseOptions options);
  Status OpenHandle();
  Status Reopen() TCC_EXCLUDES(state_mutex_);  // under write_mutex_
  std::uint64_t SpaceMissingForReopen() const;
  void Latch(std::string cause) TCC_EXCLUDES(state_mutex_);  // under write_mutex_

  DatabaseOptions options_;
  leveldb::Options db_options_;
  // Declared before db_ so that the database closes before the cache and filter go away.
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::shared_mutex handle_mutex_;   // shared by Readers and Writers, exclusive by a reopen
  std::unique_ptr<leveldb::DB> db_;  // null only while latched without a handle
  std::mutex write_mutex_;           // one Writer (or reopen) at a time
  // Readers and Writers move their locks of handle_mutex_ and write_mutex_ out of this object,
  // which clang's analysis cannot follow; those two stay plain and are documented above.
  mutable Mutex state_mutex_;
  std::string cause_ TCC_GUARDED_BY(state_mutex_);  // empty while writable
  std::chrono::steady_clock::time_point next_reopen_ TCC_GUARDED_BY(state_mutex_);
  std::atomic<bool> writable_{true};
  std::atomic<std::uint64_t> write_failures_{0};
  std::atomic<std::uint64_t> reopens_{0};
  std::atomic<std::uint64_t> syncs_{0};
};

// Keys as people can read them in error messages: printable bytes as they are, others as \xNN.
std::string DescribeKey(std::string_view key);

}  // namespace tcc::storage
