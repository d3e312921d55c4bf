#include "tcc/vc/data_integrity.h"

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "tcc/common/base58.h"
#include "tcc/common/sha256.h"
#include "tcc/did/did_key.h"
#include "tcc/did/document.h"
#include "tcc/vc/jcs.h"

namespace tcc::vc {
namespace {

Error ProofError(size_t index, std::string_view why) {
  return Error(ErrorCode::kVerificationFailed, "proof " + std::to_string(index) + ": " + std::string(why));
}

// SHA-256(JCS(document without "proof")): the second half of the signed bytes, the same for every
// proof of a proof set over the same document.
Result<Sha256Digest> DocumentHash(const Json& document) {
  thread_local std::string buffer;
  buffer.clear();
  TCC_RETURN_IF_ERROR(AppendCanonicalWithout(buffer, document, "proof"));
  return Sha256(std::string_view(buffer));
}

// SHA-256(JCS(proof config)) || SHA-256(JCS(document without "proof")): the signed bytes.
Result<std::array<std::uint8_t, 64>> HashData(const Json& proof_config, const Sha256Digest& document_hash) {
  thread_local std::string buffer;
  std::array<std::uint8_t, 64> hash_data;
  buffer.clear();
  TCC_RETURN_IF_ERROR(AppendCanonicalWithout(buffer, proof_config, "proofValue"));
  Sha256Digest config_hash = Sha256(std::string_view(buffer));
  std::memcpy(hash_data.data(), config_hash.data(), 32);
  std::memcpy(hash_data.data() + 32, document_hash.data(), 32);
  return hash_data;
}

Result<did::Relationship> RelationshipForPurpose(std::string_view purpose) {
  if (purpose == "assertionMethod") return did::Relationship::kAssertionMethod;
  if (purpose == "authentication") return did::Relationship::kAuthentication;
  return Error(ErrorCode::kVerificationFailed, "unsupported proofPurpose \"" + std::string(purpose) + "\"");
}

// The spec lets a proof carry a prefix of the document's @context; anything else is a mismatch.
Result<bool> ContextMatches(const Json& document, const Json& proof_context) {
  const Json* document_context = document.Find("@context");
  if (document_context == nullptr) return false;
  if (*document_context == proof_context) return true;
  if (!document_context->is_array() || !proof_context.is_array()) return false;
  const auto& whole = document_context->as_array();
  const auto& prefix = proof_context.as_array();
  if (prefix.size() > whole.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (!(whole[i] == prefix[i])) return false;
  }
  return true;
}

// SHA-256(JCS(unsecured document)) for each @context a proof of the set signs over, computed once
// per distinct context: a proof then costs the same whatever the size of its set. The unsecured
// document (without "proof") is copied at most once, and only when a proof signs over a context
// other than the document's own (the spec lets a proof carry a prefix of it).
class UnsecuredDocumentHashes {
 public:
  explicit UnsecuredDocumentHashes(const Json& document) : document_(document) {}

  // `proof_context` null or equal to the document's: the document's own @context.
  Result<Sha256Digest> For(const Json* proof_context) {
    const Json* own = document_.Find("@context");
    if (proof_context == nullptr || (own != nullptr && *own == *proof_context)) {
      if (!own_hash_) {
        TCC_ASSIGN_OR_RETURN(Sha256Digest hash, DocumentHash(document_));
        own_hash_ = hash;
      }
      return *own_hash_;
    }
    for (const auto& [context, hash] : substituted_) {
      if (*context == *proof_context) return hash;
    }
    if (!unsecured_) {
      unsecured_ = Json::Object();
      for (const auto& [name, value] : document_.as_object()) {
        if (name != "proof") unsecured_->Set(name, value);
      }
    }
    unsecured_->Set("@context", *proof_context);
    TCC_ASSIGN_OR_RETURN(Sha256Digest hash, DocumentHash(*unsecured_));
    substituted_.emplace_back(proof_context, hash);
    return hash;
  }

