// LocalLedger: the embedded, zero-setup chain behind `local:PATH` URIs.
//
// A LevelDB-backed append-only ledger for a single operator: blocks with height, previous-block
// hash, timestamp and an RFC 9162 Merkle root over their entries (format in ledger_format.h).
// Writes go through one packer thread that packs queued requests into blocks of at most
// `max_entries_per_block` entries, waiting up to `block_interval` for a block to fill, and commits
// a group of blocks with their index keys in one synced LevelDB batch; callers block until their
// block is durable, so every receipt refers to a block that survives a crash. On open the head is
// read back from LevelDB and checked against its block.
//
// Outages (a full disk) follow the policy of storage::Database (storage/database.h), which the
// daemon's channel store shares: after a commit fails the ledger stops writing through that LevelDB
// handle (LevelDB latches the error, and a failed log append may have left a torn record), and
// every write is refused at once with kUnavailable ("ledger cannot write: <cause>"). At most every
// 300 ms a write (or Status) tries to close and reopen the database, which replays its log and
// re-reads and checks the head as Open does, and only once the logs' size plus 1 MiB is free, so
// reads go on from the old handle while the disk is full; once the reopen succeeds the ledger
// writes again. A write reported as failed may turn out to be on disk after the reopen: writes are
// idempotent (the same anchor again returns its receipt), so a caller retries it. Only while a
// reopen fails (or an open at start failed for an I/O reason) is there no handle, and reads are
// refused too ("ledger cannot read: <cause>"); reads then try the reopen as well.
//
// The LocalLedger owns its LevelDB handle and packer thread; LevelDB's lock keeps a second
// process (or a second LocalLedger) from opening the same directory. All methods are thread-safe;
// the destructor finishes queued writes, then stops the packer.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/ledger_verifier.h"

namespace tcc::chain {

struct LocalLedgerOptions {
  std::string path;
  std::size_t max_entries_per_block = 256;  // M, 1..ledger::kMaxEntriesPerBlock
  // How long a partly filled block waits for more entries; zero seals whatever is queued as soon
  // as the packer is free (group commit only).
  std::chrono::microseconds block_interval{0};
  // Blocks committed together in one synced write when the queue is deep.
  std::size_t max_blocks_per_commit = 64;
  // Queued requests beyond this are refused with kResourceExhausted (back-pressure).
  std::size_t max_pending = 1u << 16;
  bool create_if_missing = true;
};

class LocalLedger final : public ChainAdapter {
 public:
  // kUnavailable if another process holds the ledger, kVerificationFailed if the head does not
  // match its block, kInvalidArgument for bad options or a directory that is not a TCC ledger.
  // An existing ledger that cannot be opened for an I/O reason (its disk is full) is returned in
  // the outage state above and heals once it can be opened.
  static Result<std::unique_ptr<LocalLedger>> Open(const LocalLedgerOptions& options);
  ~LocalLedger() override;
  LocalLedger(const LocalLedger&) = delete;
  LocalLedger& operator=(const LocalLedger&) = delete;

  std::string_view name() const override { return "local"; }

  Result<Recorded<DidDocumentVersion>> RegisterDid(std::string_view did,
                                                   ByteView document) override;
  Result<Recorded<DidDocumentVersion>> UpdateDid(std::string_view did, ByteView document) override;
  Result<Recorded<DidDocumentVersion>> ResolveDid(std::string_view did,
                                                  std::optional<std::uint64_t> version) override;
  Result<Recorded<TemplateVersion>> PublishTemplate(const TemplateVersion& version) override;
  Result<Recorded<TemplateVersion>> GetTemplate(std::string_view id,
                                                std::optional<std::uint64_t> version) override;
  Result<std::vector<Recorded<TemplateVersion>>> ListTemplates(std::string_view id) override;
  Result<Recorded<TicDocument>> RecordTic(const TicDocument& tic) override;
  Result<Recorded<TicDocument>> GetTic(std::string_view tic_id) override;
  Result<EventPage> PollEvents(const EventQuery& query) override;
  Result<Recorded<BatchAnchor>> Anchor(const BatchAnchor& anchor) override;
  // Anchor without blocking the caller: `done` runs once the anchor is durable (or refused), on
  // the packer thread, so it must be quick and must not wait for another ledger write. Invalid
  // input, a full queue or a closing ledger is returned at once and `done` never runs. Lets one
  // thread keep many anchors in flight (the batcher pipelining intervals, the benchmark).
  using AnchorCallback = std::function<void(Result<Recorded<BatchAnchor>>)>;
  tcc::Status AnchorAsync(const BatchAnchor& anchor, AnchorCallback done);
  Result<Recorded<BatchAnchor>> FindAnchor(std::string_view batch_id) override;
  Result<Recorded<BatchAnchor>> FindAnchorByRoot(const Hash256& root) override;
  Result<AdapterStatus> Status() override;

  // Verifies this open ledger against a consistent snapshot (VerifyLedger needs the directory
  // unlocked, this does not).
  Result<LedgerReport> Verify();

  const LocalLedgerOptions& options() const;

 private:
  struct Impl;
  explicit LocalLedger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcc::chain
