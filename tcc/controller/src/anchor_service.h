// AnchorService: the evidence batcher. It takes evidence items (already durable as pending in the
// ChannelStore), and once per interval, or as soon as `max_batch` items wait, builds one Merkle
// batch over all channels' items, records the batch in the store, anchors its root through the
// chain adapter, then stores every item's evidence bundle and reports them through a callback.
//
// Failure handling: an adapter error (chain unavailable, ...) keeps the batch and retries it with
// exponential backoff under the same batch id, so a retry after a lost reply is idempotent on
// chain; items keep queueing meanwhile (they are durable). While it backs off, the interval timer
// asks the adapter for its status and brings the retry forward as soon as the chain answers, so
// the backlog drains within an interval of the chain's return rather than after `retry_max`. On Start the service re-sends every
// unfinished batch from the store and re-queues every pending item, so a crash or restart loses
// nothing and anchors nothing twice. Batch ids are "<prefix>-<counter>" with a counter persisted
// in the store.
//
// Once per interval, on its own timer (so also while the chain is away and the anchoring thread
// is retrying), the service feeds the interval's chain load into the AnchorPolicy it shares with
// the caller (see anchor_policy.h); the caller reads it through EffectiveN and policy() and
// changes it through SetPolicyOptions, never holding the service's lock itself.
//
// Threads: an anchoring thread and an interval timer thread, both owned by the service (the
// adapter must take calls from both). Submit, Flush, stats and the policy methods are
// thread-safe. The callback runs on the anchoring thread and must not call Stop. The service
// borrows the store and shares the adapter; both must outlive it. Stop (also run by the destructor)
// anchors what is queued first when asked to drain.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anchor_policy.h"
#include "channel_store.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
#include "tcc/controller/anchor_options.h"

namespace tcc::controller {


struct AnchorStats {
  std::uint64_t batches_anchored = 0;
  std::uint64_t leaves_anchored = 0;
  std::uint64_t adapter_errors = 0;
  std::size_t queued_items = 0;      // waiting for the next batch
  std::size_t in_flight_items = 0;   // in a batch sent but not yet anchored
  std::uint64_t last_batch_size = 0;
  std::chrono::microseconds last_anchor_latency{0};
  std::string last_root_hex;
  std::uint64_t last_height = 0;
  std::string last_error;  // empty after a success
};

class AnchorService {
 public:
  // A landed batch: its bundles and how long the anchor call that landed took.
  using AnchoredCallback =
      std::function<void(const std::vector<chain::EvidenceBundle>& bundles, std::chrono::microseconds latency)>;
  // A failed anchor attempt (the batch is retried).
  using AdapterErrorCallback = std::function<void(const Error& error)>;

  AnchorService(std::shared_ptr<chain::ChainAdapter> adapter, ChannelStore& store,
                AnchorServiceOptions options, AnchorPolicyOptions policy, AnchoredCallback on_anchored);
  ~AnchorService();
  AnchorService(const AnchorService&) = delete;
  AnchorService& operator=(const AnchorService&) = delete;

  // Set before Start; runs on the anchoring thread.
  void OnAdapterError(AdapterErrorCallback callback);
  // Recovers unfinished batches and pending items from the store, then starts the thread.
  Status Start();
  // Queues an item that is already durable in the store as pending.
  void Submit(chain::EvidenceItem item);
  // Anchors what is queued now instead of at the end of the interval (channel close).
  void Flush();
  // Queues items (each already durable as pending) at once and flushes: a closing channel's last
  // TSC and its closing record land in one batch (unless the queue before them reaches max_batch).
  void SubmitTogether(std::vector<chain::EvidenceItem> items);
  // Stops the thread; with drain, first anchors everything queued (giving up after `drain_timeout`
  // if the chain stays unavailable: the items stay pending in the store for the next start).
  void Stop(bool drain = true, std::chrono::milliseconds drain_timeout = std::chrono::seconds(30));

  AnchorStats stats() const;

  // A channel's N under the policy as it is now (AnchorPolicy::EffectiveN).
  std::uint64_t EffectiveN(std::uint64_t strategy_n, std::optional<std::uint64_t> n_override) const
      TCC_EXCLUDES(policy_mutex_);
  // A copy of the policy as it is now: bounds, switches and the adaptive factor.
  AnchorPolicy policy() const TCC_EXCLUDES(policy_mutex_);
  // Replaces the policy's bounds and switches (control.policy); the adaptive factor is kept.
  Status SetPolicyOptions(const AnchorPolicyOptions& options) TCC_EXCLUDES(policy_mutex_);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
  mutable Mutex policy_mutex_;
  AnchorPolicy policy_ TCC_GUARDED_BY(policy_mutex_);
};

}  // namespace tcc::controller
