#include <doctest/doctest.h>
#include <sodium.h>

#include <string>

#include "tcc/common/bytes.h"
#include "tcc/common/secure_memory.h"
#include "tcc/did/challenge.h"
#include "tcc/did/key_pair.h"

namespace tcc::did {
namespace {

// The fixed challenge whose transcript and plaintext the tests spell out byte by byte.
Challenge FixedChallenge() {
  Challenge challenge;
  challenge.binding = {"ch", "did:t", "did:p", 0x0102030405060708};
  for (std::size_t i = 0; i < challenge.nonce.size(); ++i) {
    challenge.nonce[i] = static_cast<std::uint8_t>(i);
  }
  return challenge;
}

// Written out by hand from the documented layout, not computed, so the format is pinned.
constexpr std::string_view kFixedBodyHex =
    "00"                                                                 // separator
    "00000002" "6368"                                                    // "ch"
    "00000005" "6469643a74"                                              // "did:t"
    "00000005" "6469643a70"                                              // "did:p"
    "0102030405060708"                                                   // expires_ms
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";  // nonce
constexpr std::string_view kAuthDomainHex = "7463632f617574682f7631";                 // tcc/auth/v1
constexpr std::string_view kSealedMagicHex = "7463632f6368616c6c656e67652f7631";      // tcc/challenge/v1

Challenge RealisticChallenge() {
  Challenge challenge;
  challenge.binding.channel_id = std::string(64, 'a');
  challenge.binding.tcc_did = "did:tcc:operator-1";
  challenge.binding.party_did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
  challenge.binding.expires_ms = 1767225600000;
  challenge.nonce = NewChallengeNonce();
  return challenge;
}

// A sealed box around arbitrary plaintext, as a hostile or buggy TCC could send.
Bytes SealRaw(ByteView plaintext, const X25519PublicKey& recipient) {
  EnsureSodiumInitialized();
  Bytes sealed(plaintext.size() + crypto_box_SEALBYTES);
  REQUIRE(crypto_box_seal(sealed.data(), plaintext.data(), plaintext.size(), recipient.data()) == 0);
  return sealed;
}

Bytes Hex(std::string_view hex) { return HexDecode(hex).value(); }

TEST_CASE("challenge: fresh nonces are random") {
  ChallengeNonce a = NewChallengeNonce();
  ChallengeNonce b = NewChallengeNonce();
  CHECK(a != b);
  CHECK(a != ChallengeNonce{});
}

TEST_CASE("challenge: the transcript has the documented layout") {
  Bytes transcript = ChallengeTranscript(FixedChallenge());
  CHECK(HexEncode(transcript) == std::string(kAuthDomainHex) + std::string(kFixedBodyHex));
  CHECK(transcript.size() == 11 + 1 + 6 + 9 + 9 + 8 + 32);
}

TEST_CASE("challenge: seal and open round trip") {
  KeyPair party = KeyPair::Generate();
  Challenge challenge = RealisticChallenge();
  auto sealed = SealChallenge(challenge, party.X25519Public());
  REQUIRE(sealed.ok());
  auto opened = OpenChallenge(*sealed, party);
  REQUIRE(opened.ok());
  CHECK(opened->binding == challenge.binding);
  CHECK(opened->nonce == challenge.nonce);

  // Sealing is randomized (ephemeral sender key): the same challenge never gives the same box.
  auto again = SealChallenge(challenge, party.X25519Public());
  REQUIRE(again.ok());
  CHECK(*again != *sealed);
}

TEST_CASE("challenge: the sealed plaintext has the documented layout") {
  KeyPair party = KeyPair::Generate();
  Bytes plaintext = Hex(std::string(kSealedMagicHex) + std::string(kFixedBodyHex));
  auto opened = OpenChallenge(SealRaw(plaintext, party.X25519Public()), party);
  REQUIRE(opened.ok());
  CHECK(opened->binding == FixedChallenge().binding);
  CHECK(opened->nonce == FixedChallenge().nonce);

  auto sealed = SealChallenge(FixedChallenge(), party.X25519Public());
  REQUIRE(sealed.ok());
  CHECK(sealed->size() == plaintext.size() + crypto_box_SEALBYTES);
}

TEST_CASE("challenge: only the recipient opens the box") {
  KeyPair party = KeyPair::Generate();
  KeyPair other = KeyPair::Generate();
  auto sealed = SealChallenge(RealisticChallenge(), party.X25519Public());
  REQUIRE(sealed.ok());
  auto opened = OpenChallenge(*sealed, other);
  REQUIRE_FALSE(opened.ok());
  CHECK(opened.error().code() == ErrorCode::kVerificationFailed);
}

TEST_CASE("challenge: tampered or cut boxes do not open") {
  KeyPair party = KeyPair::Generate();
  auto sealed = SealChallenge(RealisticChallenge(), party.X25519Public());
  REQUIRE(sealed.ok());
  for (std::size_t i = 0; i < sealed->size(); ++i) {
    Bytes tampered = *sealed;
    tampered[i] ^= 0x01;
    auto opened = OpenChallenge(tampered, party);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code() == ErrorCode::kVerificationFailed);
  }
  Bytes cut(sealed->begin(), sealed->end() - 1);
  CHECK(OpenChallenge(cut, party).error().code() == ErrorCode::kVerificationFailed);
  Bytes extended = *sealed;
  extended.push_back(0);
  CHECK(OpenChallenge(extended, party).error().code() == ErrorCode::kVerificationFailed);
  CHECK(OpenChallenge(Bytes(crypto_box_SEALBYTES - 1), party).error().code() ==
        ErrorCode::kVerificationFailed);
  CHECK(OpenChallenge(Bytes{}, party).error().code() == ErrorCode::kVerificationFailed);
  // Larger than any challenge could be: refused before anything is allocated or opened.
  CHECK(OpenChallenge(Bytes(8192), party).error().code() == ErrorCode::kParse);
}

TEST_CASE("challenge: malformed plaintext in a box that opens is a parse error") {
  KeyPair party = KeyPair::Generate();
  const std::string valid = std::string(kSealedMagicHex) + std::string(kFixedBodyHex);
  auto open_hex = [&](const std::string& hex) {
    return OpenChallenge(SealRaw(Hex(hex), party.X25519Public()), party);
  };
  REQUIRE(open_hex(valid).ok());

  struct Case {
    const char* what;
    std::string hex;
  };
  const Case cases[] = {
      {"empty", ""},
      {"garbage", "deadbeef"},
      {"transcript domain instead of magic", std::string(kAuthDomainHex) + std::string(kFixedBodyHex)},
      {"magic without separator", std::string(kSealedMagicHex) + std::string(kFixedBodyHex.substr(2))},
      {"separator not zero", std::string(kSealedMagicHex) + "01" + std::string(kFixedBodyHex.substr(2))},
      {"missing last nonce byte", valid.substr(0, valid.size() - 2)},
      {"trailing byte", valid + "00"},
      {"only the magic", std::string(kSealedMagicHex) + "00"},
      {"string length past the end", std::string(kSealedMagicHex) + "00" + "000000ff" + "6368"},
      {"string length over 1 KiB", std::string(kSealedMagicHex) + "00" + "00000401" +
                                       std::string(2 * 1025, 'a')},
      {"huge string length", std::string(kSealedMagicHex) + "00" + "ffffffff" + "6368"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    auto opened = open_hex(c.hex);
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code() == ErrorCode::kParse);
  }
}

TEST_CASE("challenge: binding strings are limited to 1 KiB") {
  KeyPair party = KeyPair::Generate();
  Challenge challenge = RealisticChallenge();
  challenge.binding.party_did = std::string(1024, 'x');
  auto at_limit = SealChallenge(challenge, party.X25519Public());
  REQUIRE(at_limit.ok());
  CHECK(OpenChallenge(*at_limit, party)->binding == challenge.binding);

  for (std::string ChallengeBinding::*field :
       {&ChallengeBinding::channel_id, &ChallengeBinding::tcc_did, &ChallengeBinding::party_did}) {
    Challenge oversized = RealisticChallenge();
    oversized.binding.*field = std::string(1025, 'x');
    auto sealed = SealChallenge(oversized, party.X25519Public());
    REQUIRE_FALSE(sealed.ok());
    CHECK(sealed.error().code() == ErrorCode::kInvalidArgument);
  }
}

TEST_CASE("challenge: a low-order recipient key is refused") {
  auto sealed = SealChallenge(RealisticChallenge(), X25519PublicKey{});
  REQUIRE_FALSE(sealed.ok());
  CHECK(sealed.error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("challenge: the response signature binds every field") {
  KeyPair party = KeyPair::Generate();
  Challenge challenge = RealisticChallenge();
  Signature signature = SignChallengeResponse(challenge, party);
  CHECK(VerifyChallengeResponse(challenge, party.public_key(), signature));
  // Ed25519 is deterministic: the signature is exactly one over the transcript.
  CHECK(signature == party.Sign(ChallengeTranscript(challenge)));

  auto changed = [&](auto mutate) {
    Challenge copy = challenge;
    mutate(copy);
    return VerifyChallengeResponse(copy, party.public_key(), signature);
  };
  CHECK_FALSE(changed([](Challenge& c) { c.binding.channel_id[0] = 'b'; }));
  CHECK_FALSE(changed([](Challenge& c) { c.binding.tcc_did += "x"; }));
  CHECK_FALSE(changed([](Challenge& c) { c.binding.party_did.pop_back(); }));
  CHECK_FALSE(changed([](Challenge& c) { c.binding.expires_ms += 1; }));
  CHECK_FALSE(changed([](Challenge& c) { c.nonce[31] ^= 0x80; }));
  // Length prefixes keep a byte moved from one string to the next from giving the same transcript.
  CHECK_FALSE(changed([](Challenge& c) {
    c.binding.tcc_did.push_back(c.binding.party_did[0]);
    c.binding.party_did.erase(0, 1);
  }));

  KeyPair other = KeyPair::Generate();
  CHECK_FALSE(VerifyChallengeResponse(challenge, other.public_key(), signature));
  CHECK_FALSE(VerifyChallengeResponse(challenge, party.public_key(),
                                      SignChallengeResponse(challenge, other)));

  ByteView full(signature);
  CHECK_FALSE(VerifyChallengeResponse(challenge, party.public_key(), full.first(63)));
  CHECK_FALSE(VerifyChallengeResponse(challenge, party.public_key(), ByteView{}));
  Bytes longer(signature.begin(), signature.end());
  longer.push_back(0);
  CHECK_FALSE(VerifyChallengeResponse(challenge, party.public_key(), longer));
  Bytes flipped(signature.begin(), signature.end());
  flipped[10] ^= 0x01;
  CHECK_FALSE(VerifyChallengeResponse(challenge, party.public_key(), flipped));
}

TEST_CASE("challenge: the party's full flow against the TCC's check") {
  KeyPair tcc = KeyPair::Generate();
  KeyPair party = KeyPair::Generate();
  Challenge issued = RealisticChallenge();
  auto sealed = SealChallenge(issued, party.X25519Public());
  REQUIRE(sealed.ok());
  auto opened = OpenChallenge(*sealed, party);
  REQUIRE(opened.ok());
  Signature answer = SignChallengeResponse(*opened, party);
  CHECK(VerifyChallengeResponse(issued, party.public_key(), answer));
  // The TCC's own key is not the party's authentication key.
  CHECK_FALSE(VerifyChallengeResponse(issued, tcc.public_key(), answer));
}

}  // namespace
}  // namespace tcc::did
