// ChainAdapter: the one interface through which TCC reaches a consortium chain.
//
// It covers what the EFSC design keeps on chain: identity records (DID documents), templates
// (TIT/TST versions), TIC records with their "open a channel" events, evidence anchors, and the
// status the adaptive-N policy reads. Nothing above this interface knows which chain it talks to;
// OpenChainAdapter (factory.h) picks the implementation from a URI.
//
// Contract every implementation keeps:
//  - Thread-safe: any method may be called from any thread concurrently. Writes are serialized by
//    the chain; a write returns only once it is durable on that chain (synced block for the
//    embedded ledger, confirmed receipt for an EVM chain), so its receipt can be relied on.
//  - Writes are idempotent on retry: repeating a write whose value already landed returns the
//    existing record and receipt, never a duplicate and never an error. A different value under
//    an id that already landed is kConflict (anchors, TICs, template versions) or kAlreadyExists
//    (DID registration).
//  - Bad input (Validate* in types.h) is kInvalidArgument and changes nothing; a missing record is
//    kNotFound; an unreachable chain is kUnavailable. No exception leaves the adapter.
//  - The caller owns the adapter (std::unique_ptr); destroying it waits for in-flight writes.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/chain/types.h"
#include "tcc/common/result.h"

namespace tcc::chain {

// Events a daemon follows: "a TIC naming TCC X was recorded" (open the channel) and "DID Y
// changed" (drop it from the resolver cache). Version 1 of a DID is its registration.
enum class ChainEventKind { kTicRecorded, kDidUpdated };

struct ChainEvent {
  ChainEventKind kind = ChainEventKind::kTicRecorded;
  std::string subject;        // the TIC id, or the DID
  std::string tcc_did;        // kTicRecorded: the TCC the TIC names
  std::uint64_t version = 0;  // kDidUpdated: the new document version
  std::uint64_t height = 0;
};

struct EventFilter {
  bool tic_recorded = true;
  bool did_updated = true;
  // When set, only TICs naming this TCC DID are reported.
  std::optional<std::string> tcc_did;
};

// A poll resumes after `cursor`, an opaque token from a previous EventPage (empty: from the first
// block). Cursors are adapter-specific strings meant to be persisted by the daemon so a restart
// resumes where it stopped without missing or repeating events.
struct EventQuery {
  std::string cursor;
  EventFilter filter;
  std::size_t max_events = 256;
  // Long poll: when nothing new is available, wait up to this long for the next block.
  std::chrono::milliseconds wait{0};
};

struct EventPage {
  std::vector<ChainEvent> events;
  std::string next_cursor;  // pass it to the next poll; it moves even when nothing matched
};

struct AdapterStatus {
  std::string adapter;
  std::uint64_t height = 0;
  std::size_t pending = 0;  // writes accepted but not yet durable
  // Submission-to-durable time of the most recent anchor (zero before the first one).
  std::chrono::microseconds last_anchor_latency{0};
  std::uint64_t anchors = 0;  // anchors this adapter instance made durable (not idempotent hits)
};

class ChainAdapter {
 public:
  virtual ~ChainAdapter() = default;

  // Short adapter name used in receipts ("local", "evm").
  virtual std::string_view name() const = 0;

  // Identity records. Register fails with kAlreadyExists if the DID exists with another document
  // (an identical one returns the existing version 1). Update appends version + 1; the caller has
  // authenticated the change. Resolve returns the latest version, or `version` if given.
  virtual Result<Recorded<DidDocumentVersion>> RegisterDid(std::string_view did,
                                                           ByteView document) = 0;
  virtual Result<Recorded<DidDocumentVersion>> UpdateDid(std::string_view did,
                                                         ByteView document) = 0;
  virtual Result<Recorded<DidDocumentVersion>> ResolveDid(
      std::string_view did, std::optional<std::uint64_t> version) = 0;

  // Templates. A published version is immutable: republishing the same content is a no-op,
  // different content is kConflict. Only the owner of an existing id may publish further versions
  // (kPermissionDenied otherwise), and versions of an id strictly increase (kConflict otherwise).
  virtual Result<Recorded<TemplateVersion>> PublishTemplate(const TemplateVersion& version) = 0;
  // The latest version when `version` is empty.
  virtual Result<Recorded<TemplateVersion>> GetTemplate(
      std::string_view id, std::optional<std::uint64_t> version) = 0;
  // Every version of `id`, or of every template when `id` is empty, ordered by id then version.
  virtual Result<std::vector<Recorded<TemplateVersion>>> ListTemplates(std::string_view id) = 0;

  // TIC records; one TIC per id, immutable.
  virtual Result<Recorded<TicDocument>> RecordTic(const TicDocument& tic) = 0;
  virtual Result<Recorded<TicDocument>> GetTic(std::string_view tic_id) = 0;

  virtual Result<EventPage> PollEvents(const EventQuery& query) = 0;

  // Evidence. Anchoring a batch id that already landed with the same root and leaf count returns
  // the existing receipt; with another root or count it is kConflict.
  virtual Result<Recorded<BatchAnchor>> Anchor(const BatchAnchor& anchor) = 0;
  virtual Result<Recorded<BatchAnchor>> FindAnchor(std::string_view batch_id) = 0;
  // The first batch anchored with this root.
  virtual Result<Recorded<BatchAnchor>> FindAnchorByRoot(const Hash256& root) = 0;

  virtual Result<AdapterStatus> Status() = 0;
};

}  // namespace tcc::chain
