#include "tcc/storage/database.h"

#include <leveldb/cache.h>
#include <leveldb/env.h>
#include <leveldb/filter_policy.h>
#include <sys/statvfs.h>

#include <filesystem>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/thread_name.h"

namespace tcc::storage {

using Clock = std::chrono::steady_clock;

Database::Database(DatabaseOptions options) : options_(std::move(options)) {}

Database::~Database() = default;

namespace {

// LevelDB runs every compaction of the process on one background thread, started by the first
// Schedule() and left unnamed, so it would carry the name of whichever thread scheduled first
// (and its CPU would be counted as that thread's). The first scheduled job names it instead.
void NameLevelDbBackgroundThread() {
  static std::once_flag named;
  std::call_once(named, [] {
    leveldb::Env::Default()->Schedule([](void*) { SetCurrentThreadName("tcc-leveldb-bg"); },
                                      nullptr);
  });
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(DatabaseOptions options) {
  NameLevelDbBackgroundThread();
  if (options.path.empty()) {
    return Error(ErrorCode::kInvalidArgument, options.name + " path is empty");
  }
  // LevelDB creates the directory and its lock file before it finds there is no database; an
  // open that must not create must not leave anything behind either.
  std::error_code ignored;
  const bool exists =
      std::filesystem::exists(std::filesystem::path(options.path) / "CURRENT", ignored);
  if (!options.create_if_missing && !exists) {
    return Error(ErrorCode::kNotFound, "no " + options.name + " at " + options.path);
  }
  std::unique_ptr<Database> database(new Database(std::move(options)));
  const DatabaseOptions& o = database->options_;
  leveldb::Options& db_options = database->db_options_;
  db_options.create_if_missing = o.create_if_missing;
  db_options.paranoid_checks = true;
  if (o.write_buffer_bytes > 0) db_options.write_buffer_size = o.write_buffer_bytes;
  if (o.block_bytes > 0) db_options.block_size = o.block_bytes;
  if (o.block_cache_bytes > 0) {
    database->cache_.reset(leveldb::NewLRUCache(o.block_cache_bytes));
    db_options.block_cache = database->cache_.get();
  }
  if (o.bloom_filter_bits > 0) {
    database->filter_.reset(leveldb::NewBloomFilterPolicy(o.bloom_filter_bits));
    db_options.filter_policy = database->filter_.get();
  }
  Status opened = database->OpenHandle();
  if (!opened.ok()) {
    if (!(o.open_latched_on_io_error && exists && opened.error().code() == ErrorCode::kIo)) {
      return std::move(opened).error();
    }
    // Starts latched and heals like a database whose write failed.
    std::lock_guard lock(database->write_mutex_);
    database->Latch(opened.error().message());
    MutexLock state(database->state_mutex_);
    database->next_reopen_ = Clock::time_point{};
  }
  return database;
}

// Opens db_ and runs the check hook; db_ stays null on failure. The caller holds the handle
// exclusively (or is Open, before anyone else can reach the database).
Status Database::OpenHandle() {
  leveldb::DB* raw = nullptr;
  leveldb::Status status = leveldb::DB::Open(db_options_, options_.path, &raw);
  std::unique_ptr<leveldb::DB> db(raw);
  if (!status.ok()) {
    const std::string message = status.ToString();
    const std::string named = options_.name + " " + options_.path;
    if (message.find("lock") != std::string::npos) {
      return Error(ErrorCode::kUnavailable,
                   named + " is in use by another process (" + message + ")");
    }
    if (status.IsInvalidArgument() && message.find("does not exist") != std::string::npos) {
      return Error(ErrorCode::kNotFound, "no " + options_.name + " at " + options_.path);
    }
    if (status.IsCorruption()) {
      return Error(options_.corruption_code, named + " is corrupt: " + message);
    }
    return Error(status.IsIOError() ? ErrorCode::kIo : ErrorCode::kInternal,
                 "opening " + named + ": " + message);
  }
  if (options_.check) TCC_RETURN_IF_ERROR(options_.check(*db));
  db_ = std::move(db);
  return OkStatus();
}

Result<Database::Reader> Database::BeginRead() {
  {
    std::shared_lock handle(handle_mutex_);
    if (db_) return Reader(std::move(handle), db_.get());
  }
  // Without a handle there are no reads to keep: a read may try the reopen (as rate-limited as a
  // write's), so a database that reads but is not written heals too. No Reader or Writer can be
  // held here (both need a handle), so this cannot wait on its own thread.
  {
    std::lock_guard writing(write_mutex_);
    if (!writable_.load()) (void)Reopen();
  }
  std::shared_lock handle(handle_mutex_);
  if (!db_) {
    MutexLock state(state_mutex_);
    return Error(ErrorCode::kUnavailable, options_.state_name + " cannot read: " + cause_);
  }
  return Reader(std::move(handle), db_.get());
}

Result<Database::Writer> Database::BeginWrite() {
  std::unique_lock writing(write_mutex_);
  if (!writable_.load()) {
    if (Status reopened = Reopen(); !reopened.ok()) {
      ++write_failures_;
      return std::move(reopened).error();
    }
  }
  return Writer(*this, std::move(writing), std::shared_lock(handle_mutex_));
}

Status Database::Heal() {
  if (writable_.load()) return OkStatus();
  std::lock_guard writing(write_mutex_);
  if (writable_.load()) return OkStatus();
  Status reopened = Reopen();
  if (!reopened.ok()) ++write_failures_;
  return reopened;
}

Status Database::Writer::Write(leveldb::WriteBatch& batch, std::string_view doing, bool sync) {
  leveldb::WriteOptions options;
  options.sync = sync;
  leveldb::Status status = db_->Write(options, &batch);
  if (status.ok()) {
    if (sync) owner_->syncs_.fetch_add(1, std::memory_order_relaxed);
    return OkStatus();
  }
  owner_->Latch(status.ToString());
  ++owner_->write_failures_;
  return Error(status.IsIOError() ? ErrorCode::kIo : ErrorCode::kInternal,
               std::string(doing) + ": " + status.ToString());
}

void Database::Latch(std::string cause) {
  MutexLock state(state_mutex_);
  cause_ = std::move(cause);
  next_reopen_ = Clock::now() + options_.reopen_interval;
  writable_ = false;
}

Error Database::WriteRefused() const {
  MutexLock state(state_mutex_);
  return Error(ErrorCode::kUnavailable, options_.state_name + " cannot write: " + cause_);
}

Health Database::health() const {
  Health health;
  health.writable = writable_.load();
  if (!health.writable) {
    MutexLock state(state_mutex_);
    health.cause = cause_;
  }
  health.write_failures = write_failures_.load();
  health.reopens = reopens_.load();
  health.syncs = syncs_.load(std::memory_order_relaxed);
  return health;
}

// Under write_mutex_, so no Writer holds the handle and no other reopen runs.
Status Database::Reopen() {
  {
    MutexLock state(state_mutex_);
    const auto now = Clock::now();
    if (now < next_reopen_) {
      return Error(ErrorCode::kUnavailable, options_.state_name + " cannot write: " + cause_);
    }
    next_reopen_ = now + options_.reopen_interval;
  }
  std::unique_lock exclusive(handle_mutex_);
  if (db_) {
    if (const std::uint64_t missing = SpaceMissingForReopen(); missing > 0) {
      MutexLock state(state_mutex_);
      return Error(ErrorCode::kUnavailable, options_.state_name + " cannot write: " + cause_ +
                                                " (" + std::to_string(missing) +
                                                " more bytes must be free to reopen it)");
    }
    // LevelDB's lock admits one handle per directory, within a process too: close first.
    db_.reset();
  }
  ++reopens_;
  Status opened = OpenHandle();
  MutexLock state(state_mutex_);
  if (!opened.ok()) {
    cause_ = "reopening " + options_.path + " failed: " + opened.error().message();
    return Error(ErrorCode::kUnavailable, options_.state_name + " cannot write: " + cause_);
  }
  cause_.clear();
  writable_ = true;
  return OkStatus();
}

// A reopen writes the logs' contents out as a table and a new MANIFEST: it needs their size plus
// some headroom. 0 when there is room (or the free space cannot be read: then the reopen is tried).
std::uint64_t Database::SpaceMissingForReopen() const {
  std::uint64_t logs = 0;
  std::error_code error;
  for (std::filesystem::directory_iterator it(options_.path, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() != ".log") continue;
    std::error_code size_error;
    const std::uintmax_t size = it->file_size(size_error);
    if (!size_error) logs += size;
  }
  struct statvfs info {};
  if (::statvfs(options_.path.c_str(), &info) != 0) return 0;
  const std::uint64_t available = static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
  const std::uint64_t needed = logs + options_.reopen_headroom_bytes;
  return available >= needed ? 0 : needed - available;
}

std::string DescribeKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(c);
    } else {
      out += "\\x" + HexEncode(ByteView(&byte, 1));
    }
  }
  return out;
}

}  // namespace tcc::storage
