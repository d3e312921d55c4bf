#include "channel_opening.h"

#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/json.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {

Result<PreparedChannel> PrepareChannel(chain::ChainAdapter& adapter, TemplateCache& templates,
                                       did::Resolver& resolver, const std::string& tcc_did,
                                       const std::string& tic_id, std::uint64_t now_ms) {
  TCC_ASSIGN_OR_RETURN(auto recorded, adapter.GetTic(tic_id));
  if (recorded.value.tcc_did != tcc_did) {
    return Error(ErrorCode::kPermissionDenied, "TIC " + tic_id + " names TCC " +
                                                   recorded.value.tcc_did + ", not this one (" +
                                                   tcc_did + ")");
  }
  auto tic = Json::Parse(AsChars(recorded.value.content));
  if (!tic.ok()) return std::move(tic).error().WithContext("recorded TIC " + tic_id);
  TCC_ASSIGN_OR_RETURN(std::string hash, vc::CredentialHash(*tic));
  if (hash != tic_id)
    return Error(ErrorCode::kVerificationFailed, "recorded TIC " + tic_id + " hashes to " + hash);
  auto tit_named = vc::ReadNamedTemplate(*tic);
  if (!tit_named.ok()) return std::move(tit_named).error().WithContext("TIC " + tic_id);
  TCC_ASSIGN_OR_RETURN(auto tit, templates.Get(tit_named->id, tit_named->version));
  auto verified = vc::VerifyTic(*tic, *tit, resolver);
  if (!verified.ok()) return std::move(verified).error().WithContext("TIC " + tic_id);
  if (verified->tst_id.empty())
    return Error(ErrorCode::kInvalidArgument, "TIC " + tic_id + " names no TST");
  TCC_ASSIGN_OR_RETURN(auto tst, templates.Get(verified->tst_id, verified->tst_version));

  PreparedChannel prepared;
  ChannelRecord& record = prepared.record;
  record.channel_id = tic_id;
  record.provider = verified->provider;
  record.consumer = verified->consumer;
  record.tst_id = verified->tst_id;
  record.tst_version = verified->tst_version;
  // The hash chain starts at the TIC: seq 1 names its hash as `prev`.
  TCC_ASSIGN_OR_RETURN(record.last_hash, Sha256DigestFromHex(tic_id));
  record.opened_ms = now_ms;
  const Json* subject = tic->Find("credentialSubject");
  if (const Json* settlement = subject->Find("settlement");
      settlement != nullptr && settlement->is_object()) {
    if (const Json* n = settlement->Find("n"); n != nullptr && n->is_number()) {
      if (auto valid = JsonInteger(n->as_number(), 1)) record.strategy_n = *valid;
    }
    // Enforced by tccd, so a value it cannot honour refuses the channel rather than being ignored.
    if (const Json* amend = settlement->Find("amend_after_s"); amend != nullptr) {
      std::optional<std::uint64_t> seconds;
      if (amend->is_number()) seconds = JsonInteger(amend->as_number(), 0, kMaxAmendAfterSeconds);
      if (!seconds) {
        return Error(ErrorCode::kInvalidArgument,
                     "TIC " + tic_id + ": settlement.amend_after_s must be an integer from 0 to " +
                         std::to_string(kMaxAmendAfterSeconds));
      }
      record.amend_after_s = *seconds;
    }
  }
  if (const Json* auditors = subject->Find("auditors"); auditors != nullptr) {
    if (!auditors->is_array())
      return Error(ErrorCode::kInvalidArgument, "TIC auditors must be an array of DIDs");
    for (const auto& auditor : auditors->as_array()) {
      if (!auditor.is_string())
        return Error(ErrorCode::kInvalidArgument, "TIC auditors must be an array of DIDs");
      record.auditors.push_back(auditor.as_string());
    }
  }
  prepared.tst = std::move(tst);
  return prepared;
}

}  // namespace tcc::controller
