#include "anchor_service.h"

#include <algorithm>
#include <deque>
#include <optional>
#include <set>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/thread_name.h"

namespace tcc::controller {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kBatchCounter = "anchor.batch";

// An item is identified by its place in its channel's hash chain and its kind (a channel's closing
// leaf has the seq of its last TSC); the hash adds nothing.
using ItemKey = std::tuple<std::string, std::uint64_t, chain::EvidenceKind>;
ItemKey KeyOf(const chain::EvidenceItem& item) { return {item.channel_id, item.seq, item.kind}; }

std::chrono::microseconds Since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
}

Status ValidateServiceOptions(const AnchorServiceOptions& options) {
  auto invalid = [](const std::string& message) {
    return Error(ErrorCode::kInvalidArgument, "anchor service: " + message);
  };
  if (options.interval.count() <= 0) return invalid("interval must be positive");
  if (options.max_batch == 0) return invalid("max_batch must be positive");
  if (options.retry_min.count() <= 0 || options.retry_max < options.retry_min) {
    return invalid("retry bounds must satisfy 0 < retry_min <= retry_max");
  }
  // The longest id the counter can produce must still be a valid batch id on every chain.
  auto id = chain::ValidateId(options.batch_id_prefix + "-18446744073709551615", "batch id");
  if (!id.ok()) return invalid(id.error().message() + " (from batch_id_prefix)");
  return OkStatus();
}

// One batch from the moment its items leave the queue until the store records it as anchored.
// Each step remembers that it is done, so a retry after a failure resumes where it failed and
// never draws a second id or re-saves under another one.
struct InFlightBatch {
  std::vector<chain::EvidenceItem> items;
  std::size_t counted = 0;  // items counted in flight (before invalid ones were dropped)
  bool checked = false;    // invalid items filtered out
  std::string batch_id;    // empty until drawn from the store's counter
  std::optional<chain::EvidenceBatch> batch;
  bool saved = false;      // the store holds the batch record under batch_id
  std::optional<chain::Recorded<chain::BatchAnchor>> anchored;
  std::chrono::microseconds anchor_latency{0};
  std::vector<chain::EvidenceBundle> bundles;
  bool complete_tried = false;
};

}  // namespace

class AnchorService::Impl {
 public:
  AdapterErrorCallback on_adapter_error_;  // set before the thread starts

  Impl(AnchorService& owner, std::shared_ptr<chain::ChainAdapter> adapter, ChannelStore& store,
       AnchorServiceOptions options, AnchoredCallback on_anchored)
      : owner_(owner),
        adapter_(std::move(adapter)),
        store_(store),
        options_(std::move(options)),
        on_anchored_(std::move(on_anchored)) {}

  Status Start();
  void Submit(chain::EvidenceItem item);
  void SubmitTogether(std::vector<chain::EvidenceItem> items);
  void Flush();
  void Stop(bool drain, std::chrono::milliseconds drain_timeout);
  AnchorStats stats() const;

 private:
  struct Queued {
    chain::EvidenceItem item;
    Clock::time_point arrival;
    std::uint64_t number;  // submission order, for Flush
  };

  void Run();
  bool QuitLocked(Clock::time_point now) const TCC_REQUIRES(mutex_) {
    return stop_ && (!drain_ || now >= drain_deadline_ || (queue_.empty() && recovered_.empty()));
  }
  // Waits until a batch should be cut from the queue; false when the thread should end.
  bool WaitForBatchLocked() TCC_REQUIRES(mutex_);
  // Waits out a retry delay; false when the thread should end. After a chain failure the timer may
  // end the wait early.
  bool WaitBackoffLocked(std::chrono::milliseconds delay, bool chain_failed) TCC_REQUIRES(mutex_);
  InFlightBatch TakeBatchLocked() TCC_REQUIRES(mutex_);
  void EnqueueLocked(chain::EvidenceItem item, Clock::time_point arrival) TCC_REQUIRES(mutex_);

