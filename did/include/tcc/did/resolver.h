// DID resolution: the Resolver interface and the resolvers composed behind it.
//
// A Resolver turns a DID into its DID document. DidKeyResolver derives did:key documents locally.
// MethodRouter sends each DID to the resolver registered for its method (did:key locally,
// registered DIDs through the chain adapter later). CachingResolver remembers documents for a TTL
// and forgets them on demand (the chain adapter reports DID updates). All resolvers here are
// thread-safe; the ones that wrap others share ownership of them.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
#include "tcc/did/document.h"

namespace tcc::did {

class Resolver {
 public:
  virtual ~Resolver() = default;
  // kNotFound for an unknown DID, kInvalidArgument for a malformed one, kUnavailable when the
  // backing store cannot be reached.
  virtual Result<DidDocument> Resolve(std::string_view did) = 0;
  // The key and controller of `method_id`, a verification method that `did`'s document lists
  // under `relationship`: what checking a proof needs. Resolve's errors come with the context
  // "cannot resolve <did>"; the method's are DidDocument::Ed25519KeyFor's. The default resolves
  // the whole document; CachingResolver reads its cached one without copying it.
  virtual Result<MethodKey> ResolveMethodKey(std::string_view did, std::string_view method_id,
                                             Relationship relationship);
};

class DidKeyResolver final : public Resolver {
 public:
  Result<DidDocument> Resolve(std::string_view did) override;
};

class MethodRouter final : public Resolver {
 public:
  // method is the name between "did:" and the next ':', e.g. "key".
  void Register(std::string method, std::shared_ptr<Resolver> resolver);
  // The resolver for every method without its own route (registered DIDs on a chain can use any
  // method). Without one, an unrouted method is kNotFound.
  void RegisterDefault(std::shared_ptr<Resolver> resolver);
  Result<DidDocument> Resolve(std::string_view did) override;

 private:
  Mutex mutex_;
  std::map<std::string, std::shared_ptr<Resolver>, std::less<>> routes_ TCC_GUARDED_BY(mutex_);
  std::shared_ptr<Resolver> default_route_ TCC_GUARDED_BY(mutex_);
};

class CachingResolver final : public Resolver {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  CachingResolver(std::shared_ptr<Resolver> inner, std::chrono::milliseconds ttl,
                  std::size_t max_entries = 100000, Clock clock = std::chrono::steady_clock::now);
  Result<DidDocument> Resolve(std::string_view did) override TCC_EXCLUDES(mutex_);
  Result<MethodKey> ResolveMethodKey(std::string_view did, std::string_view method_id,
                                     Relationship relationship) override TCC_EXCLUDES(mutex_);
  void Invalidate(std::string_view did) TCC_EXCLUDES(mutex_);
  void InvalidateAll() TCC_EXCLUDES(mutex_);

  struct Stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
  };
  Stats stats() const TCC_EXCLUDES(mutex_);

 private:
  struct Entry {
    // Shared, so a reader can use it after the lock is gone, however soon it is replaced.
    std::shared_ptr<const DidDocument> document;
    std::chrono::steady_clock::time_point expires;
  };
  // Looked up by string_view: a lookup allocates no key.
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const {
      return std::hash<std::string_view>{}(key);
    }
  };
  // The cached document, if it is fresh; a resolution through the inner resolver otherwise.
  Result<std::shared_ptr<const DidDocument>> Lookup(std::string_view did) TCC_EXCLUDES(mutex_);

  std::shared_ptr<Resolver> inner_;
  std::chrono::milliseconds ttl_;
  std::size_t max_entries_;
  Clock clock_;
  mutable Mutex mutex_;
  std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries_ TCC_GUARDED_BY(mutex_);
  Stats stats_ TCC_GUARDED_BY(mutex_);
};

}  // namespace tcc::did
