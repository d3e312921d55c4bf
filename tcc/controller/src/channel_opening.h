// Internal: what opening a channel reads and checks, apart from the daemon's loop.
//
// A channel is opened from a TIC recorded on the chain that names this TCC: its recorded content
// must hash to the TIC id (the channel id), verify against its TIT (both parties' proofs, the
// template's schema) and name a TST. The channel record then carries the parties, auditors, TST and
// the TIC's settlement strategy N; its head is the TIC (seq 0, hash the channel id).
//
// A free function run on a worker (chain and DID reads); the daemon adds the channel on its loop
// and stores it. Uses the adapter, template cache and resolver, which are thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "channel.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/template.h"
#include "template_cache.h"

namespace tcc::controller {

struct PreparedChannel {
  ChannelRecord record;
  std::shared_ptr<const vc::Template> tst;
};

// `now_ms` (Unix ms) becomes the record's opened_ms. kPermissionDenied for a TIC naming another
// TCC, kVerificationFailed for recorded content that is not the TIC, adapter and verification
// errors with the TIC as context.
Result<PreparedChannel> PrepareChannel(chain::ChainAdapter& adapter, TemplateCache& templates,
                                       did::Resolver& resolver, const std::string& tcc_did,
                                       const std::string& tic_id, std::uint64_t now_ms);

}  // namespace tcc::controller
