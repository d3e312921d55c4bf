#include "channel_store.h"

#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/filter_policy.h>
#include <leveldb/write_batch.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/json_object_reader.h"
#include "tcc/wire/dispute.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {
namespace {

// Key layout. Every key starts with a one-letter kind and '/', so each kind is one contiguous
// range. Channel ids are exactly 64 hex digits, so "<kind>/<channel id>/" is a fixed-width prefix
// and no channel's range can run into another's. Seqs are 8 bytes big-endian, so byte order is
// numeric order and range scans come out ascending.
//   !format                      -> kFormatValue (refuses to treat another LevelDB as a store)
//   c/<channel>                  -> ChannelRecordToJson, compact text
//   t/<channel>/<u64be seq>      -> TSC: kTscFormat | tsc hash (32) | claim hash (32) | TSC text
//   h/<channel>/<claim hash hex> -> u64be seq (replay index)
//   x/<tsc hash hex>             -> channel (32) | u64be seq (lookup by TSC hash; stores written
//                                   before the index existed are indexed once on open, then
//                                   !tsc-hash-index is set)
//   p/<channel>/<u64be seq>      -> tsc hash (32): evidence waiting for a batch
//   b/<batch id>                 -> kBatchFormat | u32be n | n items of
//                                   channel (32) | u64be seq | tsc hash (32)
//   e/<channel>/<u64be seq>      -> SerializeEvidenceBundle
//   a/<channel>                  -> u64be highest anchored seq
//   v/<name>                     -> the value's bytes
//   n/<name>                     -> u64be counter (apart from v/ so PutValue cannot break one)
//   r/<channel>/<u64be seq><proposal hash (32)> ->
//   {"content_hash":hex,"received_ms":N,"rejection":{...}} q/<channel>                  -> u64be
//   seq | proposal hash (32) | content hash (32): the
//                                   provider's latest proposal
//   z/<channel>                  -> the closing record (JSON text) of a channel a party closed
//   !probe                       -> "1", rewritten by Probe
constexpr std::string_view kFormatKey = "!format";
constexpr std::string_view kProbeKey = "!probe";
constexpr std::string_view kFormatValue = "tcc-channel-store/1";
constexpr char kChannelKind = 'c';
constexpr char kTscKind = 't';
constexpr char kClaimKind = 'h';
constexpr char kPendingKind = 'p';
constexpr char kBatchKind = 'b';
constexpr char kBundleKind = 'e';
constexpr char kAnchoredKind = 'a';
constexpr char kValueKind = 'v';
constexpr char kCounterKind = 'n';
constexpr char kTscHashKind = 'x';
constexpr char kRejectionKind = 'r';
constexpr char kProposalKind = 'q';
constexpr char kClosingKind = 'z';
constexpr std::string_view kTscHashIndexKey = "!tsc-hash-index";

constexpr std::size_t kChannelIdSize = 64;  // hex digits
constexpr std::size_t kHashSize = 32;       // bytes
constexpr std::size_t kChannelPrefixSize = 2 + kChannelIdSize + 1;
constexpr std::size_t kSeqKeySize = kChannelPrefixSize + 8;

constexpr char kTscFormat = 1;
constexpr std::size_t kTscHeaderSize = 1 + 2 * kHashSize;
constexpr char kBatchFormat = 1;
constexpr std::size_t kBatchItemSize = kHashSize + 8 + kHashSize;

// Seqs travel in JSON (TSCs, channel records, bundles), where integers stop at 2^53 - 1.
constexpr std::uint64_t kMaxSeq = 9007199254740991;
constexpr std::size_t kMaxTscBytes = 1u << 20;
constexpr std::size_t kMaxValueBytes = 1u << 20;

using Clock = std::chrono::steady_clock;

// After a failed write, at most one reopen per interval; writes in between fail at once.
constexpr std::chrono::milliseconds kReopenInterval{300};
// Free space a reopen needs beyond the logs' size (a new MANIFEST, a new log, table overhead).
constexpr std::uint64_t kReopenHeadroomBytes = 1u << 20;

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

std::string_view View(const leveldb::Slice& slice) { return {slice.data(), slice.size()}; }
leveldb::Slice AsSlice(std::string_view text) { return {text.data(), text.size()}; }

void AppendU64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char(value >> shift));
}

std::uint64_t ReadU64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

std::string U64Value(std::uint64_t value) {
  std::string out;
  AppendU64(out, value);
  return out;
}

