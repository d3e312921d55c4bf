// ChainTemplateRegistry: the TIT/TST registry (vc::TemplateRegistry) stored on chain.
//
// Record format: a template version is published as a chain::TemplateVersion whose content is the
// RFC 8785 (JCS) form of the template document and whose owner is the template's owner. JCS rather
// than the author's file bytes because then SHA-256(content) is exactly vc::Template's content
// hash, the value TICs and TSCs name in credentialSchema: the chain checks the hash it stores
// against the bytes, and anyone can check it against a credential. Reading a record back parses
// and compiles the content again and rejects (kVerificationFailed) a record whose id, version,
// owner or hash disagree with its content, since chain bytes are not trusted.
//
// Publication applies vc::CheckPublish (owner, version sequence, immutability) before writing.
// The adapter enforces the same owner and immutability rules atomically with its write, so a
// concurrent publisher elsewhere cannot slip past the check: it gets the adapter's
// kPermissionDenied or kConflict. Publishes through one registry are also serialized here.
// Errors: kPermissionDenied / kConflict per CheckPublish, kNotFound for an unpublished id or
// version, kUnavailable and other adapter errors passed through with the template as context.
//
// Ownership: shares the adapter. Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
#include "tcc/vc/template.h"

namespace tcc::controller {

struct TemplatePublication {
  vc::PublishOutcome outcome = vc::PublishOutcome::kPublished;
  chain::ChainReceipt receipt;  // of the block holding the version (the earlier one if kAlreadyPublished)
};

class ChainTemplateRegistry final : public vc::TemplateRegistry {
 public:
  explicit ChainTemplateRegistry(std::shared_ptr<chain::ChainAdapter> adapter);

  Result<vc::PublishOutcome> Publish(const vc::Template& candidate, std::string_view publisher) override;
  Result<vc::Template> Get(std::string_view id, std::uint32_t version) const override;
  Result<vc::Template> Latest(std::string_view id) const override;
  // Pages over the ids on chain; kind and owner are those of each id's latest version.
  Result<std::vector<vc::TemplateSummary>> List(const vc::TemplateQuery& query) const override;

  // Publish, also returning the chain receipt.
  Result<TemplatePublication> PublishWithReceipt(const vc::Template& candidate, std::string_view publisher);
  // A version (the latest when empty) with the receipt of the block that holds it.
  Result<chain::Recorded<vc::Template>> Fetch(std::string_view id, std::optional<std::uint32_t> version) const;

  // The record a template is published as (exposed for tests and tools that inspect the chain).
  static Result<chain::TemplateVersion> ToRecord(const vc::Template& template_);
  // A record read from the chain, checked against its content as described above.
  static Result<vc::Template> FromRecord(const chain::TemplateVersion& record);

 private:
  std::shared_ptr<chain::ChainAdapter> adapter_;
  Mutex publish_mutex_;  // one publication at a time: read, compare, then write
};

}  // namespace tcc::controller
