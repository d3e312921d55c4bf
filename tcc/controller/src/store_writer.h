// Internal: the single writer of the daemon's ChannelStore.
//
// Every channel-record write goes through one ordered queue, so a later write of a channel can
// never land before an earlier one. Consecutive settlement commits in the queue are written as one
// synced LevelDB batch (group commit): with many channels settling at once, one sync covers many
// TSCs. Each op's callback receives the outcome; callbacks run on the writer thread and are
// expected to hand the outcome to the daemon's loop (LoopQueue::Post).
#pragma once

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

class StoreWriter {
 public:
  using Done = std::function<void(const Status&)>;

  // Called on the writer thread after each group commit with its duration and size.
  using GroupCommitObserver = std::function<void(double seconds, std::size_t tscs)>;

  StoreWriter(ChannelStore& store, GroupCommitObserver observer);
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void Commit(SettlementCommit commit, Done done);
  void PutChannel(ChannelRecord record, Done done);
  void AddPendingEvidence(chain::EvidenceItem item, ChannelRecord record, Done done);
  // Dispute records (wire/dispute.h), in the same order as the channel's other writes.
  void PutRejection(RejectionRecord rejection, Done done);
  void PutProposal(ProposalMark proposal, Done done);
  void PutClosingRecord(std::string channel_id, std::string record_json, Done done);
  // A small named value (ChannelStore::PutValue): the daemon's settings that outlive it.
  void PutValue(std::string name, std::string value, Done done);

  // Writes what is queued, then joins the thread.
  void Stop();

  struct Stats {
    std::uint64_t group_commits = 0;
    std::uint64_t commits = 0;
    std::size_t queued = 0;
    std::uint64_t last_group_micros = 0;
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
    Done done;
  };

  void Enqueue(Op op);
  void Run();

  ChannelStore& store_;
  GroupCommitObserver observer_;
  mutable Mutex mutex_;
  CondVar wake_;
  std::deque<Op> queue_ TCC_GUARDED_BY(mutex_);
  bool stopping_ TCC_GUARDED_BY(mutex_) = false;
  Stats stats_ TCC_GUARDED_BY(mutex_);
  std::thread thread_;
};

}  // namespace tcc::controller
