#include "tcc/chain/local_ledger.h"

#include <leveldb/db.h>
#include <leveldb/write_batch.h>

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <thread>
#include <utility>

#include "ledger_rules.h"
#include "tcc/chain/codec.h"
#include "tcc/chain/merkle.h"
#include "tcc/common/decimal.h"
#include "tcc/storage/database.h"
#include "tcc/common/thread_name.h"

namespace tcc::chain {
namespace {

using ledger::Block;
using ledger::BlockHeader;
using ledger::Entry;
using ledger::Location;
using ledger::WriteKind;
using Clock = std::chrono::steady_clock;

// Event polls read at most this many event keys per call, so a filter that matches little cannot
// turn one poll into a scan of the whole chain; the cursor still advances.
constexpr std::size_t kMaxEventsScanned = 4096;

struct Head {
  std::uint64_t height = 0;
  Hash256 hash{};
  std::uint64_t timestamp_ms = 0;
};

using Done = std::function<void(Result<Recorded<Entry>>)>;

struct Request {
  WriteKind kind;
  Entry entry;
  Clock::time_point submitted;
  Done done;  // runs on the packer thread once the outcome is durable (or failed)
};

std::uint64_t NowMs() {
  return std::uint64_t(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count());
}

std::string EncodeHead(const Head& head) {
  ByteWriter out;
  out.U64(head.height).Raw(head.hash);
  return std::string(AsChars(out.bytes()));
}

// Reads the head and checks that it names the last block, so a truncated or half-restored store
// is refused at open instead of growing a fork.
Result<Head> ReadHead(leveldb::DB& db) {
  leveldb::ReadOptions options;
  std::string value;
  leveldb::Status status = db.Get(options, std::string(ledger::kHeadKey), &value);
  Head head;
  if (status.IsNotFound()) {
    if (db.Get(options, ledger::BlockKey(1), &value).ok()) {
      return Error(ErrorCode::kVerificationFailed,
                   "ledger has blocks but no head record; run the ledger verifier");
    }
    return head;
  }
  if (!status.ok()) return Error(ErrorCode::kIo, "reading the ledger head: " + status.ToString());
  ByteReader in(AsBytes(value));
  auto height = in.U64("head height");
  auto hash = in.Hash("head hash");
  if (!height.ok() || !hash.ok() || in.remaining() != 0 || height.value() == 0) {
    return Error(ErrorCode::kVerificationFailed, "ledger head record is malformed");
  }
  auto block = ledger::ReadBlock(db, options, height.value());
  if (!block.ok()) {
    return Error(ErrorCode::kVerificationFailed,
                 "ledger head names block " + std::to_string(height.value()) +
                     " which cannot be read (" + block.error().message() +
                     "); run the ledger verifier");
  }
  if (ledger::BlockHash(block->header) != hash.value()) {
    return Error(ErrorCode::kVerificationFailed,
                 "ledger head hash does not match block " + std::to_string(height.value()) +
                     "; run the ledger verifier");
  }
  if (db.Get(options, ledger::BlockKey(height.value() + 1), &value).ok()) {
    return Error(ErrorCode::kVerificationFailed,
                 "ledger has a block above its head " + std::to_string(height.value()) +
                     "; run the ledger verifier");
  }
  head.height = height.value();
  head.hash = hash.value();
  head.timestamp_ms = block->header.timestamp_ms;
  return head;
}

template <typename T>
Result<Recorded<T>> Narrow(Result<Recorded<Entry>> recorded) {
  if (!recorded.ok()) return std::move(recorded).error();
  T* value = std::get_if<T>(&recorded->value);
  if (value == nullptr) {
    return Error(ErrorCode::kInternal,
                 "ledger index points at an entry of another kind; run the ledger verifier");
  }
  return Recorded<T>{std::move(*value), std::move(recorded->receipt)};
}

// A consistent read: every LevelDB read through `options` sees one point in time.
class Snapshot {
 public:
  explicit Snapshot(leveldb::DB& db) : db_(db), snapshot_(db.GetSnapshot()) {
    options_.snapshot = snapshot_;
  }
  ~Snapshot() { db_.ReleaseSnapshot(snapshot_); }
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;
  const leveldb::ReadOptions& options() const { return options_; }