bool IsLowerHexHash(std::string_view text) {
  return text.size() == 2 * kHashSize && std::all_of(text.begin(), text.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

// Only called on text IsLowerHexHash accepted, so decoding cannot fail.
void AppendHashBytes(std::string& out, std::string_view hex) {
  Bytes bytes = HexDecode(hex).value();
  out.append(AsChars(bytes));
}

std::string HashHex(std::string_view raw) { return HexEncode(AsBytes(raw)); }

chain::Hash256 ToHash256(std::string_view raw) {
  chain::Hash256 hash;
  std::copy(raw.begin(), raw.end(), hash.begin());
  return hash;
}

// --- keys ---

std::string KindPrefix(char kind) { return {kind, '/'}; }

std::string ChannelPrefix(char kind, std::string_view channel_id) {
  std::string key = KindPrefix(kind);
  key.append(channel_id);
  key.push_back('/');
  return key;
}

std::string SeqKey(char kind, std::string_view channel_id, std::uint64_t seq) {
  std::string key = ChannelPrefix(kind, channel_id);
  AppendU64(key, seq);
  return key;
}

std::string NameKey(char kind, std::string_view name) {
  std::string key = KindPrefix(kind);
  key.append(name);
  return key;
}

std::string ChannelKey(std::string_view channel_id) { return NameKey(kChannelKind, channel_id); }
std::string AnchoredKey(std::string_view channel_id) { return NameKey(kAnchoredKind, channel_id); }
std::string ClaimKey(std::string_view channel_id, std::string_view claim_hash) {
  return ChannelPrefix(kClaimKind, channel_id) + std::string(claim_hash);
}

std::string TscHashKey(std::string_view tsc_hash) { return NameKey(kTscHashKind, tsc_hash); }

std::string TscHashValue(std::string_view channel_id, std::uint64_t seq) {
  std::string value;
  AppendHashBytes(value, channel_id);
  AppendU64(value, seq);
  return value;
}

bool IsSeqKey(std::string_view key) {
  return key.size() == kSeqKeySize && key[1] == '/' && key[kChannelPrefixSize - 1] == '/' &&
         IsLowerHexHash(key.substr(2, kChannelIdSize));
}

// Keys as people can read them in error messages: seq keys end in the decimal seq, any other
// non-printable byte is \xNN.
std::string DescribeKey(std::string_view key) {
  if (IsSeqKey(key)) {
    return std::string(key.substr(0, kChannelPrefixSize)) +
           std::to_string(ReadU64(key.substr(kChannelPrefixSize)));
  }
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

Error Corrupt(std::string_view key, std::string_view problem) {
  return Error(ErrorCode::kInternal,
               "channel store record " + DescribeKey(key) + " is corrupt: " + std::string(problem));
}

// IO errors are the disk's fault; corruption, or anything else LevelDB reports, is ours.
Error StoreError(const leveldb::Status& status, std::string_view doing) {
  return Error(status.IsIOError() ? ErrorCode::kIo : ErrorCode::kInternal,
               std::string(doing) + ": " + status.ToString());
}

// --- input checks (kInvalidArgument; nothing is written when one fails) ---

Status CheckChannelId(std::string_view channel_id, std::string_view what = "channel id") {
  if (!IsLowerHexHash(channel_id)) {
    return Invalid(std::string(what) + " must be 64 lowercase hex digits (a TIC hash), not \"" +
                   std::string(channel_id.substr(0, 80)) + "\"");
  }
  return OkStatus();
}

Status CheckHash(std::string_view hex, std::string_view what) {
  if (!IsLowerHexHash(hex)) return Invalid(std::string(what) + " must be 64 lowercase hex digits");
  return OkStatus();
}

Status CheckSeq(std::uint64_t seq, std::string_view what = "seq") {
  if (seq < 1 || seq > kMaxSeq) {
    return Invalid(std::string(what) + " " + std::to_string(seq) + " is not in 1..2^53-1");
  }
  return OkStatus();
}

Status CheckName(std::string_view name) {
  Status valid = chain::ValidateId(name, "value name");
  if (!valid.ok()) return Invalid(valid.error().message());
  return OkStatus();
}

Status CheckItem(const chain::EvidenceItem& item) {
  TCC_RETURN_IF_ERROR(CheckChannelId(item.channel_id, "evidence item channel id"));
  return CheckSeq(item.seq, "evidence item seq");
}

std::string ItemName(const chain::EvidenceItem& item) {
  return "seq " + std::to_string(item.seq) + " of channel " + item.channel_id;
}

// The TSC text is stored and later sent on as is, without parsing: a cheap shape check catches
// a caller handing over something that is not a serialized object.
Status CheckTsc(const TscRecord& tsc) {
  TCC_RETURN_IF_ERROR(CheckChannelId(tsc.channel_id, "TSC channel id"));
  TCC_RETURN_IF_ERROR(CheckSeq(tsc.seq, "TSC seq"));
  TCC_RETURN_IF_ERROR(CheckHash(tsc.tsc_hash, "TSC hash"));
  TCC_RETURN_IF_ERROR(CheckHash(tsc.claim_hash, "TSC claim hash"));
  if (tsc.tsc.size() < 2 || tsc.tsc.front() != '{' || tsc.tsc.back() != '}') {
    return Invalid("TSC text must be a serialized JSON object");
  }
  if (tsc.tsc.size() > kMaxTscBytes) {
    return Invalid("TSC text is " + std::to_string(tsc.tsc.size()) + " bytes, over the limit of " +
                   std::to_string(kMaxTscBytes));
  }
  return OkStatus();
}

// Encoding through the strict decoder means a record that could not be read back is never written.
Result<std::string> EncodeChannel(const ChannelRecord& record) {
  Json json = ChannelRecordToJson(record);
  Result<ChannelRecord> check = ChannelRecordFromJson(json);
  if (!check.ok()) return Invalid(check.error().message());
  return json.Serialize();
}

// --- record codecs ---

std::string EncodeTsc(const TscRecord& tsc) {
  std::string out(1, kTscFormat);
  out.reserve(kTscHeaderSize + tsc.tsc.size());
  AppendHashBytes(out, tsc.tsc_hash);
  AppendHashBytes(out, tsc.claim_hash);
  out.append(tsc.tsc);
  return out;
}

Result<TscRecord> DecodeTsc(std::string_view key, std::string_view value) {
  if (!IsSeqKey(key)) return Corrupt(key, "malformed TSC key");
  if (value.size() < kTscHeaderSize + 2 || value[0] != kTscFormat) {
    return Corrupt(key, "not a TSC record");
  }
  TscRecord tsc;
  tsc.channel_id = std::string(key.substr(2, kChannelIdSize));
  tsc.seq = ReadU64(key.substr(kChannelPrefixSize));
  tsc.tsc_hash = HashHex(value.substr(1, kHashSize));
  tsc.claim_hash = HashHex(value.substr(1 + kHashSize, kHashSize));
  tsc.tsc = std::string(value.substr(kTscHeaderSize));
  Status valid = CheckTsc(tsc);
  if (!valid.ok()) return Corrupt(key, valid.error().message());
  // The stored hash is what was acknowledged and chained; text that no longer hashes to it was
  // altered on disk and is never served or used.
  Result<Json> document = Json::Parse(tsc.tsc);
  if (!document.ok()) return Corrupt(key, "TSC text is not JSON: " + document.error().message());
  Result<std::string> hash = vc::CredentialHash(*document);
  if (!hash.ok() || *hash != tsc.tsc_hash) {
    return Corrupt(key, "TSC text does not hash to its stored hash " + tsc.tsc_hash +
                            " (altered on disk)");
  }
  return tsc;
}

Result<ChannelRecord> DecodeChannel(std::string_view key, std::string_view value) {
  Result<Json> json = Json::Parse(value);
  if (!json.ok()) return Corrupt(key, json.error().message());
  Result<ChannelRecord> record = ChannelRecordFromJson(*json);
  if (!record.ok()) return Corrupt(key, record.error().message());
  if (key.substr(2) != record->channel_id) return Corrupt(key, "holds another channel's record");
  return std::move(record).value();
}

Result<std::uint64_t> DecodeU64(std::string_view key, std::string_view value) {
  if (value.size() != 8) {
    return Corrupt(key, "expected 8 bytes, found " + std::to_string(value.size()));
  }
  return ReadU64(value);
}

Result<chain::EvidenceItem> DecodePending(std::string_view key, std::string_view value) {
  if (!IsSeqKey(key)) return Corrupt(key, "malformed pending evidence key");
  if (value.size() != kHashSize) return Corrupt(key, "pending evidence is not a 32-byte hash");
  chain::EvidenceItem item{std::string(key.substr(2, kChannelIdSize)),
                           ReadU64(key.substr(kChannelPrefixSize)), ToHash256(value)};
  Status valid = CheckItem(item);
  if (!valid.ok()) return Corrupt(key, valid.error().message());
  return item;
}

std::string EncodeBatch(const std::vector<chain::EvidenceItem>& items) {
  std::string out(1, kBatchFormat);
  out.reserve(5 + items.size() * kBatchItemSize);
  const auto count = static_cast<std::uint32_t>(items.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char(count >> shift));
  for (const chain::EvidenceItem& item : items) {
    AppendHashBytes(out, item.channel_id);
    AppendU64(out, item.seq);
    out.append(AsChars(item.tsc_hash));
  }
  return out;
}

Result<PendingBatch> DecodeBatch(std::string_view key, std::string_view value) {
  PendingBatch batch;
  batch.batch_id = std::string(key.substr(2));
  Status id = chain::ValidateId(batch.batch_id, "batch id");
  if (!id.ok()) return Corrupt(key, id.error().message());
  if (value.size() < 5 || value[0] != kBatchFormat) return Corrupt(key, "not a batch record");
  std::uint32_t count = 0;
  for (std::size_t i = 1; i < 5; ++i) count = (count << 8) | static_cast<unsigned char>(value[i]);
  if (count == 0 || value.size() != 5 + std::size_t(count) * kBatchItemSize) {
    return Corrupt(key, "batch item count does not match its size");
  }
  for (std::size_t offset = 5; offset < value.size(); offset += kBatchItemSize) {
    chain::EvidenceItem item{HashHex(value.substr(offset, kHashSize)),
                             ReadU64(value.substr(offset + kHashSize)),
                             ToHash256(value.substr(offset + kHashSize + 8, kHashSize))};
    Status valid = CheckItem(item);
    if (!valid.ok()) return Corrupt(key, valid.error().message());
    batch.items.push_back(std::move(item));
  }
  return batch;
}

Result<chain::EvidenceBundle> DecodeBundle(std::string_view key, std::string_view value) {
  Result<chain::EvidenceBundle> bundle = chain::ParseEvidenceBundle(value);
  if (!bundle.ok()) return Corrupt(key, bundle.error().message());
  if (!IsSeqKey(key) || bundle->item.channel_id != key.substr(2, kChannelIdSize) ||
      bundle->item.seq != ReadU64(key.substr(kChannelPrefixSize))) {
    return Corrupt(key, "holds the bundle of another item");
  }
  return std::move(bundle).value();
}

}  // namespace

// Members are declared so that the database closes before the cache and filter it uses go away.
class ChannelStore::Impl {
 public:
  std::string path;
  leveldb::Options db_options;  // kept for reopening
  std::unique_ptr<leveldb::Cache> cache;
  std::unique_ptr<const leveldb::FilterPolicy> filter;
  // Held shared by every call that uses `db`, exclusively by a reopen, which replaces it.
  std::shared_mutex handle_mutex;
  std::unique_ptr<leveldb::DB> db;  // null only while a reopen has failed
  std::string open_error;           // why db is null; under handle_mutex
  // One write method at a time, from its first read to its write. The read-modify-write methods
  // (NextCounter, SaveBatch, CompleteBatch) need that, and after a failed write no other write may
  // reach the same handle: LevelDB latches an error only when a sync fails, so after a failed
  // append the next write would land behind a torn record, which recovery refuses as corruption.
  std::mutex write_mutex;
  // Under write_mutex: why the handle may not write (empty while it may), and when a reopen may
  // next be tried.
  std::string broken_cause;
  Clock::time_point next_reopen;
  std::atomic<bool> writable{true};
  std::atomic<std::uint64_t> write_failures{0};
  std::atomic<std::uint64_t> reopens{0};

  // What a write method holds from its first read to its write.
  struct WriteAccess {
    std::unique_lock<std::mutex> writing;
    std::shared_lock<std::shared_mutex> handle;
  };

  // Reopens first when a write failed, so a write that reported failure but reached the log is
  // visible to the reads that follow.
  Result<WriteAccess> BeginWrite() {
    std::unique_lock writing(write_mutex);
    if (!broken_cause.empty()) {
      if (Status reopened = Reopen(); !reopened.ok()) {
        ++write_failures;
        return reopened.error();
      }
    }
    return WriteAccess{std::move(writing), std::shared_lock(handle_mutex)};
  }

  Result<std::shared_lock<std::shared_mutex>> BeginRead() {
    std::shared_lock handle(handle_mutex);
    if (!db) return Error(ErrorCode::kUnavailable, "store cannot read: " + open_error);
    return handle;
  }

  Error Unwritable() const { return Error(ErrorCode::kUnavailable, "store cannot write: " + broken_cause); }

  // Under write_mutex. Closing and reopening recovers the log (a torn tail is dropped), writes
  // the memtable out and starts a fresh log, clearing the error LevelDB latched.
  Status Reopen() {
    const auto now = Clock::now();
    if (now < next_reopen) return Unwritable();
    next_reopen = now + kReopenInterval;
    std::unique_lock exclusive(handle_mutex);
    if (db) {
      if (const std::uint64_t missing = SpaceMissingForReopen(); missing > 0) {
        return Error(ErrorCode::kUnavailable, "store cannot write: " + broken_cause + " (" +
                                                  std::to_string(missing) +
                                                  " more bytes must be free to reopen it)");
      }
      db.reset();
    }
    ++reopens;
    leveldb::DB* raw = nullptr;
    leveldb::Status status = leveldb::DB::Open(db_options, path, &raw);
    db.reset(raw);
    if (!status.ok()) {
      db.reset();
      broken_cause = open_error = "reopening " + path + " failed: " + status.ToString();
      return Unwritable();
    }
    broken_cause.clear();
    open_error.clear();
    writable = true;
    return OkStatus();
  }

  // A reopen writes the logs' contents out as a table and a new MANIFEST. Without room for them
  // it would fail after closing the handle, and reads would go with it; so while a handle is open
  // the reopen waits for the logs' size plus some headroom to be free. 0 when there is room (or
  // the free space cannot be read: then the reopen is tried).
  std::uint64_t SpaceMissingForReopen() const {
    std::uint64_t logs = 0;
    std::error_code error;
    for (std::filesystem::directory_iterator it(path, error), end; !error && it != end; it.increment(error)) {
      if (it->path().extension() != ".log") continue;
      std::error_code size_error;
      const std::uintmax_t size = it->file_size(size_error);
      if (!size_error) logs += size;
    }
    struct statvfs info {};
    if (::statvfs(path.c_str(), &info) != 0) return 0;
    const std::uint64_t available = static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
    const std::uint64_t needed = logs + kReopenHeadroomBytes;
    return available >= needed ? 0 : needed - available;
  }

  static leveldb::ReadOptions Read(const leveldb::Snapshot* snapshot = nullptr) {
    leveldb::ReadOptions options;
    options.verify_checksums = true;
    options.snapshot = snapshot;
    return options;
  }

  Result<std::optional<std::string>> Get(const std::string& key,
                                         const leveldb::ReadOptions& options = Read()) {
    std::string value;
    leveldb::Status status = db->Get(options, key, &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return StoreError(status, "reading " + DescribeKey(key));
    return std::optional<std::string>(std::move(value));
  }

  // Callers hold a WriteAccess (or are Open, before anyone else can reach the store).
  // `sync` false only for records whose loss in a power failure is harmless (see PutProposal).
  Status Write(leveldb::WriteBatch& batch, std::string_view doing, bool sync = true) {
    leveldb::WriteOptions options;
    options.sync = sync;
    leveldb::Status status = db->Write(options, &batch);
    if (status.ok()) return OkStatus();
    // The next write reopens first (rate-limited); until then this handle takes no more writes.
    broken_cause = status.ToString();
    next_reopen = Clock::now() + kReopenInterval;
    writable = false;
    ++write_failures;
    return StoreError(status, doing);
  }

  // Calls visit(key, value) -> Result<bool> (false: stop) for each key under `prefix`, in key
  // order, starting at `start` (which must not sort before `prefix`).
  template <typename Visit>
  Status Scan(std::string_view prefix, std::string_view start, Visit&& visit,
              const leveldb::ReadOptions& options = Read()) {
    std::unique_ptr<leveldb::Iterator> it(db->NewIterator(options));
    for (it->Seek(AsSlice(start)); it->Valid(); it->Next()) {
      std::string_view key = View(it->key());
      if (!key.starts_with(prefix)) break;
      TCC_ASSIGN_OR_RETURN(bool more, visit(key, View(it->value())));
      if (!more) break;
    }
    if (!it->status().ok()) return StoreError(it->status(), "scanning " + DescribeKey(prefix));
    return OkStatus();
  }

  // Count() walks whole ranges: O(records), acceptable for status calls, never on a hot path.
  Result<std::uint64_t> CountRange(std::string_view prefix, const leveldb::ReadOptions& options) {
    std::uint64_t count = 0;
    TCC_RETURN_IF_ERROR(Scan(
        prefix, prefix,
        [&](std::string_view, std::string_view) -> Result<bool> {
          ++count;
          return true;
        },
        options));
    return count;
  }

  // Stores written before the TSC-hash index existed get it once, in bounded batches; the marker
  // goes last, so an interrupted backfill simply runs again.
  Status EnsureTscHashIndex() {
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> marker, Get(std::string(kTscHashIndexKey)));
    if (marker) return OkStatus();
    leveldb::WriteBatch batch;
    std::size_t pending = 0;
    const std::string prefix = KindPrefix(kTscKind);
    TCC_RETURN_IF_ERROR(Scan(prefix, prefix, [&](std::string_view key, std::string_view value) -> Result<bool> {
      TCC_ASSIGN_OR_RETURN(TscRecord tsc, DecodeTsc(key, value));
      batch.Put(TscHashKey(tsc.tsc_hash), TscHashValue(tsc.channel_id, tsc.seq));
      if (++pending == 10000) {
        TCC_RETURN_IF_ERROR(Write(batch, "indexing TSC hashes"));
        batch.Clear();
        pending = 0;
      }
      return true;
    }));
    batch.Put(AsSlice(kTscHashIndexKey), "1");
    return Write(batch, "indexing TSC hashes");
  }

  // An empty database gets the format marker; anything else must already carry it.
  Status CheckFormat(bool create_if_missing) {
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> format, Get(std::string(kFormatKey)));
    if (format) {
      if (*format != kFormatValue) {
        return Invalid(path + " is a channel store in an unsupported format \"" +
                       format->substr(0, 64) + "\"");
      }
      return OkStatus();
    }
    std::unique_ptr<leveldb::Iterator> any(db->NewIterator(Read()));
    any->SeekToFirst();
    if (any->Valid()) return Invalid(path + " is a LevelDB database but not a TCC channel store");
    if (!any->status().ok()) return StoreError(any->status(), "reading " + path);
    if (!create_if_missing) return Error(ErrorCode::kNotFound, "no channel store at " + path);
    leveldb::WriteBatch batch;
    batch.Put(AsSlice(kFormatKey), AsSlice(kFormatValue));
    return Write(batch, "initializing channel store " + path);
  }
};

ChannelStore::ChannelStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ChannelStore::~ChannelStore() = default;

Result<std::unique_ptr<ChannelStore>> ChannelStore::Open(const std::string& path,
                                                         const ChannelStoreOptions& options) {
  if (path.empty()) return Invalid("channel store path is empty");
  // LevelDB creates the directory and its lock file before it finds there is no database; an
  // open that must not create must not leave anything behind either.
  std::error_code ignored;
  if (!options.create_if_missing &&
      !std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ignored)) {
    return Error(ErrorCode::kNotFound, "no channel store at " + path);
  }
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  leveldb::Options& db_options = impl->db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.paranoid_checks = true;
  db_options.write_buffer_size = options.write_buffer_bytes;
  if (options.block_cache_bytes > 0) {
    impl->cache.reset(leveldb::NewLRUCache(options.block_cache_bytes));
    db_options.block_cache = impl->cache.get();
  }
  // Commits probe for existing TSC and claim keys, which are almost always absent.
  impl->filter.reset(leveldb::NewBloomFilterPolicy(10));
  db_options.filter_policy = impl->filter.get();
  leveldb::DB* raw = nullptr;
  leveldb::Status status = leveldb::DB::Open(db_options, path, &raw);
  impl->db.reset(raw);
  if (!status.ok()) {
    std::string message = status.ToString();
    if (message.find("lock") != std::string::npos) {
      return Error(ErrorCode::kUnavailable,
                   "channel store " + path + " is in use by another process (" + message + ")");
    }
    if (status.IsInvalidArgument() && message.find("does not exist") != std::string::npos) {
      return Error(ErrorCode::kNotFound, "no channel store at " + path);
    }
    return StoreError(status, "opening channel store " + path);
  }
  TCC_RETURN_IF_ERROR(impl->CheckFormat(options.create_if_missing));
  TCC_RETURN_IF_ERROR(impl->EnsureTscHashIndex());
  return std::unique_ptr<ChannelStore>(new ChannelStore(std::move(impl)));
}

