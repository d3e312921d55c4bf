// The start-up cross-check of the channel store against what this TCC anchored on the chain
// (issue #18 item 1), and the record of channels it put in the `recovering` state.
//
// CrossCheckWithChain walks every channel's stored evidence bundles the way AuditStore does
// (chain::VerifyEvidenceBundleOnChain, one FindAnchor per batch) and, beyond the audit:
//  - re-anchors a batch the store records as anchored but the chain lacks (a ledger that lost its
//    last blocks): ChainAdapter::Anchor is idempotent, so the same batch id, root and size land
//    again, and the bundles get the new receipt (ChannelStore::ReplaceBundleReceipt);
//  - reports, per channel, the highest seq whose bundle the chain confirms (what `anchored_seq`
//    may claim);
//  - puts a channel in `recovering` when the chain contradicts its store: a bundle whose TSC hash
//    differs from the stored TSC, an anchor with another root or size, a bundle beyond the head;
//  - finds batch ids on the chain past the store's batch counter: the store is behind the chain
//    (an older copy, a lost log tail) and has lost anchored TSCs; the chain names only Merkle
//    roots, not channels, so every open channel goes to `recovering`.
//
// RecoveryBook holds the recovering channels. It is persisted in the store as the named value
// "recovery" so that a restart keeps them recovering (the anchor service skips the chain's taken
// batch ids after the first start, and the evidence of the loss would be gone). Thread-safe: the
// loop thread changes it, VC-API threads read it for /healthz.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "channel_store.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"

namespace tcc::controller {

inline constexpr std::string_view kRecoveryValueName = "recovery";

struct RecoveringChannel {
  std::string channel_id;
  std::uint64_t store_seq = 0;  // the store's head when it was found
  std::uint64_t chain_seq = 0;  // the highest seq of the channel the chain confirms
  std::string reason;

  Json ToJson() const;
};

struct CrossCheckResult {
  // Per channel: the highest seq whose evidence bundle verifies on the chain (0: none).
  std::map<std::string, std::uint64_t> anchored_on_chain;
  std::vector<RecoveringChannel> recovering;  // found by this check
  std::vector<std::string> unknown_batches;   // on the chain, past the store's batch counter
  std::uint64_t reanchored_batches = 0;
  std::uint64_t rewritten_bundles = 0;
};

// Batch ids probed past the store's counter: far more than any gap a restored copy leaves.
inline constexpr std::uint64_t kMaxUnknownBatchProbes = 1u << 20;

// kUnavailable (or another adapter error) when the chain cannot be asked: the caller then starts
// without the check. Store read errors are returned too. Channels in `refused` (whose records the
// start-up read check could not read, store_check.h) are left alone: they neither settle nor
// recover until the store is restored.
Result<CrossCheckResult> CrossCheckWithChain(
    ChannelStore& store, chain::ChainAdapter& chain, const std::string& batch_id_prefix,
    const std::set<std::string, std::less<>>& refused = {});

class RecoveryBook;

// What start-up does (Daemon::Start, before the anchor service starts): loads the book, runs the
// cross-check unless the chain cannot be asked (then logs that it was skipped and changes
// nothing), adds the channels it found, persists the book when it changed and logs each one.
struct StartupCrossCheck {
  bool checked = false;
  std::map<std::string, std::uint64_t> anchored_on_chain;  // as CrossCheckResult; empty unchecked
  std::uint64_t newly_recovering = 0;
};
Result<StartupCrossCheck> RunStartupCrossCheck(
    ChannelStore& store, chain::ChainAdapter& chain, const std::string& batch_id_prefix,
    RecoveryBook& book, const std::set<std::string, std::less<>>& refused = {});

class RecoveryBook {
 public:
  // Reads the persisted set (empty when unset); kParse/kInvalidArgument for a damaged value.
  Status Load(ChannelStore& store) TCC_EXCLUDES(mutex_);
  // The JSON value to persist under kRecoveryValueName.
  std::string Serialize() const;

  // Adds (or keeps the first reason of) a channel; true when it was not recovering before.
  bool Add(const RecoveringChannel& channel) TCC_EXCLUDES(mutex_);
  bool Remove(const std::string& channel_id) TCC_EXCLUDES(mutex_);
  // A party (by role name) presented its TSCs; returns the roles that have so far.
  std::set<std::string> Presented(const std::string& channel_id, const std::string& role)
      TCC_EXCLUDES(mutex_);
  std::optional<RecoveringChannel> Find(const std::string& channel_id) const TCC_EXCLUDES(mutex_);
  std::vector<RecoveringChannel> List() const TCC_EXCLUDES(mutex_);
  std::size_t size() const TCC_EXCLUDES(mutex_);

 private:
  mutable Mutex mutex_;
  std::map<std::string, RecoveringChannel, std::less<>> channels_ TCC_GUARDED_BY(mutex_);
  // Not persisted: asked again on restart.
  std::map<std::string, std::set<std::string>> presented_ TCC_GUARDED_BY(mutex_);
};

}  // namespace tcc::controller
