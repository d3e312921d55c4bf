// Issues and verifies a credential through the installed TCC package.
#include <iostream>

#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/credential.h"

int main() {
  auto key = tcc::did::KeyPair::Generate();
  auto credential = tcc::Json::Parse(
      R"({"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],)"
      R"("credentialSubject":{"id":"did:example:1"}})");
  if (!credential.ok()) return 1;
  auto issued = tcc::vc::IssueCredential(std::move(credential).value(), key);
  if (!issued.ok()) return 1;
  tcc::did::DidKeyResolver resolver;
  auto verified = tcc::vc::VerifyCredential(*issued, resolver);
  if (!verified.ok()) {
    std::cerr << verified.error().ToString() << "\n";
    return 1;
  }
  std::cout << "package consumer: issued and verified a credential from " << verified->issuer << "\n";
  return 0;
}
