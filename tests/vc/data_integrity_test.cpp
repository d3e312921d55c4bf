#include <doctest/doctest.h>

#include "tcc/common/base58.h"
#include "tcc/common/sha256.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/vc/jcs.h"
#include "test_util.h"

namespace tcc::vc {
namespace {

using testing::ReadVector;
using testing::ReadVectorJson;

const char* const kSignedVectors[] = {"01-minimal",        "02-claim-1kb", "03-claim-2kb",
                                      "04-claim-4kb",      "05-unicode-escapes", "06-numbers",
                                      "07-w3c-spec-alumni"};

Timestamp At(std::string_view text) { return ParseRfc3339(text).value(); }

std::string MustCanonicalize(const Json& value) { return Canonicalize(value).value(); }


TEST_CASE("signed vectors 01-07: every intermediate value and the signed bytes match") {
  did::DidKeyResolver resolver;
  for (const char* name : kSignedVectors) {
    INFO(name);
    std::string dir = std::string("eddsa-jcs-2022/") + name + "/";
    Json vector = ReadVectorJson(dir + "vector.json");
    did::KeyPair key = did::KeyPair::FromSeed(HexDecode(vector.GetString("seedHex").value()).value()).value();
    CHECK(did::DidKeyFromPublicKey(key.public_key()) == vector.GetString("did").value());
    std::string unsigned_text = ReadVector(dir + "unsigned.json");
    CHECK(HexEncode(Sha256(std::string_view(unsigned_text))) == vector.GetString("unsignedFileSha256Hex").value());
    Json unsigned_credential = Json::Parse(unsigned_text).value();

    ProofOptions options;
    options.verification_method = std::string(vector.GetString("verificationMethod").value());
    options.created = std::string(vector.GetString("created").value());
    Json proof = CreateProof(unsigned_credential, key, options).value();

    Json proof_config = proof;
    proof_config.Erase("proofValue");
    std::string canonical_config = MustCanonicalize(proof_config);
    CHECK(canonical_config == ReadVector(dir + "proofConfig.jcs"));
    CHECK(canonical_config == vector.GetString("canonicalProofConfig").value());
    CHECK(HexEncode(Sha256(std::string_view(canonical_config))) == vector.GetString("proofConfigHashHex").value());
    std::string canonical_document = MustCanonicalize(unsigned_credential);
    CHECK(canonical_document == ReadVector(dir + "document.jcs"));
    CHECK(HexEncode(Sha256(std::string_view(canonical_document))) == vector.GetString("documentHashHex").value());
    Bytes signature = MultibaseDecode(proof.GetString("proofValue").value()).value();
    CHECK(HexEncode(signature) == vector.GetString("signatureHex").value());
    CHECK(proof.GetString("proofValue").value() == vector.GetString("proofValue").value());

    Json signed_credential = unsigned_credential;
    signed_credential.Set("proof", proof);
    std::string signed_canonical = MustCanonicalize(signed_credential);
    CHECK(signed_canonical == ReadVector(dir + "signed.jcs"));
    CHECK(HexEncode(Sha256(std::string_view(signed_canonical))) == vector.GetString("signedJcsSha256Hex").value());

    // Issued as canonical text (the proof spliced into the signed text): the same bytes. (07's
    // issuer is not its key's DID: IssueCredential refuses to issue that one.)
    if (IssuerId(unsigned_credential).value() == vector.GetString("did").value()) {
      auto issued = IssueCanonicalCredential(
          unsigned_credential, key,
          {.created = options.created, .verification_method = options.verification_method});
      REQUIRE_MESSAGE(issued.ok(), issued.error().ToString());
      CHECK(issued->text == ReadVector(dir + "signed.jcs"));
      CHECK(HexEncode(issued->digest) == vector.GetString("signedJcsSha256Hex").value());
      CHECK(issued->SubjectDigest() ==
            Sha256(MustCanonicalize(*unsigned_credential.Find("credentialSubject"))));
    }

    // The published signed credential verifies as given.
    Json published = ReadVectorJson(dir + "signed.json");
    auto verified = VerifyProofs(published, resolver, {.now = At("2026-01-01T00:00:00Z")});
    REQUIRE_MESSAGE(verified.ok(), verified.error().ToString());
    CHECK(verified->at(0).controller == vector.GetString("did").value());
  }
}

TEST_CASE("the W3C vc-di-eddsa eddsa-jcs-2022 test vector, byte for byte") {
  const std::string dir = "w3c-vc-di-eddsa/";
  Json key_pair = ReadVectorJson(dir + "keyPair.json");
  did::KeyPair key = did::KeyPair::FromSecretKeyMultibase(key_pair.GetString("privateKeyMultibase").value()).value();
  CHECK(did::Ed25519Multibase(key.public_key()) == key_pair.GetString("publicKeyMultibase").value());
  Json unsigned_credential = ReadVectorJson(dir + "unsigned.json");
  Json expected_config = ReadVectorJson(dir + "eddsa-jcs-2022/proofConfigJCS.json");

  ProofOptions options;
  options.verification_method = std::string(expected_config.GetString("verificationMethod").value());
  options.created = std::string(expected_config.GetString("created").value());
  Json proof = CreateProof(unsigned_credential, key, options).value();
  Json proof_config = proof;
  proof_config.Erase("proofValue");
  CHECK(proof_config == expected_config);  // same members, whatever the order
  std::string canonical_config = MustCanonicalize(proof_config);
  std::string canonical_document = MustCanonicalize(unsigned_credential);
  CHECK(canonical_config == ReadVector(dir + "eddsa-jcs-2022/proofCanonJCS.txt"));
  CHECK(canonical_document == ReadVector(dir + "eddsa-jcs-2022/canonDocJCS.txt"));
  std::string config_hash = HexEncode(Sha256(std::string_view(canonical_config)));
  std::string document_hash = HexEncode(Sha256(std::string_view(canonical_document)));
  CHECK(config_hash == ReadVector(dir + "eddsa-jcs-2022/proofHashJCS.txt"));
  CHECK(document_hash == ReadVector(dir + "eddsa-jcs-2022/docHashJCS.txt"));
  CHECK(config_hash + document_hash == ReadVector(dir + "eddsa-jcs-2022/combinedHashJCS.txt"));
  std::string proof_value(proof.GetString("proofValue").value());
  CHECK(HexEncode(MultibaseDecode(proof_value).value()) == ReadVector(dir + "eddsa-jcs-2022/sigHexJCS.txt"));
  CHECK(proof_value == ReadVector(dir + "eddsa-jcs-2022/sigBTC58JCS.txt"));

  Json expected_signed = ReadVectorJson(dir + "eddsa-jcs-2022/signedJCS.json");
  Json signed_credential = unsigned_credential;
  signed_credential.Set("proof", proof);
  CHECK(MustCanonicalize(signed_credential) == MustCanonicalize(expected_signed));

  did::DidKeyResolver resolver;
  CHECK(VerifyProofs(expected_signed, resolver).ok());
  // Its issuer is an https URL, not the key's controller: a credential verifier must say so.
  auto as_credential = VerifyCredential(expected_signed, resolver);
  REQUIRE_FALSE(as_credential.ok());
  CHECK(as_credential.error().message().find("does not belong to the issuer") != std::string::npos);
}

struct Fixture {
  did::KeyPair issuer = did::KeyPair::FromSeed(Bytes(32, 1)).value();
  did::KeyPair other = did::KeyPair::FromSeed(Bytes(32, 2)).value();
  did::DidKeyResolver resolver;

