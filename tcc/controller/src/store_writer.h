// Internal: the single writer of the daemon's ChannelStore.
//
// Every channel-record write goes through one ordered queue, so a later write of a channel can
// never land before an earlier one. Consecutive settlement commits in the queue are written as one
// synced LevelDB batch (group commit): with many channels settling at once, one sync covers many
// TSCs. Each op's callback receives the outcome; callbacks run on the writer thread and are
// expected to hand the outcome to the daemon's loop (LoopQueue::Post).
//
// A group can also be made wider by waiting (GroupCommitPolicy): the owner reports how many
// settlements are being verified (SettlementsVerifying), work already on a CPU that reaches the
// store within a verification's time. While any is, a group waits for them, up to its width and
// its linger time, so one sync covers more TSCs. With nothing being verified (a lone settlement
// below saturation) a group is written at once, so latency there does not grow, unless the policy
// has an idle linger: then such a group waits that long for commits still to come, trading each
// settlement's latency for fewer syncs below saturation. Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <variant>
#include <vector>

#include "channel_store.h"
#include "tcc/common/thread_safety.h"

namespace tcc::controller {

struct GroupCommitPolicy {
  std::size_t width = 0;  // 0: never wait
  std::chrono::microseconds linger{0};
  // How long a group waits with nothing being verified; 0: it is written at once.
  std::chrono::microseconds idle_linger{0};
};

class StoreWriter {
 public:
  using Done = std::function<void(const Status&)>;
  // A commit's completion gets the commit back: the TSC it carries is acknowledged after it is
  // durable, and handing it back costs no copy of its text.
  using CommitDone = std::function<void(const Status&, SettlementCommit)>;

  // Called on the writer thread after each group commit with its duration and size.
  using GroupCommitObserver = std::function<void(double seconds, std::size_t tscs)>;

  StoreWriter(ChannelStore& store, GroupCommitObserver observer, GroupCommitPolicy policy = {});
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // `leaves_verification`: the commit is that of a settlement counted by SettlementsVerifying,
  // which leaves the count as the commit is queued. One step, so a writer lingering for that very
  // settlement wakes once, to write it, instead of for the commit and again for the count.
  void Commit(SettlementCommit commit, CommitDone done, bool leaves_verification = false);
  void PutChannel(ChannelRecord record, Done done);
  void AddPendingEvidence(chain::EvidenceItem item, ChannelRecord record, Done done);
  // Dispute records (wire/dispute.h), in the same order as the channel's other writes.
  void PutRejection(RejectionRecord rejection, Done done);
  void PutProposal(ProposalMark proposal, Done done);
  void PutClosingRecord(std::string channel_id, std::string record_json, Done done);
  // A small named value (ChannelStore::PutValue): the daemon's settings that outlive it.
  void PutValue(std::string name, std::string value, Done done);

  // Settlements that will reach Commit soon: +1 as one goes to verification, -1 once it is back
  // and its Commit (if it has one) is queued, so a lingering group takes it in.
  void SettlementsVerifying(std::ptrdiff_t delta);

  // Writes what is queued, then joins the thread.
  void Stop();

  struct Stats {
    std::uint64_t group_commits = 0;
    std::uint64_t commits = 0;
    std::size_t queued = 0;
    std::uint64_t last_group_micros = 0;
    std::uint64_t lingered_groups = 0;  // groups that waited for settlements being verified
  };
  Stats stats() const;

 private:
  struct PutOp {
    ChannelRecord record;
  };
  struct EvidenceOp {
    chain::EvidenceItem item;
    ChannelRecord record;
  };
  struct ClosingOp {
    std::string channel_id;
    std::string record_json;
  };
  struct ValueOp {
    std::string name;
    std::string value;
  };
  struct Op {
    std::variant<SettlementCommit, PutOp, EvidenceOp, RejectionRecord, ProposalMark, ClosingOp,
                 ValueOp>
        what;
    Done done;               // every op but a commit
    CommitDone commit_done;  // a commit
  };

  void Enqueue(Op op, bool leaves_verification = false);
  void Run();
  void Linger() TCC_REQUIRES(mutex_);

  ChannelStore& store_;
  GroupCommitObserver observer_;
  mutable Mutex mutex_;
  CondVar wake_;
  std::deque<Op> queue_ TCC_GUARDED_BY(mutex_);
  std::size_t queued_commits_ TCC_GUARDED_BY(mutex_) = 0;
  std::size_t verifying_ TCC_GUARDED_BY(mutex_) = 0;
  const GroupCommitPolicy policy_;
  bool stopping_ TCC_GUARDED_BY(mutex_) = false;
  Stats stats_ TCC_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace tcc::controller