  // Runs the batch's remaining steps. On failure `adapter_failed` says whether the chain refused.
  Status Advance(InFlightBatch& batch, bool& adapter_failed);
  // Reports a completed batch: callback, stats, and its latency for the policy.
  void Finish(const InFlightBatch& batch);
  // The interval timer until Stop: evaluates the adaptive rule, and while the anchoring thread
  // backs off after a failure, asks the adapter whether the chain is back.
  void RunTimer();
  void OnTick(Clock::time_point now);

  AnchorService& owner_;
  const std::shared_ptr<chain::ChainAdapter> adapter_;
  ChannelStore& store_;
  const AnchorServiceOptions options_;
  const AnchoredCallback on_anchored_;

  // Serializes Start and Stop; never taken by the anchoring thread.
  mutable Mutex lifecycle_mutex_;
  std::thread thread_ TCC_GUARDED_BY(lifecycle_mutex_);
  std::thread timer_thread_ TCC_GUARDED_BY(lifecycle_mutex_);

  mutable Mutex mutex_;
  CondVar cv_;
  std::deque<Queued> queue_ TCC_GUARDED_BY(mutex_);
  // Items queued or in a batch not yet completed.
  std::set<ItemKey> known_ TCC_GUARDED_BY(mutex_);
  // Everything Start recovered, kept until Stop: the daemon may submit an item it had made
  // pending just before Start read the store, perhaps after that item has already landed, and no
  // item may reach two batches.
  std::set<ItemKey> recovered_keys_ TCC_GUARDED_BY(mutex_);
  // Unfinished batches from the store, re-sent first.
  std::deque<InFlightBatch> recovered_ TCC_GUARDED_BY(mutex_);
  std::size_t in_flight_items_ TCC_GUARDED_BY(mutex_) = 0;
  std::uint64_t next_number_ TCC_GUARDED_BY(mutex_) = 1;
  // Items numbered up to this are cut without waiting.
  std::uint64_t flush_upto_ TCC_GUARDED_BY(mutex_) = 0;
  bool stop_ TCC_GUARDED_BY(mutex_) = false;
  bool drain_ TCC_GUARDED_BY(mutex_) = false;
  // For the policy, since its last evaluation: the slowest anchor call that landed; and when the
  // batch now being anchored started (empty while the thread waits for one).
  std::optional<std::chrono::microseconds> slowest_landed_ TCC_GUARDED_BY(mutex_);
  std::optional<Clock::time_point> attempt_started_ TCC_GUARDED_BY(mutex_);
  // The anchoring thread is waiting out a retry delay after the chain failed; the timer ends the
  // wait early (retry_now_) once the adapter answers its status again, so a backlog is not held
  // back by a long backoff after the chain has returned.
  bool waiting_for_chain_ TCC_GUARDED_BY(mutex_) = false;
  bool retry_now_ TCC_GUARDED_BY(mutex_) = false;
  // Only the anchoring thread reads or writes it after Start.
  bool ids_checked_ = false;
  Clock::time_point drain_deadline_ TCC_GUARDED_BY(mutex_);
  AnchorStats stats_ TCC_GUARDED_BY(mutex_);
};

