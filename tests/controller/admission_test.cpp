// Admission alone: the ZAP decisions, the challenge-response with real did:key keys (sealed to
// the party, opened and signed by it, verified), single use and expiry of challenges, the rate
// limit per source, and the failure counts by reason. No socket: the test plays the party.
#include "admission.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"

namespace tcc::controller {
namespace {

using namespace std::chrono_literals;

const std::string kChannel(64, 'a');

struct Fixture {
  did::KeyPair tcc = did::KeyPair::Generate();
  did::KeyPair provider = did::KeyPair::Generate();
  did::KeyPair consumer = did::KeyPair::Generate();
  did::KeyPair auditor = did::KeyPair::Generate();
  did::KeyPair stranger = did::KeyPair::Generate();
  did::DidKeyResolver resolver;
  std::vector<std::string> counted;
  ChannelRecord record;
  std::string admin_key_hex = std::string(64, 'e');
  Admission admission;

  explicit Fixture(Admission::Options options = {})
      : admission(DidOf(tcc), {admin_key_hex}, options,
                  [this](std::string_view reason) { counted.emplace_back(reason); }) {
    record.channel_id = kChannel;
    record.provider = DidOf(provider);
    record.consumer = DidOf(consumer);
    record.auditors = {DidOf(auditor)};
  }
  static std::string DidOf(const did::KeyPair& key) {
    return did::DidKeyFromPublicKey(key.public_key());
  }

  // auth.begin through to the challenge remembered on the connection; returns the sealed box.
  Bytes Begin(Connection& connection, const did::KeyPair& party, SteadyClock::time_point now) {
    auto begun =
        admission.Begin(connection.peer_address, kChannel, &record, DidOf(party), now, 1000);
    REQUIRE_MESSAGE(begun.ok(), (begun.ok() ? "" : begun.error().ToString()));
    Result<Bytes> sealed = Admission::Seal(begun->challenge, resolver);
    auto pending = admission.Sealed(begun->challenge, begun->role, sealed, now);
    REQUIRE(pending.ok());
    connection.challenges[kChannel] = std::move(pending).value();
    return *sealed;
  }
};

std::vector<std::string_view> ZapFrames(std::string_view domain, const std::string& key) {
  return {"1.0", "7", domain, "10.0.0.1", "", "CURVE", key};
}

TEST_CASE("ZAP admits any CURVE client to the party socket and only admins to control") {
  Fixture f;
  const std::string key(32, '\x01');
  const auto party = f.admission.Zap(ZapFrames(kPartyDomain, key));
  CHECK(party.status == "200");
  CHECK(party.user_id == HexEncode(AsBytes(key)));

  const auto stranger = f.admission.Zap(ZapFrames(kControlDomain, key));
  CHECK(stranger.status == "400");
  CHECK(stranger.user_id.empty());
  CHECK(f.counted == std::vector<std::string>{"control_key_not_admin"});

  const std::string admin(32, '\xee');  // hex "ee..." is the fixture's admin key
  CHECK(f.admission.IsAdmin(HexEncode(AsBytes(admin))));
  CHECK(f.admission.Zap(ZapFrames(kControlDomain, admin)).status == "200");
  // Not CURVE, or a short key: refused without counting.
  auto plain = ZapFrames(kPartyDomain, key);
  plain[5] = "PLAIN";
  CHECK(f.admission.Zap(plain).status == "400");
  CHECK(f.admission.Zap(ZapFrames(kPartyDomain, "short")).status == "400");
  CHECK(f.admission.Zap({"1.0"}).status == "400");
  CHECK(f.admission.failures().at("control_key_not_admin") == 1);
}

TEST_CASE("a member opens its sealed challenge, signs it, and is verified in its role") {
  Fixture f;
  const auto now = SteadyClock::now();
  for (const auto* party : {&f.provider, &f.consumer, &f.auditor}) {
    Connection connection;
    connection.peer_address = "10.0.0.2";
    const Bytes sealed = f.Begin(connection, *party, now);
    auto challenge = did::OpenChallenge(sealed, *party);
    REQUIRE(challenge.ok());
    CHECK(challenge->binding.channel_id == kChannel);
    CHECK(challenge->binding.tcc_did == Fixture::DidOf(f.tcc));
    CHECK(challenge->binding.expires_ms == 1000 + 10000);
    const did::Signature signature = did::SignChallengeResponse(*challenge, *party);
    auto proof = f.admission.Prove(connection, kChannel, HexEncode(challenge->nonce),
                                   HexEncode(signature), now + 1s);
    REQUIRE(proof.ok());
    CHECK(connection.challenges.empty());  // spent
    CHECK(Admission::Verify(*proof, f.resolver).ok());
    const Role expected = party == &f.provider   ? Role::kProvider
                          : party == &f.consumer ? Role::kConsumer
                                                 : Role::kAuditor;
    CHECK(proof->challenge.role == expected);
    f.admission.Admitted();
  }
  CHECK(f.admission.admitted() == 3);
  CHECK(f.counted.empty());
}

TEST_CASE("refusals: not a member, unknown channel, wrong nonce, wrong signer, expired, reused") {
  Fixture f;
  const auto now = SteadyClock::now();
  Connection connection;
  connection.peer_address = "10.0.0.3";

  auto outsider = f.admission.Begin(connection.peer_address, kChannel, &f.record,
                                    Fixture::DidOf(f.stranger), now, 1000);
  REQUIRE_FALSE(outsider.ok());
  CHECK(outsider.error().code() == ErrorCode::kPermissionDenied);
  auto unknown = f.admission.Begin(connection.peer_address, kChannel, nullptr,
                                   Fixture::DidOf(f.provider), now, 1000);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code() == ErrorCode::kNotFound);

