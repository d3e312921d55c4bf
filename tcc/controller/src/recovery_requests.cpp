#include "recovery_requests.h"

#include <utility>

#include "tcc/controller/log.h"

namespace tcc::controller {

void RecoveryRequests::Recover(const Requester& from, std::optional<Role> role,
                               ChannelRuntime& channel, const wire::Message& message) {
  const std::string channel_id = channel.record().channel_id;
  if (!parts_.recovery.Find(channel_id)) {
    const Error error(ErrorCode::kConflict, "channel " + channel_id + " is not recovering");
    host_.CountRejection(error);
    return host_.ReplyError(from, error);
  }
  if (!host_.StoreStatus().ok()) {
    return host_.ReplyError(
        from, Error(ErrorCode::kUnavailable, "the store cannot write; nothing is restored"));
  }
  const Json* tscs = message.body.Find("tscs");  // an array: the wire layer checked it
  const Json* finish = message.body.Find("finish");
  const bool finishing = !role && (finish == nullptr || finish->as_bool());
  auto work = [this, from, role, finishing, channel_id, tst = channel.tst, tscs = *tscs]() -> Task {
    // One restore at a time, each from the head as stored.
    MutexLock restoring(restore_mutex_);
    Result<RecoveredTscs> recovered = Error(ErrorCode::kInternal, "not run");
    if (auto record = parts_.store.GetChannel(channel_id); !record.ok()) {
      recovered = record.error();
    } else {
      recovered = VerifyRecoveredTscs(parts_.store, *record, *tst, parts_.resolver, parts_.tcc_did,
                                      tscs.as_array());
    }
    if (recovered.ok() && !recovered->commits.empty()) {
      // The channel settles nothing while recovering, so no other write touches its head.
      if (Status committed = parts_.store.CommitSettlements(recovered->commits); !committed.ok()) {
        recovered = committed.error().WithContext("restore TSCs");
      }
    }
    return [this, from, role, finishing, channel_id, recovered = std::move(recovered)]() mutable {
      OnRecovered(from, role, finishing, channel_id, std::move(recovered));
    };
  };
  if (role) return host_.PeerAsync(from, true, std::move(work));
  host_.Async(std::move(work));
}

void RecoveryRequests::OnRecovered(const Requester& from, std::optional<Role> role, bool finishing,
                                   const std::string& channel_id, Result<RecoveredTscs> recovered) {
  auto live = channels_.find(channel_id);
  if (live == channels_.end()) return;
  ChannelRuntime& channel = live->second;
  if (!recovered.ok()) {
    host_.CountRejection(recovered.error());
    if (recovered.error().code() == ErrorCode::kInternal ||
        recovered.error().code() == ErrorCode::kUnavailable) {
      host_.OnStoreWriteFailed("restore TSCs", channel_id, recovered.error());
    }
    return host_.ReplyError(from, recovered.error());
  }
  if (!recovered->commits.empty()) {
    const SettlementCommit& last = recovered->commits.back();
    // Restores complete in any order; the head only moves forward.
    if (last.tsc.seq > channel.machine.acknowledged().seq) channel.machine.ReloadHead(last.channel);
    if (last.evidence) parts_.anchor.Submit(*last.evidence);
    Log(LogLevel::kInfo, "channel TSCs restored",
        {{"channel", channel_id},
         {"restored", static_cast<std::uint64_t>(recovered->commits.size())},
         {"last_seq", last.tsc.seq},
         {"by", role ? std::string(RoleName(*role)) : std::string("operator")}});
  }
  if (!recovered->stopped.empty()) {
    Log(LogLevel::kWarning, "channel recovery: presented TSCs not taken",
        {{"channel", channel_id}, {"why", recovered->stopped}});
  }
  // An operator's word ends the state; parties end it once provider and consumer both presented,
  // since each holds every TSC it applied and the longest verified continuation won.
  bool ended = false;
  if (!role) {
    ended = finishing && recovered->stopped.empty();
  } else if (*role != Role::kAuditor) {
    const auto presented = parts_.recovery.Presented(channel_id, std::string(RoleName(*role)));
    ended = presented.contains("provider") && presented.contains("consumer");
  }
  auto answer = [this, from, channel_id,
                 restored = static_cast<std::uint64_t>(recovered->commits.size()),
                 stopped = recovered->stopped](bool still_recovering) {
    auto now = channels_.find(channel_id);
    if (now == channels_.end()) return;
    wire::FrameBuilder reply(wire::MessageType::kReply, from.request_id);
    reply.Add("channel", channel_id)
        .Add("restored", restored)
        .Add("last_seq", now->second.machine.acknowledged().seq)
        .Add("recovering", still_recovering);
    if (!stopped.empty()) reply.Add("not_taken", stopped);
    host_.Reply(from, reply.Finish());
    host_.Publish(now->second, wire::FrameBuilder(wire::MessageType::kEventChannel)
                                   .Add("channel", channel_id)
                                   .Add("state", views_.State(now->second))
                                   .Finish());
  };
  if (!ended) return answer(true);
  const std::optional<RecoveringChannel> was = parts_.recovery.Find(channel_id);
  parts_.recovery.Remove(channel_id);
  parts_.writer.PutValue(
      std::string(kRecoveryValueName), parts_.recovery.Serialize(),
      host_.OnLoop([this, channel_id, was, answer](const Status& status) {
        if (!status.ok()) {
          // Still recovering after a restart; in memory it settles again now.
          host_.OnStoreWriteFailed("store recovery state", channel_id, status.error());
        }
        Log(LogLevel::kInfo, "channel recovered",
            {{"channel", channel_id},
             {"was_store_seq", was ? was->store_seq : 0},
             {"last_seq", channels_.find(channel_id)->second.machine.acknowledged().seq}});
        answer(false);
      }));
}

}  // namespace tcc::controller
