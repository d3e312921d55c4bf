#include "template_cache.h"

#include <optional>

#include "tcc/vc/jcs.h"

namespace tcc::controller {

TemplateCache::TemplateCache(std::shared_ptr<chain::ChainAdapter> adapter, ChannelStore& store)
    : registry_(std::move(adapter)), store_(store) {}

Result<std::shared_ptr<const vc::Template>> TemplateCache::Get(const std::string& id,
                                                               std::uint32_t version) {
  {
    MutexLock lock(mutex_);
    auto found = cache_.find({id, version});
    if (found != cache_.end()) return found->second;
  }
  const std::string copy_name = "template:" + id + "@" + std::to_string(version);
  std::optional<vc::Template> loaded;
  if (auto copy = store_.GetValue(copy_name); copy.ok()) {
    auto parsed = vc::Template::Parse(*copy);
    if (parsed.ok() && parsed->id() == id && parsed->version() == version)
      loaded = std::move(parsed).value();
  }
  if (!loaded) {
    TCC_ASSIGN_OR_RETURN(vc::Template fetched, registry_.Get(id, version));
    if (auto canonical = vc::Canonicalize(fetched.document()); canonical.ok()) {
      (void)store_.PutValue(copy_name, *canonical);
    }
    loaded = std::move(fetched);
  }
  auto shared = std::make_shared<const vc::Template>(std::move(*loaded));
  MutexLock lock(mutex_);
  return cache_.try_emplace({id, version}, shared).first->second;
}

}  // namespace tcc::controller
