// What a TSC's evidence commits to, and the check that an evidence bundle commits to a given TSC.
//
// An evidence leaf names one TSC (channel, seq, hash). TCC anchors a leaf every N TSCs, so a TSC is
// committed either by its own leaf or, through the hash chain (each TSC's claim names the previous
// TSC's hash in `prev`), by the leaf of a later TSC of the same channel. CheckEvidenceCommits walks
// that chain over the TSCs in between. Pure functions, thread-safe.
#pragma once

#include <span>
#include <string>

#include "tcc/chain/evidence.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::vcapi {

// A TSC's evidence item: channel and seq from its claim, and its credential hash.
// kInvalidArgument when the credential is not a TSC or its claim lacks channel/seq/prev.
Result<chain::EvidenceItem> TscEvidenceItem(const Json& tsc);

// Succeeds when `bundle` commits to `tsc`: its item is the TSC's own, or `links` are the TSCs
// seq+1 .. bundle.item.seq of the same channel, each naming its predecessor's hash in `prev`, and
// the bundle's item is the last of them. Offline only (see chain::VerifyEvidenceBundle and
// VerifyEvidenceBundleOnChain for the Merkle path and the anchor). kVerificationFailed says which
// link breaks.
Status CheckEvidenceCommits(const chain::EvidenceItem& tsc, std::span<const Json> links,
                            const chain::EvidenceBundle& bundle);

}  // namespace tcc::vcapi