// --- channels ---

Status ChannelStore::PutChannel(const ChannelRecord& record) {
  TCC_ASSIGN_OR_RETURN(std::string encoded, EncodeChannel(record));
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(ChannelKey(record.channel_id), encoded);
  return impl_->Write(batch, "writing channel " + record.channel_id);
}

Result<ChannelRecord> ChannelStore::GetChannel(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = ChannelKey(channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) return Error(ErrorCode::kNotFound, "no channel " + std::string(channel_id));
  return DecodeChannel(key, *value);
}

Result<std::vector<ChannelRecord>> ChannelStore::ListChannels() {
  std::vector<ChannelRecord> channels;
  const std::string prefix = KindPrefix(kChannelKind);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_RETURN_IF_ERROR(impl_->Scan(
      prefix, prefix, [&](std::string_view key, std::string_view value) -> Result<bool> {
        TCC_ASSIGN_OR_RETURN(ChannelRecord record, DecodeChannel(key, value));
        channels.push_back(std::move(record));
        return true;
      }));
  return channels;
}

// --- settlements ---

Status ChannelStore::CommitSettlements(std::span<const SettlementCommit> commits) {
  if (commits.empty()) return OkStatus();
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  // Within one call, per channel: the last seq seen (seqs must rise, or the head written last
  // would not be the newest) and the claims settled (one claim, one seq).
  std::map<std::string_view, std::uint64_t> last_seq;
  std::set<std::pair<std::string_view, std::string_view>> claims;
  for (std::size_t i = 0; i < commits.size(); ++i) {
    const SettlementCommit& commit = commits[i];
    const TscRecord& tsc = commit.tsc;
    const std::string where = "commit " + std::to_string(i) + ": ";
    Status valid = CheckTsc(tsc);
    if (!valid.ok()) return valid.error().WithContext("commit " + std::to_string(i));
    Result<std::string> channel = EncodeChannel(commit.channel);
    if (!channel.ok()) return channel.error().WithContext("commit " + std::to_string(i));
    // The record written is the channel's head after this TSC.
    if (commit.channel.channel_id != tsc.channel_id || commit.channel.last_seq != tsc.seq ||
        commit.channel.last_hash != tsc.tsc_hash) {
      return Invalid(where + "the channel record's id, lastSeq and lastHash must name the TSC");
    }
    if (commit.evidence) {
      const chain::EvidenceItem& item = *commit.evidence;
      if (item.channel_id != tsc.channel_id || item.seq != tsc.seq ||
          HexEncode(item.tsc_hash) != tsc.tsc_hash) {
        return Invalid(where + "the evidence item must be the TSC's own");
      }
    }
    auto [previous, first] = last_seq.try_emplace(tsc.channel_id, tsc.seq);
    if (!first) {
      if (tsc.seq <= previous->second) {
        return Invalid(where + "seq " + std::to_string(tsc.seq) + " of channel " + tsc.channel_id +
                       " does not follow seq " + std::to_string(previous->second) +
                       " in the same call");
      }
      previous->second = tsc.seq;
    }
    if (!claims.emplace(tsc.channel_id, tsc.claim_hash).second) {
      return Invalid(where + "claim " + tsc.claim_hash + " appears twice in one call");
    }

    // A TSC is never overwritten and a claim is never settled twice. These probes are not
    // atomic with the write: they catch caller bugs, while the daemon's per-channel ordering is
    // what keeps two writers off one channel.
    const std::string tsc_key = SeqKey(kTscKind, tsc.channel_id, tsc.seq);
    const std::string claim_key = ClaimKey(tsc.channel_id, tsc.claim_hash);
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> existing, impl_->Get(tsc_key));
    if (existing) {
      return Error(ErrorCode::kAlreadyExists, where + "TSC " + std::to_string(tsc.seq) +
                                                  " of channel " + tsc.channel_id +
                                                  " is already stored");
    }
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> settled, impl_->Get(claim_key));
    if (settled) {
      TCC_ASSIGN_OR_RETURN(std::uint64_t settled_seq, DecodeU64(claim_key, *settled));
      return Error(ErrorCode::kAlreadyExists, where + "claim " + tsc.claim_hash + " of channel " +
                                                  tsc.channel_id + " was already settled as seq " +
                                                  std::to_string(settled_seq));
    }

    batch.Put(tsc_key, EncodeTsc(tsc));
    batch.Put(claim_key, U64Value(tsc.seq));
    batch.Put(TscHashKey(tsc.tsc_hash), TscHashValue(tsc.channel_id, tsc.seq));
    batch.Put(ChannelKey(tsc.channel_id), *channel);
    if (commit.evidence) {
      batch.Put(SeqKey(kPendingKind, tsc.channel_id, tsc.seq),
                AsSlice(AsChars(commit.evidence->tsc_hash)));
    }
  }
  return impl_->Write(batch, "committing " + std::to_string(commits.size()) + " settlements");
}

