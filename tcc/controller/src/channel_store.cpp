// ChannelStore: opening the database, channels, settlements, named values and health. Evidence
// and batches are in channel_store_evidence.cpp, disputes in channel_store_disputes.cpp, the key
// layout and record codecs in channel_store_keys.h and channel_store_records.cpp.
#include "channel_store.h"

#include <leveldb/write_batch.h>

#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "channel_store_impl.h"

namespace tcc::controller {

using namespace store_format;

namespace {

Status WriteSynced(leveldb::DB& db, leveldb::WriteBatch& batch, std::string_view doing);

// An empty database gets the format marker; anything else must already carry it. A store from
// before O/ is marked as this format (its inline TSC records stay readable), so that an older
// tccd refuses it as a whole instead of finding TSC records it cannot read.
Status CheckFormat(leveldb::DB& db, const std::string& path, bool create_if_missing) {
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> format, Get(db, std::string(kFormatKey)));
  if (format) {
    if (*format == kFormatValueInline) {
      leveldb::WriteBatch batch;
      batch.Put(AsSlice(kFormatKey), AsSlice(kFormatValue));
      return WriteSynced(db, batch, "upgrading channel store " + path);
    }
    if (*format != kFormatValue) {
      return Invalid(path + " is a channel store in an unsupported format \"" +
                     format->substr(0, 64) + "\"");
    }
    return OkStatus();
  }
  std::unique_ptr<leveldb::Iterator> any(db.NewIterator(Read()));
  any->SeekToFirst();
  if (any->Valid()) return Invalid(path + " is a LevelDB database but not a TCC channel store");
  if (!any->status().ok()) return StoreError(any->status(), "reading " + path);
  if (!create_if_missing) return Error(ErrorCode::kNotFound, "no channel store at " + path);
  leveldb::WriteBatch batch;
  batch.Put(AsSlice(kFormatKey), AsSlice(kFormatValue));
  return WriteSynced(db, batch, "initializing channel store " + path);
}

Status WriteSynced(leveldb::DB& db, leveldb::WriteBatch& batch, std::string_view doing) {
  leveldb::WriteOptions options;
  options.sync = true;
  leveldb::Status status = db.Write(options, &batch);
  if (!status.ok()) return StoreError(status, doing);
  return OkStatus();
}

// Stores written before the TSC-hash index existed get it once, in bounded batches; the marker
// goes last, so an interrupted backfill simply runs again.
Status EnsureTscHashIndex(leveldb::DB& db) {
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> marker, Get(db, std::string(kTscHashIndexKey)));
  if (marker) return OkStatus();
  leveldb::WriteBatch batch;
  std::size_t pending = 0;
  const std::string prefix = KindPrefix(kTscKind);
  TCC_RETURN_IF_ERROR(
      Scan(db, prefix, prefix, [&](std::string_view key, std::string_view value) -> Result<bool> {
        TCC_ASSIGN_OR_RETURN(TscEntry entry, DecodeTscEntry(key, value));
        const TscRecord& tsc = entry.tsc;
        batch.Put(TscHashKey(HexEncode(tsc.tsc_hash)), TscHashValue(tsc.channel_id, tsc.seq));
        if (++pending == 10000) {
          if (Status written = WriteSynced(db, batch, "indexing TSC hashes"); !written.ok()) {
            return written.error();
          }
          batch.Clear();
          pending = 0;
        }
        return true;
      }));
  batch.Put(AsSlice(kTscHashIndexKey), "1");
  return WriteSynced(db, batch, "indexing TSC hashes");
}

// Counts walk whole ranges: O(records), acceptable for status calls, never on a hot path.
Result<std::uint64_t> CountRange(leveldb::DB& db, std::string_view prefix,
                                 const leveldb::ReadOptions& options) {
  std::uint64_t count = 0;
  TCC_RETURN_IF_ERROR(Scan(
      db, prefix, prefix,
      [&](std::string_view, std::string_view) -> Result<bool> {
        ++count;
        return true;
      },
      options));
  return count;
}

}  // namespace

