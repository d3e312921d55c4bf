#include <doctest/doctest.h>

#include <limits>

#include "tcc/did/did_key.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"
#include "test_util.h"

namespace tcc::vc {
namespace {

using testing::ReadVectorJson;

Template LoadExample(const std::string& name) {
  auto parsed = Template::FromJson(testing::ReadExampleJson(name));
  REQUIRE_MESSAGE(parsed.ok(), name << ": " << (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

Json LoadClaim(const std::string& name) { return testing::ReadExampleJson("claims/" + name); }

std::string FailureOf(const auto& result) { return result.ok() ? std::string("ok") : result.error().message(); }

// The example templates are owned by the RFC 8032 TEST 1 key (provider); TEST 2 is the consumer.
struct Trade {
  Json identities = ReadVectorJson("identities.json");
  did::KeyPair provider = Key("issuer");
  did::KeyPair consumer = Key("holder");
  did::KeyPair tcc = did::KeyPair::FromSeed(Bytes(32, 9)).value();
  Template tit = LoadExample("gpu-hour.tit.json");
  Template tst = LoadExample("gpu-hour.tst.json");
  did::DidKeyResolver resolver;

  did::KeyPair Key(const char* who) {
    return did::KeyPair::FromSeed(HexDecode(identities.Find(who)->GetString("seedHex").value()).value()).value();
  }
  Json Tic() {
    Json application = ApplyForTic(tit, LoadClaim("gpu-hour.tic-claim.json")).value();
    return IssueTic(std::move(application), tit, provider).value();
  }
  Json Claim(const std::string& channel, std::uint64_t seq, const std::string& prev) {
    Json claim = LoadClaim("gpu-hour.tsc-claim.json");
    claim.Set("channel", channel);
    claim.Set("seq", seq);
    claim.Set("prev", prev);
    return claim;
  }
  Json Joint(const std::string& channel, std::uint64_t seq, const std::string& prev) {
    Json proposal = ProposeSettlement(tst, Claim(channel, seq, prev), provider).value();
    return CosignSettlement(tst, std::move(proposal), consumer, resolver).value();
  }
};

TEST_CASE_FIXTURE(Trade, "a TIC is applied for, issued by the provider, verified, and names the channel") {
  Json tic = Tic();
  auto verified = VerifyTic(tic, tit, resolver);
  REQUIRE_MESSAGE(verified.ok(), FailureOf(verified));
  CHECK(verified->provider == did::DidKeyFromPublicKey(provider.public_key()));
  CHECK(verified->consumer == did::DidKeyFromPublicKey(consumer.public_key()));
  CHECK(verified->tst_id == "example.gpu-hour.tst");
  CHECK(verified->tst_version == 1);
  CHECK(verified->channel_id == CredentialHash(tic).value());
  CHECK(verified->channel_id.size() == 64);
  // The digest is the hash CredentialHash writes as hex; a document that cannot be canonicalized
  // has neither.
  CHECK(HexEncode(CredentialDigest(tic).value()) == verified->channel_id);
  CHECK_FALSE(CredentialDigest(Json(std::numeric_limits<double>::quiet_NaN())).ok());
  CHECK(tic.Find("credentialSchema")->GetString("contentHash").value() == tit.content_hash_hex());
}

TEST_CASE_FIXTURE(Trade, "templates are named by URN (credentialSchema.id is a URL); the short id is name") {
  Json tic = Tic();
  const Json& schema = *tic.Find("credentialSchema");
  CHECK(schema.GetString("id").value() == "urn:tcc:template:" + tit.id());
  CHECK(schema.GetString("name").value() == tit.id());
  auto named = ReadNamedTemplate(tic);
  REQUIRE(named.ok());
  CHECK(named->id == tit.id());
  CHECK(named->version == tit.version());
  // A URN whose name says another template is refused.
  Json mismatched = tic;
  mismatched.Find("credentialSchema")->Set("name", "other.tit");
  CHECK_FALSE(ReadNamedTemplate(mismatched).ok());
  CHECK_FALSE(VerifyTic(mismatched, tit, resolver).ok());
  // Credentials from before the URN (the bare id, no name) are still read and verified.
  Json application = ApplyForTic(tit, LoadClaim("gpu-hour.tic-claim.json")).value();
  Json legacy_reference = *application.Find("credentialSchema");
  legacy_reference.Set("id", tit.id());
  legacy_reference.Erase("name");
  application.Set("credentialSchema", legacy_reference);
  auto legacy = IssueTic(application, tit, provider);
  REQUIRE_MESSAGE(legacy.ok(), FailureOf(legacy));
  CHECK(ReadNamedTemplate(*legacy).value().id == tit.id());
  CHECK(VerifyTic(*legacy, tit, resolver).ok());
}

TEST_CASE_FIXTURE(Trade, "TIC rules: the claim must fit the TIT and only its provider may issue") {
  Json bad_claim = LoadClaim("gpu-hour.tic-claim.json");
  bad_claim.Find("computeSpec")->Set("gpuCount", 0);
  CHECK(FailureOf(ApplyForTic(tit, bad_claim)).find("/computeSpec/gpuCount") != std::string::npos);
  CHECK_FALSE(ApplyForTic(tst, LoadClaim("gpu-hour.tic-claim.json")).ok());  // a TST is not a TIT

  Json application = ApplyForTic(tit, LoadClaim("gpu-hour.tic-claim.json")).value();
  auto by_consumer = IssueTic(application, tit, consumer);
  REQUIRE_FALSE(by_consumer.ok());
  CHECK(by_consumer.error().code() == ErrorCode::kPermissionDenied);

  Json tic = Tic();
  Json altered = tic;
  altered.Find("credentialSubject")->Find("unitPrice")->Set("amount", "0.01");
  CHECK_FALSE(VerifyTic(altered, tit, resolver).ok());
  Json other_template = tic;
  other_template.Find("credentialSchema")->Set("version", 2);
  CHECK_FALSE(VerifyTic(other_template, tit, resolver).ok());
}

TEST_CASE_FIXTURE(Trade, "settlements chain: propose, co-sign, issue, verify both levels and the hash link") {
  Json tic = Tic();
  std::string channel = CredentialHash(tic).value();
  std::string prev = channel;  // seq 1 links to the TIC
  std::string tcc_did = did::DidKeyFromPublicKey(tcc.public_key());
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    Json joint = Joint(channel, seq, prev);
    REQUIRE(joint.Find("proof")->as_array().size() == 2);
    REQUIRE(VerifyJointClaim(joint, tst, resolver).ok());
    Json tsc = IssueTsc(std::move(joint), tst, tcc).value();
    CHECK(tsc.GetString("issuer").value() == tcc_did);
    auto link = VerifyTsc(tsc, tst, resolver, {.expected_issuer = tcc_did, .expected_prev = prev});
    REQUIRE_MESSAGE(link.ok(), FailureOf(link));
    CHECK(link->seq == seq);
    CHECK(link->channel == channel);
    std::string next = CredentialHash(tsc).value();
    CHECK_FALSE(VerifyTsc(tsc, tst, resolver, {.expected_prev = next}).ok());
    prev = next;
  }
}

TEST_CASE_FIXTURE(Trade, "a TSC issued as canonical text is the canonical form of the issued TSC") {
  const std::string channel = CredentialHash(Tic()).value();
  const std::string created = "2026-03-01T12:00:00Z";
  const Json joint = Joint(channel, 1, channel);
  const std::string tsc_text = Canonicalize(IssueTsc(joint, tst, tcc, created).value()).value();
  auto issued = IssueCanonicalTsc(joint, tst, tcc, created);
  REQUIRE_MESSAGE(issued.ok(), FailureOf(issued));
  CHECK(issued->text == tsc_text);
  CHECK(issued->digest == Sha256(std::string_view(tsc_text)));
  CHECK(issued->SubjectDigest() == Sha256(std::string_view(Canonicalize(joint).value())));
  const Json parsed = Json::Parse(issued->text).value();
  CHECK(VerifyTsc(parsed, tst, resolver, {.expected_prev = channel}).ok());
  CHECK_FALSE(IssueCanonicalTsc(joint, tit, tcc, created).ok());
}

TEST_CASE_FIXTURE(
    Trade, "TICs and TSCs are recognised by their type, or by the claim template they name") {
  const Json tic = Tic();
  const std::string channel = CredentialHash(tic).value();
  const Json tsc = IssueTsc(Joint(channel, 1, channel), tst, tcc).value();
  CHECK(TradeCredentialKind(tic) == kTicType);
  CHECK(TradeCredentialKind(tsc) == kTscType);
  Json untyped = tsc;
  untyped.Set("type", JsonArray{Json("VerifiableCredential")});
  CHECK(TradeCredentialKind(untyped) == kTemplateSchemaType);
  untyped.Set("credentialSchema",
              JsonArray{Json(JsonObject{{"id", Json("x")}}), *tsc.Find("credentialSchema")});
  CHECK(TradeCredentialKind(untyped) == kTemplateSchemaType);
  untyped.Erase("credentialSchema");
  CHECK_FALSE(TradeCredentialKind(untyped).has_value());
  CHECK_FALSE(TradeCredentialKind(Json("not an object")).has_value());
}

TEST_CASE_FIXTURE(Trade, "settlement rules: every party check and every tampering fails with a reason") {
  std::string channel(64, 'a');
  Json claim = Claim(channel, 1, channel);

  CHECK(FailureOf(ProposeSettlement(tst, claim, consumer)).find("not the claim's provider") != std::string::npos);
  Json unlinked = claim;
  unlinked.Erase("seq");
  CHECK(FailureOf(ProposeSettlement(tst, unlinked, provider)).find("seq") != std::string::npos);
  Json fractional = claim;
  fractional.Set("seq", 1.5);
  CHECK_FALSE(ProposeSettlement(tst, fractional, provider).ok());
  Json over_budget = claim;
  over_budget.Find("usage")->Set("gpuSeconds", 5000);
  CHECK(FailureOf(ProposeSettlement(tst, over_budget, provider)).find("/usage/gpuSeconds") != std::string::npos);

  Json proposal = ProposeSettlement(tst, claim, provider).value();
  CHECK(FailureOf(CosignSettlement(tst, proposal, provider, resolver)).find("consumer") != std::string::npos);
  Json altered_proposal = proposal;
  altered_proposal.Find("fee")->Set("amount", "9.99");
  CHECK(FailureOf(CosignSettlement(tst, altered_proposal, consumer, resolver)).find("signature") != std::string::npos);

  Json joint = CosignSettlement(tst, proposal, consumer, resolver).value();
  Json altered_joint = joint;
  altered_joint.Set("seq", 2);
  CHECK_FALSE(VerifyJointClaim(altered_joint, tst, resolver).ok());
  Json one_proof = joint;
  one_proof.Set("proof", JsonArray{joint.Find("proof")->as_array()[0]});
  CHECK(FailureOf(VerifyJointClaim(one_proof, tst, resolver)).find("exactly two") != std::string::npos);
  Json consumer_twice = joint;
  consumer_twice.Set("proof", JsonArray{joint.Find("proof")->as_array()[1], joint.Find("proof")->as_array()[1]});
  CHECK(FailureOf(VerifyJointClaim(consumer_twice, tst, resolver)).find("provider") != std::string::npos);

  Json tsc = IssueTsc(joint, tst, tcc).value();
  Json altered_tsc = tsc;
  altered_tsc.Find("credentialSubject")->Find("usage")->Set("gpuSeconds", 1);
  CHECK_FALSE(VerifyTsc(altered_tsc, tst, resolver).ok());
  CHECK(FailureOf(VerifyTsc(tsc, tst, resolver, {.expected_issuer = "did:key:z6Mkother"})).find("not by the TCC") != std::string::npos);
  CHECK_FALSE(VerifyTsc(tsc, tit, resolver).ok());
}

}  // namespace
}  // namespace tcc::vc