Result<TscRecord> ChannelStore::GetTsc(std::string_view channel_id, std::uint64_t seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = SeqKey(kTscKind, channel_id, seq);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) {
    return Error(ErrorCode::kNotFound,
                 "no TSC " + std::to_string(seq) + " in channel " + std::string(channel_id));
  }
  return DecodeTsc(key, *value);
}

Result<std::vector<TscRecord>> ChannelStore::ListTscs(std::string_view channel_id,
                                                      std::uint64_t after_seq, std::size_t limit) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  if (limit == 0) return Invalid("limit must be at least 1");
  std::vector<TscRecord> tscs;
  if (after_seq == std::numeric_limits<std::uint64_t>::max()) return tscs;
  const std::string prefix = ChannelPrefix(kTscKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_RETURN_IF_ERROR(
      impl_->Scan(prefix, SeqKey(kTscKind, channel_id, after_seq + 1),
                  [&](std::string_view key, std::string_view value) -> Result<bool> {
                    TCC_ASSIGN_OR_RETURN(TscRecord tsc, DecodeTsc(key, value));
                    tscs.push_back(std::move(tsc));
                    return tscs.size() < limit;
                  }));
  return tscs;
}

Result<std::optional<TscLocation>> ChannelStore::FindTscByHash(std::string_view tsc_hash) {
  TCC_RETURN_IF_ERROR(CheckHash(tsc_hash, "TSC hash"));
  const std::string key = TscHashKey(tsc_hash);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) return std::optional<TscLocation>();
  if (value->size() != kHashSize + 8) return Corrupt(key, "not a channel and a seq");
  TscLocation location{HashHex(std::string_view(*value).substr(0, kHashSize)),
                       ReadU64(std::string_view(*value).substr(kHashSize))};
  if (!CheckSeq(location.seq).ok()) return Corrupt(key, "seq " + std::to_string(location.seq) + " is out of range");
  return std::optional<TscLocation>(std::move(location));
}

