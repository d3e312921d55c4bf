// DID resolution backed by the chain: registered DIDs from ChainAdapter::ResolveDid, composed with
// local did:key resolution and the resolver cache, and kept fresh by the chain's DID-update events.
//
// ChainDidResolver reads the latest registered document of a DID through the adapter and accepts
// it only if it parses as a well-formed DID document whose id is that DID. MakeChainResolver builds
// what the controller and the CLI use: a MethodRouter (did:key derived locally, every other method
// from the chain) inside a CachingResolver. ChainWatcher follows the adapter's events from a cursor
// the caller may persist: it drops each updated DID from the cache, so a document changed on chain
// is re-read on its next use instead of after the TTL, and hands every recorded TIC that names
// this TCC to a handler (tccd opens its channel).
//
// Ownership: every object shares ownership of the adapter and resolvers it is given. Thread
// safety: ChainDidResolver and the composed resolver are thread-safe (the adapter is); a
// ChainWatcher serializes its own polls with a mutex; the handler runs on the polling thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
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
  // A DID update reaches the cache through ChainWatcher; the TTL bounds staleness when no
  // watcher runs (the CLI) or the watcher falls behind.
  std::chrono::milliseconds ttl = std::chrono::minutes(5);
  std::size_t max_entries = 100000;
};

// did:key locally, every other method through ChainDidResolver, behind one cache.
std::shared_ptr<did::CachingResolver> MakeChainResolver(std::shared_ptr<chain::ChainAdapter> adapter,
                                                        const ChainResolverOptions& options = {});

class ChainWatcher {
 public:
  // Called with the id of each recorded TIC naming `tcc_did`.
  using TicHandler = std::function<void(const std::string& tic_id)>;

  // `cursor` is where to resume (a value of cursor() saved earlier); empty starts at the first
  // block, which only costs spurious invalidations and repeated (idempotent) channel opens.
  // Without a tcc_did (or handler) TIC events are not followed.
  ChainWatcher(std::shared_ptr<chain::ChainAdapter> adapter, std::shared_ptr<did::CachingResolver> cache,
               std::string cursor = {}, std::string tcc_did = {}, TicHandler on_tic = {});

  // Reads one page of events after the cursor (waiting up to `wait` for a new block when there is
  // none), handles each and advances the cursor. Returns the number of events handled; on an
  // adapter error the cursor stays where it was, so the next poll retries the same events.
  Result<std::size_t> PollOnce(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  // The position after the last handled event, for the daemon to persist.
  std::string cursor() const;

 private:
  std::shared_ptr<chain::ChainAdapter> adapter_;
  std::shared_ptr<did::CachingResolver> cache_;
  std::string tcc_did_;
  TicHandler on_tic_;
  mutable Mutex mutex_;
  std::string cursor_ TCC_GUARDED_BY(mutex_);
};

}  // namespace tcc::controller
