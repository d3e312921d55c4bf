// ChannelStore: the daemon's durable state in one LevelDB database (a real directory on disk).
//
// It holds channel records, issued TSCs (by channel and seq, each with its claim's hash for
// replay detection, and a TSC-hash index for lookups by hash; their texts apart, in commit order,
// so that LevelDB's compactions do not merge older texts again and again), evidence items waiting
// for a batch, batches handed to the chain but not yet known to be anchored, the evidence bundles
// of anchored items, and small named values (the chain event cursor, the batch counter). Every
// method that writes does so in one synced LevelDB WriteBatch, so a write either survives a crash
// completely or not at all, and returns only once durable. Callers group commits (CommitSettlements
// takes many) to amortize the sync.
//
// Reads re-validate what they decode; a corrupt record is kInternal naming its key, never a crash.
//
// A failed write (disk full, I/O error) heals, by the policy of storage::Database
// (storage/database.h), which the embedded ledger shares: the store stops using that database
// handle for writes and the next write (or Probe) first closes and reopens the database, which
// recovers the log (a torn tail is dropped) and clears the error LevelDB latches after a failed
// sync or compaction. Reopens are tried at most every 300 ms, and, while the old handle still
// serves reads, only once the logs' size plus 1 MiB is free (the reopen writes them out); in
// between, writes fail at once with kUnavailable "store cannot write: <cause>". Reads go on through
// the old handle; only a failed reopen leaves none, and reads are then kUnavailable until a
// reopen (tried by writes, Probe and reads alike) succeeds. A write that reported failure may
// still be on disk after the reopen (its sync failed after the append), like a write a crash
// interrupted: callers must treat a failed write as "maybe durable" and read the store back
// before relying on what they wrote.
//
// The key layout is in channel_store_keys.h, the record codecs in channel_store_records.h.
//
// Thread-safe: any method may be called from any thread. Write methods run one at a time (each
// from its first read to its synced write), reads run alongside them; a reopen waits for both.
// The store owns its database handle; destroying it closes the database.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "channel.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/storage/health.h"

namespace tcc::controller {

struct ChannelStoreOptions {
  bool create_if_missing = true;
  // LevelDB write-buffer and block-cache sizes; the defaults suit tens of thousands of channels.
  std::size_t write_buffer_bytes = 16u << 20;
  std::size_t block_cache_bytes = 32u << 20;
};

// One issued TSC ready to become durable, with the channel record as it is after it (last_seq and
// last_hash advanced) and, every N TSCs, the evidence item that goes to the anchor batcher.
struct SettlementCommit {
  TscRecord tsc;
  ChannelRecord channel;
  std::optional<chain::EvidenceItem> evidence;
};

// A batch written before its anchor was sent, so a restart can re-send the same batch id (the
// adapter treats that as idempotent) instead of losing or duplicating the items.
struct PendingBatch {
  std::string batch_id;
  std::vector<chain::EvidenceItem> items;
};

// Where a TSC is stored: found by its hash through the index CommitSettlements writes with it.
struct TscLocation {
  std::string channel_id;
  std::uint64_t seq = 0;
};

// A consumer's signed rejection of a proposal (dispute.h), as tccd received it.
struct RejectionRecord {
  std::string channel_id;
  std::uint64_t seq = 0;
  std::string proposal_hash;  // 64 lowercase hex
  std::string content_hash;   // the rejected claim without its proof (wire/dispute.h ContentHash)
  std::uint64_t received_ms = 0;  // Unix ms, tccd's clock
  Json document;                  // the signed SettlementRejection
};

// The hash of the provider's latest proposal relayed for a seq not yet issued.
struct ProposalMark {
  std::string channel_id;
  std::uint64_t seq = 0;
  std::string proposal_hash;
  std::string content_hash;
};

// The evidence item of a channel's closing record (wire::ReadClosingSubject): kind kClosing,
// the channel, the record's last seq and the record's hash. kInvalidArgument if `record` is not a
// closing record. Stateless, any thread.
Result<chain::EvidenceItem> ClosingEvidenceItem(const Json& record);

class ChannelStore {
 public:
  static Result<std::unique_ptr<ChannelStore>> Open(const std::string& path,
                                                    const ChannelStoreOptions& options = {});
  ~ChannelStore();
  ChannelStore(const ChannelStore&) = delete;
  ChannelStore& operator=(const ChannelStore&) = delete;

  // Channels.
  Status PutChannel(const ChannelRecord& record);
  Result<ChannelRecord> GetChannel(std::string_view channel_id);  // kNotFound
  Result<std::vector<ChannelRecord>> ListChannels();

  // Settlements: all commits in one synced batch (TSC, TSC-hash index, channel record, pending
  // evidence). Each TSC must lie above its channel's head (kAlreadyExists: a stored TSC is never
  // overwritten) and above the one before it in the call. An empty span is a no-op.
  Status CommitSettlements(std::span<const SettlementCommit> commits);
  Result<TscRecord> GetTsc(std::string_view channel_id, std::uint64_t seq);  // kNotFound
  // Up to `limit` TSCs with seq > after_seq, ascending.
  Result<std::vector<TscRecord>> ListTscs(std::string_view channel_id, std::uint64_t after_seq,
                                          std::size_t limit);
  // The TSC with this hash (vc::CredentialHash, 64 lowercase hex digits), if this store holds it.
  Result<std::optional<TscLocation>> FindTscByHash(std::string_view tsc_hash);