Result<std::optional<std::uint64_t>> ChannelStore::FindSeqByClaimHash(std::string_view channel_id,
                                                                      std::string_view claim_hash) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_RETURN_IF_ERROR(CheckHash(claim_hash, "claim hash"));
  const std::string key = ClaimKey(channel_id, claim_hash);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) return std::optional<std::uint64_t>();
  TCC_ASSIGN_OR_RETURN(std::uint64_t seq, DecodeU64(key, *value));
  if (!CheckSeq(seq).ok()) return Corrupt(key, "seq " + std::to_string(seq) + " is out of range");
  return std::optional<std::uint64_t>(seq);
}

// --- evidence ---

Status ChannelStore::AddPendingEvidence(const chain::EvidenceItem& item,
                                        const ChannelRecord& channel) {
  TCC_RETURN_IF_ERROR(CheckItem(item));
  TCC_ASSIGN_OR_RETURN(std::string encoded, EncodeChannel(channel));
  if (item.channel_id != channel.channel_id) {
    return Invalid("evidence item and channel record name different channels");
  }
  if (item.seq > channel.last_seq) {
    return Invalid("evidence item " + ItemName(item) + " is beyond the channel's lastSeq " +
                   std::to_string(channel.last_seq));
  }
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(SeqKey(kPendingKind, item.channel_id, item.seq), AsSlice(AsChars(item.tsc_hash)));
  batch.Put(ChannelKey(channel.channel_id), encoded);
  return impl_->Write(batch, "adding pending evidence " + ItemName(item));
}

