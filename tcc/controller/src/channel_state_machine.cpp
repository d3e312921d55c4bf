#include "channel_state_machine.h"

#include <algorithm>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/wire/dispute.h"

namespace tcc::controller {

chain::EvidenceItem EvidenceItemFor(const std::string& channel_id, std::uint64_t seq,
                                    const chain::Hash256& tsc_hash) {
  return chain::EvidenceItem{channel_id, seq, tsc_hash};
}

ChannelStateMachine::ChannelStateMachine(ChannelRecord record)
    : record_(std::move(record)),
      acknowledged_{record_.last_seq, record_.last_hash, record_.evidence_seq} {}

Negotiation& ChannelStateMachine::negotiation() {
  negotiation_.MoveTo(record_.last_seq + 1);
  return negotiation_;
}

Effects ChannelStateMachine::Submit(Submission submission, std::size_t max_waiting,
                                    const Status& store) {
  Effects effects;
  if (in_flight_) {
    if (waiting_.size() >= max_waiting) {
      effects.push_back(effect::Refuse{
          std::move(submission.requester),
          Error(ErrorCode::kResourceExhausted, "too many submissions waiting in this channel")});
    } else {
      waiting_.push_back(std::move(submission));
    }
    return effects;
  }
  Start(std::move(submission), store, effects);
  return effects;
}

void ChannelStateMachine::Start(Submission submission, const Status& store, Effects& effects) {
  const vc::SettlementLink& link = submission.link;
  auto refuse = [&](Error error) {
    effects.push_back(effect::Refuse{std::move(submission.requester), std::move(error)});
  };
  if (ended()) return refuse(Error(ErrorCode::kConflict, "channel " + id() + " is closed"));
  // A settled seq is a read: served even while the store cannot write.
  if (link.seq <= record_.last_seq) {
    effects.push_back(effect::Replay{std::move(submission)});
    return;
  }
  if (!store.ok()) return refuse(store.error());
  if (link.seq != record_.last_seq + 1) {
    return refuse(Error(ErrorCode::kConflict, "seq " + std::to_string(link.seq) +
                                                  " does not follow the channel's last seq " +
                                                  std::to_string(record_.last_seq)));
  }
  if (const std::string last_hash = HexEncode(record_.last_hash); link.prev != last_hash) {
    return refuse(
        Error(ErrorCode::kVerificationFailed, "prev does not name the channel's last TSC (seq " +
                                                  std::to_string(record_.last_seq) + ", hash " +
                                                  last_hash + ")"));
  }
  // Only a seq with rejections pays for hashing the claim on the loop.
  if (Negotiation& next = negotiation(); next.HasRejections()) {
    auto content = wire::ContentHash(submission.claim);
    if (!content.ok()) return refuse(content.error().WithContext("claim"));
    if (Status allowed = next.CheckClaim(*content); !allowed.ok()) return refuse(allowed.error());
  }
  in_flight_ = true;
  effects.push_back(effect::Issue{std::move(submission)});
}

void ChannelStateMachine::PumpInto(const Status& store, Effects& effects) {
  while (!in_flight_ && !waiting_.empty()) {
    Submission next = std::move(waiting_.front());
    waiting_.pop_front();
    Start(std::move(next), store, effects);
  }
  if (!in_flight_ && closing_ && store.ok()) effects.push_back(effect::Close{});
}

Effects ChannelStateMachine::Pump(const Status& store) {
  Effects effects;
  PumpInto(store, effects);
  return effects;
}

Effects ChannelStateMachine::Issued(Requester requester, TscRecord tsc, std::uint64_t n,
                                    const Status& store) {
  Effects effects;
  if (!store.ok()) {
    // Issued while another write failed: nothing is written until the store has recovered.
    in_flight_ = false;
    effects.push_back(effect::Refuse{std::move(requester), store.error()});
    PumpInto(store, effects);
    return effects;
  }
  // The head moves here first; the commit then carries the record, settings as they are now.
  record_.last_seq = tsc.seq;
  record_.last_hash = tsc.tsc_hash;
  SettlementCommit commit;
  if (tsc.seq - record_.evidence_seq >= n) {
    commit.evidence = EvidenceItemFor(id(), tsc.seq, tsc.tsc_hash);
    record_.evidence_seq = tsc.seq;
  }
  commit.channel = record_;
  settings_dirty_ = false;
  commit.tsc = std::move(tsc);
  effects.push_back(effect::Commit{std::move(requester), std::move(commit)});
  return effects;
}

Effects ChannelStateMachine::IssueFailed(Requester requester, Error error, const Status& store) {
  Effects effects;
  in_flight_ = false;
  effects.push_back(effect::Refuse{std::move(requester), std::move(error)});
  PumpInto(store, effects);
  return effects;
}

Effects ChannelStateMachine::Committed(const Requester& requester, TscRecord tsc,
                                       const std::optional<chain::EvidenceItem>& evidence,
                                       const Status& store) {
  Effects effects;
  in_flight_ = false;
  acknowledged_.seq = tsc.seq;
  acknowledged_.hash = tsc.tsc_hash;
  if (evidence) {
    acknowledged_.evidence_seq = evidence->seq;
    effects.push_back(effect::SubmitEvidence{*evidence});
  }
  effects.push_back(effect::Acknowledge{requester, std::move(tsc)});
  if (settings_dirty_) {
    Effects write = SettingsChanged(store);
    effects.insert(effects.end(), std::make_move_iterator(write.begin()),
                   std::make_move_iterator(write.end()));
  }
  PumpInto(store, effects);
  return effects;
}

Effects ChannelStateMachine::CommitFailed(Requester requester, const Error& error,
                                          const Status& store) {
  Effects effects;
  in_flight_ = false;
  record_.last_seq = acknowledged_.seq;
  record_.last_hash = acknowledged_.hash;
  record_.evidence_seq = acknowledged_.evidence_seq;
  effects.push_back(
      effect::Refuse{std::move(requester),
                     Error(ErrorCode::kUnavailable,
                           "the TSC could not be stored and is not issued: " + error.message())});
  PumpInto(store, effects);
  return effects;
}

Effects ChannelStateMachine::SettingsChanged(const Status& store) {
  // In flight: the commit's record predates the change. Store failed: the head in memory may lag
  // the store's, so the record is written only after recovery has reloaded it.
  if (in_flight_ || !store.ok()) {
    settings_dirty_ = true;
    return {};
  }
  settings_dirty_ = false;
  Effects effects;
  effects.push_back(effect::WriteSettings{});
  return effects;
}

Effects ChannelStateMachine::RequestClose(const Status& store) {
  Effects effects;
  if (closing_) return effects;
  closing_ = true;
  PumpInto(store, effects);
  return effects;
}

std::vector<Requester> ChannelStateMachine::BeginClose() {
  closing_ = false;
  std::vector<Requester> refused;
  for (auto& submission : waiting_) refused.push_back(std::move(submission.requester));
  waiting_.clear();
  return refused;
}

ChannelStateMachine::CloseWrite ChannelStateMachine::MarkClosed(std::uint64_t now_ms) {
  record_.state = ChannelState::kClosed;
  record_.closed_ms = now_ms;
  CloseWrite write;
  if (record_.last_seq > record_.evidence_seq) {
    write.evidence = EvidenceItemFor(id(), record_.last_seq, record_.last_hash);
    record_.evidence_seq = record_.last_seq;
  }
  write.record = record_;
  return write;
}

void ChannelStateMachine::CloseStored(const std::optional<chain::EvidenceItem>& evidence) {
  if (evidence) acknowledged_.evidence_seq = evidence->seq;
}

void ChannelStateMachine::CloseFailed() {
  record_.state = ChannelState::kOpen;
  record_.closed_ms = 0;
  record_.evidence_seq = acknowledged_.evidence_seq;
  closing_ = true;
}

std::uint64_t ChannelStateMachine::ReloadHead(const ChannelRecord& stored) {
  const std::uint64_t unacknowledged =
      stored.last_seq - std::min(stored.last_seq, acknowledged_.seq);
  acknowledged_.seq = record_.last_seq = stored.last_seq;
  acknowledged_.hash = record_.last_hash = stored.last_hash;
  acknowledged_.evidence_seq = record_.evidence_seq = stored.evidence_seq;
  return unacknowledged;
}

std::optional<chain::EvidenceItem> ChannelStateMachine::FinalEvidence() const {
  if (record_.last_seq <= record_.evidence_seq) return std::nullopt;
  return EvidenceItemFor(id(), record_.last_seq, record_.last_hash);
}

}  // namespace tcc::controller