Status AnchorService::Impl::Start() {
  MutexLock lifecycle(lifecycle_mutex_);
  if (thread_.joinable()) return Error(ErrorCode::kConflict, "anchor service is already running");
  TCC_RETURN_IF_ERROR(ValidateServiceOptions(options_));
  {
    MutexLock policy_lock(owner_.policy_mutex_);
    TCC_RETURN_IF_ERROR(ValidateAnchorPolicyOptions(owner_.policy_.options()));
  }
  auto unfinished = store_.UnfinishedBatches();
  if (!unfinished.ok()) return std::move(unfinished).error().WithContext("recover unfinished batches");
  auto pending = store_.PendingEvidence();
  if (!pending.ok()) return std::move(pending).error().WithContext("recover pending evidence");

  {
    MutexLock lock(mutex_);
    std::set<ItemKey> in_batches;
    for (auto& stored : *unfinished) {
      InFlightBatch batch;
      batch.batch_id = std::move(stored.batch_id);
      batch.saved = true;
      batch.checked = true;  // the store validated them when they were saved
      for (auto& item : stored.items) {
        // A batch record is authoritative for its items; a duplicate within the store is dropped
        // rather than anchored twice.
        if (!in_batches.insert(KeyOf(item)).second) continue;
        batch.items.push_back(std::move(item));
      }
      batch.counted = batch.items.size();
      in_flight_items_ += batch.counted;
      recovered_.push_back(std::move(batch));
    }
    // Items submitted before Start may already sit in a recovered batch.
    std::erase_if(queue_, [&](const Queued& queued) { return in_batches.contains(KeyOf(queued.item)); });
    known_.insert(in_batches.begin(), in_batches.end());
    recovered_keys_ = std::move(in_batches);
    const auto now = Clock::now();
    for (auto& item : *pending) {
      recovered_keys_.insert(KeyOf(item));
      if (known_.contains(KeyOf(item))) continue;
      EnqueueLocked(std::move(item), now);
    }
    // What waited across a restart has waited long enough.
    flush_upto_ = next_number_ - 1;
    ids_checked_ = false;
    stop_ = false;
    drain_ = false;
    slowest_landed_.reset();
    attempt_started_.reset();
  }
  thread_ = std::thread([this] {
    SetCurrentThreadName("tcc-anchor");
    Run();
  });
  timer_thread_ = std::thread([this] {
    SetCurrentThreadName("tcc-anchor-tick");
    RunTimer();
  });
  return OkStatus();
}

void AnchorService::Impl::EnqueueLocked(chain::EvidenceItem item, Clock::time_point arrival) {
  known_.insert(KeyOf(item));
  queue_.push_back(Queued{std::move(item), arrival, next_number_++});
}

void AnchorService::Impl::Submit(chain::EvidenceItem item) {
  bool wake = false;
  {
    MutexLock lock(mutex_);
    const ItemKey key = KeyOf(item);
    if (known_.contains(key) || recovered_keys_.contains(key)) return;
    EnqueueLocked(std::move(item), Clock::now());
    // The thread only needs to re-plan when the interval clock starts or a batch is full.
    wake = queue_.size() == 1 || queue_.size() == options_.max_batch;
  }
  if (wake) cv_.NotifyAll();
}

void AnchorService::Impl::SubmitTogether(std::vector<chain::EvidenceItem> items) {
  {
    MutexLock lock(mutex_);
    const auto now = Clock::now();
    for (auto& item : items) {
      const ItemKey key = KeyOf(item);
      if (known_.contains(key) || recovered_keys_.contains(key)) continue;
      EnqueueLocked(std::move(item), now);
    }
    // Under the same lock as the items: the thread cannot cut a batch between them.
    flush_upto_ = next_number_ - 1;
  }
  cv_.NotifyAll();
}

void AnchorService::Impl::Flush() {
  {
    MutexLock lock(mutex_);
    flush_upto_ = next_number_ - 1;
  }
  cv_.NotifyAll();
}

void AnchorService::Impl::Stop(bool drain, std::chrono::milliseconds drain_timeout) {
  MutexLock lifecycle(lifecycle_mutex_);
  if (!thread_.joinable()) return;
  {
    MutexLock lock(mutex_);
    stop_ = true;
    drain_ = drain;
    drain_deadline_ = Clock::now() + drain_timeout;
  }
  cv_.NotifyAll();
  thread_.join();
  timer_thread_.join();
  // Whatever did not land is still pending or in a batch record in the store; the next Start
  // rebuilds the queue from there.
  MutexLock lock(mutex_);
  queue_.clear();
  known_.clear();
  recovered_keys_.clear();
  recovered_.clear();
  in_flight_items_ = 0;
}

