#include "tcc/vc/transaction.h"

#include "tcc/common/sha256.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/jcs.h"

namespace tcc::vc {
namespace {

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }
Error Failed(std::string message) { return Error(ErrorCode::kVerificationFailed, std::move(message)); }

// VC Data Model 2.0 requires credentialSchema.id to be a URL: the template's URN, with its short
// id in `name` (JSON-LD processors in safe mode refuse a bare `example.gpu-hour.tst`).
Json TemplateReference(const Template& template_) {
  Json reference = Json::Object();
  reference.Set("id", std::string(kTemplateUrnPrefix) + template_.id());
  reference.Set("name", template_.id());
  reference.Set("type", kTemplateSchemaType);
  reference.Set("version", static_cast<std::uint64_t>(template_.version()));
  reference.Set("contentHash", template_.content_hash_hex());
  return reference;
}

// How TICs and TSCs named their template before the URN: the short id itself, no `name`. Still
// accepted, so that credentials issued then keep verifying (stored TSCs, evidence links).
Json LegacyTemplateReference(const Template& template_) {
  Json reference = TemplateReference(template_);
  reference.Set("id", template_.id());
  reference.Erase("name");
  return reference;
}

Status CheckTemplateReference(const Json& credential, const Template& template_) {
  const Json* schema = credential.Find("credentialSchema");
  if (schema == nullptr) return Failed("credential names no template (credentialSchema)");
  if (!(*schema == TemplateReference(template_)) && !(*schema == LegacyTemplateReference(template_))) {
    return Failed("credentialSchema does not name " + std::string(TemplateKindName(template_.kind())) + " " +
                  template_.id() + " version " + std::to_string(template_.version()) + " with content hash " +
                  template_.content_hash_hex());
  }
  return OkStatus();
}

Json CredentialSkeleton(std::string_view type, const std::string& issuer, const Template& template_,
                        Json subject, std::string valid_from) {
  Json credential = Json::Object();
  credential.Set("@context", JsonArray{Json(kCredentialsV2Context), Json(kUndefinedTermsContext)});
  credential.Set("type", JsonArray{Json("VerifiableCredential"), Json(type)});
  credential.Set("issuer", issuer);
  credential.Set("validFrom", valid_from.empty() ? FormatRfc3339(NowSeconds()) : std::move(valid_from));
  credential.Set("credentialSchema", TemplateReference(template_));
  credential.Set("credentialSubject", std::move(subject));
  return credential;
}

Status CheckClaim(const Template& template_, const Json& claim) {
  if (!claim.is_object()) return Invalid("a claim must be a JSON object");
  // Templates do not describe proofs: the claim is checked as if it had none.
  auto checked = template_.claim_validator().CheckWithout(claim, "proof");
  if (!checked.ok()) {
    return Error(ErrorCode::kVerificationFailed,
                 "claim violates " + std::string(TemplateKindName(template_.kind())) + " " + template_.id() +
                     " v" + std::to_string(template_.version()) + ": " + checked.error().message());
  }
  return OkStatus();
}

Status CheckKeyIsParty(const Json& claim, std::string_view party, const did::KeyPair& key) {
  TCC_ASSIGN_OR_RETURN(std::string_view named, claim.GetString(party));
  std::string key_did = did::DidKeyFromPublicKey(key.public_key());
  if (named != key_did) {
    return Error(ErrorCode::kPermissionDenied, "the signing key (" + key_did + ") is not the claim's " +
                                                   std::string(party) + " (" + std::string(named) + ")");
  }
  return OkStatus();
}

ProofOptions PartyProofOptions(const did::KeyPair& key, const std::string& created) {
  return ProofOptions{.verification_method = did::DidKeyVerificationMethod(key.public_key()), .created = created};
}

bool HasType(const Json& credential, std::string_view wanted) {
  const Json* type = credential.Find("type");
  if (type == nullptr || !type->is_array()) return false;
  for (const Json& entry : type->as_array()) {
    if (entry.is_string() && entry.as_string() == wanted) return true;
  }
  return false;
}

}  // namespace

