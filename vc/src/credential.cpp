#include "tcc/vc/credential.h"

#include "tcc/did/did_key.h"
#include "tcc/vc/jcs.h"

namespace tcc::vc {
namespace {

Error ShapeError(std::string why) {
  return Error(ErrorCode::kInvalidArgument, "not a VC 2.0 credential: " + std::move(why));
}

bool HasType(const Json& type, std::string_view wanted) {
  if (type.is_string()) return type.as_string() == wanted;
  if (!type.is_array()) return false;
  for (const Json& entry : type.as_array()) {
    if (entry.is_string() && entry.as_string() == wanted) return true;
  }
  return false;
}

Status CheckTypeMember(const Json& type) {
  if (type.is_string()) return OkStatus();
  if (!type.is_array() || type.as_array().empty()) return ShapeError("type must be a string or a non-empty array");
  for (const Json& entry : type.as_array()) {
    if (!entry.is_string()) return ShapeError("type entries must be strings");
  }
  return OkStatus();
}

Result<std::optional<Timestamp>> OptionalTime(const Json& credential, std::string_view member) {
  const Json* value = credential.Find(member);
  if (value == nullptr) return std::optional<Timestamp>();
  if (!value->is_string()) return ShapeError(std::string(member) + " must be a date-time string");
  auto parsed = ParseRfc3339(value->as_string());
  if (!parsed.ok()) return ShapeError(std::string(member) + ": " + parsed.error().message());
  return std::optional<Timestamp>(*parsed);
}

Status CheckSchemaEntry(const Json& entry) {
  if (!entry.is_object() || !entry.GetString("id").ok() || !entry.GetString("type").ok()) {
    return ShapeError("each credentialSchema needs string members id and type");
  }
  return OkStatus();
}

}  // namespace

bool HasCredentialType(const Json& credential, std::string_view type) {
  const Json* member = credential.Find("type");
  return member != nullptr && HasType(*member, type);
}

Result<std::string> IssuerId(const Json& credential) {
  const Json* issuer = credential.Find("issuer");
  if (issuer == nullptr) return ShapeError("missing issuer");
  if (issuer->is_string()) return issuer->as_string();
  if (issuer->is_object()) {
    if (auto id = issuer->GetString("id"); id.ok()) return std::string(*id);
  }
  return ShapeError("issuer must be a URL string or an object with an id");
}

namespace {

struct ValidityPeriod {
  std::optional<Timestamp> valid_from;
  std::optional<Timestamp> valid_until;
};

// The shape check, returning the validity period it parsed so verification need not parse it again.
Result<ValidityPeriod> CheckShapeAndReadPeriod(const Json& credential) {
  if (!credential.is_object()) return ShapeError("must be a JSON object");
  const Json* context = credential.Find("@context");
  if (context == nullptr || !context->is_array() || context->as_array().empty() ||
      !(context->as_array()[0] == Json(kCredentialsV2Context))) {
    return ShapeError(std::string("@context must be an array starting with ") + std::string(kCredentialsV2Context));
  }
  for (const Json& entry : context->as_array()) {
    if (!entry.is_string() && !entry.is_object()) return ShapeError("@context entries must be URLs or objects");
  }
  if (const Json* id = credential.Find("id"); id != nullptr && !id->is_string()) {
    return ShapeError("id must be a string");
  }
  const Json* type = credential.Find("type");
  if (type == nullptr) return ShapeError("missing type");
  TCC_RETURN_IF_ERROR(CheckTypeMember(*type));
  if (!HasType(*type, "VerifiableCredential")) return ShapeError("type must include VerifiableCredential");
  TCC_RETURN_IF_ERROR(IssuerId(credential));
  const Json* subject = credential.Find("credentialSubject");
  if (subject == nullptr) return ShapeError("missing credentialSubject");
  if (subject->is_array()) {
    if (subject->as_array().empty()) return ShapeError("credentialSubject must not be empty");
    for (const Json& entry : subject->as_array()) {
      if (!entry.is_object()) return ShapeError("credentialSubject entries must be objects");
    }
  } else if (!subject->is_object()) {
    return ShapeError("credentialSubject must be an object or an array of objects");
  }
  ValidityPeriod period;
  TCC_ASSIGN_OR_RETURN(period.valid_from, OptionalTime(credential, "validFrom"));
  TCC_ASSIGN_OR_RETURN(period.valid_until, OptionalTime(credential, "validUntil"));
  if (period.valid_from && period.valid_until && *period.valid_until < *period.valid_from) {
    return ShapeError("validUntil precedes validFrom");
  }
  if (const Json* schema = credential.Find("credentialSchema")) {
    if (schema->is_array()) {
      for (const Json& entry : schema->as_array()) TCC_RETURN_IF_ERROR(CheckSchemaEntry(entry));
    } else {
      TCC_RETURN_IF_ERROR(CheckSchemaEntry(*schema));
    }
  }
  return period;
}

}  // namespace

Status CheckCredentialShape(const Json& credential) {
  TCC_RETURN_IF_ERROR(CheckShapeAndReadPeriod(credential));
  return OkStatus();
}

namespace {

// Fills the issuer, checks the shape, and returns the proof options of an issuance by `key`.
Result<ProofOptions> PrepareIssue(Json& credential, const did::KeyPair& key,
                                  const IssueOptions& options) {
  if (!credential.is_object()) return ShapeError("must be a JSON object");
  if (credential.Contains("proof")) {
    return Error(ErrorCode::kInvalidArgument, "credential already has a proof; issue an unsigned credential");
  }
  if (!credential.Contains("issuer"))
    credential.Set("issuer", did::DidKeyFromPublicKey(key.public_key()));
  TCC_RETURN_IF_ERROR(CheckCredentialShape(credential));
  TCC_ASSIGN_OR_RETURN(std::string issuer, IssuerId(credential));
  ProofOptions proof_options;
  proof_options.created = options.created;
  proof_options.verification_method = options.verification_method.empty()
                                          ? did::DidKeyVerificationMethod(key.public_key())
                                          : options.verification_method;
  // Refuse to produce a credential that cannot verify: the method must belong to the issuer.
  TCC_ASSIGN_OR_RETURN(did::DidUrl method_url, did::ParseDidUrl(proof_options.verification_method));
  if (method_url.did != issuer) {
    return Error(ErrorCode::kInvalidArgument, "issuer " + issuer + " does not control the signing key " +
                                                  proof_options.verification_method);
  }
  return proof_options;
}

}  // namespace

Result<Json> IssueCredential(Json credential, const did::KeyPair& key,
                             const IssueOptions& options) {
  TCC_ASSIGN_OR_RETURN(ProofOptions proof_options, PrepareIssue(credential, key, options));
  TCC_RETURN_IF_ERROR(AddProof(credential, key, proof_options));
  return credential;
}

Sha256Digest CanonicalCredential::SubjectDigest() const {
  return Sha256(std::string_view(text).substr(subject_begin, subject_end - subject_begin));
}

Result<CanonicalCredential> IssueCanonicalCredential(Json credential, const did::KeyPair& key,
                                                     const IssueOptions& options) {
  TCC_ASSIGN_OR_RETURN(ProofOptions proof_options, PrepareIssue(credential, key, options));
  CanonicalCredential issued;
  CanonicalLayout layout;
  TCC_RETURN_IF_ERROR(AppendCanonicalWithout(issued.text, credential, "proof", layout));
  // The text before the proof's place (the credential subject among it) is the same in the
  // unsecured and the issued text: it is hashed once for both digests.
  const std::size_t proof_at = layout.omitted_at;
  const std::string_view text = issued.text;
  Sha256Hasher common_prefix;
  common_prefix.Update(text.substr(0, proof_at));
  const Sha256Digest unsecured_hash = common_prefix.DigestWith(text.substr(proof_at));
  TCC_ASSIGN_OR_RETURN(Json proof, CreateProofOver(credential, unsecured_hash, key, proof_options));
  TCC_ASSIGN_OR_RETURN(std::string canonical_proof, Canonicalize(proof));
  InsertCanonicalMember(issued.text, layout, "proof", canonical_proof);
  issued.digest = common_prefix.Update(std::string_view(issued.text).substr(proof_at)).Finish();
  if (const CanonicalLayout::Member* subject = layout.Find("credentialSubject")) {
    issued.subject_begin = subject->begin;
    issued.subject_end = subject->end;
  }
  return issued;
}

Result<VerifiedCredential> VerifyCredential(const Json& credential, did::Resolver& resolver,
                                            const CredentialVerifyOptions& options) {
  auto shape = CheckShapeAndReadPeriod(credential);
  if (!shape.ok()) return Error(ErrorCode::kVerificationFailed, shape.error().message());
  TCC_ASSIGN_OR_RETURN(std::string issuer, IssuerId(credential));
  if (options.check_validity_period) {
    const auto& [valid_from, valid_until] = *shape;
    if (valid_from && *valid_from > options.now + options.max_clock_skew) {
      return Error(ErrorCode::kVerificationFailed, "credential is not valid yet (validFrom " +
                                                       FormatRfc3339(*valid_from) + ")");
    }
    if (valid_until && *valid_until < options.now - options.max_clock_skew) {
      return Error(ErrorCode::kVerificationFailed, "credential has expired (validUntil " +
                                                       FormatRfc3339(*valid_until) + ")");
    }
  }
  ProofVerifyOptions proof_options;
  proof_options.now = options.now;
  proof_options.max_clock_skew = options.max_clock_skew;
  TCC_ASSIGN_OR_RETURN(std::vector<VerifiedProof> proofs, VerifyProofs(credential, resolver, proof_options));
  for (const auto& proof : proofs) {
    if (proof.controller != issuer || did::ParseDidUrl(proof.verification_method)->did != issuer) {
      return Error(ErrorCode::kVerificationFailed, "verification method " + proof.verification_method +
                                                       " does not belong to the issuer " + issuer);
    }
  }
  return VerifiedCredential{std::move(issuer), std::move(proofs)};
}

}  // namespace tcc::vc
