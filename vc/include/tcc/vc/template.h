// Templates (the EFSC "Claim Protocol Types"): TIT and TST documents, and the registry they live in.
//
// A Template is one published version of a provider's template document: {id, version, kind
// ("TIT" | "TST"), owner (the provider's DID), title, description?, claimSchema}. Template::FromJson
// checks the document against the meta-schema of its kind (schemas/tit-template.schema.json or
// schemas/tst-template.schema.json, embedded at build time), checks that the claim schema declares
// and requires the EFSC fields of its kind (and, for a TST, admits the `channel`, `seq` and `prev`
// members the TCC adds), and compiles the claim schema once, so a Template in hand is known good
// and ready to validate claims. Its content hash is SHA-256 over the RFC 8785 (JCS) form of the
// whole document, so it commits to id, version and owner as well as to the schema.
//
// A Template is immutable and cheap to copy (copies share state); all members are thread-safe.
//
// TemplateRegistry is the abstract store (backed by the chain adapter). Every implementation
// applies CheckPublish() atomically with its write, which gives the rules: only the owner may
// publish, an id belongs to the DID that published its version 1, versions follow each other from
// 1 without gaps, and a published version is immutable (re-publishing identical content is an
// idempotent success, different content is a conflict). Implementations must be thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/schema_validator.h"

namespace tcc::vc {

enum class TemplateKind : std::uint8_t { kTit, kTst };

// "TIT" or "TST", as written in template documents.
std::string_view TemplateKindName(TemplateKind kind);

// The claim members every template of a kind must declare and require (EFSC design).
const std::vector<std::string_view>& CoreClaimMembers(TemplateKind kind);
// The members the TCC adds to every settlement claim; a TST's claim schema must admit them.
const std::vector<std::string_view>& SettlementLinkMembers();

// The embedded meta-schema text for a kind (the content of the schemas/ file).
std::string_view TemplateMetaSchemaText(TemplateKind kind);

// Template documents are small; this bounds what Parse() accepts.
inline constexpr std::size_t kMaxTemplateBytes = 1u << 20;

class Template {
 public:
  // Fails with kInvalidArgument listing every problem (meta-schema violations with their paths,
  // missing core fields, claim schema compile errors with their schema locations), or with
  // kResourceExhausted when the claim schema exceeds the default SchemaLimits. Pure function.
  [[nodiscard]] static Result<Template> FromJson(const Json& document);
  // Strict JSON parse (at most kMaxTemplateBytes) followed by FromJson.
  [[nodiscard]] static Result<Template> Parse(std::string_view text);

  const std::string& id() const;
  std::uint32_t version() const;
  TemplateKind kind() const;
  const std::string& owner() const;  // provider DID
  const std::string& title() const;
  const Json& document() const;      // as published, member order kept
  const Json& claim_schema() const;  // document()["claimSchema"]
  const Sha256Digest& content_hash() const;
  std::string content_hash_hex() const;
  const SchemaValidator& claim_validator() const;

 private:
  struct State;
  explicit Template(std::shared_ptr<const State> state) : state_(std::move(state)) {}

  std::shared_ptr<const State> state_;
};

enum class PublishOutcome : std::uint8_t {
  kPublished,         // a new version was stored
  kAlreadyPublished,  // the identical version was already stored; nothing changed
};

// The publication rules, as a pure decision a registry applies atomically with its write.
// `stored_same_version`: the already stored template with the candidate's id and version, if any;
// `stored_latest`: the newest stored version of the candidate's id, if any. `publisher` is the DID
// that authenticated the request (authentication is the caller's job).
// Errors: kPermissionDenied (publisher is not the owner, or the id belongs to another DID),
// kConflict (different content for a published version, version out of sequence, kind change).
[[nodiscard]] Result<PublishOutcome> CheckPublish(const Template& candidate,
                                                  std::string_view publisher,
                                                  const Template* stored_same_version,
                                                  const Template* stored_latest);

struct TemplateSummary {
  std::string id;
  TemplateKind kind;
  std::string owner;
  std::uint32_t latest_version;
  Sha256Digest latest_content_hash;
};

struct TemplateQuery {
  std::optional<std::string> owner;
  std::optional<TemplateKind> kind;
  std::string after_id;      // page after this id ("" = from the start); results sorted by id
  std::size_t limit = 100;
};

class TemplateRegistry {
 public:
  virtual ~TemplateRegistry() = default;

  [[nodiscard]] virtual Result<PublishOutcome> Publish(const Template& candidate,
                                                       std::string_view publisher) = 0;
  // kNotFound when the id or that version does not exist.
  [[nodiscard]] virtual Result<Template> Get(std::string_view id, std::uint32_t version) const = 0;
  [[nodiscard]] virtual Result<Template> Latest(std::string_view id) const = 0;
  [[nodiscard]] virtual Result<std::vector<TemplateSummary>> List(
      const TemplateQuery& query) const = 0;
};

}  // namespace tcc::vc