 private:
  leveldb::DB& db_;
  const leveldb::Snapshot* snapshot_;
  leveldb::ReadOptions options_;
};

std::string FormatCursor(const Location& location) {
  return std::to_string(location.height) + "." + std::to_string(location.index);
}

Result<Location> ParseCursor(std::string_view cursor) {
  if (cursor.empty()) return Location{};
  const std::size_t dot = cursor.find('.');
  const auto height = ParseDecimal<decltype(Location::height)>(cursor.substr(0, dot));
  const auto index = ParseDecimal<decltype(Location::index)>(cursor.substr(dot + 1));
  if (dot == std::string_view::npos || !height || !index) {
    return Error(ErrorCode::kInvalidArgument,
                 "event cursor '" + std::string(cursor.substr(0, 64)) +
                     "' is not one this ledger issued (HEIGHT.INDEX)");
  }
  return Location{*height, *index};
}

std::optional<ChainEvent> EventFor(const Entry& entry, std::uint64_t height,
                                   const EventFilter& filter) {
  if (const auto* did = std::get_if<DidDocumentVersion>(&entry)) {
    if (!filter.did_updated) return std::nullopt;
    return ChainEvent{ChainEventKind::kDidUpdated, did->did, {}, did->version, height};
  }
  if (const auto* tic = std::get_if<TicDocument>(&entry)) {
    if (!filter.tic_recorded || (filter.tcc_did && *filter.tcc_did != tic->tcc_did)) {
      return std::nullopt;
    }
    return ChainEvent{ChainEventKind::kTicRecorded, tic->tic_id, tic->tcc_did, 0, height};
  }
  return std::nullopt;
}

}  // namespace

struct LocalLedger::Impl {
  LocalLedgerOptions options;
  // The database with the failure policy every TCC store shares (storage/database.h): after a
  // commit fails (or an open failed for an I/O reason) it refuses writes until a reopen, tried at
  // most every 300 ms by Enqueue, the packer and Status, and only once there is room for it, has
  // replayed the log (dropping a torn tail) and read the head back (ReadHead, as Open does).
  std::unique_ptr<storage::Database> database;
  std::mutex mutex;
  std::condition_variable queue_changed;  // the packer waits for requests
  std::condition_variable head_changed;   // long polls wait for blocks
  std::deque<Request> queue;
  std::size_t in_flight = 0;
  bool stopping = false;
  Head head;
  std::chrono::microseconds last_anchor_latency{0};
  std::uint64_t anchors = 0;
  std::thread packer;

