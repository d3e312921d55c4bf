#include "tcc/did/document.h"

#include <algorithm>

#include "tcc/did/did_key.h"

namespace tcc::did {
namespace {

constexpr std::string_view kDidContext = "https://www.w3.org/ns/did/v1";
constexpr std::string_view kMultikeyContext = "https://w3id.org/security/multikey/v1";

Error Malformed(std::string message) {
  return Error(ErrorCode::kInvalidArgument, "DID document: " + std::move(message));
}

// Relative references ("#key-1") are relative to the document's id.
std::string AbsoluteId(const std::string& document_id, std::string_view id) {
  if (!id.empty() && id[0] == '#') return document_id + std::string(id);
  return std::string(id);
}

Result<VerificationMethod> ParseMethod(const Json& json, const std::string& document_id) {
  if (!json.is_object()) return Malformed("a verification method must be an object");
  VerificationMethod method;
  TCC_ASSIGN_OR_RETURN(std::string_view id, json.GetString("id"));
  TCC_ASSIGN_OR_RETURN(std::string_view type, json.GetString("type"));
  TCC_ASSIGN_OR_RETURN(std::string_view controller, json.GetString("controller"));
  method.id = AbsoluteId(document_id, id);
  method.type = type;
  method.controller = controller;
  if (!ParseDidUrl(method.id).ok() || method.id.find('#') == std::string::npos) {
    return Malformed("verification method id must be a DID URL with a fragment: " + method.id);
  }
  if (auto key = json.GetString("publicKeyMultibase"); key.ok()) {
    method.public_key_multibase = *key;
  } else {
    return Malformed("verification method " + method.id + ": " + key.error().message());
  }
  return method;
}

Json IdList(const std::vector<std::string>& ids) {
  Json list = Json::Array();
  for (const auto& id : ids) list.PushBack(id);
  return list;
}

}  // namespace

std::string_view RelationshipName(Relationship relationship) {
  switch (relationship) {
    case Relationship::kAuthentication: return "authentication";
    case Relationship::kAssertionMethod: return "assertionMethod";
    case Relationship::kKeyAgreement: return "keyAgreement";
  }
  return "unknown";
}

Result<Relationship> ParseRelationship(std::string_view name) {
  for (auto relationship : {Relationship::kAuthentication, Relationship::kAssertionMethod,
                            Relationship::kKeyAgreement}) {
    if (name == RelationshipName(relationship)) return relationship;
  }
  return Error(ErrorCode::kInvalidArgument, "unknown verification relationship \"" + std::string(name) + "\"");
}

DidDocument DidDocument::ForDidKey(const PublicKey& public_key) {
  DidDocument document;
  document.id = DidKeyFromPublicKey(public_key);
  std::string signing_id = DidKeyVerificationMethod(public_key);
  document.verification_methods.push_back(
      {signing_id, "Multikey", document.id, Ed25519Multibase(public_key)});
  document.authentication.push_back(signing_id);
  document.assertion_method.push_back(signing_id);
  // did:key documents always carry the derived X25519 key for key agreement.
  if (auto x25519 = X25519FromEd25519(public_key); x25519.ok()) {
    std::string agreement_multibase = X25519Multibase(*x25519);
    std::string agreement_id = document.id + "#" + agreement_multibase;
    document.verification_methods.push_back({agreement_id, "Multikey", document.id, agreement_multibase});
    document.key_agreement.push_back(agreement_id);
  }
  return document;
}

Result<DidDocument> DidDocument::FromJson(const Json& json) {
  if (!json.is_object()) return Malformed("must be a JSON object");
  DidDocument document;
  TCC_ASSIGN_OR_RETURN(std::string_view id, json.GetString("id"));
  document.id = id;
  TCC_RETURN_IF_ERROR(ParseDidUrl(document.id));
  if (document.id.find('#') != std::string::npos) return Malformed("id must be a DID, not a DID URL");

  if (const Json* methods = json.Find("verificationMethod")) {
    if (!methods->is_array()) return Malformed("verificationMethod must be an array");
    for (const Json& entry : methods->as_array()) {
      TCC_ASSIGN_OR_RETURN(VerificationMethod method, ParseMethod(entry, document.id));
      document.verification_methods.push_back(std::move(method));
    }
  }
  struct Slot {
    std::string_view name;
    std::vector<std::string>* ids;
  };
  for (Slot slot : {Slot{"authentication", &document.authentication},
                    Slot{"assertionMethod", &document.assertion_method},
                    Slot{"keyAgreement", &document.key_agreement}}) {
    const Json* entries = json.Find(slot.name);
    if (entries == nullptr) continue;
    if (!entries->is_array()) return Malformed(std::string(slot.name) + " must be an array");
    for (const Json& entry : entries->as_array()) {
      if (entry.is_string()) {
        slot.ids->push_back(AbsoluteId(document.id, entry.as_string()));
      } else {
        // Embedded methods are usable only through this relationship, but stored alike.
        TCC_ASSIGN_OR_RETURN(VerificationMethod method, ParseMethod(entry, document.id));
        slot.ids->push_back(method.id);
        document.verification_methods.push_back(std::move(method));
      }
      if (document.FindMethod(slot.ids->back()) == nullptr) {
        return Malformed(std::string(slot.name) + " refers to unknown method " + slot.ids->back());
      }
    }
  }
  for (size_t i = 0; i < document.verification_methods.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (document.verification_methods[i].id == document.verification_methods[j].id) {
        return Malformed("duplicate verification method " + document.verification_methods[i].id);
      }
    }
  }
  return document;
}