AnchorStats AnchorService::Impl::stats() const {
  MutexLock lock(mutex_);
  AnchorStats stats = stats_;
  stats.queued_items = queue_.size();
  stats.in_flight_items = in_flight_items_;
  return stats;
}

bool AnchorService::Impl::WaitForBatchLocked() {
  for (;;) {
    const auto now = Clock::now();
    if (QuitLocked(now)) return false;
    if (!queue_.empty()) {
      const Queued& oldest = queue_.front();
      const auto due = oldest.arrival + options_.interval;
      if (stop_ || queue_.size() >= options_.max_batch || oldest.number <= flush_upto_ || now >= due) {
        return true;
      }
      cv_.WaitUntil(mutex_, due);
    } else {
      cv_.Wait(mutex_);
    }
  }
}

bool AnchorService::Impl::WaitBackoffLocked(std::chrono::milliseconds delay, bool chain_failed) {
  const auto until = Clock::now() + delay;
  waiting_for_chain_ = chain_failed;
  retry_now_ = false;
  for (;;) {
    const auto now = Clock::now();
    // Stop without drain, or a drain past its deadline, ends the wait at once; a drain keeps
    // retrying until then.
    if (stop_ && (!drain_ || now >= drain_deadline_)) {
      waiting_for_chain_ = false;
      return false;
    }
    if (now >= until || retry_now_) {
      waiting_for_chain_ = false;
      return true;
    }
    cv_.WaitUntil(mutex_, stop_ ? std::min(until, drain_deadline_) : until);
  }
}

InFlightBatch AnchorService::Impl::TakeBatchLocked() {
  InFlightBatch batch;
  const std::size_t count = std::min(queue_.size(), options_.max_batch);
  batch.items.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    batch.items.push_back(std::move(queue_.front().item));
    queue_.pop_front();
  }
  batch.counted = count;
  in_flight_items_ += count;
  return batch;
}

void AnchorService::Impl::Run() {
  MutexLock lock(mutex_);
  std::chrono::milliseconds backoff = options_.retry_min;
  std::optional<InFlightBatch> current;
  for (;;) {
    if (!current) {
      if (QuitLocked(Clock::now())) break;
      if (!recovered_.empty()) {
        current = std::move(recovered_.front());
        recovered_.pop_front();
      } else {
        if (!WaitForBatchLocked()) break;
        current = TakeBatchLocked();
      }
    }
    if (!attempt_started_) attempt_started_ = Clock::now();
    lock.Unlock();

    bool adapter_failed = false;
    Status status = Advance(*current, adapter_failed);
    if (status.ok()) Finish(*current);

    lock.Lock();
    if (status.ok()) {
      in_flight_items_ -= current->counted;
      for (const auto& item : current->items) known_.erase(KeyOf(item));
      current.reset();
      attempt_started_.reset();
      backoff = options_.retry_min;
      continue;
    }
    if (adapter_failed) ++stats_.adapter_errors;
    stats_.last_error = status.error().ToString();
    if (adapter_failed && on_adapter_error_) {
      lock.Unlock();
      on_adapter_error_(status.error());
      lock.Lock();
    }
    if (!WaitBackoffLocked(backoff, adapter_failed)) break;
    backoff = std::min(backoff * 2, options_.retry_max);
  }
  // A batch left here is either saved in the store (re-sent by the next Start) or still pending.
}