  // No challenge yet.
  auto early = f.admission.Prove(connection, kChannel, "00", "00", now);
  REQUIRE_FALSE(early.ok());

  // Wrong nonce: the challenge is spent anyway.
  f.Begin(connection, f.provider, now);
  auto wrong = f.admission.Prove(connection, kChannel, std::string(64, '0'), "00", now);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code() == ErrorCode::kVerificationFailed);
  CHECK_FALSE(f.admission.Prove(connection, kChannel, std::string(64, '0'), "00", now).ok());

  // Signed by another key than the DID's: the proof is taken, Verify refuses it.
  const Bytes sealed = f.Begin(connection, f.provider, now);
  auto challenge = did::OpenChallenge(sealed, f.provider);
  REQUIRE(challenge.ok());
  auto forged =
      f.admission.Prove(connection, kChannel, HexEncode(challenge->nonce),
                        HexEncode(did::SignChallengeResponse(*challenge, f.stranger)), now);
  REQUIRE(forged.ok());
  const Status verified = Admission::Verify(*forged, f.resolver);
  REQUIRE_FALSE(verified.ok());
  CHECK(verified.error().code() == ErrorCode::kVerificationFailed);
  f.admission.Refused("bad_signature");

  // Expired.
  const Bytes late_box = f.Begin(connection, f.consumer, now);
  auto late = did::OpenChallenge(late_box, f.consumer);
  REQUIRE(late.ok());
  auto expired =
      f.admission.Prove(connection, kChannel, HexEncode(late->nonce),
                        HexEncode(did::SignChallengeResponse(*late, f.consumer)), now + 11s);
  REQUIRE_FALSE(expired.ok());
  CHECK(expired.error().message().find("expired") != std::string::npos);

  CHECK(f.counted == std::vector<std::string>{"not_a_member", "unknown_channel", "no_challenge",
                                              "wrong_nonce", "no_challenge", "bad_signature",
                                              "expired"});
  CHECK(f.admission.failures().at("no_challenge") == 2);
}

TEST_CASE("a DID that cannot be resolved is refused when its challenge is sealed") {
  Fixture f;
  f.record.auditors.push_back("did:key:zNotAKey");
  auto begun =
      f.admission.Begin("10.0.0.4", kChannel, &f.record, "did:key:zNotAKey", SteadyClock::now(), 0);
  REQUIRE(begun.ok());
  CHECK(begun->role == Role::kAuditor);
  Result<Bytes> sealed = Admission::Seal(begun->challenge, f.resolver);
  REQUIRE_FALSE(sealed.ok());
  auto pending = f.admission.Sealed(begun->challenge, begun->role, sealed, SteadyClock::now());
  REQUIRE_FALSE(pending.ok());
  CHECK(pending.error().message().find("resolve did:key:zNotAKey") != std::string::npos);
  REQUIRE(f.counted.size() == 1);
  CHECK((f.counted[0] == "unknown_did" || f.counted[0] == "unresolvable_did"));
}

TEST_CASE("auth.begin is rate limited per source address, with a burst of twice the rate") {
  Fixture f(Admission::Options{.auth_rate_per_source = 2, .challenge_ttl = 10s});
  const auto now = SteadyClock::now();
  auto attempt = [&](std::string_view address, SteadyClock::time_point at) {
    return f.admission.Begin(address, kChannel, &f.record, Fixture::DidOf(f.provider), at, 0);
  };
  for (int i = 0; i < 4; ++i) CHECK(attempt("10.0.0.5", now).ok());
  auto limited = attempt("10.0.0.5", now);
  REQUIRE_FALSE(limited.ok());
  CHECK(limited.error().code() == ErrorCode::kResourceExhausted);
  CHECK(attempt("10.0.0.6", now).ok());          // another source has its own bucket
  CHECK(attempt("10.0.0.5", now + 500ms).ok());  // one token back after half a second
  CHECK_FALSE(attempt("10.0.0.5", now + 500ms).ok());
  CHECK(f.admission.failures().at("rate_limited") == 2);
}

}  // namespace
}  // namespace tcc::controller