Result<std::vector<chain::EvidenceItem>> ChannelStore::PendingEvidence() {
  std::vector<chain::EvidenceItem> items;
  const std::string prefix = KindPrefix(kPendingKind);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  bool decoded = true;  // false: a record read but did not decode, which is never tolerated
  Status scanned = impl_->Scan(
      prefix, prefix, [&](std::string_view key, std::string_view value) -> Result<bool> {
        auto item = DecodePending(key, value);
        if (!item.ok()) {
          decoded = false;
          return std::move(item).error();
        }
        items.push_back(std::move(item).value());
        return true;
      });
  if (!scanned.ok() && !(decoded && tolerate_unreadable_pending_)) {
    return std::move(scanned).error();
  }
  return items;
}

Status ChannelStore::SaveBatch(const PendingBatch& batch) {
  Status id = chain::ValidateId(batch.batch_id, "batch id");
  if (!id.ok()) return Invalid(id.error().message());
  if (batch.items.empty()) return Invalid("batch " + batch.batch_id + " has no items");
  if (batch.items.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Invalid("batch " + batch.batch_id + " has too many items");
  }
  // One TSC has one hash: two different items for one seq would anchor conflicting evidence.
  std::map<std::pair<std::string_view, std::uint64_t>, const chain::Hash256*> seen;
  for (const chain::EvidenceItem& item : batch.items) {
    TCC_RETURN_IF_ERROR(CheckItem(item));
    auto [entry, fresh] = seen.emplace(
        std::pair<std::string_view, std::uint64_t>(item.channel_id, item.seq), &item.tsc_hash);
    if (!fresh && *entry->second != item.tsc_hash) {
      return Invalid("batch " + batch.batch_id + " holds two different items for " +
                     ItemName(item));
    }
  }
  const std::string key = NameKey(kBatchKind, batch.batch_id);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  // Saving the same batch again is harmless (a retry); reusing its id for other items is a bug
  // that would lose the first batch's items.
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> existing, impl_->Get(key));
  if (existing) {
    TCC_ASSIGN_OR_RETURN(PendingBatch saved, DecodeBatch(key, *existing));
    if (saved.items != batch.items) {
      return Error(ErrorCode::kAlreadyExists,
                   "batch " + batch.batch_id + " is already saved with other items");
    }
  }
  leveldb::WriteBatch write;
  write.Put(key, EncodeBatch(batch.items));
  for (const chain::EvidenceItem& item : batch.items) {
    write.Delete(SeqKey(kPendingKind, item.channel_id, item.seq));
  }
  return impl_->Write(write, "saving batch " + batch.batch_id);
}

Result<std::vector<PendingBatch>> ChannelStore::UnfinishedBatches() {
  std::vector<PendingBatch> batches;
  const std::string prefix = KindPrefix(kBatchKind);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_RETURN_IF_ERROR(impl_->Scan(
      prefix, prefix, [&](std::string_view key, std::string_view value) -> Result<bool> {
        TCC_ASSIGN_OR_RETURN(PendingBatch batch, DecodeBatch(key, value));
        batches.push_back(std::move(batch));
        return true;
      }));
  return batches;
}

