#include "negotiation.h"

namespace tcc::controller {

Status RecoverNegotiation(ChannelStore& store, const ChannelRecord& record,
                          Negotiation& negotiation) {
  const std::uint64_t next = record.last_seq + 1;
  negotiation.MoveTo(next);
  auto context = [&](Error error) {
    return std::move(error).WithContext("recover the negotiation of " + record.channel_id);
  };
  auto proposal = store.GetProposal(record.channel_id);
  if (!proposal.ok()) return context(std::move(proposal).error());
  if (*proposal && (*proposal)->seq == next)
    negotiation.Proposed((*proposal)->proposal_hash, (*proposal)->content_hash,
                         Negotiation::Clock::now());
  auto rejections = store.ListRejections(record.channel_id, next);
  if (!rejections.ok()) return context(std::move(rejections).error());
  for (auto& rejection : *rejections) {
    if (rejection.seq == next) {
      negotiation.Rejected(std::move(rejection.proposal_hash), std::move(rejection.content_hash));
    }
  }
  return OkStatus();
}

}  // namespace tcc::controller
