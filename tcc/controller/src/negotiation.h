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
// Once a claim for the seq is issued the seq is final (the settlement pipeline refuses a second
// claim) and the negotiation moves on to the next seq.
//
// Value type owned by the channel's runtime on the daemon's loop thread; not thread-safe.
#pragma once

#include <cstdint>
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

  // Whether the provider may propose (proposal hash, content hash) for the next seq: the latest
  // bill again (re-sent, or signed again after a restart), or a new one once the latest was
  // rejected.
  Status CheckProposal(const std::string& content) const {
    if (rejected_contents_.contains(content)) {
      return Error(ErrorCode::kConflict,
                   "seq " + std::to_string(seq_) +
                       ": the consumer rejected this bill; propose a different claim");
    }
    if (!proposed_content_.empty() && proposed_content_ != content &&
        !rejected_contents_.contains(proposed_content_)) {
      return Error(ErrorCode::kConflict,
                   "seq " + std::to_string(seq_) +
                       " already has a proposal the consumer has not rejected; a different claim "
                       "for the seq may be proposed only after a rejection");
    }
    return OkStatus();
  }
  void Proposed(std::string proposal, std::string content) {
    if (content != proposed_content_) {
      proposed_content_ = std::move(content);
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
  std::set<std::string> proposals_;          // hashes of the proposals relayed with that content
  std::set<std::string> rejected_;           // proposal hashes the consumer rejected for seq_
  std::set<std::string> rejected_contents_;  // and their content hashes
};

// Reads the negotiation of the channel's next seq back from the store (after a restart).
Status RecoverNegotiation(ChannelStore& store, const ChannelRecord& record,
                          Negotiation& negotiation);

}  // namespace tcc::controller