 private:
  const Json& document_;
  std::optional<Sha256Digest> own_hash_;
  std::optional<Json> unsecured_;
  std::vector<std::pair<const Json*, Sha256Digest>> substituted_;  // at most max_proofs entries
};

Result<VerifiedProof> VerifyOneProof(const Json& document, const Json& proof, size_t index,
                                     did::Resolver& resolver, const ProofVerifyOptions& options,
                                     UnsecuredDocumentHashes& document_hashes) {
  if (!proof.is_object()) return ProofError(index, "must be an object");
  auto field = [&](std::string_view name) -> Result<std::string_view> {
    auto value = proof.GetString(name);
    if (!value.ok()) return ProofError(index, value.error().message());
    return value;
  };
  TCC_ASSIGN_OR_RETURN(std::string_view type, field("type"));
  if (type != kProofType) return ProofError(index, "type is \"" + std::string(type) + "\", not DataIntegrityProof");
  TCC_ASSIGN_OR_RETURN(std::string_view cryptosuite, field("cryptosuite"));
  if (cryptosuite != kCryptosuite) {
    return ProofError(index, "cryptosuite \"" + std::string(cryptosuite) + "\" is not supported (only eddsa-jcs-2022)");
  }
  TCC_ASSIGN_OR_RETURN(std::string_view purpose, field("proofPurpose"));
  if (purpose != options.expected_purpose) {
    return ProofError(index, "proofPurpose is \"" + std::string(purpose) + "\", expected \"" +
                                 options.expected_purpose + "\"");
  }
  TCC_ASSIGN_OR_RETURN(std::string_view method_id, field("verificationMethod"));
  TCC_ASSIGN_OR_RETURN(std::string_view proof_value, field("proofValue"));
  TCC_ASSIGN_OR_RETURN(std::string_view created_text, field("created"));
  // VC Data Integrity 1.0 (created, expires): "Time values that are incorrectly serialized without
  // an offset MUST be interpreted as UTC"; its reference implementation does so.
  auto created = ParseRfc3339(created_text, MissingZone::kUtc);
  if (!created.ok()) return ProofError(index, "created: " + created.error().message());
  if (*created > options.now + options.max_clock_skew) return ProofError(index, "created lies in the future");
  if (const Json* expires = proof.Find("expires")) {
    if (!expires->is_string()) return ProofError(index, "expires must be a string");
    auto expiry = ParseRfc3339(expires->as_string(), MissingZone::kUtc);
    if (!expiry.ok()) return ProofError(index, "expires: " + expiry.error().message());
    if (*expiry < options.now - options.max_clock_skew) return ProofError(index, "proof has expired");
  }
  struct Expected {
    std::string_view member;
    const std::optional<std::string>& value;
  };
  for (Expected expected : {Expected{"challenge", options.expected_challenge},
                            Expected{"domain", options.expected_domain}}) {
    if (!expected.value) continue;
    const Json* actual = proof.Find(expected.member);
    if (actual == nullptr || !actual->is_string() || actual->as_string() != *expected.value) {
      return ProofError(index, std::string(expected.member) + " does not match the expected value");
    }
  }

  if (proof_value.empty() || proof_value[0] != 'z') {
    return ProofError(index, "proofValue must be multibase base58btc (start with 'z')");
  }
  auto signature = MultibaseDecode(proof_value);
  if (!signature.ok() || signature->size() != 64) {
    return ProofError(index, "proofValue does not decode to a 64-byte Ed25519 signature");
  }

  auto url = did::ParseDidUrl(method_id);
  if (!url.ok() || url->fragment.empty()) {
    return ProofError(index, "verificationMethod is not a DID URL with a fragment: " + std::string(method_id));
  }
  auto relationship = RelationshipForPurpose(purpose);
  if (!relationship.ok()) return ProofError(index, relationship.error().message());
  auto method = resolver.ResolveMethodKey(url->did, method_id, *relationship);
  if (!method.ok()) return ProofError(index, method.error().message());

  // Proofs for documents with an @context carry that context (or a prefix of it); the signed
  // document then has the proof's context.
  const Json* proof_context = proof.Find("@context");
  if (proof_context != nullptr) {
    TCC_ASSIGN_OR_RETURN(bool matches, ContextMatches(document, *proof_context));
    if (!matches) return ProofError(index, "proof @context does not match the document's @context");
  }
  auto signed_hash = document_hashes.For(proof_context);
  if (!signed_hash.ok()) return ProofError(index, signed_hash.error().message());
  auto hash_data = HashData(proof, *signed_hash);
  if (!hash_data.ok()) return ProofError(index, hash_data.error().message());
  const bool valid = options.verify_signature != nullptr
                         ? options.verify_signature(method->key, *hash_data, *signature)
                         : did::VerifySignature(method->key, *hash_data, *signature);
  if (!valid) {
    return ProofError(index, "signature does not verify (the document or proof was altered, or the key is wrong)");
  }
  return VerifiedProof{std::string(method_id), std::move(method->controller), std::string(purpose),
                       *created};
}

}  // namespace

Result<Json> CreateProof(const Json& document, const did::KeyPair& key, const ProofOptions& options) {
  if (!document.is_object()) return Error(ErrorCode::kInvalidArgument, "only a JSON object can be signed");
  thread_local std::string unsecured;
  unsecured.clear();
  TCC_RETURN_IF_ERROR(AppendCanonicalWithout(unsecured, document, "proof"));
  return CreateProofOver(document, Sha256(std::string_view(unsecured)), key, options);
}

Result<Json> CreateProofOver(const Json& document, const Sha256Digest& unsecured_hash,
                             const did::KeyPair& key, const ProofOptions& options) {
  if (!document.is_object())
    return Error(ErrorCode::kInvalidArgument, "only a JSON object can be signed");
  if (options.verification_method.empty()) {
    return Error(ErrorCode::kInvalidArgument, "a proof needs a verificationMethod");
  }
  Json proof = Json::Object();
  proof.Set("type", kProofType);
  proof.Set("cryptosuite", kCryptosuite);
  if (options.created.empty()) {
    proof.Set("created", FormatRfc3339(NowSeconds()));
  } else {
    // The grammar verification accepts (a stamp without an offset is UTC); the text is kept as given.
    auto created = ParseRfc3339(options.created, MissingZone::kUtc);
    if (!created.ok()) return std::move(created).error().WithContext("proof created");
    proof.Set("created", options.created);
  }
  if (options.expires) proof.Set("expires", *options.expires);
  proof.Set("verificationMethod", options.verification_method);
  proof.Set("proofPurpose", options.proof_purpose);
  if (options.challenge) proof.Set("challenge", *options.challenge);
  if (options.domain) proof.Set("domain", *options.domain);
  if (const Json* context = document.Find("@context")) proof.Set("@context", *context);
  TCC_ASSIGN_OR_RETURN(auto hash_data, HashData(proof, unsecured_hash));
  did::Signature signature = key.Sign(hash_data);
  proof.Set("proofValue", MultibaseEncode(signature));
  return proof;
}

Status AddProof(Json& document, const did::KeyPair& key, const ProofOptions& options) {
  TCC_ASSIGN_OR_RETURN(Json proof, CreateProof(document, key, options));
  Json* existing = document.Find("proof");
  if (existing == nullptr) {
    document.Set("proof", std::move(proof));
  } else if (existing->is_array()) {
    existing->PushBack(std::move(proof));
  } else {
    Json set = Json::Array();
    set.PushBack(std::move(*existing));
    set.PushBack(std::move(proof));
    *existing = std::move(set);
  }
  return OkStatus();
}

Result<std::vector<VerifiedProof>> VerifyProofs(const Json& document, did::Resolver& resolver,
                                                const ProofVerifyOptions& options) {
  if (!document.is_object()) return Error(ErrorCode::kVerificationFailed, "a secured document must be an object");
  const Json* proof = document.Find("proof");
  if (proof == nullptr) return Error(ErrorCode::kVerificationFailed, "document has no proof");
  std::vector<VerifiedProof> verified;
  UnsecuredDocumentHashes document_hashes(document);
  if (proof->is_array()) {
    const JsonArray& set = proof->as_array();
    if (set.empty())
      return Error(ErrorCode::kVerificationFailed, "document has an empty proof set");
    if (set.size() > options.max_proofs) {
      return Error(ErrorCode::kVerificationFailed,
                   "document has a proof set of " + std::to_string(set.size()) +
                       " proofs; at most " + std::to_string(options.max_proofs) + " are verified");
    }
    for (size_t i = 0; i < set.size(); ++i) {
      TCC_ASSIGN_OR_RETURN(VerifiedProof one,
                           VerifyOneProof(document, set[i], i, resolver, options, document_hashes));
      verified.push_back(std::move(one));
    }
  } else {
    TCC_ASSIGN_OR_RETURN(VerifiedProof one,
                         VerifyOneProof(document, *proof, 0, resolver, options, document_hashes));
    verified.push_back(std::move(one));
  }
  return verified;
}

}  // namespace tcc::vc