Status ChannelStore::CompleteBatch(std::string_view batch_id,
                                   std::span<const chain::EvidenceBundle> bundles) {
  Status id = chain::ValidateId(batch_id, "batch id");
  if (!id.ok()) return Invalid(id.error().message());
  const std::string batch_key = NameKey(kBatchKind, batch_id);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> saved, impl_->Get(batch_key));
  if (!saved) return Error(ErrorCode::kNotFound, "no unfinished batch " + std::string(batch_id));
  TCC_ASSIGN_OR_RETURN(PendingBatch batch, DecodeBatch(batch_key, *saved));

  // Batches can hold thousands of items: look them up by (channel, seq), not by scanning.
  std::map<std::pair<std::string_view, std::uint64_t>, const chain::Hash256*> members;
  for (const chain::EvidenceItem& item : batch.items) {
    members.emplace(std::pair<std::string_view, std::uint64_t>(item.channel_id, item.seq),
                    &item.tsc_hash);
  }
  std::set<std::pair<std::string_view, std::uint64_t>> uncovered;
  for (const auto& [member, hash] : members) uncovered.insert(member);
  std::map<std::string_view, std::uint64_t> highest;  // per channel, in this batch
  leveldb::WriteBatch write;
  for (const chain::EvidenceBundle& bundle : bundles) {
    const chain::EvidenceItem& item = bundle.item;
    if (bundle.batch_id != batch_id) {
      return Invalid("the bundle of " + ItemName(item) + " names batch " +
                     bundle.batch_id.substr(0, 80) + ", not " + std::string(batch_id));
    }
    auto member = members.find({item.channel_id, item.seq});
    if (member == members.end() || *member->second != item.tsc_hash) {
      return Invalid("evidence item " + ItemName(item) + " is not in batch " +
                     std::string(batch_id));
    }
    // Checking that the bundle reads back keeps GetBundle from ever failing on it.
    std::string encoded = chain::SerializeEvidenceBundle(bundle);
    Result<chain::EvidenceBundle> check = chain::ParseEvidenceBundle(encoded);
    if (!check.ok()) {
      return Invalid("the bundle of " + ItemName(item) +
                     " is malformed: " + check.error().message());
    }
    uncovered.erase({item.channel_id, item.seq});
    std::uint64_t& top = highest[item.channel_id];
    top = std::max(top, item.seq);
    write.Put(SeqKey(kBundleKind, item.channel_id, item.seq), encoded);
  }
  if (!uncovered.empty()) {
    const auto& [channel_id, seq] = *uncovered.begin();
    return Invalid("batch " + std::string(batch_id) + " has no bundle for seq " +
                   std::to_string(seq) + " of channel " + std::string(channel_id) + " (" +
                   std::to_string(uncovered.size()) + " items uncovered)");
  }
  for (const auto& [channel_id, seq] : highest) {
    const std::string key = AnchoredKey(channel_id);
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> current, impl_->Get(key));
    std::uint64_t anchored = 0;
    if (current) {
      TCC_ASSIGN_OR_RETURN(anchored, DecodeU64(key, *current));
    }
    // Batches can complete out of order; the anchored seq only ever moves forward.
    if (seq > anchored) write.Put(key, U64Value(seq));
  }
  write.Delete(batch_key);
  return impl_->Write(write, "completing batch " + std::string(batch_id));
}

Result<chain::EvidenceBundle> ChannelStore::GetBundle(std::string_view channel_id,
                                                      std::uint64_t seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = SeqKey(kBundleKind, channel_id, seq);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) {
    return Error(ErrorCode::kNotFound, "no evidence bundle for seq " + std::to_string(seq) +
                                           " of channel " + std::string(channel_id));
  }
  return DecodeBundle(key, *value);
}

Result<std::optional<std::uint64_t>> ChannelStore::AnchoredSeqCovering(std::string_view channel_id,
                                                                       std::uint64_t seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_RETURN_IF_ERROR(CheckSeq(seq));
  std::optional<std::uint64_t> covering;
  const std::string prefix = ChannelPrefix(kBundleKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_RETURN_IF_ERROR(impl_->Scan(prefix, SeqKey(kBundleKind, channel_id, seq),
                                  [&](std::string_view key, std::string_view) -> Result<bool> {
                                    if (!IsSeqKey(key)) return Corrupt(key, "malformed bundle key");
                                    covering = ReadU64(key.substr(kChannelPrefixSize));
                                    return false;
                                  }));
  return covering;
}

Result<std::uint64_t> ChannelStore::AnchoredSeq(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = AnchoredKey(channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) return std::uint64_t{0};
  return DecodeU64(key, *value);
}

// --- named values ---

Status ChannelStore::PutValue(std::string_view name, std::string_view value) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  if (value.size() > kMaxValueBytes) {
    return Invalid("value " + std::string(name) + " is " + std::to_string(value.size()) +
                   " bytes, over the limit of " + std::to_string(kMaxValueBytes));
  }
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(NameKey(kValueKind, name), AsSlice(value));
  return impl_->Write(batch, "writing value " + std::string(name));
}

Result<std::string> ChannelStore::GetValue(std::string_view name) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(NameKey(kValueKind, name)));
  if (!value) return Error(ErrorCode::kNotFound, "no value " + std::string(name));
  return std::move(*value);
}

Result<std::uint64_t> ChannelStore::NextCounter(std::string_view name) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  const std::string key = NameKey(kCounterKind, name);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> current, impl_->Get(key));
  std::uint64_t value = 0;
  if (current) {
    TCC_ASSIGN_OR_RETURN(value, DecodeU64(key, *current));
  }
  if (value == std::numeric_limits<std::uint64_t>::max()) {
    return Error(ErrorCode::kResourceExhausted, "counter " + std::string(name) + " is exhausted");
  }
  ++value;
  leveldb::WriteBatch batch;
  batch.Put(key, U64Value(value));
  TCC_RETURN_IF_ERROR(impl_->Write(batch, "advancing counter " + std::string(name)));
  return value;
}

Result<ChannelStore::Counts> ChannelStore::Count() {
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  // One snapshot, so the three counts describe the same moment.
  const leveldb::Snapshot* snapshot = impl_->db->GetSnapshot();
  leveldb::ReadOptions options = Impl::Read(snapshot);
  Counts counts;
  Result<std::uint64_t> channels = impl_->CountRange(KindPrefix(kChannelKind), options);
  Result<std::uint64_t> pending = impl_->CountRange(KindPrefix(kPendingKind), options);
  Result<std::uint64_t> batches = impl_->CountRange(KindPrefix(kBatchKind), options);
  impl_->db->ReleaseSnapshot(snapshot);
  if (!channels.ok()) return std::move(channels).error();
  if (!pending.ok()) return std::move(pending).error();
  if (!batches.ok()) return std::move(batches).error();
  counts.channels = *channels;
  counts.pending_evidence = *pending;
  counts.unfinished_batches = *batches;
  return counts;
}

Status ChannelStore::Probe() {
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(AsSlice(kProbeKey), "1");
  return impl_->Write(batch, "probing the store");
}

ChannelStore::WriteHealth ChannelStore::write_health() const {
  return {impl_->writable.load(), impl_->write_failures.load(), impl_->reopens.load()};
}

// --- disputes ---

