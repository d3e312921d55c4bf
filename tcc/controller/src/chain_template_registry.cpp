#include "tcc/controller/chain_template_registry.h"

#include <string>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/jcs.h"

namespace tcc::controller {
namespace {

std::string Describe(std::string_view id, std::optional<std::uint64_t> version) {
  std::string text = "template \"" + std::string(id) + "\"";
  if (version) text += " version " + std::to_string(*version);
  return text;
}

// Adapter errors keep their code; kNotFound gets a message that says what is missing.
Error FromAdapter(Error error, std::string_view id, std::optional<std::uint64_t> version) {
  if (error.code() == ErrorCode::kNotFound) {
    return Error(ErrorCode::kNotFound, Describe(id, version) + " is not registered on chain");
  }
  return std::move(error).WithContext("chain: " + Describe(id, version));
}

}  // namespace

ChainTemplateRegistry::ChainTemplateRegistry(std::shared_ptr<chain::ChainAdapter> adapter)
    : adapter_(std::move(adapter)) {}

Result<chain::TemplateVersion> ChainTemplateRegistry::ToRecord(const vc::Template& template_) {
  TCC_ASSIGN_OR_RETURN(std::string canonical, vc::Canonicalize(template_.document()));
  chain::TemplateVersion record;
  record.id = template_.id();
  record.version = template_.version();
  record.owner_did = template_.owner();
  record.content.assign(canonical.begin(), canonical.end());
  record.content_hash = Sha256(canonical);
  return record;
}

Result<vc::Template> ChainTemplateRegistry::FromRecord(const chain::TemplateVersion& record) {
  auto mismatch = [&](const std::string& why) {
    return Error(ErrorCode::kVerificationFailed,
                 "chain record of " + Describe(record.id, record.version) + " does not match its content: " + why);
  };
  if (Sha256(record.content) != record.content_hash) return mismatch("content hash differs");
  auto parsed = vc::Template::Parse(AsChars(record.content));
  if (!parsed.ok()) return mismatch(parsed.error().message());
  if (parsed->id() != record.id) return mismatch("content has id \"" + parsed->id() + "\"");
  if (parsed->version() != record.version) {
    return mismatch("content has version " + std::to_string(parsed->version()));
  }
  if (parsed->owner() != record.owner_did) return mismatch("content has owner " + parsed->owner());
  // Holds when the content is in JCS form, as Publish writes it.
  if (parsed->content_hash() != record.content_hash) return mismatch("content is not in canonical (JCS) form");
  return parsed;
}

Result<TemplatePublication> ChainTemplateRegistry::PublishWithReceipt(const vc::Template& candidate,
                                                                       std::string_view publisher) {
  MutexLock lock(publish_mutex_);
  auto read = [&](std::optional<std::uint64_t> version) -> Result<std::optional<chain::Recorded<vc::Template>>> {
    auto recorded = adapter_->GetTemplate(candidate.id(), version);
    if (!recorded.ok()) {
      if (recorded.error().code() == ErrorCode::kNotFound) return std::optional<chain::Recorded<vc::Template>>();
      return FromAdapter(std::move(recorded).error(), candidate.id(), version);
    }
    TCC_ASSIGN_OR_RETURN(vc::Template stored, FromRecord(recorded->value));
    return std::optional<chain::Recorded<vc::Template>>(
        chain::Recorded<vc::Template>{std::move(stored), std::move(recorded->receipt)});
  };
  TCC_ASSIGN_OR_RETURN(auto same_version, read(candidate.version()));
  TCC_ASSIGN_OR_RETURN(auto latest, read(std::nullopt));
  TCC_ASSIGN_OR_RETURN(vc::PublishOutcome outcome,
                       vc::CheckPublish(candidate, publisher, same_version ? &same_version->value : nullptr,
                                        latest ? &latest->value : nullptr));
  if (outcome == vc::PublishOutcome::kAlreadyPublished) {
    return TemplatePublication{outcome, std::move(same_version->receipt)};
  }
  TCC_ASSIGN_OR_RETURN(chain::TemplateVersion record, ToRecord(candidate));
  auto written = adapter_->PublishTemplate(record);
  if (!written.ok()) return FromAdapter(std::move(written).error(), candidate.id(), candidate.version());
  return TemplatePublication{outcome, std::move(written->receipt)};
}

Result<vc::PublishOutcome> ChainTemplateRegistry::Publish(const vc::Template& candidate,
                                                          std::string_view publisher) {
  TCC_ASSIGN_OR_RETURN(TemplatePublication publication, PublishWithReceipt(candidate, publisher));
  return publication.outcome;
}

Result<chain::Recorded<vc::Template>> ChainTemplateRegistry::Fetch(std::string_view id,
                                                                 std::optional<std::uint32_t> version) const {
  std::optional<std::uint64_t> wanted;
  if (version) wanted = *version;
  auto recorded = adapter_->GetTemplate(id, wanted);
  if (!recorded.ok()) return FromAdapter(std::move(recorded).error(), id, wanted);
  TCC_ASSIGN_OR_RETURN(vc::Template stored, FromRecord(recorded->value));
  return chain::Recorded<vc::Template>{std::move(stored), std::move(recorded->receipt)};
}

Result<vc::Template> ChainTemplateRegistry::Get(std::string_view id, std::uint32_t version) const {
  if (version == 0) return Error(ErrorCode::kNotFound, Describe(id, 0) + " is not registered on chain");
  TCC_ASSIGN_OR_RETURN(auto recorded, Fetch(id, version));
  return std::move(recorded.value);
}

Result<vc::Template> ChainTemplateRegistry::Latest(std::string_view id) const {
  TCC_ASSIGN_OR_RETURN(auto recorded, Fetch(id, std::nullopt));
  return std::move(recorded.value);
}

Result<std::vector<vc::TemplateSummary>> ChainTemplateRegistry::List(const vc::TemplateQuery& query) const {
  auto all = adapter_->ListTemplates("");
  if (!all.ok()) return std::move(all).error().WithContext("chain: list templates");
  std::vector<vc::TemplateSummary> out;
  // Versions arrive ordered by id then version: the last record of each run is the latest.
  for (std::size_t i = 0; i < all->size() && out.size() < query.limit; ++i) {
    const chain::TemplateVersion& record = (*all)[i].value;
    if (i + 1 < all->size() && (*all)[i + 1].value.id == record.id) continue;
    if (record.id <= query.after_id) continue;
    if (query.owner && record.owner_did != *query.owner) continue;
    TCC_ASSIGN_OR_RETURN(vc::Template latest, FromRecord(record));
    if (query.kind && latest.kind() != *query.kind) continue;
    out.push_back({latest.id(), latest.kind(), latest.owner(), latest.version(), latest.content_hash()});
  }
  return out;
}

}  // namespace tcc::controller
