#include "tcc/vc/template.h"

#include <algorithm>

#include "tcc/common/bytes.h"
#include "tcc/vc/jcs.h"

namespace tcc::vc {

struct Template::State {
  std::string id;
  std::uint32_t version;
  TemplateKind kind;
  std::string owner;
  std::string title;
  Json document;
  Sha256Digest content_hash;
  SchemaValidator claim_validator;
};

namespace {

Error TemplateError(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "template: " + std::move(message));
}

Result<SchemaValidator> CompileMetaSchema(TemplateKind kind) {
  auto fail = [kind](const Error& error) {
    return Error(ErrorCode::kInternal, "embedded " + std::string(TemplateKindName(kind)) +
                                           " meta-schema is broken: " + error.message());
  };
  auto schema = Json::Parse(TemplateMetaSchemaText(kind));
  if (!schema.ok()) return fail(schema.error());
  auto validator = SchemaValidator::Compile(*schema);
  if (!validator.ok()) return fail(validator.error());
  return validator;
}

Result<const SchemaValidator*> MetaSchema(TemplateKind kind) {
  static const Result<SchemaValidator> kTit = CompileMetaSchema(TemplateKind::kTit);
  static const Result<SchemaValidator> kTst = CompileMetaSchema(TemplateKind::kTst);
  const Result<SchemaValidator>& meta = kind == TemplateKind::kTit ? kTit : kTst;
  if (!meta.ok()) return meta.error();
  return &meta.value();
}

Result<TemplateKind> KindOf(const Json& document) {
  if (!document.is_object()) {
    return TemplateError("a template document must be a JSON object, not " +
                         std::string(JsonTypeName(document.type())));
  }
  const Json* kind = document.Find("kind");
  if (kind != nullptr && kind->is_string()) {
    if (kind->as_string() == "TIT") return TemplateKind::kTit;
    if (kind->as_string() == "TST") return TemplateKind::kTst;
  }
  return TemplateError("member \"kind\" must be \"TIT\" or \"TST\"");
}

// Members an object schema inside the claim schema must require; the meta-schema already made
// sure each is declared, so what is left is the `required` list (the subset has no `contains`).
struct RequiredMembers {
  std::vector<std::string_view> schema_path;  // from the claim schema root, through `properties`
  std::vector<std::string_view> members;
};

const std::vector<RequiredMembers>& RequiredMembersOf(TemplateKind kind) {
  static const std::vector<RequiredMembers> kTit = {
      {{}, CoreClaimMembers(TemplateKind::kTit)},
      {{"settlement"}, {"interval", "n"}},
      {{"tst"}, {"id", "version"}},
  };
  static const std::vector<RequiredMembers> kTst = {
      {{}, CoreClaimMembers(TemplateKind::kTst)},
  };
  return kind == TemplateKind::kTit ? kTit : kTst;
}

Status CheckRequiredMembers(TemplateKind kind, const Json& claim_schema) {
  std::string missing;
  for (const auto& rule : RequiredMembersOf(kind)) {
    // The meta-schema guarantees these members; a null check keeps this safe if it changes.
    const Json* schema = &claim_schema;
    std::string location = "/claimSchema";
    for (std::string_view name : rule.schema_path) {
      const Json* properties = schema != nullptr ? schema->Find("properties") : nullptr;
      schema = properties != nullptr ? properties->Find(name) : nullptr;
      location += "/properties/" + std::string(name);
    }
    const Json* required = schema != nullptr ? schema->Find("required") : nullptr;
    for (std::string_view member : rule.members) {
      bool listed = required != nullptr && required->is_array() &&
                    std::any_of(required->as_array().begin(), required->as_array().end(),
                                [&](const Json& name) {
                                  return name.is_string() && name.as_string() == member;
                                });
      if (listed) continue;
      if (!missing.empty()) missing += ", ";
      missing += location + "/required lacks \"" + std::string(member) + "\"";
    }
  }
  if (missing.empty()) return OkStatus();
  return TemplateError("the claim schema must require the EFSC " +
                       std::string(TemplateKindName(kind)) + " members: " + missing);
}

Status CheckSettlementLinksAdmitted(const Json& claim_schema) {
  const Json* additional = claim_schema.Find("additionalProperties");
  bool open = additional == nullptr || (additional->is_bool() && additional->as_bool());
  if (open) return OkStatus();
  const Json* properties = claim_schema.Find("properties");
  std::string undeclared;
  for (std::string_view member : SettlementLinkMembers()) {
    if (properties != nullptr && properties->Contains(member)) continue;
    if (!undeclared.empty()) undeclared += ", ";
    undeclared += "\"" + std::string(member) + "\"";
  }
  if (undeclared.empty()) return OkStatus();
  return TemplateError("the claim schema restricts additionalProperties, so it must declare the "
                       "members the TCC adds to settlement claims: " + undeclared +
                       " missing from /claimSchema/properties");
}

}  // namespace

std::string_view TemplateKindName(TemplateKind kind) {
  return kind == TemplateKind::kTit ? "TIT" : "TST";
}