Status AnchorService::Impl::Advance(InFlightBatch& batch, bool& adapter_failed) {
  adapter_failed = false;
  if (!batch.checked) {
    // Submit's precondition is an item the store accepted, but one the chain cannot take would
    // fail its whole batch forever; it is dropped (left pending in the store) and named instead.
    std::string rejected;
    std::erase_if(batch.items, [&](const chain::EvidenceItem& item) {
      auto leaf = chain::EvidenceLeaf(item);
      if (leaf.ok()) return false;
      if (rejected.empty()) rejected = leaf.error().ToString();
      return true;
    });
    batch.checked = true;
    if (!rejected.empty()) {
      MutexLock lock(mutex_);
      stats_.last_error = "evidence item dropped: " + rejected;
    }
  }
  if (batch.items.empty()) return OkStatus();

  while (batch.batch_id.empty()) {
    auto counter = store_.NextCounter(kBatchCounter);
    if (!counter.ok()) return std::move(counter).error().WithContext("draw a batch id");
    std::string id = options_.batch_id_prefix + "-" + std::to_string(*counter);
    if (!ids_checked_) {
      // A store restored from an old backup (or lost) restarts the counter at ids the chain
      // already holds with other roots; such a batch could never land, and a saved batch record
      // cannot be moved to another id. So the first id after each start is checked against the
      // chain and skipped while taken; later ids follow it and are fresh.
      auto found = adapter_->FindAnchor(id);
      if (found.ok()) continue;
      if (found.error().code() != ErrorCode::kNotFound) {
        adapter_failed = true;
        return std::move(found).error().WithContext("check batch id " + id);
      }
      ids_checked_ = true;
    }
    batch.batch_id = std::move(id);
  }
  if (!batch.batch) {
    chain::EvidenceBatchBuilder builder;
    for (const auto& item : batch.items) {
      auto added = builder.Add(item);
      if (!added.ok()) return std::move(added).error();
    }
    auto built = builder.Build(batch.batch_id);
    if (!built.ok()) return std::move(built).error().WithContext("build batch " + batch.batch_id);
    batch.batch = std::move(built).value();
  }
  // Recorded before the anchor is sent: a crash after sending leaves a record to re-send under
  // the same id, which the chain answers with the receipt it already has.
  if (!batch.saved) {
    TCC_RETURN_IF_ERROR(store_.SaveBatch(PendingBatch{batch.batch_id, batch.items}));
    batch.saved = true;
  }
  if (!batch.anchored) {
    const auto start = Clock::now();
    auto anchored = adapter_->Anchor(batch.batch->anchor());
    batch.anchor_latency = Since(start);
    if (!anchored.ok()) {
      // kConflict too is retried: it means another writer uses this prefix, which needs the
      // operator, and last_error tells them.
      adapter_failed = true;
      return std::move(anchored).error().WithContext("anchor batch " + batch.batch_id);
    }
    batch.anchored = std::move(anchored).value();
  }
  if (batch.bundles.empty()) {
    std::vector<chain::EvidenceBundle> bundles;
    bundles.reserve(batch.items.size());
    for (std::size_t i = 0; i < batch.items.size(); ++i) {
      auto bundle = batch.batch->Bundle(i, batch.anchored->receipt);
      if (!bundle.ok()) return std::move(bundle).error().WithContext("bundle for " + batch.batch_id);
      bundles.push_back(std::move(bundle).value());
    }
    batch.bundles = std::move(bundles);
  }
  auto completed = store_.CompleteBatch(batch.batch_id, batch.bundles);
  // A write reported as failed may still have reached the disk; the record then is gone.
  const bool done_before = !completed.ok() && batch.complete_tried &&
                           completed.error().code() == ErrorCode::kNotFound;
  batch.complete_tried = true;
  if (!completed.ok() && !done_before) {
    return std::move(completed).error().WithContext("complete batch " + batch.batch_id);
  }
  return OkStatus();
}

void AnchorService::Impl::Finish(const InFlightBatch& batch) {
  if (batch.items.empty()) return;  // every item was invalid; nothing was saved
  if (on_anchored_) on_anchored_(batch.bundles, batch.anchor_latency);

  // Stats move last, so whoever sees them has seen the callback too.
  MutexLock lock(mutex_);
  ++stats_.batches_anchored;
  stats_.leaves_anchored += batch.items.size();
  stats_.last_batch_size = batch.items.size();
  stats_.last_anchor_latency = batch.anchor_latency;
  stats_.last_root_hex = HexEncode(batch.batch->root());
  stats_.last_height = batch.anchored->receipt.height;
  stats_.last_error.clear();
  // The latency of the call that landed, not of the outage before it: the chain has room now.
  slowest_landed_ = std::max(slowest_landed_.value_or(std::chrono::microseconds{0}), batch.anchor_latency);
}