Result<NamedTemplate> ReadNamedTemplate(const Json& credential) {
  const Json* schema = credential.Find("credentialSchema");
  if (schema == nullptr || !schema->is_object()) return Invalid("the credential names no template (credentialSchema)");
  TCC_ASSIGN_OR_RETURN(std::string_view id, schema->GetString("id"));
  if (id.starts_with(kTemplateUrnPrefix)) {
    id.remove_prefix(kTemplateUrnPrefix.size());
    const Json* name = schema->Find("name");
    if (name == nullptr || !name->is_string() || name->as_string() != id) {
      return Invalid("credentialSchema.name must be the template id its URN names");
    }
  }
  TCC_ASSIGN_OR_RETURN(double version_number, schema->GetNumber("version"));
  const std::optional<std::uint64_t> version = JsonInteger(version_number, 1, 4294967295);
  if (!version) return Invalid("credentialSchema.version is not a template version");
  return NamedTemplate{std::string(id), static_cast<std::uint32_t>(*version)};
}

std::optional<std::string_view> TradeCredentialKind(const Json& credential) {
  if (!credential.is_object()) return std::nullopt;
  for (std::string_view kind : {kTscType, kTicType}) {
    if (HasCredentialType(credential, kind)) return kind;
  }
  const Json* schemas = credential.Find("credentialSchema");
  if (schemas == nullptr) return std::nullopt;
  auto names_template = [](const Json& schema) {
    const Json* type = schema.is_object() ? schema.Find("type") : nullptr;
    return type != nullptr && type->is_string() && type->as_string() == kTemplateSchemaType;
  };
  if (schemas->is_array()) {
    for (const Json& schema : schemas->as_array()) {
      if (names_template(schema)) return kTemplateSchemaType;
    }
    return std::nullopt;
  }
  return names_template(*schemas) ? std::optional<std::string_view>(kTemplateSchemaType)
                                  : std::nullopt;
}

Result<Sha256Digest> CredentialDigest(const Json& credential) {
  TCC_ASSIGN_OR_RETURN(std::string canonical, Canonicalize(credential));
  return Sha256(std::string_view(canonical));
}

Result<std::string> CredentialHash(const Json& credential) {
  TCC_ASSIGN_OR_RETURN(Sha256Digest digest, CredentialDigest(credential));
  return HexEncode(digest);
}

Result<Json> ApplyForTic(const Template& tit, Json claim, std::string valid_from) {
  if (tit.kind() != TemplateKind::kTit) return Invalid("template " + tit.id() + " is not a TIT");
  TCC_RETURN_IF_ERROR(CheckClaim(tit, claim));
  TCC_ASSIGN_OR_RETURN(std::string_view provider, claim.GetString("provider"));
  std::string issuer(provider);
  return CredentialSkeleton(kTicType, issuer, tit, std::move(claim), std::move(valid_from));
}

Result<Json> IssueTic(Json application, const Template& tit, const did::KeyPair& provider_key,
                      const std::string& created) {
  if (tit.kind() != TemplateKind::kTit) return Invalid("template " + tit.id() + " is not a TIT");
  TCC_RETURN_IF_ERROR(CheckCredentialShape(application));
  if (!HasType(application, kTicType)) return Invalid("application is not a " + std::string(kTicType));
  TCC_RETURN_IF_ERROR(CheckTemplateReference(application, tit));
  const Json& claim = *application.Find("credentialSubject");
  TCC_RETURN_IF_ERROR(CheckClaim(tit, claim));
  TCC_RETURN_IF_ERROR(CheckKeyIsParty(claim, "provider", provider_key));
  TCC_ASSIGN_OR_RETURN(std::string issuer, IssuerId(application));
  if (issuer != claim.GetString("provider").value()) return Invalid("the TIC's issuer must be the claim's provider");
  return IssueCredential(std::move(application), provider_key, {.created = created});
}

