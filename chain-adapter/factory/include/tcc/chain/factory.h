// OpenChainAdapter: picks and opens the ChainAdapter a configuration URI names.
//
//   local:PATH[?entries_per_block=M&block_interval_ms=T&max_pending=P]   embedded LevelDB ledger
//   evm+http(s)://HOST:PORT?contract=0x...&key=KEYFILE[&...]             EVM chain (evm_adapter.h)
//
// The scheme is everything before the first ':'. An unknown scheme is kInvalidArgument with a
// message listing the supported forms. Each adapter registers one row in the scheme table in
// factory.cpp; nothing above this function changes. The returned adapter is
// owned by the caller. Thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/common/result.h"

namespace tcc::chain {

struct ChainOpenOptions {
  // False for tools that only read: a mistyped local: path is then an error, not a new empty
  // ledger. Adapters that talk to a node ignore it.
  bool create_if_missing = true;
};

Result<std::unique_ptr<ChainAdapter>> OpenChainAdapter(std::string_view uri,
                                                       const ChainOpenOptions& open_options = {});

// For a daemon that starts while its node is away (a consortium node that boots later): as
// OpenChainAdapter, except that a node that does not answer (kUnavailable) yields an adapter that
// tries to open it again on use, at most every `retry_interval`, and fails with kUnavailable until
// it can; `*deferred` says which happened. Any other error (a bad URI, key or contract) is returned.
Result<std::unique_ptr<ChainAdapter>> OpenChainAdapterOrDefer(std::string_view uri, const ChainOpenOptions& open_options,
                                                              std::chrono::milliseconds retry_interval, bool* deferred);

// The URI forms OpenChainAdapter accepts, for --help and error messages.
std::vector<std::string> SupportedChainUris();

// The options a local: URI describes (exposed so a daemon can report its effective settings).
Result<LocalLedgerOptions> ParseLocalUri(std::string_view uri);

}  // namespace tcc::chain
