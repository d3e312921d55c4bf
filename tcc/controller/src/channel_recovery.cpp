#include "channel_recovery.h"

#include "channel_state_machine.h"

#include <algorithm>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {
namespace {

struct Presented {
  std::uint64_t seq = 0;
  const Json* tsc = nullptr;
};

}  // namespace

Result<RecoveredTscs> VerifyRecoveredTscs(ChannelStore& store, const ChannelRecord& head,
                                          const vc::Template& tst, did::Resolver& resolver,
                                          const std::string& tcc_did, const JsonArray& presented) {
  if (presented.size() > kMaxRecoverTscs) {
    return Error(ErrorCode::kInvalidArgument, std::to_string(presented.size()) +
                                                  " TSCs in one request, over the limit of " +
                                                  std::to_string(kMaxRecoverTscs));
  }
  std::vector<Presented> ordered;
  for (const Json& tsc : presented) {
    const Json* subject = tsc.is_object() ? tsc.Find("credentialSubject") : nullptr;
    if (subject == nullptr || !subject->is_object()) {
      return Error(ErrorCode::kInvalidArgument, "a presented TSC is not a credential with a claim");
    }
    TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(*subject));
    if (link.channel != head.channel_id) {
      return Error(ErrorCode::kInvalidArgument, "a presented TSC (seq " + std::to_string(link.seq) +
                                                    ") is for channel " +
                                                    link.channel.substr(0, 80));
    }
    ordered.push_back(Presented{link.seq, &tsc});
  }
  std::stable_sort(ordered.begin(), ordered.end(),
                   [](const Presented& a, const Presented& b) { return a.seq < b.seq; });

  RecoveredTscs result;
  ChannelRecord channel = head;
  // What was issued once stays valid as evidence: the validity period is not checked here.
  vc::TscVerifyOptions options;
  options.credential.check_validity_period = false;
  options.expected_issuer = tcc_did;
  for (const Presented& entry : ordered) {
    TCC_ASSIGN_OR_RETURN(std::string text, vc::Canonicalize(*entry.tsc));
    const chain::Hash256 hash = Sha256(AsBytes(text));
    if (entry.seq <= head.last_seq) {
      TCC_ASSIGN_OR_RETURN(TscRecord stored, store.GetTsc(head.channel_id, entry.seq));
      if (stored.tsc_hash != hash) {
        return Error(ErrorCode::kConflict, "seq " + std::to_string(entry.seq) +
                                               " is stored as TSC " + HexEncode(stored.tsc_hash) +
                                               ", the presented one hashes to " + HexEncode(hash) +
                                               ": a stored seq is never replaced");
      }
      ++result.already_stored;
      continue;
    }
    if (entry.seq <= channel.last_seq) {
      // The same seq twice: the first verified copy is taken; a different second one is named.
      if (!result.commits.empty() && result.commits.back().tsc.seq >= entry.seq) {
        const auto& taken = result.commits[entry.seq - head.last_seq - 1].tsc;
        if (taken.tsc_hash != hash && result.stopped.empty()) {
          result.stopped = "two different TSCs for seq " + std::to_string(entry.seq) +
                           " were presented; the first that verified is kept";
        }
      }
      continue;
    }
    if (entry.seq != channel.last_seq + 1) {
      if (result.stopped.empty()) {
        result.stopped = "seq " + std::to_string(channel.last_seq + 1) +
                         " is missing; TSCs from seq " + std::to_string(entry.seq) +
                         " on cannot be linked";
      }
      break;
    }
    options.expected_prev = HexEncode(channel.last_hash);
    auto verified = vc::VerifyTsc(*entry.tsc, tst, resolver, options);
    if (!verified.ok()) {
      if (result.stopped.empty()) {
        result.stopped = "seq " + std::to_string(entry.seq) + ": " + verified.error().message();
      }
      break;
    }
    TCC_ASSIGN_OR_RETURN(std::string claim_text,
                         vc::Canonicalize(*entry.tsc->Find("credentialSubject")));
    SettlementCommit commit;
    commit.tsc.channel_id = head.channel_id;
    commit.tsc.seq = entry.seq;
    commit.tsc.tsc_hash = hash;
    commit.tsc.claim_hash = HexEncode(Sha256(AsBytes(claim_text)));
    commit.tsc.tsc = std::move(text);
    channel.last_seq = entry.seq;
    channel.last_hash = hash;
    commit.channel = channel;
    result.commits.push_back(std::move(commit));
  }
  if (!result.commits.empty()) {
    SettlementCommit& last = result.commits.back();
    const chain::EvidenceItem item = EvidenceItemFor(head.channel_id, last.tsc.seq, last.tsc.tsc_hash);
    last.evidence = item;
    last.channel.evidence_seq = item.seq;
  }
  return result;
}

}  // namespace tcc::controller