ChannelStore::ChannelStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ChannelStore::~ChannelStore() = default;

Result<std::unique_ptr<ChannelStore>> ChannelStore::Open(const std::string& path,
                                                         const ChannelStoreOptions& options) {
  storage::DatabaseOptions database;
  database.path = path;
  database.name = "channel store";
  database.state_name = "store";
  database.create_if_missing = options.create_if_missing;
  database.write_buffer_bytes = options.write_buffer_bytes;
  database.block_cache_bytes = options.block_cache_bytes;
  // Replays and syncs look up TSC and claim keys that may be absent.
  database.bloom_filter_bits = 10;
  // A TSC is a few KB of JSON that repeats most of its neighbours' text (contexts, types, the
  // parties' DIDs): with blocks of several TSCs snappy finds the repeats, and LevelDB's
  // compactions cost about a third less CPU per TSC (docs/perf.md). A point read decompresses a
  // larger block.
  database.block_bytes = 16u << 10;
  // At open, and again after every reopen (where both find their markers and only read).
  database.check = [path, create = options.create_if_missing](leveldb::DB& db) -> Status {
    TCC_RETURN_IF_ERROR(CheckFormat(db, path, create));
    return EnsureTscHashIndex(db);
  };
  auto impl = std::make_unique<Impl>();
  TCC_ASSIGN_OR_RETURN(impl->database, storage::Database::Open(std::move(database)));
  return std::unique_ptr<ChannelStore>(new ChannelStore(std::move(impl)));
}

// --- channels ---

Status ChannelStore::PutChannel(const ChannelRecord& record) {
  TCC_ASSIGN_OR_RETURN(std::string encoded, EncodeChannel(record));
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(ChannelKey(record.channel_id), encoded);
  Status written = access.Write(batch, "writing channel " + record.channel_id);
  impl_->WroteChannel(record.channel_id, record.last_seq, written);
  return written;
}

Result<ChannelRecord> ChannelStore::GetChannel(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = ChannelKey(channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) return Error(ErrorCode::kNotFound, "no channel " + std::string(channel_id));
  return DecodeChannel(key, *value);
}

Result<std::vector<ChannelRecord>> ChannelStore::ListChannels() {
  std::vector<ChannelRecord> channels;
  const std::string prefix = KindPrefix(kChannelKind);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_RETURN_IF_ERROR(Scan(handle.db(), prefix, prefix,
                           [&](std::string_view key, std::string_view value) -> Result<bool> {
                             TCC_ASSIGN_OR_RETURN(ChannelRecord record, DecodeChannel(key, value));
                             channels.push_back(std::move(record));
                             return true;
                           }));
  return channels;
}

// --- settlements ---

