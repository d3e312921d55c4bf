// How the CLI's chain commands open the chain a --chain URI names (chain_open.cpp). Besides the
// adapters' own URIs (local:PATH, evm+http...), `tccd:` reaches the chain a running tccd holds
// through that tccd (docs/tccd.md, "Chain requests"):
//   tccd:DIR                                 the tccd running on data directory DIR, through its
//                                            control endpoint with DIR/admin.key (reads, writes)
//   tccd:ENDPOINT?tcc=DID&key=FILE           a control endpoint with the admin key FILE
//   tccd:ENDPOINT?tcc=DID&key=FILE&channel=ID  a party endpoint as a member of channel ID (reads)
// And a `local:PATH` ledger that a running tccd holds (its lock is taken) is reached through that
// tccd when PATH's parent directory is the tccd's data directory (the default layout,
// DIR/ledger), with a one-line notice on stderr. Internal to the CLI; single-threaded like it.
#pragma once

#include <memory>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"

namespace tcc::cli {

// Help text for a --chain option: the forms every adapter and tccd: accept.
std::string ChainHelp(bool required = true);

// Commands that only read must not turn a mistyped path into a new, empty ledger.
enum class ChainAccess { kRead, kWrite };

Result<std::shared_ptr<chain::ChainAdapter>> OpenCliChain(const std::string& uri,
                                                          ChainAccess access);

}  // namespace tcc::cli