Json DidDocument::ToJson() const {
  Json json = Json::Object();
  json.Set("@context", JsonArray{Json(kDidContext), Json(kMultikeyContext)});
  json.Set("id", id);
  Json methods = Json::Array();
  for (const auto& method : verification_methods) {
    Json entry = Json::Object();
    entry.Set("id", method.id);
    entry.Set("type", method.type);
    entry.Set("controller", method.controller);
    entry.Set("publicKeyMultibase", method.public_key_multibase);
    methods.PushBack(std::move(entry));
  }
  json.Set("verificationMethod", std::move(methods));
  json.Set("authentication", IdList(authentication));
  json.Set("assertionMethod", IdList(assertion_method));
  json.Set("keyAgreement", IdList(key_agreement));
  return json;
}

const VerificationMethod* DidDocument::FindMethod(std::string_view method_id) const {
  for (const auto& method : verification_methods) {
    if (method.id == method_id) return &method;
  }
  return nullptr;
}

bool DidDocument::HasRelationship(Relationship relationship, std::string_view method_id) const {
  const std::vector<std::string>* ids = nullptr;
  switch (relationship) {
    case Relationship::kAuthentication: ids = &authentication; break;
    case Relationship::kAssertionMethod: ids = &assertion_method; break;
    case Relationship::kKeyAgreement: ids = &key_agreement; break;
  }
  return std::find(ids->begin(), ids->end(), method_id) != ids->end();
}

Result<PublicKey> DidDocument::Ed25519KeyFor(std::string_view method_id, Relationship relationship) const {
  const VerificationMethod* method = FindMethod(method_id);
  if (method == nullptr) {
    return Error(ErrorCode::kVerificationFailed,
                 "verification method " + std::string(method_id) + " is not in the DID document of " + id);
  }
  if (!HasRelationship(relationship, method_id)) {
    return Error(ErrorCode::kVerificationFailed,
                 "verification method " + std::string(method_id) + " is not authorized for " +
                     std::string(RelationshipName(relationship)) + " by " + id);
  }
  if (method->type != "Multikey") {
    return Error(ErrorCode::kVerificationFailed, "verification method " + method->id +
                                                     " has unsupported type " + method->type);
  }
  return ParseEd25519Multibase(method->public_key_multibase);
}

Result<MethodKey> DidDocument::MethodKeyFor(std::string_view method_id,
                                            Relationship relationship) const {
  TCC_ASSIGN_OR_RETURN(PublicKey key, Ed25519KeyFor(method_id, relationship));
  return MethodKey{key, FindMethod(method_id)->controller};
}

Result<X25519PublicKey> DidDocument::KeyAgreementKey() const {
  for (const auto& method_id : key_agreement) {
    const VerificationMethod* method = FindMethod(method_id);
    if (method == nullptr) continue;
    if (auto key = ParseX25519Multibase(method->public_key_multibase); key.ok()) return key;
  }
  return Error(ErrorCode::kNotFound, "DID document of " + id + " has no X25519 keyAgreement key");
}

}  // namespace tcc::did