namespace {

std::string RejectionKey(std::string_view channel_id, std::uint64_t seq,
                         std::string_view proposal_hash) {
  std::string key = SeqKey(kRejectionKind, channel_id, seq);
  AppendHashBytes(key, proposal_hash);
  return key;
}

Result<RejectionRecord> DecodeRejection(std::string_view key, std::string_view value) {
  const std::size_t key_size = kSeqKeySize + kHashSize;
  if (key.size() != key_size || !IsSeqKey(key.substr(0, kSeqKeySize)))
    return Corrupt(key, "malformed rejection key");
  auto json = Json::Parse(value);
  if (!json.ok()) return Corrupt(key, json.error().message());
  JsonObjectReader reader(*json, "rejection record");
  RejectionRecord record;
  Status read = reader.CheckIsObject();
  if (read.ok()) {
    auto content = reader.LowerHex("content_hash");
    auto received = reader.Integer("received_ms");
    auto document = reader.Member("rejection", Json::Type::kObject);
    if (!content.ok())
      read = content.error();
    else if (!received.ok())
      read = received.error();
    else if (!document.ok())
      read = document.error();
    else if (read = reader.Finish(); read.ok()) {
      record.content_hash = *content;
      record.received_ms = *received;
      record.document = **document;
    }
  }
  if (!read.ok()) return Corrupt(key, read.error().message());
  auto rejection = wire::ReadRejection(record.document);
  if (!rejection.ok()) return Corrupt(key, rejection.error().message());
  record.channel_id = std::string(key.substr(2, kChannelIdSize));
  record.seq = ReadU64(key.substr(kChannelPrefixSize, 8));
  record.proposal_hash = HashHex(key.substr(kSeqKeySize));
  if (rejection->channel != record.channel_id || rejection->seq != record.seq ||
      rejection->proposal_hash != record.proposal_hash) {
    return Corrupt(key, "the rejection names another channel, seq or proposal than its key");
  }
  return record;
}

}  // namespace

Status ChannelStore::PutRejection(const RejectionRecord& rejection) {
  TCC_RETURN_IF_ERROR(CheckChannelId(rejection.channel_id));
  TCC_RETURN_IF_ERROR(CheckSeq(rejection.seq));
  TCC_RETURN_IF_ERROR(CheckHash(rejection.proposal_hash, "proposal hash"));
  TCC_RETURN_IF_ERROR(CheckHash(rejection.content_hash, "content hash"));
  TCC_ASSIGN_OR_RETURN(wire::Rejection read, wire::ReadRejection(rejection.document));
  if (read.channel != rejection.channel_id || read.seq != rejection.seq ||
      read.proposal_hash != rejection.proposal_hash) {
    return Invalid("the rejection names another channel, seq or proposal than its record");
  }
  Json value = Json::Object();
  value.Set("content_hash", rejection.content_hash);
  value.Set("received_ms", rejection.received_ms);
  value.Set("rejection", rejection.document);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(RejectionKey(rejection.channel_id, rejection.seq, rejection.proposal_hash),
            value.Serialize());
  return impl_->Write(batch, "writing a rejection of channel " + rejection.channel_id);
}

Result<std::vector<RejectionRecord>> ChannelStore::ListRejections(std::string_view channel_id,
                                                                  std::uint64_t from_seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  std::vector<RejectionRecord> rejections;
  const std::string prefix = ChannelPrefix(kRejectionKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_RETURN_IF_ERROR(
      impl_->Scan(prefix, SeqKey(kRejectionKind, channel_id, from_seq),
                  [&](std::string_view key, std::string_view value) -> Result<bool> {
                    TCC_ASSIGN_OR_RETURN(RejectionRecord record, DecodeRejection(key, value));
                    rejections.push_back(std::move(record));
                    return true;
                  }));
  return rejections;
}

Status ChannelStore::PutProposal(const ProposalMark& proposal) {
  TCC_RETURN_IF_ERROR(CheckChannelId(proposal.channel_id));
  TCC_RETURN_IF_ERROR(CheckSeq(proposal.seq));
  TCC_RETURN_IF_ERROR(CheckHash(proposal.proposal_hash, "proposal hash"));
  TCC_RETURN_IF_ERROR(CheckHash(proposal.content_hash, "content hash"));
  std::string value = U64Value(proposal.seq);
  AppendHashBytes(value, proposal.proposal_hash);
  AppendHashBytes(value, proposal.content_hash);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(NameKey(kProposalKind, proposal.channel_id), value);
  return impl_->Write(batch, "writing the latest proposal of channel " + proposal.channel_id,
                      /*sync=*/false);
}

Result<std::optional<ProposalMark>> ChannelStore::GetProposal(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = NameKey(kProposalKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, impl_->Get(key));
  if (!value) return std::optional<ProposalMark>();
  if (value->size() != 8 + 2 * kHashSize) return Corrupt(key, "not a seq and two hashes");
  ProposalMark mark{std::string(channel_id), ReadU64(*value),
                    HashHex(std::string_view(*value).substr(8, kHashSize)),
                    HashHex(std::string_view(*value).substr(8 + kHashSize))};
  if (!CheckSeq(mark.seq).ok())
    return Corrupt(key, "seq " + std::to_string(mark.seq) + " is out of range");
  return std::optional<ProposalMark>(std::move(mark));
}

Status ChannelStore::PutClosingRecord(std::string_view channel_id, std::string_view record_json) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  if (record_json.size() > kMaxValueBytes) return Invalid("a closing record is at most 1 MiB");
  TCC_ASSIGN_OR_RETURN(auto access, impl_->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(NameKey(kClosingKind, channel_id), AsSlice(record_json));
  return impl_->Write(batch, "writing the closing record of channel " + std::string(channel_id));
}

Result<std::optional<std::string>> ChannelStore::GetClosingRecord(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  return impl_->Get(NameKey(kClosingKind, channel_id));
}

// --- raw reads (backups, the start-up read check) ---

Status ChannelStore::ScanSnapshot(const RawVisitor& visit) {
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  const leveldb::Snapshot* snapshot = impl_->db->GetSnapshot();
  leveldb::ReadOptions options = Impl::Read(snapshot);
  options.fill_cache = false;  // one pass over everything would evict what settlements read
  Status scanned = impl_->Scan("", "", visit, options);
  impl_->db->ReleaseSnapshot(snapshot);
  return scanned;
}

Status ChannelStore::CheckChannelReadable(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->BeginRead());
  const auto all = [](std::string_view, std::string_view) -> Result<bool> { return true; };
  for (char kind : {kTscKind, kClaimKind, kPendingKind, kBundleKind, kRejectionKind}) {
    const std::string prefix = ChannelPrefix(kind, channel_id);
    TCC_RETURN_IF_ERROR(impl_->Scan(prefix, prefix, all));
  }
  for (char kind : {kChannelKind, kAnchoredKind, kProposalKind, kClosingKind}) {
    auto read = impl_->Get(NameKey(kind, channel_id));
    if (!read.ok()) return std::move(read).error();
  }
  return OkStatus();
}

}  // namespace tcc::controller