Status ChannelStore::CommitSettlements(std::span<const SettlementCommit> commits) {
  if (commits.empty()) return OkStatus();
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch& batch = impl_->commit_batch;
  batch.Clear();
  // Within one call, per channel: the last seq seen (the next must follow it) and the claims
  // settled (one claim, one seq).
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
          item.tsc_hash != tsc.tsc_hash) {
        return Invalid(where + "the evidence item must be the TSC's own");
      }
    }
    // Each commit lies above its channel's head: a stored TSC is never overwritten (that would
    // fork the channel). The head comes from memory, not from probing for the TSC's key: probes
    // for absent keys consult every level of the tree and make LevelDB schedule seek
    // compactions, which cost the writer as much as the writes (docs/perf.md). A claim names its
    // seq, so with seqs never reused no claim settles twice.
    if (auto previous = last_seq.find(tsc.channel_id); previous != last_seq.end()) {
      if (tsc.seq <= previous->second) {
        return Invalid(where + "seq " + std::to_string(tsc.seq) + " of channel " + tsc.channel_id +
                       " does not follow seq " + std::to_string(previous->second) +
                       " in the same call");
      }
    } else {
      TCC_ASSIGN_OR_RETURN(std::uint64_t head, impl_->WrittenHead(access.db(), tsc.channel_id));
      if (tsc.seq <= head) {
        return Error(ErrorCode::kAlreadyExists,
                     where + "TSC " + std::to_string(tsc.seq) + " of channel " + tsc.channel_id +
                         " is already stored (its head is seq " + std::to_string(head) + ")");
      }
    }
    last_seq[tsc.channel_id] = tsc.seq;
    if (!claims.emplace(tsc.channel_id, tsc.claim_hash).second) {
      return Invalid(where + "claim " + tsc.claim_hash + " appears twice in one call");
    }

    // The text under its own key in commit order, the t/ record pointing at it (keys.h: O/).
    TCC_ASSIGN_OR_RETURN(std::uint64_t body, impl_->NextBody(access.db()));
    batch.Put(TscBodyKey(body), tsc.tsc);
    batch.Put(SeqKey(kTscKind, tsc.channel_id, tsc.seq), EncodeTscEntry(tsc, body));
    batch.Put(TscHashKey(HexEncode(tsc.tsc_hash)), TscHashValue(tsc.channel_id, tsc.seq));
    batch.Put(ChannelKey(tsc.channel_id), *channel);
    if (commit.evidence) {
      batch.Put(SeqKey(kPendingKind, tsc.channel_id, tsc.seq),
                AsSlice(AsChars(commit.evidence->tsc_hash)));
    }
  }
  Status written =
      access.Write(batch, "committing " + std::to_string(commits.size()) + " settlements");
  for (const auto& [channel_id, seq] : last_seq)
    impl_->WroteChannel(std::string(channel_id), seq, written);
  return written;
}

Result<std::uint64_t> ChannelStore::Impl::WrittenHead(leveldb::DB& db,
                                                      const std::string& channel_id) {
  if (auto known = written_heads.find(channel_id); known != written_heads.end()) {
    return known->second;
  }
  const std::string key = ChannelKey(channel_id);
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(db, key));
  std::uint64_t head = 0;
  if (value) {
    TCC_ASSIGN_OR_RETURN(ChannelRecord record, DecodeChannel(key, *value));
    head = record.last_seq;
  }
  written_heads[channel_id] = head;
  return head;
}

Result<std::uint64_t> ChannelStore::Impl::NextBody(leveldb::DB& db) {
  if (!next_body) {
    // The highest O/ key: the last key before the first one past the O/ range.
    std::unique_ptr<leveldb::Iterator> it(db.NewIterator(Read()));
    const std::string past = std::string(1, static_cast<char>(kTscBodyKind + 1));
    it->Seek(past);
    if (it->Valid()) {
      it->Prev();
    } else {
      it->SeekToLast();
    }
    if (!it->status().ok()) return StoreError(it->status(), "finding the last TSC text");
    std::uint64_t last = 0;
    if (it->Valid() && it->key().starts_with(KindPrefix(kTscBodyKind))) {
      const std::string_view key = View(it->key());
      if (!IsTscBodyKey(key)) return Corrupt(key, "malformed TSC text key");
      last = ReadU64(key.substr(2));
    }
    next_body = last == std::numeric_limits<std::uint64_t>::max() ? last : last + 1;
  }
  if (*next_body == std::numeric_limits<std::uint64_t>::max()) {
    return Error(ErrorCode::kResourceExhausted, "the store has used every TSC text number");
  }
  return (*next_body)++;
}

Result<TscRecord> ChannelStore::GetTsc(std::string_view channel_id, std::uint64_t seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = SeqKey(kTscKind, channel_id, seq);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) {
    return Error(ErrorCode::kNotFound,
                 "no TSC " + std::to_string(seq) + " in channel " + std::string(channel_id));
  }
  return ReadTsc(handle.db(), key, *value);
}

