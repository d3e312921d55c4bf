// Credential and proof verification: any JSON document goes through every verifier a TCC or a
// party runs on input from others (Data Integrity proofs, VC 2.0 credentials, TIC against the
// GPU-hour TIT, joint settlement claims and TSCs against its TST), with did:key resolution and a
// fixed clock. None may crash; and the verdicts must agree with each other: a TSC that verifies
// is a credential that verifies, whose subject is a joint claim that verifies, and it still
// verifies after a round trip through its canonical form.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"

namespace {

struct Fixture {
  tcc::vc::Template tit = tcc::fuzz::ExampleTemplate("gpu-hour.tit.json");
  tcc::vc::Template tst = tcc::fuzz::ExampleTemplate("gpu-hour.tst.json");
  tcc::did::DidKeyResolver resolver;
};

Fixture& TheFixture() {
  static Fixture fixture;
  return fixture;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc;
  auto parsed = Json::Parse(fuzz::AsText(data, size));
  if (!parsed.ok()) return 0;
  const Json& document = *parsed;
  Fixture& fixture = TheFixture();

  vc::ProofVerifyOptions proof_options;
  proof_options.now = fuzz::FixedNow();
  (void)vc::VerifyProofs(document, fixture.resolver, proof_options);

  vc::CredentialVerifyOptions credential_options;
  credential_options.now = fuzz::FixedNow();
  auto credential = vc::VerifyCredential(document, fixture.resolver, credential_options);
  (void)vc::IssuerId(document);
  (void)vc::CredentialHash(document);
  (void)vc::VerifyTic(document, fixture.tit, fixture.resolver, credential_options);

  const auto joint = vc::VerifyJointClaim(document, fixture.tst, fixture.resolver, proof_options);
  if (joint.ok()) fuzz::Require(vc::ReadSettlementLink(document).ok(), "a verified joint claim has no link");

  vc::TscVerifyOptions tsc_options;
  tsc_options.credential = credential_options;
  auto tsc = vc::VerifyTsc(document, fixture.tst, fixture.resolver, tsc_options);
  if (!tsc.ok()) return 0;

  fuzz::Require(credential.ok(), "a TSC verifies but the credential does not");
  const Json* subject = document.Find("credentialSubject");
  fuzz::Require(subject != nullptr, "a verified TSC has no credentialSubject");
  fuzz::Require(vc::VerifyJointClaim(*subject, fixture.tst, fixture.resolver, proof_options).ok(),
                "a verified TSC carries a joint claim that does not verify");
  auto canonical = fuzz::Expect(vc::Canonicalize(document), "canonical form of a verified TSC");
  auto reread = fuzz::Expect(Json::Parse(canonical), "reparse of a verified TSC");
  auto again = vc::VerifyTsc(reread, fixture.tst, fixture.resolver, tsc_options);
  fuzz::Require(again.ok() && again->seq == tsc->seq && again->prev == tsc->prev,
                "a verified TSC does not verify after a round trip through its canonical form");
  return 0;
}
