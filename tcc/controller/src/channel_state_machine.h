// Internal: one channel's settlement state, as a pure state machine.
//
// A channel has two heads. The acknowledged head is the last TSC the store confirmed and the
// parties were told of; the pending head is the one handed to the store writer with the TSC in
// flight (at most one per channel). Submissions that arrive while a TSC is in flight wait in a
// queue, in order. The machine takes events (a submission, a TSC issued or not, a commit that
// succeeded or failed, a close asked for, settings changed, the store recovered) and returns the
// effects the daemon carries out: issue a TSC on a worker, replay a settled one, commit, answer,
// refuse, hand evidence to the anchor service, write the settings, close. It owns the channel's
// negotiation of the next seq (negotiation.h) because a claim for that seq is checked against it.
//
// It touches no socket, no store and no clock: the store's state comes in as a Status (ok, or the
// error a submission is refused with), time as Unix milliseconds where a record needs it.
//
// Value type owned by the daemon's channel table on its loop thread; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "negotiation.h"
#include "requester.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/result.h"
#include "channel.h"
#include "channel_store.h"

namespace tcc::controller {

// The evidence item for a channel's TSC.
chain::EvidenceItem EvidenceItemFor(const std::string& channel_id, std::uint64_t seq,
                                    const chain::Hash256& tsc_hash);

namespace effect {
// Verify the claim and issue its TSC (on a worker); the outcome comes back as Issued/IssueFailed.
struct Issue {
  Submission submission;
};
// The claim names a settled seq: answer with the stored TSC if it is the same claim.
struct Replay {
  Submission submission;
};
// Answer `to` with `error`; `counted` rejections go to the rejection metrics.
struct Refuse {
  Requester to;
  Error error;
  bool counted = true;
};
// Hand the TSC with the channel record after it to the store writer; the outcome comes back as
// Committed/CommitFailed.
struct Commit {
  Requester requester;
  SettlementCommit commit;
};
// The evidence of a durable TSC goes to the anchor service.
struct SubmitEvidence {
  chain::EvidenceItem item;
};
// The TSC is durable: answer the submitter and publish it to the channel's members.
struct Acknowledge {
  Requester to;
  TscRecord tsc;
};
// Write the channel record (record()) with its changed settings.
struct WriteSettings {};
// Close the channel now (nothing is in flight and the store can write).
struct Close {};
}  // namespace effect

using Effect =
    std::variant<effect::Issue, effect::Replay, effect::Refuse, effect::Commit,
                 effect::SubmitEvidence, effect::Acknowledge, effect::WriteSettings, effect::Close>;
using Effects = std::vector<Effect>;

class ChannelStateMachine {
 public:
  struct Head {
    std::uint64_t seq = 0;
    chain::Hash256 hash{};
    std::uint64_t evidence_seq = 0;
  };

  // A channel as stored (or as opened): both heads are the record's.
  explicit ChannelStateMachine(ChannelRecord record);

  // The channel record with the pending head and the current settings.
  const ChannelRecord& record() const { return record_; }
  const std::string& id() const { return record_.channel_id; }
  const Head& acknowledged() const { return acknowledged_; }
  bool in_flight() const { return in_flight_; }
  // Asked to close, not closed yet (waits for the TSC in flight or for the store).
  bool closing() const { return closing_; }
  // Closed or closing: no submission, rejection or close is taken any more.
  bool ended() const { return record_.state == ChannelState::kClosed || closing_; }
  // The record in memory holds a change the store does not: it waits for the commit in flight,
  // or for the store to recover.
  bool settings_dirty() const { return settings_dirty_; }
  std::size_t waiting() const { return waiting_.size(); }
  // The negotiation of the next seq (moved on when a TSC was issued).
  Negotiation& negotiation();

  // --- Settlement ---
  // A submission checked against the channel's parties. Queued while a TSC is in flight (refused
  // past `max_waiting`), else started.
  Effects Submit(Submission submission, std::size_t max_waiting, const Status& store);
  // The worker issued `tsc` for the submission in flight; `n` is the channel's effective N.
  Effects Issued(Requester requester, TscRecord tsc, std::uint64_t n, const Status& store);
  // The claim did not verify, or issuing failed.
  Effects IssueFailed(Requester requester, Error error, const Status& store);
  // The commit is durable.
  Effects Committed(const Requester& requester, TscRecord tsc,
                    const std::optional<chain::EvidenceItem>& evidence, const Status& store);
  // The commit failed: not known to be durable, so not acknowledged, and the pending head goes
  // back to the acknowledged one (recovery reads the store, which may hold it after all).
  // `store` is the store's state after the failure.
  Effects CommitFailed(Requester requester, const Error& error, const Status& store);
  // Starts what waits, and closes a closing channel once nothing is in flight.
  Effects Pump(const Status& store);

  // --- Settings ---
  void SetNOverride(std::optional<std::uint64_t> n) { record_.n_override = n; }
  // The settings changed: written now, or once the commit in flight is done or the store
  // recovered (then the record's head may lag the store's).
  Effects SettingsChanged(const Status& store);
  // The record could not be written (or the channel was opened while the store failed).
  void SettingsNotStored() { settings_dirty_ = true; }

  // --- Closing ---
  // Asked to close; closes at once if nothing is in flight.
  Effects RequestClose(const Status& store);
  // The close starts (effect::Close): the submissions still waiting are returned to be refused.
  std::vector<Requester> BeginClose();
  // The record and evidence to write for the close, which the record now shows.
  struct CloseWrite {
    ChannelRecord record;
    std::optional<chain::EvidenceItem> evidence;
  };
  CloseWrite MarkClosed(std::uint64_t now_ms);
  // The close is stored; its evidence, if any, goes to the anchor service.
  void CloseStored(const std::optional<chain::EvidenceItem>& evidence);
  // The close is not known to be stored: the channel goes on closing and is closed again once
  // the store recovered.
  void CloseFailed();

  // --- Store recovery and shutdown ---
  // The head the store holds after a failed write; returns how many TSCs it holds that were not
  // acknowledged (a commit reported failed that reached the disk).
  std::uint64_t ReloadHead(const ChannelRecord& stored);
  // At shutdown, the evidence of the latest TSC if it has none yet; EvidenceQueued records it.
  std::optional<chain::EvidenceItem> FinalEvidence() const;
  void EvidenceQueued(std::uint64_t seq) { record_.evidence_seq = seq; }

 private:
  void Start(Submission submission, const Status& store, Effects& effects);
  void PumpInto(const Status& store, Effects& effects);

  ChannelRecord record_;
  Head acknowledged_;
  bool in_flight_ = false;
  bool closing_ = false;
  bool settings_dirty_ = false;
  std::deque<Submission> waiting_;
  Negotiation negotiation_;  // over seq record_.last_seq + 1
};

}  // namespace tcc::controller