const std::vector<std::string_view>& CoreClaimMembers(TemplateKind kind) {
  static const std::vector<std::string_view> kTit = {
      "provider", "consumer", "computeSpec", "unitPrice",
      "settlement", "initialPricing", "tst", "encryption"};
  static const std::vector<std::string_view> kTst = {
      "provider", "consumer", "fee", "start", "end", "usage", "encryption"};
  return kind == TemplateKind::kTit ? kTit : kTst;
}

const std::vector<std::string_view>& SettlementLinkMembers() {
  static const std::vector<std::string_view> kMembers = {"channel", "seq", "prev"};
  return kMembers;
}

Result<Template> Template::FromJson(const Json& document) {
  TCC_ASSIGN_OR_RETURN(TemplateKind kind, KindOf(document));
  TCC_ASSIGN_OR_RETURN(const SchemaValidator* meta, MetaSchema(kind));
  if (Status status = meta->Check(document); !status.ok()) {
    return TemplateError(std::string(TemplateKindName(kind)) + " meta-schema: " +
                         status.error().message());
  }
  const Json& claim_schema = *document.Find("claimSchema");
  TCC_RETURN_IF_ERROR(CheckRequiredMembers(kind, claim_schema));
  if (kind == TemplateKind::kTst) TCC_RETURN_IF_ERROR(CheckSettlementLinksAdmitted(claim_schema));
  auto validator = SchemaValidator::Compile(claim_schema);
  if (!validator.ok()) {
    return Error(validator.error().code(),
                 "template: claimSchema: " + validator.error().message());
  }
  // The meta-schema bounds it (1 to 2^31 - 1); read through the checked conversion all the same.
  TCC_ASSIGN_OR_RETURN(std::uint64_t version, document.GetInteger("version", 1, 2147483647));
  auto canonical = Canonicalize(document);
  if (!canonical.ok()) return canonical.error().WithContext("template");
  auto state = std::make_shared<State>(State{
      .id = document.Find("id")->as_string(),
      .version = static_cast<std::uint32_t>(version),
      .kind = kind,
      .owner = document.Find("owner")->as_string(),
      .title = document.Find("title")->as_string(),
      .document = document,
      .content_hash = Sha256(*canonical),
      .claim_validator = std::move(validator).value(),
  });
  return Template(std::move(state));
}

Result<Template> Template::Parse(std::string_view text) {
  auto document = Json::Parse(text, JsonLimits{.max_bytes = kMaxTemplateBytes});
  if (!document.ok()) return document.error().WithContext("template");
  return FromJson(*document);
}

const std::string& Template::id() const { return state_->id; }
std::uint32_t Template::version() const { return state_->version; }
TemplateKind Template::kind() const { return state_->kind; }
const std::string& Template::owner() const { return state_->owner; }
const std::string& Template::title() const { return state_->title; }
const Json& Template::document() const { return state_->document; }
const Json& Template::claim_schema() const { return *state_->document.Find("claimSchema"); }
const Sha256Digest& Template::content_hash() const { return state_->content_hash; }
std::string Template::content_hash_hex() const { return HexEncode(state_->content_hash); }
const SchemaValidator& Template::claim_validator() const { return state_->claim_validator; }

Result<PublishOutcome> CheckPublish(const Template& candidate, std::string_view publisher,
                                    const Template* stored_same_version,
                                    const Template* stored_latest) {
  std::string name = "template \"" + candidate.id() + "\" version " +
                     std::to_string(candidate.version());
  if (publisher != candidate.owner()) {
    return Error(ErrorCode::kPermissionDenied,
                 name + ": publisher " + std::string(publisher) +
                     " is not the owner named in the template (" + candidate.owner() + ")");
  }
  if (stored_latest != nullptr) {
    if (stored_latest->owner() != candidate.owner()) {
      return Error(ErrorCode::kPermissionDenied,
                   name + ": the id belongs to " + stored_latest->owner() +
                       "; only its owner may publish versions");
    }
    if (stored_latest->kind() != candidate.kind()) {
      return Error(ErrorCode::kConflict,
                   name + ": the id is a " + std::string(TemplateKindName(stored_latest->kind())) +
                       ", not a " + std::string(TemplateKindName(candidate.kind())));
    }
  }
  if (stored_same_version != nullptr) {
    if (stored_same_version->content_hash() == candidate.content_hash()) {
      return PublishOutcome::kAlreadyPublished;
    }
    return Error(ErrorCode::kConflict,
                 name + " is already published with different content (content hash " +
                     stored_same_version->content_hash_hex() +
                     "); published versions are immutable, publish a new version instead");
  }
  std::uint32_t expected = stored_latest == nullptr ? 1 : stored_latest->version() + 1;
  if (candidate.version() != expected) {
    return Error(ErrorCode::kConflict,
                 name + ": the next version must be " + std::to_string(expected) +
                     (stored_latest == nullptr
                          ? std::string(" (the id has no published version)")
                          : " (latest published is " + std::to_string(stored_latest->version()) +
                                ")"));
  }
  return PublishOutcome::kPublished;
}

}  // namespace tcc::vc
