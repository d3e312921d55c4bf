// Internal: the templates (TITs, TSTs) the daemon works with, fetched from the chain once and kept.
//
// Published template versions are immutable, so a compiled template is cached for good, and a copy
// of its JCS form is kept in the channel store (value "template:<id>@<version>"): a tccd restarted
// while the chain is unreachable still recovers its channels and settles on them. A copy that does
// not parse or names another id or version is ignored and the chain asked instead. The store copy
// is only a shortcut for restarts: if the store cannot take it now, the next fetch tries again.
//
// Owned by the daemon; shares the adapter (through the registry) and borrows the store.
// Thread-safe: Get is called from workers, the loop and the VC API's threads.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
#include "tcc/controller/chain_template_registry.h"
#include "channel_store.h"
#include "tcc/vc/template.h"

namespace tcc::controller {

class TemplateCache {
 public:
  TemplateCache(std::shared_ptr<chain::ChainAdapter> adapter, ChannelStore& store);

  Result<std::shared_ptr<const vc::Template>> Get(const std::string& id, std::uint32_t version);

 private:
  ChainTemplateRegistry registry_;
  ChannelStore& store_;
  Mutex mutex_;
  std::map<std::pair<std::string, std::uint32_t>, std::shared_ptr<const vc::Template>> cache_
      TCC_GUARDED_BY(mutex_);
};

}  // namespace tcc::controller
