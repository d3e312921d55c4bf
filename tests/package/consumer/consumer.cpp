// A party program built against the installed TCC package: issues and verifies a credential,
// and encodes and decodes a channel frame with the wire library the SDK speaks.
#include <iostream>

#include "tcc/client/party_session.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/credential.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"

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
  auto ping =
      tcc::wire::DecodeMessage(tcc::wire::FrameBuilder(tcc::wire::MessageType::kPing, 7).Finish());
  if (!ping.ok() || ping->type != tcc::wire::MessageType::kPing || ping->id != 7) return 1;
  // The SDK's transport: a ZeroMQ context, as every PartySession opens one.
  auto context = tcc::wire::ZmqContext::Create(1);
  if (!context.ok()) return 1;
  tcc::client::PartySessionOptions options;
  std::cout << "package consumer: issued and verified a credential from " << verified->issuer
            << "; a ping frame round-trips; SDK and transport link without the daemon\n";
  return 0;
}
