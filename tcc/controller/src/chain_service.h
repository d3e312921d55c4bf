// Internal: tccd serving its own chain adapter (chain.read, chain.write; docs/tccd.md "Chain
// requests"), so that while tccd holds the embedded ledger the CLI's chain commands and channel
// members still reach it.
//
// Who may do what is decided here, apart from the sockets: the control socket (admin keys only)
// reads and writes; on the party socket a connection admitted to at least one channel reads DIDs,
// templates, anchors and the adapter's status, and nothing else is served there. The adapter call
// itself (chain/chain_requests.h) runs on a worker.
//
// Pure functions; no state. Thread-safe as the adapter passed in.
#pragma once

#include <cstddef>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/chain_requests.h"
#include "tcc/common/result.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

enum class ChainAccess {
  kAdmin,   // the control socket
  kMember,  // a party connection admitted to a channel
  kNone,    // a party connection admitted to none
};

// The op a chain.read / chain.write request names, if `access` allows it: kPermissionDenied for a
// write from a party, get_tic or list_templates from a party, or any request from a connection
// admitted to no channel, kInvalidArgument for
// an unknown op or a write op sent as chain.read.
Result<chain::ChainOp> CheckChainRequest(const wire::Message& message, ChainAccess access);

// Runs the checked request on `adapter` and returns the answer frame (reply or error) for the
// message's id, and the error's text when it failed (for the log). Called on a worker: it blocks
// for as long as the adapter's call does.
struct ChainAnswer {
  std::string frame;
  std::string error;  // empty when the call succeeded
};
ChainAnswer ServeChain(chain::ChainAdapter& adapter, chain::ChainOp op,
                       const wire::Message& message);

}  // namespace tcc::controller
