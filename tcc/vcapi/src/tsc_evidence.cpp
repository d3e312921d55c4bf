#include "tcc/vcapi/tsc_evidence.h"

#include <algorithm>

#include "tcc/common/bytes.h"
#include "tcc/vc/transaction.h"

namespace tcc::vcapi {
namespace {

Error Broken(std::string message) { return Error(ErrorCode::kVerificationFailed, std::move(message)); }

}  // namespace

Result<chain::EvidenceItem> TscEvidenceItem(const Json& tsc) {
  if (!vc::HasCredentialType(tsc, vc::kTscType)) return Error(ErrorCode::kInvalidArgument, "not a TSC (type lacks " + std::string(vc::kTscType) + ")");
  const Json* subject = tsc.Find("credentialSubject");
  if (subject == nullptr) return Error(ErrorCode::kInvalidArgument, "TSC has no credentialSubject");
  TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(*subject));
  TCC_ASSIGN_OR_RETURN(chain::Hash256 hash, vc::CredentialDigest(tsc));
  return chain::EvidenceItem{link.channel, link.seq, hash};
}

Status CheckEvidenceCommits(const chain::EvidenceItem& tsc, std::span<const Json> links,
                            const chain::EvidenceBundle& bundle) {
  chain::EvidenceItem head = tsc;
  for (const Json& link : links) {
    auto item = TscEvidenceItem(link);
    if (!item.ok()) return Broken("linking TSC " + std::to_string(head.seq + 1) + ": " + item.error().message());
    const Json& claim = *link.Find("credentialSubject");
    const std::string prev(claim.GetString("prev").value());
    if (item->channel_id != head.channel_id || item->seq != head.seq + 1) {
      return Broken("linking TSC " + std::to_string(item->seq) + " of channel " + item->channel_id +
                    " does not follow seq " + std::to_string(head.seq) + " of channel " + head.channel_id);
    }
    if (prev != HexEncode(head.tsc_hash)) {
      return Broken("linking TSC " + std::to_string(item->seq) + " names prev " + prev + ", not the hash of TSC " +
                    std::to_string(head.seq) + " (" + HexEncode(head.tsc_hash) + ")");
    }
    head = std::move(item).value();
  }
  if (!(bundle.item == head)) {
    return Broken("the bundle commits to seq " + std::to_string(bundle.item.seq) + " of channel " +
                  bundle.item.channel_id + " (TSC " + HexEncode(bundle.item.tsc_hash) + "), not to seq " +
                  std::to_string(head.seq) + " (TSC " + HexEncode(head.tsc_hash) + ")");
  }
  return OkStatus();
}

}  // namespace tcc::vcapi
