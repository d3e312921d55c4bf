#include "tcc/did/resolver.h"

#include "tcc/did/did_key.h"

namespace tcc::did {

Result<DidDocument> DidKeyResolver::Resolve(std::string_view did) {
  TCC_ASSIGN_OR_RETURN(PublicKey key, ParseDidKey(did));
  return DidDocument::ForDidKey(key);
}

void MethodRouter::Register(std::string method, std::shared_ptr<Resolver> resolver) {
  MutexLock lock(mutex_);
  routes_[std::move(method)] = std::move(resolver);
}

void MethodRouter::RegisterDefault(std::shared_ptr<Resolver> resolver) {
  MutexLock lock(mutex_);
  default_route_ = std::move(resolver);
}

Result<DidDocument> MethodRouter::Resolve(std::string_view did) {
  TCC_ASSIGN_OR_RETURN(DidUrl url, ParseDidUrl(did));
  if (!url.fragment.empty()) {
    return Error(ErrorCode::kInvalidArgument, "resolve a DID, not a DID URL: " + std::string(did));
  }
  std::string_view method = std::string_view(url.did).substr(4);
  method = method.substr(0, method.find(':'));
  std::shared_ptr<Resolver> resolver;
  {
    MutexLock lock(mutex_);
    auto it = routes_.find(method);
    resolver = it != routes_.end() ? it->second : default_route_;
    if (resolver == nullptr) {
      return Error(ErrorCode::kNotFound,
                   "no resolver for DID method \"" + std::string(method) + "\"");
    }
  }
  return resolver->Resolve(did);
}

CachingResolver::CachingResolver(std::shared_ptr<Resolver> inner, std::chrono::milliseconds ttl,
                                 std::size_t max_entries, Clock clock)
    : inner_(std::move(inner)), ttl_(ttl), max_entries_(max_entries), clock_(std::move(clock)) {}

Result<MethodKey> Resolver::ResolveMethodKey(std::string_view did, std::string_view method_id,
                                             Relationship relationship) {
  auto document = Resolve(did);
  if (!document.ok()) return document.error().WithContext("cannot resolve " + std::string(did));
  return document->MethodKeyFor(method_id, relationship);
}

Result<std::shared_ptr<const DidDocument>> CachingResolver::Lookup(std::string_view did) {
  auto now = clock_();
  {
    MutexLock lock(mutex_);
    auto it = entries_.find(did);
    if (it != entries_.end() && it->second.expires > now) {
      ++stats_.hits;
      return it->second.document;
    }
    ++stats_.misses;
  }
  // Resolve outside the lock: the inner resolver may be slow (chain round trip).
  TCC_ASSIGN_OR_RETURN(DidDocument resolved, inner_->Resolve(did));
  auto document = std::make_shared<const DidDocument>(std::move(resolved));
  MutexLock lock(mutex_);
  if (entries_.size() >= max_entries_) {
    // Bounded memory under a flood of distinct DIDs: drop expired entries, else everything.
    std::erase_if(entries_, [&](const auto& entry) { return entry.second.expires <= now; });
    if (entries_.size() >= max_entries_) entries_.clear();
  }
  entries_.insert_or_assign(std::string(did), Entry{document, now + ttl_});
  return document;
}

Result<DidDocument> CachingResolver::Resolve(std::string_view did) {
  TCC_ASSIGN_OR_RETURN(auto document, Lookup(did));
  return *document;
}

Result<MethodKey> CachingResolver::ResolveMethodKey(std::string_view did,
                                                    std::string_view method_id,
                                                    Relationship relationship) {
  auto document = Lookup(did);
  if (!document.ok()) return document.error().WithContext("cannot resolve " + std::string(did));
  return (*document)->MethodKeyFor(method_id, relationship);
}

void CachingResolver::Invalidate(std::string_view did) {
  MutexLock lock(mutex_);
  entries_.erase(std::string(did));
}

void CachingResolver::InvalidateAll() {
  MutexLock lock(mutex_);
  entries_.clear();
}

CachingResolver::Stats CachingResolver::stats() const {
  MutexLock lock(mutex_);
  return stats_;
}

}  // namespace tcc::did
