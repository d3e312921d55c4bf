// Documents for registered (non did:key) DIDs in tests: the controller's resolver tests and the
// EVM rotation test register and rotate them on a chain.
#pragma once

#include <string>

#include "tcc/did/did_key.h"
#include "tcc/did/document.h"
#include "tcc/did/key_pair.h"

namespace tcc::testing {

// A document for `subject` whose one verification method holds `key` (a did:key document with
// every id renamed to the subject).
inline std::string DocumentFor(const std::string& subject, const did::KeyPair& key) {
  did::DidDocument document = did::DidDocument::ForDidKey(key.public_key());
  const std::string old_id = document.id;
  auto rename = [&](std::string& text) {
    if (text.rfind(old_id, 0) == 0) text = subject + text.substr(old_id.size());
  };
  rename(document.id);
  for (auto& method : document.verification_methods) {
    rename(method.id);
    rename(method.controller);
  }
  for (auto* list : {&document.authentication, &document.assertion_method, &document.key_agreement}) {
    for (auto& entry : *list) rename(entry);
  }
  return document.ToJson().Serialize();
}

}  // namespace tcc::testing