  // kResourceExhausted/kUnavailable are returned at once and `done` is not called.
  tcc::Status Enqueue(WriteKind kind, Entry entry, Done done);
  Result<Recorded<Entry>> Submit(WriteKind kind, Entry entry);
  // Register and update differ only in the rule the packer applies.
  Result<Recorded<DidDocumentVersion>> SubmitDid(WriteKind kind, std::string_view did, ByteView document);
  void PackerLoop();
  void Commit(std::vector<Request>& batch);
  static Result<Recorded<Entry>> Load(leveldb::DB& db, const leveldb::ReadOptions& read,
                                      const Location& location);
  template <typename T>
  static Result<Recorded<T>> Find(leveldb::DB& db, const leveldb::ReadOptions& read,
                                  const std::string& key, const std::string& missing);
  Result<EventPage> ScanEvents(const EventQuery& query, Location after,
                               std::uint64_t head_height, bool& exhausted);
};

tcc::Status LocalLedger::Impl::Enqueue(WriteKind kind, Entry entry, Done done) {
  TCC_RETURN_IF_ERROR(database->Heal());
  {
    std::lock_guard lock(mutex);
    if (stopping) return Error(ErrorCode::kUnavailable, "ledger is closing");
    if (queue.size() >= options.max_pending) {
      return Error(ErrorCode::kResourceExhausted,
                   "ledger write queue is full (" + std::to_string(options.max_pending) +
                       " pending)");
    }
    queue.push_back(Request{kind, std::move(entry), Clock::now(), std::move(done)});
  }
  queue_changed.notify_one();
  return OkStatus();
}

Result<Recorded<Entry>> LocalLedger::Impl::Submit(WriteKind kind, Entry entry) {
  auto promise = std::make_shared<std::promise<Result<Recorded<Entry>>>>();
  std::future<Result<Recorded<Entry>>> future = promise->get_future();
  TCC_RETURN_IF_ERROR(Enqueue(kind, std::move(entry), [promise](Result<Recorded<Entry>> result) {
    promise->set_value(std::move(result));
  }));
  return future.get();
}

void LocalLedger::Impl::PackerLoop() {
  const std::size_t per_block = options.max_entries_per_block;
  std::unique_lock lock(mutex);
  while (true) {
    queue_changed.wait(lock, [&] { return stopping || !queue.empty(); });
    if (queue.empty()) return;  // stopping, and everything queued is done
    if (options.block_interval.count() > 0 && !stopping) {
      Clock::time_point seal_at = queue.front().submitted + options.block_interval;
      queue_changed.wait_until(lock, seal_at,
                               [&] { return stopping || queue.size() >= per_block; });
    }
    std::size_t take = std::min(queue.size(), per_block * options.max_blocks_per_commit);
    std::vector<Request> batch;
    batch.reserve(take);
    for (std::size_t i = 0; i < take; ++i) {
      batch.push_back(std::move(queue.front()));
      queue.pop_front();
    }
    in_flight = take;
    lock.unlock();
    Commit(batch);
    lock.lock();
  }
}

void LocalLedger::Impl::Commit(std::vector<Request>& batch) {
  // Held until the outcome is known; released before the callbacks run (a callback may read the
  // ledger or queue another write, which may want to reopen it).
  Result<storage::Database::Writer> writer = database->BeginWrite();
  if (!writer.ok()) {
    {
      std::lock_guard lock(mutex);
      in_flight = 0;
    }
    for (Request& request : batch) request.done(writer.error());
    return;
  }
  leveldb::DB& db = writer->db();
  Head base;
  {
    std::lock_guard lock(mutex);
    base = head;  // a reopen in BeginWrite read it back
  }
  const std::size_t per_block = options.max_entries_per_block;
  ledger::LedgerView view(db, leveldb::ReadOptions(), /*index_from_db=*/true);
  std::vector<Result<Location>> outcomes;
  outcomes.reserve(batch.size());
  std::uint64_t fresh_count = 0;
  for (Request& request : batch) {
    auto decision = ledger::Decide(request.kind, request.entry, view);
    if (!decision.ok()) {
      outcomes.push_back(std::move(decision).error());
    } else if (decision->existing) {
      outcomes.push_back(*decision->existing);
    } else {
      Location location{base.height + 1 + fresh_count / per_block,
                        std::uint32_t(fresh_count % per_block)};
      tcc::Status indexed = ledger::IndexFresh(*decision->fresh, location, view);
      if (!indexed.ok()) {
        outcomes.push_back(std::move(indexed).error());
        continue;
      }
      view.AddFresh(location, std::move(*decision->fresh));
      outcomes.push_back(location);
      ++fresh_count;
    }
  }

  std::vector<Block> blocks;
  Head next = base;
  for (auto it = view.fresh().begin(); it != view.fresh().end();) {
    Block block;
    BlockHeader& header = block.header;
    header.height = next.height + 1;
    header.prev_hash = next.hash;
    // Block time never goes backwards, even if the wall clock does.
    header.timestamp_ms = std::max(NowMs(), next.timestamp_ms);
    std::vector<Hash256> leaf_hashes;
    for (; it != view.fresh().end() && it->first.height == header.height; ++it) {
      block.entries.push_back(ledger::EncodeEntry(it->second));
      leaf_hashes.push_back(ledger::EntryHash(block.entries.back()));
    }
    header.entry_count = std::uint32_t(block.entries.size());
    header.entries_root = MerkleRoot(leaf_hashes);
    next = Head{header.height, ledger::BlockHash(header), header.timestamp_ms};
    blocks.push_back(std::move(block));
  }

  if (!blocks.empty()) {
    leveldb::WriteBatch write;
    for (const Block& block : blocks) {
      Bytes encoded = ledger::EncodeBlock(block);
      write.Put(ledger::BlockKey(block.header.height), leveldb::Slice(AsChars(encoded).data(),
                                                                       encoded.size()));
    }
    for (const auto& [key, value] : view.writes()) write.Put(key, value);
    write.Put(std::string(ledger::kHeadKey), EncodeHead(next));
    if (!writer->Write(write, "committing blocks").ok()) {
      // The database is latched now; callers see the refusal every later write gets.
      const Error refused = database->WriteRefused();
      {
        std::lock_guard lock(mutex);
        in_flight = 0;
      }
      writer = refused;
      for (Request& request : batch) request.done(refused);
      return;
    }
  }

  Clock::time_point durable = Clock::now();
  std::vector<Result<Recorded<Entry>>> results;
  results.reserve(batch.size());
  std::optional<std::chrono::microseconds> anchor_latency;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!outcomes[i].ok()) {
      results.push_back(outcomes[i].error());
      continue;
    }
    const Location& location = outcomes[i].value();
    if (location.height > base.height) {
      const Block& block = blocks[location.height - base.height - 1];
      results.push_back(Recorded<Entry>{view.fresh().at(location),
                                        ledger::MakeReceipt(block.header,
                                                            block.entries[location.index])});
    } else {
      results.push_back(Load(db, leveldb::ReadOptions(), location));
    }
    if (batch[i].kind == WriteKind::kAnchor && results.back().ok()) {
      anchor_latency = std::chrono::duration_cast<std::chrono::microseconds>(
          durable - batch[i].submitted);
    }
  }
  {
    std::lock_guard lock(mutex);
    head = next;
    in_flight = 0;  // before any caller can observe its result
    if (anchor_latency) last_anchor_latency = *anchor_latency;
    for (const auto& [location, entry] : view.fresh()) {
      anchors += std::holds_alternative<BatchAnchor>(entry) ? 1 : 0;
    }
  }
  writer = Error(ErrorCode::kInternal, "released");  // unlocks the database
  if (!blocks.empty()) head_changed.notify_all();
  for (std::size_t i = 0; i < batch.size(); ++i) batch[i].done(std::move(results[i]));
}

