// InMemoryTemplateRegistry: the test double of tcc::vc::TemplateRegistry.
//
// Not a product store (the real ones come with the chain adapter); it exists so the registry
// contract and the publication rules can be tested. It owns copies of the published Templates
// (which share their immutable state). Thread-safe: one mutex around everything, with
// CheckPublish applied under the same lock as the write, as every implementation must.
#pragma once

#include <algorithm>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tcc/vc/template.h"

namespace tcc::testing {

class InMemoryTemplateRegistry final : public vc::TemplateRegistry {
 public:
  Result<vc::PublishOutcome> Publish(const vc::Template& candidate,
                                     std::string_view publisher) override {
    std::lock_guard lock(mutex_);
    auto it = templates_.find(candidate.id());
    const std::vector<vc::Template>* versions = it == templates_.end() ? nullptr : &it->second;
    const vc::Template* latest = versions == nullptr ? nullptr : &versions->back();
    const vc::Template* same_version =
        versions != nullptr && candidate.version() <= versions->size()
            ? &(*versions)[candidate.version() - 1]
            : nullptr;
    TCC_ASSIGN_OR_RETURN(vc::PublishOutcome outcome,
                         vc::CheckPublish(candidate, publisher, same_version, latest));
    if (outcome == vc::PublishOutcome::kPublished) templates_[candidate.id()].push_back(candidate);
    return outcome;
  }

  Result<vc::Template> Get(std::string_view id, std::uint32_t version) const override {
    std::lock_guard lock(mutex_);
    auto it = templates_.find(std::string(id));
    if (it == templates_.end() || version == 0 || version > it->second.size()) {
      return NotFound(id, " version " + std::to_string(version));
    }
    return it->second[version - 1];
  }

  Result<vc::Template> Latest(std::string_view id) const override {
    std::lock_guard lock(mutex_);
    auto it = templates_.find(std::string(id));
    if (it == templates_.end()) return NotFound(id, "");
    return it->second.back();
  }

  Result<std::vector<vc::TemplateSummary>> List(const vc::TemplateQuery& query) const override {
    std::lock_guard lock(mutex_);
    std::vector<vc::TemplateSummary> out;
    for (auto it = templates_.upper_bound(query.after_id);
         it != templates_.end() && out.size() < query.limit; ++it) {
      const vc::Template& latest = it->second.back();
      if (query.owner && latest.owner() != *query.owner) continue;
      if (query.kind && latest.kind() != *query.kind) continue;
      out.push_back({latest.id(), latest.kind(), latest.owner(), latest.version(),
                     latest.content_hash()});
    }
    return out;
  }

 private:
  static Error NotFound(std::string_view id, const std::string& what) {
    return Error(ErrorCode::kNotFound, "template \"" + std::string(id) + "\"" + what +
                                           " is not published");
  }

  mutable std::mutex mutex_;
  // id -> versions 1..n in order (CheckPublish guarantees there are no gaps).
  std::map<std::string, std::vector<vc::Template>, std::less<>> templates_;
};

}  // namespace tcc::testing