  Json Unsigned() const {
    return Json::Parse(R"({"@context":["https://www.w3.org/ns/credentials/v2"],"type":["VerifiableCredential"],
      "validFrom":"2025-01-01T00:00:00Z","validUntil":"2030-01-01T00:00:00Z",
      "credentialSubject":{"id":"did:example:subject","fee":12.5}})").value();
  }
  Json Issued() const { return IssueCredential(Unsigned(), issuer, {.created = "2025-06-01T00:00:00Z"}).value(); }
  Status Verify(const Json& credential, std::string_view now = "2026-01-01T00:00:00Z") {
    auto result = VerifyCredential(credential, const_cast<did::DidKeyResolver&>(resolver), {.now = At(now)});
    if (!result.ok()) return result.error();
    return OkStatus();
  }
};

std::string FailureOf(const Status& status) { return status.ok() ? "ok" : status.error().message(); }

TEST_CASE_FIXTURE(Fixture, "issued credentials verify; every tampering is caught with a reason") {
  Json issued = Issued();
  CHECK(issued.GetString("issuer").value() == did::DidKeyFromPublicKey(issuer.public_key()));
  CHECK(Verify(issued).ok());

  Json altered = issued;
  altered.Find("credentialSubject")->Set("fee", 13);
  CHECK(FailureOf(Verify(altered)).find("signature does not verify") != std::string::npos);

  Json wrong_purpose = issued;
  wrong_purpose.Find("proof")->Set("proofPurpose", "authentication");
  CHECK(FailureOf(Verify(wrong_purpose)).find("proofPurpose") != std::string::npos);

  Json wrong_suite = issued;
  wrong_suite.Find("proof")->Set("cryptosuite", "eddsa-rdfc-2022");
  CHECK(FailureOf(Verify(wrong_suite)).find("not supported") != std::string::npos);

  Json no_z = issued;
  std::string value = no_z.Find("proof")->GetString("proofValue").value().data();
  no_z.Find("proof")->Set("proofValue", value.substr(1));
  CHECK(FailureOf(Verify(no_z)).find("multibase") != std::string::npos);

  Json short_signature = issued;
  short_signature.Find("proof")->Set("proofValue", "z3yZe");
  CHECK(FailureOf(Verify(short_signature)).find("64-byte") != std::string::npos);

  Json no_proof = issued;
  no_proof.Erase("proof");
  CHECK(FailureOf(Verify(no_proof)).find("no proof") != std::string::npos);

  Json foreign_issuer = issued;
  foreign_issuer.Set("issuer", did::DidKeyFromPublicKey(other.public_key()));
  CHECK_FALSE(Verify(foreign_issuer).ok());

  Json context_mismatch = issued;
  context_mismatch.Find("proof")->Set("@context", JsonArray{Json("https://example.org/other")});
  CHECK(FailureOf(Verify(context_mismatch)).find("@context") != std::string::npos);

  Json unknown_method = issued;
  unknown_method.Find("proof")->Set("verificationMethod", did::DidKeyFromPublicKey(issuer.public_key()) + "#other");
  CHECK(FailureOf(Verify(unknown_method)).find("not in the DID document") != std::string::npos);

  Json bad_created = issued;
  bad_created.Find("proof")->Set("created", "yesterday");
  CHECK(FailureOf(Verify(bad_created)).find("created") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "validity period and creation time are enforced") {
  Json issued = Issued();
  CHECK(FailureOf(Verify(issued, "2024-01-01T00:00:00Z")).find("not valid yet") != std::string::npos);
  CHECK(FailureOf(Verify(issued, "2031-01-01T00:00:00Z")).find("expired") != std::string::npos);
  Json future = IssueCredential(Unsigned(), issuer, {.created = "2027-01-01T00:00:00Z"}).value();
  CHECK(FailureOf(Verify(future)).find("future") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "proof created and expires without an offset are read as UTC (VC Data Integrity)") {
  Json issued = IssueCredential(Unsigned(), issuer, {.created = "2025-06-01T00:00:00"}).value();
  CHECK(issued.Find("proof")->GetString("created").value() == "2025-06-01T00:00:00");
  CHECK(Verify(issued).ok());
  // UTC, not some other zone: a minute past "now" is within the clock skew, six are not.
  CHECK(Verify(issued, "2025-05-31T23:59:00Z").ok());
  CHECK(FailureOf(Verify(issued, "2025-05-31T23:54:00Z")).find("future") != std::string::npos);
  ProofOptions expiring{.verification_method = did::DidKeyVerificationMethod(issuer.public_key()),
                        .created = "2025-06-01T00:00:00Z"};
  expiring.expires = "2026-06-01T00:00:00";
  Json credential = Unsigned();
  credential.Set("issuer", did::DidKeyFromPublicKey(issuer.public_key()));
  REQUIRE(AddProof(credential, issuer, expiring).ok());
  CHECK(Verify(credential, "2026-05-31T23:00:00Z").ok());
  CHECK(FailureOf(Verify(credential, "2026-06-01T00:10:00Z")).find("expired") != std::string::npos);
  // Other malformed stamps are refused as before.
  Json bad = IssueCredential(Unsigned(), issuer, {.created = "2025-06-01T00:00:00Z"}).value();
  bad.Find("proof")->Set("created", "2025-06-01T00:00");
  CHECK(FailureOf(Verify(bad)).find("created") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "a key that is not the issuer's cannot issue for it") {
  Json credential = Unsigned();
  credential.Set("issuer", did::DidKeyFromPublicKey(other.public_key()));
  auto refused = IssueCredential(credential, issuer);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message().find("does not control") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "credential shape checks name the defect") {
  auto shape = [&](std::string_view member, Json value) {
    Json credential = Unsigned();
    credential.Set("issuer", "did:example:issuer");
    if (value.is_null()) credential.Erase(member); else credential.Set(member, std::move(value));
    return FailureOf(CheckCredentialShape(credential));
  };
  CHECK(shape("type", Json()) == "not a VC 2.0 credential: missing type");
  CHECK(shape("type", JsonArray{Json("Other")}).find("VerifiableCredential") != std::string::npos);
  CHECK(shape("credentialSubject", Json()).find("credentialSubject") != std::string::npos);
  CHECK(shape("@context", JsonArray{Json("https://www.w3.org/2018/credentials/v1")}).find("@context") != std::string::npos);
  CHECK(shape("validFrom", "2025-13-01T00:00:00Z").find("validFrom") != std::string::npos);
  CHECK(shape("validUntil", "2020-01-01T00:00:00Z").find("precedes") != std::string::npos);
  CHECK(shape("credentialSchema", Json::Object()).find("credentialSchema") != std::string::npos);
  CHECK(shape("issuer", 5).find("issuer") != std::string::npos);
  CHECK(shape("id", 5).find("id") != std::string::npos);
}

TEST_CASE_FIXTURE(Fixture, "proof sets: two parties sign one claim independently") {
  Json claim = Json::Parse(R"({"channel":"c1","seq":1,"fee":3})").value();
  REQUIRE(AddProof(claim, issuer, {.verification_method = did::DidKeyVerificationMethod(issuer.public_key()),
                                   .created = "2025-01-01T00:00:00Z"}).ok());
  REQUIRE(AddProof(claim, other, {.verification_method = did::DidKeyVerificationMethod(other.public_key()),
                                  .created = "2025-01-01T00:00:00Z"}).ok());
  REQUIRE(claim.Find("proof")->is_array());
  auto verified = VerifyProofs(claim, resolver, {.now = At("2026-01-01T00:00:00Z")});
  REQUIRE(verified.ok());
  REQUIRE(verified->size() == 2);
  CHECK(verified->at(0).controller == did::DidKeyFromPublicKey(issuer.public_key()));
  CHECK(verified->at(1).controller == did::DidKeyFromPublicKey(other.public_key()));
  // Either signature alone is bound to the same claim: altering the claim breaks both.
  claim.Set("fee", 4);
  CHECK_FALSE(VerifyProofs(claim, resolver, {.now = At("2026-01-01T00:00:00Z")}).ok());
}

TEST_CASE_FIXTURE(Fixture, "authentication proofs bind a challenge and domain") {
  Json message = Json::Parse(R"({"channel":"c1"})").value();
  ProofOptions options{.verification_method = did::DidKeyVerificationMethod(issuer.public_key()),
                       .proof_purpose = "authentication", .challenge = "nonce-1", .domain = "did:example:tcc"};
  REQUIRE(AddProof(message, issuer, options).ok());
  ProofVerifyOptions verify{.expected_purpose = "authentication", .expected_challenge = "nonce-1",
                            .expected_domain = "did:example:tcc"};
  CHECK(VerifyProofs(message, resolver, verify).ok());
  verify.expected_challenge = "nonce-2";
  CHECK_FALSE(VerifyProofs(message, resolver, verify).ok());
}

}  // namespace
}  // namespace tcc::vc