  // Evidence. Pending items (written by CommitSettlements or AddPendingEvidence) move into a batch
  // record with SaveBatch, atomically; CompleteBatch stores every item's bundle, advances each
  // channel's anchored seq (never backwards) and deletes the batch record, atomically.
  // AddPendingEvidence also writes the channel record (its evidence_seq moved).
  // A closing record's leaf (kind kClosing) is made pending by PutClosingRecord; it never moves
  // the anchored seq, and its bundle is read with GetClosingBundle.
  Status AddPendingEvidence(const chain::EvidenceItem& item, const ChannelRecord& channel);
  // TSC leaves, then the closing leaves of channels that are closed at the head their record names.
  Result<std::vector<chain::EvidenceItem>> PendingEvidence();
  Status SaveBatch(const PendingBatch& batch);
  Result<std::vector<PendingBatch>> UnfinishedBatches();
  Status CompleteBatch(std::string_view batch_id, std::span<const chain::EvidenceBundle> bundles);
  Result<chain::EvidenceBundle> GetBundle(std::string_view channel_id, std::uint64_t seq);  // kNotFound
  // The bundle of the channel's closing leaf (kind kClosing), once it is anchored.
  Result<std::optional<chain::EvidenceBundle>> GetClosingBundle(std::string_view channel_id);
  // The smallest anchored seq >= seq in the channel: the anchor that commits TSC `seq` through the
  // hash chain. nullopt when none is anchored yet.
  Result<std::optional<std::uint64_t>> AnchoredSeqCovering(std::string_view channel_id, std::uint64_t seq);
  // The highest anchored seq of the channel (0 when nothing is anchored).
  Result<std::uint64_t> AnchoredSeq(std::string_view channel_id);

  // Disputes (wire/dispute.h). A rejection is stored under its channel, seq and proposal
  // hash; storing the same one again is a no-op. The provider's latest proposal is one per channel
  // (its seq and hash), so that tccd tells an amend from a second claim after a restart too.
  // PutProposal alone is not synced (one per settlement; every other write is): it survives a
  // crash of the process, and a power failure loses at most the marks written since the last
  // synced write, which lets a provider amend that seq without a rejection.
  // A channel closed at a party's request keeps the TCC's closing record.
  Status PutRejection(const RejectionRecord& rejection);
  // Ascending by seq (then proposal hash), from seq `from_seq` on.
  Result<std::vector<RejectionRecord>> ListRejections(std::string_view channel_id, std::uint64_t from_seq = 1);
  Status PutProposal(const ProposalMark& proposal);
  Result<std::optional<ProposalMark>> GetProposal(std::string_view channel_id);
  // Writes the record and, in the same batch, its closing leaf as pending evidence (the record must
  // be a closing record of this channel: wire::ReadClosingSubject).
  Status PutClosingRecord(std::string_view channel_id, std::string_view record_json);
  Result<std::optional<std::string>> GetClosingRecord(std::string_view channel_id);

  // Small named values (cursor, counters). GetValue is kNotFound when unset.
  Status PutValue(std::string_view name, std::string_view value);
  Result<std::string> GetValue(std::string_view name);
  // Atomically increments and returns a persisted counter (1 on first use).
  Result<std::uint64_t> NextCounter(std::string_view name);

  // The counter's current value without advancing it (0 when never used).
  Result<std::uint64_t> PeekCounter(std::string_view name);
  // Start-up cross-check (chain_crosscheck.h): puts back the bundle of an item whose batch was
  // re-anchored, so that it carries the chain's new receipt. Only the receipt may differ from the
  // bundle stored under its channel and seq (kNotFound without one, kInvalidArgument otherwise).
  Status ReplaceBundleReceipt(const chain::EvidenceBundle& bundle);

  // A synced write of a small marker, reopening the database first if a write failed: OK once the
  // store can write again. For a caller that stopped writing after a failure and wants to know
  // when to resume.
  Status Probe();

  // Whether the last write (or reopen) succeeded and why not, and cumulative counts of failed or
  // refused writes and of reopens, for health reports and metrics (storage::Database's).
  using WriteHealth = storage::Health;
  WriteHealth write_health() const;

  // Raw reads for backups (store_backup.h) and the start-up read check (store_check.h).
  // ScanSnapshot calls visit(key, value) for every record of one LevelDB snapshot, in key order,
  // with checksums verified (false from visit stops). A block LevelDB cannot read is skipped by
  // its iterator and its error (Corruption, IO error) returned at the end, kInternal or kIo. It
  // holds the read handle throughout: a reopen after a failed write waits for it.
  using RawVisitor = std::function<Result<bool>(std::string_view key, std::string_view value)>;
  Status ScanSnapshot(const RawVisitor& visit);
  // Reads every record of one channel (its record, TSCs and their texts, an older claim index,
  // evidence, anchored seq, disputes, closing record) with checksums verified: LevelDB's error if
  // any cannot be read.
  Status CheckChannelReadable(std::string_view channel_id);
  // Called once the start-up read check refused the channels whose records cannot be read:
  // PendingEvidence then returns the items it can read instead of failing on a damaged block
  // (whose items belong to refused channels only: each channel's check reads its pending range).
  void TolerateUnreadablePending() { tolerate_unreadable_pending_ = true; }

  // Approximate counts, for status and metrics.
  struct Counts {
    std::uint64_t channels = 0;
    std::uint64_t pending_evidence = 0;
    std::uint64_t unfinished_batches = 0;
  };
  Result<Counts> Count();

 private:
  class Impl;
  explicit ChannelStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> tolerate_unreadable_pending_{false};
};

}  // namespace tcc::controller