Result<VerifiedTic> VerifyTic(const Json& tic, const Template& tit, did::Resolver& resolver,
                              const CredentialVerifyOptions& options) {
  if (tit.kind() != TemplateKind::kTit) return Invalid("template " + tit.id() + " is not a TIT");
  TCC_ASSIGN_OR_RETURN(VerifiedCredential verified, VerifyCredential(tic, resolver, options));
  if (!HasType(tic, kTicType)) return Failed("not a " + std::string(kTicType));
  TCC_RETURN_IF_ERROR(CheckTemplateReference(tic, tit));
  const Json& claim = *tic.Find("credentialSubject");
  TCC_RETURN_IF_ERROR(CheckClaim(tit, claim));
  VerifiedTic result;
  result.provider = std::string(claim.GetString("provider").value());
  result.consumer = std::string(claim.GetString("consumer").value());
  if (verified.issuer != result.provider) return Failed("the TIC was not issued by the claim's provider");
  if (const Json* tst = claim.Find("tst"); tst != nullptr && tst->is_object()) {
    // The claim names its TST by URL (urn:tcc:template:<id>), as JSON-LD needs of an "id"; a
    // TIC from before names it by the bare template id, which still reads.
    if (auto id = tst->GetString("id"); id.ok()) {
      std::string_view name = *id;
      if (name.starts_with(kTemplateUrnPrefix)) name.remove_prefix(kTemplateUrnPrefix.size());
      result.tst_id = std::string(name);
    }
    if (auto version = tst->GetNumber("version"); version.ok() && *version >= 1 && *version <= 4294967295.0) {
      result.tst_version = static_cast<std::uint32_t>(*version);
    }
  }
  TCC_ASSIGN_OR_RETURN(result.channel_id, CredentialHash(tic));
  return result;
}

Result<SettlementLink> ReadSettlementLink(const Json& claim) {
  if (!claim.is_object()) return Invalid("a settlement claim must be a JSON object");
  SettlementLink link;
  TCC_ASSIGN_OR_RETURN(std::string_view channel, claim.GetString("channel"));
  TCC_ASSIGN_OR_RETURN(double seq_number, claim.GetNumber("seq"));
  TCC_ASSIGN_OR_RETURN(std::string_view prev, claim.GetString("prev"));
  // 2^53: beyond it doubles skip integers, and seq must count one by one.
  const std::optional<std::uint64_t> seq = JsonInteger(seq_number, 1);
  if (!seq) return Invalid("seq must be a positive integer below 2^53");
  link.channel = std::string(channel);
  link.seq = *seq;
  link.prev = std::string(prev);
  return link;
}

Result<Json> ProposeSettlement(const Template& tst, Json claim, const did::KeyPair& provider_key,
                               const std::string& created) {
  if (tst.kind() != TemplateKind::kTst) return Invalid("template " + tst.id() + " is not a TST");
  if (claim.is_object() && claim.Contains("proof")) return Invalid("a proposal starts from an unsigned claim");
  TCC_RETURN_IF_ERROR(ReadSettlementLink(claim));
  TCC_RETURN_IF_ERROR(CheckClaim(tst, claim));
  TCC_RETURN_IF_ERROR(CheckKeyIsParty(claim, "provider", provider_key));
  TCC_RETURN_IF_ERROR(AddProof(claim, provider_key, PartyProofOptions(provider_key, created)));
  return claim;
}

Result<Json> CosignSettlement(const Template& tst, Json proposal, const did::KeyPair& consumer_key,
                              did::Resolver& resolver, const std::string& created) {
  if (tst.kind() != TemplateKind::kTst) return Invalid("template " + tst.id() + " is not a TST");
  TCC_RETURN_IF_ERROR(ReadSettlementLink(proposal));
  TCC_RETURN_IF_ERROR(CheckClaim(tst, proposal));
  TCC_RETURN_IF_ERROR(CheckKeyIsParty(proposal, "consumer", consumer_key));
  const Json* proof = proposal.Find("proof");
  if (proof == nullptr || !proof->is_object()) {
    return Failed("a proposal carries exactly one proof, the provider's");
  }
  TCC_ASSIGN_OR_RETURN(std::vector<VerifiedProof> verified, VerifyProofs(proposal, resolver));
  if (verified[0].controller != proposal.GetString("provider").value()) {
    return Failed("the proposal was not signed by the claim's provider");
  }
  TCC_RETURN_IF_ERROR(AddProof(proposal, consumer_key, PartyProofOptions(consumer_key, created)));
  return proposal;
}