Result<Recorded<Entry>> LocalLedger::Impl::Load(leveldb::DB& db, const leveldb::ReadOptions& read,
                                                const Location& location) {
  TCC_ASSIGN_OR_RETURN(Block block, ledger::ReadBlock(db, read, location.height));
  if (location.index >= block.entries.size()) {
    return Error(ErrorCode::kInternal, "ledger index points past the end of block " +
                                           std::to_string(location.height) +
                                           "; run the ledger verifier");
  }
  const Bytes& bytes = block.entries[location.index];
  TCC_ASSIGN_OR_RETURN(Entry entry, ledger::DecodeEntry(bytes));
  return Recorded<Entry>{std::move(entry), ledger::MakeReceipt(block.header, bytes)};
}

template <typename T>
Result<Recorded<T>> LocalLedger::Impl::Find(leveldb::DB& db, const leveldb::ReadOptions& read,
                                            const std::string& key, const std::string& missing) {
  std::string value;
  leveldb::Status status = db.Get(read, key, &value);
  if (status.IsNotFound()) return Error(ErrorCode::kNotFound, missing);
  if (!status.ok()) return Error(ErrorCode::kIo, "reading the ledger: " + status.ToString());
  auto location = ledger::DecodeLocation(AsBytes(value));
  if (!location.ok()) {
    return Error(ErrorCode::kInternal, "ledger index is malformed (" +
                                           location.error().message() +
                                           "); run the ledger verifier");
  }
  return Narrow<T>(Load(db, read, location.value()));
}

LocalLedger::LocalLedger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LocalLedger::~LocalLedger() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->queue_changed.notify_all();
  impl_->head_changed.notify_all();
  if (impl_->packer.joinable()) impl_->packer.join();
}