void AnchorService::Impl::RunTimer() {
  MutexLock lock(mutex_);
  auto next = Clock::now() + options_.interval;
  for (;;) {
    // Stop ends the timer at once: a drain anchors what is queued whatever N is.
    while (!stop_ && Clock::now() < next) cv_.WaitUntil(mutex_, next);
    if (stop_) return;
    const auto now = Clock::now();
    next = std::max(next + options_.interval, now);
    lock.Unlock();
    OnTick(now);
    lock.Lock();
  }
}

void AnchorService::Impl::OnTick(Clock::time_point now) {
  bool adaptive = false;
  {
    MutexLock policy_lock(owner_.policy_mutex_);
    adaptive = owner_.policy_.options().adaptive;
  }
  ChainLoad load;
  bool waiting_for_chain = false;
  {
    MutexLock lock(mutex_);
    waiting_for_chain = waiting_for_chain_;
    load.unanchored_backlog = queue_.size() + in_flight_items_;
    load.slowest_landed = std::exchange(slowest_landed_, std::nullopt);
    if (attempt_started_) {
      load.oldest_attempt = std::chrono::duration_cast<std::chrono::microseconds>(now - *attempt_started_);
    }
  }
  if (!adaptive && !waiting_for_chain) return;
  // A chain that cannot say how busy it is shows in the backlog and the latency instead.
  auto status = adapter_->Status();
  if (status.ok()) load.adapter_pending = status->pending;
  if (waiting_for_chain && status.ok()) {
    {
      MutexLock lock(mutex_);
      retry_now_ = true;
    }
    cv_.NotifyAll();
  }
  if (!adaptive) return;
  MutexLock policy_lock(owner_.policy_mutex_);
  owner_.policy_.Observe(load);
}

AnchorService::AnchorService(std::shared_ptr<chain::ChainAdapter> adapter, ChannelStore& store,
                             AnchorServiceOptions options, AnchorPolicyOptions policy,
                             AnchoredCallback on_anchored)
    : impl_(std::make_unique<Impl>(*this, std::move(adapter), store, std::move(options),
                                   std::move(on_anchored))),
      policy_(std::move(policy)) {}

AnchorService::~AnchorService() { impl_->Stop(/*drain=*/true, std::chrono::seconds(30)); }

void AnchorService::OnAdapterError(AdapterErrorCallback callback) { impl_->on_adapter_error_ = std::move(callback); }

Status AnchorService::Start() { return impl_->Start(); }

std::uint64_t AnchorService::EffectiveN(std::uint64_t strategy_n,
                                        std::optional<std::uint64_t> n_override) const {
  MutexLock lock(policy_mutex_);
  return policy_.EffectiveN(strategy_n, n_override);
}

AnchorPolicy AnchorService::policy() const {
  MutexLock lock(policy_mutex_);
  return policy_;
}

Status AnchorService::SetPolicyOptions(const AnchorPolicyOptions& options) {
  MutexLock lock(policy_mutex_);
  return policy_.SetOptions(options);
}
void AnchorService::Submit(chain::EvidenceItem item) { impl_->Submit(std::move(item)); }
void AnchorService::Flush() { impl_->Flush(); }
void AnchorService::SubmitTogether(std::vector<chain::EvidenceItem> items) {
  impl_->SubmitTogether(std::move(items));
}
void AnchorService::Stop(bool drain, std::chrono::milliseconds drain_timeout) {
  impl_->Stop(drain, drain_timeout);
}
AnchorStats AnchorService::stats() const { return impl_->stats(); }

}  // namespace tcc::controller
