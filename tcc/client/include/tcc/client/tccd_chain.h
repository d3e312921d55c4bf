// OpenTccdChain: a chain::ChainAdapter that reaches the chain a running tccd holds, through tccd
// (its chain.read / chain.write requests, docs/tccd.md "Chain requests"). While tccd runs it holds
// the embedded ledger's lock; this is how the CLI's chain commands and channel members still read
// and write it, and how a remote member checks evidence against the TCC's chain.
//
// Two ways in: tccd's control endpoint with an admin key (reads and writes), or its party endpoint
// as a member of a channel (the adapter joins the channel first; reads only: tccd refuses writes
// there with kPermissionDenied). PollEvents is not served. Each call is one request with the
// connection's timeout; the adapter's name and its receipts are those of tccd's own adapter.
//
// Ownership: the adapter owns its connection. Thread-safe: calls are serialized on the connection.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/client/connection.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"

namespace tcc::client {

struct TccdChainOptions {
  // The control endpoint with client_key set to an admin key's form, or the party endpoint.
  ConnectOptions connect;
  // Party endpoint only: the channel to join and the member's key.
  std::optional<std::string> channel;
  std::shared_ptr<const did::KeyPair> member_key;
};

// Connects (and joins the channel, when one is given) and asks tccd for its adapter's status, so
// an unreachable tccd or a refused key fails here rather than on the first call.
Result<std::unique_ptr<chain::ChainAdapter>> OpenTccdChain(TccdChainOptions options);

}  // namespace tcc::client