Result<std::unique_ptr<LocalLedger>> LocalLedger::Open(const LocalLedgerOptions& options) {
  if (options.max_entries_per_block == 0 ||
      options.max_entries_per_block > ledger::kMaxEntriesPerBlock) {
    return Error(ErrorCode::kInvalidArgument,
                 "entries per block must be 1.." + std::to_string(ledger::kMaxEntriesPerBlock));
  }
  if (options.max_blocks_per_commit == 0 || options.max_pending == 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "blocks per commit and the pending limit must be at least 1");
  }
  if (options.block_interval.count() < 0) {
    return Error(ErrorCode::kInvalidArgument, "block interval must not be negative");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  Impl* raw = impl.get();
  storage::DatabaseOptions database =
      ledger::DatabaseOptionsFor(options.path, options.create_if_missing);
  // An existing ledger that cannot be opened now (its disk is full) starts unavailable and heals
  // like one whose write failed, so a daemon restarted during the outage can run without it.
  database.open_latched_on_io_error = true;
  // At open and after every reopen: a commit reported as failed may have reached the disk after
  // all; the head read back says.
  database.check = [raw, format = std::move(database.check)](leveldb::DB& db) -> tcc::Status {
    TCC_RETURN_IF_ERROR(format(db));
    TCC_ASSIGN_OR_RETURN(Head head, ReadHead(db));
    std::lock_guard lock(raw->mutex);
    raw->head = head;
    return OkStatus();
  };
  TCC_ASSIGN_OR_RETURN(impl->database, storage::Database::Open(std::move(database)));
  impl->packer = std::thread([raw] {
    SetCurrentThreadName("tcc-ledger-pack");
    raw->PackerLoop();
  });
  return std::unique_ptr<LocalLedger>(new LocalLedger(std::move(impl)));
}

const LocalLedgerOptions& LocalLedger::options() const { return impl_->options; }

Result<Recorded<DidDocumentVersion>> LocalLedger::Impl::SubmitDid(WriteKind kind, std::string_view did,
                                                                  ByteView document) {
  TCC_RETURN_IF_ERROR(ValidateId(did, "DID"));
  TCC_RETURN_IF_ERROR(ValidateDocument(document, "DID document"));
  return Narrow<DidDocumentVersion>(Submit(
      kind, DidDocumentVersion{std::string(did), 0, Bytes(document.begin(), document.end())}));
}

Result<Recorded<DidDocumentVersion>> LocalLedger::RegisterDid(std::string_view did,
                                                              ByteView document) {
  return impl_->SubmitDid(WriteKind::kRegisterDid, did, document);
}

Result<Recorded<DidDocumentVersion>> LocalLedger::UpdateDid(std::string_view did,
                                                            ByteView document) {
  return impl_->SubmitDid(WriteKind::kUpdateDid, did, document);
}

Result<Recorded<DidDocumentVersion>> LocalLedger::ResolveDid(
    std::string_view did, std::optional<std::uint64_t> version) {
  TCC_RETURN_IF_ERROR(ValidateId(did, "DID"));
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  Snapshot snapshot(reading.db());
  std::string name(did);
  if (!version) {
    std::string latest;
    leveldb::Status status =
        reading.db().Get(snapshot.options(), ledger::DidLatestKey(did), &latest);
    if (status.IsNotFound()) return Error(ErrorCode::kNotFound, "DID " + name + " is not registered");
    if (!status.ok()) return Error(ErrorCode::kIo, "reading the ledger: " + status.ToString());
    TCC_ASSIGN_OR_RETURN(version, ledger::DecodeU64(AsBytes(latest), "latest DID version"));
  }
  return impl_->Find<DidDocumentVersion>(
      reading.db(), snapshot.options(), ledger::DidVersionKey(did, *version),
      "DID " + name + " has no version " + std::to_string(*version));
}

Result<Recorded<TemplateVersion>> LocalLedger::PublishTemplate(const TemplateVersion& version) {
  TCC_RETURN_IF_ERROR(ValidateTemplateVersion(version));
  return Narrow<TemplateVersion>(impl_->Submit(WriteKind::kPublishTemplate, version));
}

