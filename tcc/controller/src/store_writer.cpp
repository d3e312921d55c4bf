#include "store_writer.h"

#include <chrono>
#include <utility>

#include "tcc/common/thread_name.h"

namespace tcc::controller {

StoreWriter::StoreWriter(ChannelStore& store, GroupCommitObserver observer,
                         GroupCommitPolicy policy)
    : store_(store), observer_(std::move(observer)), policy_(policy), thread_([this] {
        SetCurrentThreadName("tcc-store-write");
        Run();
      }) {}

StoreWriter::~StoreWriter() { Stop(); }

void StoreWriter::Commit(SettlementCommit commit, CommitDone done, bool leaves_verification) {
  Enqueue({std::move(commit), nullptr, std::move(done)}, leaves_verification);
}

void StoreWriter::PutChannel(ChannelRecord record, Done done) {
  Enqueue({PutOp{std::move(record)}, std::move(done)});
}

void StoreWriter::AddPendingEvidence(chain::EvidenceItem item, ChannelRecord record, Done done) {
  Enqueue({EvidenceOp{std::move(item), std::move(record)}, std::move(done)});
}

void StoreWriter::PutRejection(RejectionRecord rejection, Done done) {
  Enqueue({std::move(rejection), std::move(done)});
}

void StoreWriter::PutProposal(ProposalMark proposal, Done done) {
  Enqueue({std::move(proposal), std::move(done)});
}

void StoreWriter::PutClosingRecord(std::string channel_id, std::string record_json, Done done) {
  Enqueue({ClosingOp{std::move(channel_id), std::move(record_json)}, std::move(done)});
}

void StoreWriter::PutValue(std::string name, std::string value, Done done) {
  Enqueue({ValueOp{std::move(name), std::move(value)}, std::move(done)});
}

void StoreWriter::Enqueue(Op op, bool leaves_verification) {
  bool wake;
  {
    MutexLock lock(mutex_);
    const bool commit = std::holds_alternative<SettlementCommit>(op.what);
    if (commit) ++queued_commits_;
    const bool none_left = leaves_verification && verifying_ > 0 && --verifying_ == 0;
    // A writer lingering over a group wakes once, when the group is full, nothing more is being
    // verified, or another op needs writing; one waiting for work wakes for the first op.
    wake = queue_.empty() || !commit || queued_commits_ == policy_.width || none_left;
    queue_.push_back(std::move(op));
  }
  if (wake) wake_.NotifyOne();
}

void StoreWriter::SettlementsVerifying(std::ptrdiff_t delta) {
  bool none_left;
  {
    MutexLock lock(mutex_);
    verifying_ = static_cast<std::size_t>(static_cast<std::ptrdiff_t>(verifying_) + delta);
    none_left = verifying_ == 0;
  }
  // A lingering group has nothing more to wait for.
  if (none_left) wake_.NotifyOne();
}

// Waits while the queue holds only commits, fewer than the width, and either settlements are
// still being verified and the linger time is not over, or none was being verified when the group
// began and the idle linger is not over.
void StoreWriter::Linger() {
  if (policy_.width == 0 || queued_commits_ == 0 || queue_.size() != queued_commits_) return;
  const bool idle = verifying_ == 0;
  if (idle && policy_.idle_linger.count() == 0) return;
  const auto deadline =
      std::chrono::steady_clock::now() + (idle ? policy_.idle_linger : policy_.linger);
  ++stats_.lingered_groups;
  // An idle group does not wake for the verification count (Enqueue and SettlementsVerifying
  // wake it only when the count falls to zero): it waits out its own, shorter time.
  while (!stopping_ && queued_commits_ < policy_.width && (idle || verifying_ > 0) &&
         queue_.size() == queued_commits_) {
    if (!wake_.WaitUntil(mutex_, deadline)) break;
  }
}

void StoreWriter::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

StoreWriter::Stats StoreWriter::stats() const {
  MutexLock lock(mutex_);
  Stats stats = stats_;
  stats.queued = queue_.size();
  return stats;
}

void StoreWriter::Run() {
  // Kept from one group to the next: their storage is reused instead of allocated per group.
  std::deque<Op> ops;
  std::vector<SettlementCommit> commits;
  while (true) {
    {
      MutexLock lock(mutex_);
      while (!stopping_ && queue_.empty()) wake_.Wait(mutex_);
      if (queue_.empty()) return;
      Linger();
      ops.swap(queue_);
      queued_commits_ = 0;
    }
    std::size_t index = 0;
    while (index < ops.size()) {
      Op& op = ops[index];
      if (std::holds_alternative<SettlementCommit>(op.what)) {
        // The run of consecutive commits becomes one synced batch; order with the other ops holds.
        std::size_t end = index;
        commits.clear();
        while (end < ops.size() && std::holds_alternative<SettlementCommit>(ops[end].what)) {
          commits.push_back(std::move(std::get<SettlementCommit>(ops[end].what)));
          ++end;
        }
        const auto started = std::chrono::steady_clock::now();
        const Status status = store_.CommitSettlements(commits);
        const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - started).count();
        {
          MutexLock lock(mutex_);
          ++stats_.group_commits;
          stats_.commits += commits.size();
          stats_.last_group_micros = static_cast<std::uint64_t>(micros);
        }
        if (status.ok() && observer_) observer_(static_cast<double>(micros) / 1e6, commits.size());
        for (std::size_t i = index; i < end; ++i)
          ops[i].commit_done(status, std::move(commits[i - index]));
        index = end;
        continue;
      }
      Status status = OkStatus();
      if (auto* put = std::get_if<PutOp>(&op.what)) {
        status = store_.PutChannel(put->record);
      } else if (auto* evidence = std::get_if<EvidenceOp>(&op.what)) {
        status = store_.AddPendingEvidence(evidence->item, evidence->record);
      } else if (auto* rejection = std::get_if<RejectionRecord>(&op.what)) {
        status = store_.PutRejection(*rejection);
      } else if (auto* proposal = std::get_if<ProposalMark>(&op.what)) {
        status = store_.PutProposal(*proposal);
      } else if (auto* closing = std::get_if<ClosingOp>(&op.what)) {
        status = store_.PutClosingRecord(closing->channel_id, closing->record_json);
      } else if (auto* value = std::get_if<ValueOp>(&op.what)) {
        status = store_.PutValue(value->name, value->value);
      }
      op.done(status);
      ++index;
    }
    // Emptied now, not at the next group: what the ops hold (the TSCs, the completions with their
    // in-flight tokens) must not outlive the group while the writer waits.
    ops.clear();
    commits.clear();
  }
}

}  // namespace tcc::controller
