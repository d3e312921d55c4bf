// DID resolution backed by the chain: registered DIDs from ChainAdapter::ResolveDid, composed with
// local did:key resolution and the resolver cache, and kept fresh by the chain's DID-update events.
//
// ChainDidResolver reads the latest registered document of a DID through the adapter and accepts
// it only if it parses as a well-formed DID document whose id is that DID. MakeChainResolver builds
// what the controller and the CLI use: a MethodRouter (did:key derived locally, every other method
// from the chain) inside a CachingResolver. tccd keeps the cache fresh with the chain's DID-update
// events (its chain watcher, internal to the controller).
//
// Ownership: every object shares ownership of the adapter and resolvers it is given. Thread
// safety: ChainDidResolver and the composed resolver are thread-safe (the adapter is).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "tcc/did/document.h"
#include "tcc/did/resolver.h"

namespace tcc::controller {

class ChainDidResolver final : public did::Resolver {
 public:
  explicit ChainDidResolver(std::shared_ptr<chain::ChainAdapter> adapter);

  // The latest registered document. kNotFound (from the adapter) for an unregistered DID;
  // kInvalidArgument when the stored bytes are not a DID document for this DID; other adapter
  // errors (kUnavailable, ...) pass through with the DID as context.
  Result<did::DidDocument> Resolve(std::string_view did) override;

 private:
  std::shared_ptr<chain::ChainAdapter> adapter_;
};

struct ChainResolverOptions {
  // A DID update reaches the cache through tccd's chain watcher; the TTL bounds staleness when no
  // watcher runs (the CLI) or the watcher falls behind.
  std::chrono::milliseconds ttl = std::chrono::minutes(5);
  std::size_t max_entries = 100000;
};

// did:key locally, every other method through ChainDidResolver, behind one cache.
std::shared_ptr<did::CachingResolver> MakeChainResolver(
    std::shared_ptr<chain::ChainAdapter> adapter, const ChainResolverOptions& options = {});

}  // namespace tcc::controller