Result<Recorded<TemplateVersion>> LocalLedger::GetTemplate(std::string_view id,
                                                           std::optional<std::uint64_t> version) {
  TCC_RETURN_IF_ERROR(ValidateId(id, "template id"));
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  Snapshot snapshot(reading.db());
  std::string name(id);
  if (!version) {
    std::string latest;
    leveldb::Status status =
        reading.db().Get(snapshot.options(), ledger::TemplateLatestKey(id), &latest);
    if (status.IsNotFound()) {
      return Error(ErrorCode::kNotFound, "template " + name + " is not published");
    }
    if (!status.ok()) return Error(ErrorCode::kIo, "reading the ledger: " + status.ToString());
    TCC_ASSIGN_OR_RETURN(version, ledger::DecodeU64(AsBytes(latest), "latest template version"));
  }
  return impl_->Find<TemplateVersion>(
      reading.db(), snapshot.options(), ledger::TemplateVersionKey(id, *version),
      "template " + name + " has no version " + std::to_string(*version));
}

Result<std::vector<Recorded<TemplateVersion>>> LocalLedger::ListTemplates(std::string_view id) {
  if (!id.empty()) TCC_RETURN_IF_ERROR(ValidateId(id, "template id"));
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  Snapshot snapshot(reading.db());
  std::string prefix = ledger::TemplateVersionPrefix(id);
  std::unique_ptr<leveldb::Iterator> it(reading.db().NewIterator(snapshot.options()));
  std::vector<Recorded<TemplateVersion>> versions;
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    auto location = ledger::DecodeLocation(AsBytes(it->value().ToString()));
    if (!location.ok()) {
      return Error(ErrorCode::kInternal, "ledger template index is malformed; run the verifier");
    }
    TCC_ASSIGN_OR_RETURN(
        Recorded<TemplateVersion> version,
        Narrow<TemplateVersion>(impl_->Load(reading.db(), snapshot.options(), *location)));
    versions.push_back(std::move(version));
  }
  if (!it->status().ok()) return Error(ErrorCode::kIo, "listing templates: " + it->status().ToString());
  return versions;
}

Result<Recorded<TicDocument>> LocalLedger::RecordTic(const TicDocument& tic) {
  TCC_RETURN_IF_ERROR(ValidateTicDocument(tic));
  return Narrow<TicDocument>(impl_->Submit(WriteKind::kRecordTic, tic));
}

Result<Recorded<TicDocument>> LocalLedger::GetTic(std::string_view tic_id) {
  TCC_RETURN_IF_ERROR(ValidateId(tic_id, "TIC id"));
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  return impl_->Find<TicDocument>(reading.db(), leveldb::ReadOptions(), ledger::TicKey(tic_id),
                                  "TIC " + std::string(tic_id) + " is not recorded");
}

Result<Recorded<BatchAnchor>> LocalLedger::Anchor(const BatchAnchor& anchor) {
  TCC_RETURN_IF_ERROR(ValidateBatchAnchor(anchor));
  return Narrow<BatchAnchor>(impl_->Submit(WriteKind::kAnchor, anchor));
}

tcc::Status LocalLedger::AnchorAsync(const BatchAnchor& anchor, AnchorCallback done) {
  TCC_RETURN_IF_ERROR(ValidateBatchAnchor(anchor));
  return impl_->Enqueue(WriteKind::kAnchor, anchor,
                        [done = std::move(done)](Result<Recorded<Entry>> result) {
                          done(Narrow<BatchAnchor>(std::move(result)));
                        });
}

Result<Recorded<BatchAnchor>> LocalLedger::FindAnchor(std::string_view batch_id) {
  TCC_RETURN_IF_ERROR(ValidateId(batch_id, "batch id"));
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  return impl_->Find<BatchAnchor>(reading.db(), leveldb::ReadOptions(), ledger::AnchorKey(batch_id),
                                  "batch " + std::string(batch_id) + " is not anchored");
}

Result<Recorded<BatchAnchor>> LocalLedger::FindAnchorByRoot(const Hash256& root) {
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  return impl_->Find<BatchAnchor>(reading.db(), leveldb::ReadOptions(), ledger::AnchorRootKey(root),
                                  "no batch is anchored with root " + HexEncode(root));
}