Status VerifyJointClaim(const Json& claim, const Template& tst, did::Resolver& resolver,
                        const ProofVerifyOptions& options) {
  if (tst.kind() != TemplateKind::kTst) return Invalid("template " + tst.id() + " is not a TST");
  TCC_RETURN_IF_ERROR(ReadSettlementLink(claim));
  TCC_RETURN_IF_ERROR(CheckClaim(tst, claim));
  const Json* proof = claim.Find("proof");
  if (proof == nullptr || !proof->is_array() || proof->as_array().size() != 2) {
    return Failed("a settlement claim needs a proof set of exactly two proofs (provider and consumer)");
  }
  TCC_ASSIGN_OR_RETURN(std::vector<VerifiedProof> verified, VerifyProofs(claim, resolver, options));
  std::string_view provider = claim.GetString("provider").value();
  std::string_view consumer = claim.GetString("consumer").value();
  bool by_provider = false;
  bool by_consumer = false;
  for (const auto& one : verified) {
    by_provider |= one.controller == provider;
    by_consumer |= one.controller == consumer;
  }
  if (!by_provider) return Failed("the claim is not signed by its provider " + std::string(provider));
  if (!by_consumer) return Failed("the claim is not signed by its consumer " + std::string(consumer));
  return OkStatus();
}

namespace {

Result<Json> TscSkeleton(Json joint_claim, const Template& tst, const did::KeyPair& tcc_key,
                         const std::string& created) {
  if (tst.kind() != TemplateKind::kTst) return Invalid("template " + tst.id() + " is not a TST");
  std::string issuer = did::DidKeyFromPublicKey(tcc_key.public_key());
  return CredentialSkeleton(kTscType, issuer, tst, std::move(joint_claim), created);
}

}  // namespace

Result<Json> IssueTsc(Json joint_claim, const Template& tst, const did::KeyPair& tcc_key,
                      const std::string& created) {
  TCC_ASSIGN_OR_RETURN(Json credential, TscSkeleton(std::move(joint_claim), tst, tcc_key, created));
  return IssueCredential(std::move(credential), tcc_key, {.created = created});
}

Result<CanonicalCredential> IssueCanonicalTsc(Json joint_claim, const Template& tst,
                                              const did::KeyPair& tcc_key,
                                              const std::string& created) {
  TCC_ASSIGN_OR_RETURN(Json credential, TscSkeleton(std::move(joint_claim), tst, tcc_key, created));
  return IssueCanonicalCredential(std::move(credential), tcc_key, {.created = created});
}

Result<SettlementLink> VerifyTsc(const Json& tsc, const Template& tst, did::Resolver& resolver,
                                 const TscVerifyOptions& options) {
  if (tst.kind() != TemplateKind::kTst) return Invalid("template " + tst.id() + " is not a TST");
  TCC_ASSIGN_OR_RETURN(VerifiedCredential verified, VerifyCredential(tsc, resolver, options.credential));
  if (!HasType(tsc, kTscType)) return Failed("not a " + std::string(kTscType));
  if (options.expected_issuer && verified.issuer != *options.expected_issuer) {
    return Failed("issued by " + verified.issuer + ", not by the TCC " + *options.expected_issuer);
  }
  TCC_RETURN_IF_ERROR(CheckTemplateReference(tsc, tst));
  const Json& claim = *tsc.Find("credentialSubject");
  ProofVerifyOptions party_options{.now = options.credential.now, .max_clock_skew = options.credential.max_clock_skew};
  auto joint = VerifyJointClaim(claim, tst, resolver, party_options);
  if (!joint.ok()) return Failed("joint claim: " + joint.error().message());
  TCC_ASSIGN_OR_RETURN(SettlementLink link, ReadSettlementLink(claim));
  if (options.expected_prev && link.prev != *options.expected_prev) {
    return Failed("prev " + link.prev + " does not link to the previous credential " + *options.expected_prev);
  }
  return link;
}

}  // namespace tcc::vc
