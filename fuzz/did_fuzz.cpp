// DID parsing (tcc/did): DID documents arrive from the chain, written by whoever registered them;
// did:key identifiers, DID URLs and RFC 3339 stamps arrive inside every claim and proof.
// Properties: nothing crashes; a parsed document serializes to JSON that parses to a document
// with the same serialization, and every key lookup on it answers without crashing; a did:key the
// parser accepts is the canonical encoding of its key; a DID URL splits and joins back to the
// input; an accepted timestamp formats to text that parses to the same instant.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "tcc/did/document.h"

namespace {

using namespace tcc;

void CheckDocument(std::string_view text) {
  auto json = Json::Parse(text);
  if (!json.ok()) return;
  auto document = did::DidDocument::FromJson(*json);
  if (!document.ok()) return;
  const std::string serialized = document->ToJson().Serialize();
  auto again = did::DidDocument::FromJson(document->ToJson());
  fuzz::Require(again.ok(), "a parsed DID document's JSON does not parse: " +
                                (again.ok() ? std::string() : again.error().ToString()));
  fuzz::Require(again->ToJson().Serialize() == serialized, "a DID document does not round-trip");
  for (const auto& method : document->verification_methods) {
    for (auto relationship : {did::Relationship::kAuthentication, did::Relationship::kAssertionMethod,
                              did::Relationship::kKeyAgreement}) {
      (void)document->Ed25519KeyFor(method.id, relationship);
      (void)document->HasRelationship(relationship, method.id);
    }
  }
  (void)document->KeyAgreementKey();
}

void CheckIdentifiers(std::string_view text) {
  if (auto key = did::ParseDidKey(text); key.ok()) {
    fuzz::Require(did::DidKeyFromPublicKey(*key) == text, "an accepted did:key is not its key's canonical form");
  }
  if (auto key = did::ParseEd25519Multibase(text); key.ok()) {
    fuzz::Require(did::Ed25519Multibase(*key) == text, "an accepted Ed25519 multibase is not canonical");
  }
  if (auto key = did::ParseX25519Multibase(text); key.ok()) {
    fuzz::Require(did::X25519Multibase(*key) == text, "an accepted X25519 multibase is not canonical");
  }
  if (auto url = did::ParseDidUrl(text); url.ok()) {
    const std::string joined = text.find('#') == std::string_view::npos ? url->did : url->did + "#" + url->fragment;
    fuzz::Require(joined == text, "a DID URL does not split and join back");
  }
  if (auto stamp = ParseRfc3339(text); stamp.ok()) {
    auto again = ParseRfc3339(FormatRfc3339(*stamp));
    fuzz::Require(again.ok() && *again == *stamp, "an RFC 3339 stamp does not round-trip through FormatRfc3339");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = tcc::fuzz::AsText(data, size);
  CheckDocument(text);
  CheckIdentifiers(text);
  return 0;
}
