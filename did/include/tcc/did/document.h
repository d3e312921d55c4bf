// DID documents (W3C DID Core 1.0) with Multikey verification methods.
//
// A DidDocument is a plain value: the subject DID, its verification methods and the verification
// relationships TCC uses (authentication, assertionMethod, keyAgreement). FromJson() accepts only
// well-formed documents (every relationship entry refers to a method of this document or is an
// embedded method; keys decode to the right length) and reports the first defect. Thread-safe
// for concurrent reads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"

namespace tcc::did {

struct VerificationMethod {
  std::string id;          // absolute DID URL
  std::string type;        // "Multikey"
  std::string controller;  // DID
  std::string public_key_multibase;
};

enum class Relationship { kAuthentication, kAssertionMethod, kKeyAgreement };
std::string_view RelationshipName(Relationship relationship);
// "authentication" / "assertionMethod" / "keyAgreement"; the proof purpose names map the same way.
Result<Relationship> ParseRelationship(std::string_view name);

// What checking a signature by a verification method needs: its Ed25519 key and the DID that
// controls it.
struct MethodKey {
  PublicKey key;
  std::string controller;
};

struct DidDocument {
  std::string id;
  std::vector<VerificationMethod> verification_methods;
  std::vector<std::string> authentication;
  std::vector<std::string> assertion_method;
  std::vector<std::string> key_agreement;

  // The document did:key defines for an Ed25519 key.
  static DidDocument ForDidKey(const PublicKey& public_key);
  static Result<DidDocument> FromJson(const Json& json);
  Json ToJson() const;

  const VerificationMethod* FindMethod(std::string_view id) const;
  bool HasRelationship(Relationship relationship, std::string_view method_id) const;
  // The Ed25519 key of a method that the document lists under the relationship; a clear error
  // when the method is absent, not listed there, or not an Ed25519 Multikey.
  Result<PublicKey> Ed25519KeyFor(std::string_view method_id, Relationship relationship) const;
  // The same key with the method's controller.
  Result<MethodKey> MethodKeyFor(std::string_view method_id, Relationship relationship) const;
  // The first keyAgreement X25519 key.
  Result<X25519PublicKey> KeyAgreementKey() const;
};

}  // namespace tcc::did