Result<std::vector<TscRecord>> ChannelStore::ListTscs(std::string_view channel_id,
                                                      std::uint64_t after_seq, std::size_t limit) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  if (limit == 0) return Invalid("limit must be at least 1");
  std::vector<TscRecord> tscs;
  if (after_seq == std::numeric_limits<std::uint64_t>::max()) return tscs;
  const std::string prefix = ChannelPrefix(kTscKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_RETURN_IF_ERROR(Scan(handle.db(), prefix, SeqKey(kTscKind, channel_id, after_seq + 1),
                           [&](std::string_view key, std::string_view value) -> Result<bool> {
                             TCC_ASSIGN_OR_RETURN(TscRecord tsc, ReadTsc(handle.db(), key, value));
                             tscs.push_back(std::move(tsc));
                             return tscs.size() < limit;
                           }));
  return tscs;
}

Result<std::optional<TscLocation>> ChannelStore::FindTscByHash(std::string_view tsc_hash) {
  TCC_RETURN_IF_ERROR(CheckHash(tsc_hash, "TSC hash"));
  const std::string key = TscHashKey(tsc_hash);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) return std::optional<TscLocation>();
  TCC_ASSIGN_OR_RETURN(TscLocation location, DecodeTscLocation(key, *value));
  return std::optional<TscLocation>(std::move(location));
}

// --- named values ---

Status ChannelStore::PutValue(std::string_view name, std::string_view value) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  if (value.size() > kMaxValueBytes) {
    return Invalid("value " + std::string(name) + " is " + std::to_string(value.size()) +
                   " bytes, over the limit of " + std::to_string(kMaxValueBytes));
  }
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(NameKey(kValueKind, name), AsSlice(value));
  return access.Write(batch, "writing value " + std::string(name));
}

Result<std::string> ChannelStore::GetValue(std::string_view name) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value,
                       Get(handle.db(), NameKey(kValueKind, name)));
  if (!value) return Error(ErrorCode::kNotFound, "no value " + std::string(name));
  return std::move(*value);
}

Result<std::uint64_t> ChannelStore::NextCounter(std::string_view name) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  const std::string key = NameKey(kCounterKind, name);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> current, Get(access.db(), key));
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
  TCC_RETURN_IF_ERROR(access.Write(batch, "advancing counter " + std::string(name)));
  return value;
}

Result<ChannelStore::Counts> ChannelStore::Count() {
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  leveldb::DB& db = handle.db();
  // One snapshot, so the three counts describe the same moment.
  const leveldb::Snapshot* snapshot = db.GetSnapshot();
  leveldb::ReadOptions options = Read(snapshot);
  Result<std::uint64_t> channels = CountRange(db, KindPrefix(kChannelKind), options);
  Result<std::uint64_t> pending = CountRange(db, KindPrefix(kPendingKind), options);
  Result<std::uint64_t> batches = CountRange(db, KindPrefix(kBatchKind), options);
  db.ReleaseSnapshot(snapshot);
  if (!channels.ok()) return std::move(channels).error();
  if (!pending.ok()) return std::move(pending).error();
  if (!batches.ok()) return std::move(batches).error();
  Counts counts;
  counts.channels = *channels;
  counts.pending_evidence = *pending;
  counts.unfinished_batches = *batches;
  return counts;
}

Status ChannelStore::Probe() {
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(AsSlice(kProbeKey), "1");
  return access.Write(batch, "probing the store");
}

ChannelStore::WriteHealth ChannelStore::write_health() const { return impl_->database->health(); }

Result<std::uint64_t> ChannelStore::PeekCounter(std::string_view name) {
  TCC_RETURN_IF_ERROR(CheckName(name));
  const std::string key = NameKey(kCounterKind, name);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> current, Get(handle.db(), key));
  if (!current) return std::uint64_t{0};
  return DecodeU64(key, *current);
}

}  // namespace tcc::controller
