// Internal: the negotiation over a channel's next seq (the one not issued yet), as tccd enforces
// it.
//
// The provider proposes a claim for the next seq (tccd relays it and remembers the latest); the
// consumer co-signs it or rejects it. A rejected bill is dead: neither a joint claim nor another
// proposal with the same content (the claim without its proofs, so re-signing does not revive it)
// is accepted for the seq. Only after the consumer has rejected the provider's latest proposal may
// the provider propose a different claim for the same seq (an amend): nothing was co-signed, so no
// fork exists. Re-sending the same bill is always allowed, also signed again (the SDK re-sends
// after a lost connection; a client that lost its proposal signs the same claim again). The
// consumer can reject only a proposal of the latest bill tccd relayed (again, idempotently).
// A TIC may also let an unsigned bill lapse (settlement.amend_after_s): once the latest bill has
// stood that long since tccd first relayed it, the provider may amend without a rejection. The
// lapsed bill is not withdrawn: whichever joint claim for the seq reaches tccd first is issued.
// The time is tccd's steady clock; after a restart a recovered bill counts from the recovery
// (the mark stores no time), which only ever delays an amend.
// Once a claim for the seq is issued the seq is final (the settlement pipeline refuses a second
// claim) and the negotiation moves on to the next seq.
//
// Value type owned by the channel's runtime on the daemon's loop thread; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "channel.h"
#include "channel_store.h"
#include "tcc/common/result.h"

namespace tcc::controller {

class Negotiation {
 public:
  // The seq the state is about; the state of an older seq is dropped.
  void MoveTo(std::uint64_t next_seq) {
    if (next_seq == seq_) return;
    seq_ = next_seq;
    proposed_content_.clear();
    proposals_.clear();
    rejected_.clear();
    rejected_contents_.clear();
  }
  std::uint64_t seq() const { return seq_; }
  const std::string& proposed_content() const { return proposed_content_; }
  bool HasRejections() const { return !rejected_.empty(); }
  // Whether `proposal` carries the latest bill (the same content signed again counts too).
  bool IsLatest(const std::string& proposal) const { return proposals_.contains(proposal); }

  using Clock = std::chrono::steady_clock;

  // Whether the provider may propose a bill with this content hash for the next seq at `now`: the
  // latest bill again (re-sent, or signed again after a restart), or a new one once the latest
  // was rejected or, when the TIC names `amend_after` (seconds), has stood unsigned that long.
  Status CheckProposal(const std::string& content, Clock::time_point now,
                       std::optional<std::uint64_t> amend_after_s = std::nullopt) const {
    if (rejected_contents_.contains(content)) {
      return Error(ErrorCode::kConflict,
                   "seq " + std::to_string(seq_) +
                       ": the consumer rejected this bill; propose a different claim");
    }
    if (proposed_content_.empty() || proposed_content_ == content ||
        rejected_contents_.contains(proposed_content_)) {
      return OkStatus();
    }
    if (amend_after_s && now - proposed_at_ >= std::chrono::seconds(*amend_after_s)) {
      return OkStatus();
    }
    std::string message = "seq " + std::to_string(seq_) +
                          " already has a proposal the consumer has not rejected; a different "
                          "claim for the seq may be proposed only after a rejection";
    if (amend_after_s) {
      message += " or once the proposal has stood " + std::to_string(*amend_after_s) +
                 " s (the TIC's settlement.amend_after_s)";
    }
    return Error(ErrorCode::kConflict, std::move(message));
  }
  // `now` stamps a new bill (not a re-send of the latest).
  void Proposed(std::string proposal, std::string content, Clock::time_point now) {
    if (content != proposed_content_) {
      proposed_content_ = std::move(content);
      proposed_at_ = now;
      proposals_.clear();
    }
    proposals_.insert(std::move(proposal));
  }

  // Whether the consumer may reject `proposal`: one carrying the latest bill, or one rejected
  // before.
  Status CheckRejection(const std::string& proposal) const {
    if (rejected_.contains(proposal) || proposals_.contains(proposal)) return OkStatus();
    return Error(ErrorCode::kConflict, "seq " + std::to_string(seq_) + ": proposal " + proposal +
                                           " is not the provider's latest proposal for the seq");
  }
  // `content` is the rejected proposal's content hash (proposed_content() for the latest bill).
  void Rejected(std::string proposal, std::string content) {
    rejected_.insert(std::move(proposal));
    if (!content.empty()) rejected_contents_.insert(std::move(content));
  }

  // A joint claim for the next seq, by its content hash.
  Status CheckClaim(const std::string& content) const {
    if (!rejected_contents_.contains(content)) return OkStatus();
    return Error(ErrorCode::kConflict,
                 "seq " + std::to_string(seq_) + ": the claim was rejected by the consumer");
  }

 private:
  std::uint64_t seq_ = 0;
  std::string proposed_content_;             // content hash of the provider's latest bill for seq_
  Clock::time_point proposed_at_{};          // when tccd first relayed that bill
  std::set<std::string> proposals_;          // hashes of the proposals relayed with that content
  std::set<std::string> rejected_;           // proposal hashes the consumer rejected for seq_
  std::set<std::string> rejected_contents_;  // and their content hashes
};

// Reads the negotiation of the channel's next seq back from the store (after a restart).
Status RecoverNegotiation(ChannelStore& store, const ChannelRecord& record,
                          Negotiation& negotiation);

}  // namespace tcc::controller
