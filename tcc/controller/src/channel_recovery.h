// Restoring a recovering channel's lost TSCs from copies its parties (or an operator) present
// (issue #18 item 2, tccd side; chain_crosscheck.h puts channels in `recovering`).
//
// VerifyRecoveredTscs checks each presented TSC the way a verifier would: this TCC's signature,
// the TST, the parties' joint proof, and that channel, seq and prev continue the store's head one
// by one. A TSC at or below the head must be the stored one, byte for byte by hash (a different
// one is kConflict: nothing is ever re-issued or replaced under a seq that exists). The longest
// verified continuation wins; TSCs past a gap or past one that fails are not taken, and the
// failure is named. The result is the commits that make the restored TSCs durable, the last one
// carrying an evidence item so that the restored head is anchored again.
//
// Pure over its arguments apart from store reads; thread-safe as ChannelStore is.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "channel_store.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/template.h"

namespace tcc::controller {

// TSCs one control.recover request may carry (each is also bounded by the frame size).
inline constexpr std::size_t kMaxRecoverTscs = 256;

struct RecoveredTscs {
  std::vector<SettlementCommit> commits;  // in seq order, continuing the head
  std::uint64_t already_stored = 0;       // presented TSCs identical to stored ones
  std::string stopped;  // why a presented TSC past the restored ones was not taken; empty: none
};

// kInvalidArgument for more than kMaxRecoverTscs or an entry that is not a TSC object naming its
// channel and seq; kConflict when one contradicts a stored TSC.
Result<RecoveredTscs> VerifyRecoveredTscs(ChannelStore& store, const ChannelRecord& head,
                                          const vc::Template& tst, did::Resolver& resolver,
                                          const std::string& tcc_did, const JsonArray& presented);

}  // namespace tcc::controller