Result<EventPage> LocalLedger::Impl::ScanEvents(const EventQuery& query, Location after,
                                                std::uint64_t head_height, bool& exhausted) {
  TCC_ASSIGN_OR_RETURN(auto reading, database->BeginRead());
  Snapshot snapshot(reading.db());
  std::unique_ptr<leveldb::Iterator> it(reading.db().NewIterator(snapshot.options()));
  std::string start = ledger::EventKey(after);
  it->Seek(start);
  if (it->Valid() && it->key() == start) it->Next();
  EventPage page;
  Location last = after;
  std::size_t scanned = 0;
  std::optional<Block> cached;
  exhausted = true;
  for (; it->Valid() && it->key().starts_with(leveldb::Slice(ledger::kEventPrefix.data(), ledger::kEventPrefix.size())); it->Next()) {
    ByteReader key(AsBytes(std::string_view(it->key().data(), it->key().size())).subspan(1));
    auto height = key.U64("event height");
    auto index = key.U32("event index");
    if (!height.ok() || !index.ok() || key.remaining() != 0) {
      return Error(ErrorCode::kInternal, "ledger event index is malformed; run the verifier");
    }
    Location location{height.value(), index.value()};
    if (location.height > head_height) break;
    if (page.events.size() >= query.max_events || scanned >= kMaxEventsScanned) {
      exhausted = false;
      break;
    }
    if (!cached || cached->header.height != location.height) {
      TCC_ASSIGN_OR_RETURN(cached,
                           ledger::ReadBlock(reading.db(), snapshot.options(), location.height));
    }
    if (location.index >= cached->entries.size()) {
      return Error(ErrorCode::kInternal, "ledger event index points past its block");
    }
    TCC_ASSIGN_OR_RETURN(Entry entry, ledger::DecodeEntry(cached->entries[location.index]));
    if (auto event = EventFor(entry, location.height, query.filter)) {
      page.events.push_back(std::move(*event));
    }
    last = location;
    ++scanned;
  }
  if (!it->status().ok()) return Error(ErrorCode::kIo, "reading events: " + it->status().ToString());
  if (exhausted) {
    // Everything up to the head was seen: resume after the head's last possible entry.
    last = std::max(last, Location{head_height, std::numeric_limits<std::uint32_t>::max()});
  }
  page.next_cursor = FormatCursor(last);
  return page;
}

Result<EventPage> LocalLedger::PollEvents(const EventQuery& query) {
  TCC_ASSIGN_OR_RETURN(Location after, ParseCursor(query.cursor));
  if (query.max_events == 0) {
    return Error(ErrorCode::kInvalidArgument, "max_events must be at least 1");
  }
  if (query.wait.count() < 0) return Error(ErrorCode::kInvalidArgument, "wait must not be negative");
  Clock::time_point deadline = Clock::now() + query.wait;
  while (true) {
    std::uint64_t head_height;
    {
      std::lock_guard lock(impl_->mutex);
      head_height = impl_->head.height;
    }
    bool exhausted = true;
    TCC_ASSIGN_OR_RETURN(EventPage page, impl_->ScanEvents(query, after, head_height, exhausted));
    if (!page.events.empty() || !exhausted || Clock::now() >= deadline) return page;
    TCC_ASSIGN_OR_RETURN(after, ParseCursor(page.next_cursor));
    std::unique_lock lock(impl_->mutex);
    impl_->head_changed.wait_until(lock, deadline, [&] {
      return impl_->stopping || impl_->head.height > head_height;
    });
    if (impl_->stopping) return page;
  }
}

Result<AdapterStatus> LocalLedger::Status() {
  if (tcc::Status healed = impl_->database->Heal(); !healed.ok()) return healed.error();
  std::lock_guard lock(impl_->mutex);
  AdapterStatus status;
  status.adapter = "local";
  status.height = impl_->head.height;
  status.pending = impl_->queue.size() + impl_->in_flight;
  status.last_anchor_latency = impl_->last_anchor_latency;
  status.anchors = impl_->anchors;
  return status;
}

Result<LedgerReport> LocalLedger::Verify() {
  TCC_ASSIGN_OR_RETURN(auto reading, impl_->database->BeginRead());
  Snapshot snapshot(reading.db());
  return ledger::VerifyDatabase(reading.db(), snapshot.options());
}

}  // namespace tcc::chain
