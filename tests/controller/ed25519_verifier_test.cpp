// The settlement path's Ed25519 verifier (Crypto++ under checks) against libsodium's, the
// reference: the same verdict on valid, altered and random signatures, on the RFC 8032 vectors,
// on the crafted signatures ed25519-donna alone accepts and libsodium refuses (a non-canonical S,
// an identity R), on small-order keys, and under a key with a small-order component, where
// libsodium accepts a crafted signature and so must the verifier. Every verdict is asked three
// times in a row: a key's first sighting goes to libsodium, later ones to donna once the key is
// known to be of prime order (ed25519_verifier.h), and all three must agree.
#include "ed25519_verifier.h"

#include <cryptopp/xed25519.h>
#include <doctest/doctest.h>
#include <sodium.h>

#include <array>
#include <atomic>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tcc/common/bytes.h"
#include "tcc/common/secure_memory.h"
#include "test_util.h"

namespace tcc::controller {
namespace {

using Scalar = std::array<std::uint8_t, 32>;
using Point = std::array<std::uint8_t, 32>;

struct Signer {
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  std::array<std::uint8_t, crypto_sign_SECRETKEYBYTES> secret{};
  did::PublicKey public_key{};
  Scalar a{};  // the secret scalar: SHA-512(seed), clamped, reduced mod L

  explicit Signer(std::mt19937_64& random) {
    for (auto& byte : seed) byte = static_cast<std::uint8_t>(random());
    crypto_sign_seed_keypair(public_key.data(), secret.data(), seed.data());
    std::uint8_t expanded[crypto_hash_sha512_BYTES];
    crypto_hash_sha512(expanded, seed.data(), seed.size());
    expanded[0] &= 248;
    expanded[31] &= 127;
    expanded[31] |= 64;
    std::uint8_t wide[crypto_core_ed25519_NONREDUCEDSCALARBYTES] = {};
    std::memcpy(wide, expanded, 32);
    crypto_core_ed25519_scalar_reduce(a.data(), wide);
  }

  Bytes Sign(const Bytes& message) const {
    Bytes signature(crypto_sign_BYTES);
    crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret.data());
    return signature;
  }
};

// SHA-512(R || A || M) mod L, the challenge of the verification equation.
Scalar Challenge(const Point& r, const did::PublicKey& key, const Bytes& message) {
  crypto_hash_sha512_state state;
  crypto_hash_sha512_init(&state);
  crypto_hash_sha512_update(&state, r.data(), r.size());
  crypto_hash_sha512_update(&state, key.data(), key.size());
  crypto_hash_sha512_update(&state, message.data(), message.size());
  std::uint8_t wide[crypto_hash_sha512_BYTES];
  crypto_hash_sha512_final(&state, wide);
  Scalar reduced;
  crypto_core_ed25519_scalar_reduce(reduced.data(), wide);
  return reduced;
}

Bytes Concat(const Point& r, const Scalar& s) {
  Bytes signature(r.begin(), r.end());
  signature.insert(signature.end(), s.begin(), s.end());
  return signature;
}

bool Sodium(const did::PublicKey& key, const Bytes& message, const Bytes& signature) {
  return signature.size() == crypto_sign_BYTES &&
         crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     key.data()) == 0;
}

bool DonnaAlone(const did::PublicKey& key, const Bytes& message, const Bytes& signature) {
  const CryptoPP::ed25519Verifier verifier(key.data());
  return verifier.VerifyMessage(message.data(), message.size(), signature.data(), signature.size());
}

// The verdict of three calls in a row, which must agree (libsodium's path, then donna's when the
// key is of prime order).
bool Ours(const did::PublicKey& key, const Bytes& message, const Bytes& signature) {
  const bool first = VerifyEd25519(key, message, signature);
  const bool second = VerifyEd25519(key, message, signature);
  const bool third = VerifyEd25519(key, message, signature);
  CHECK(first == second);
  CHECK(second == third);
  return first;
}

// A crafted signature libsodium refuses and donna alone accepts (why the verifier's extra checks
// exist): the verifier must refuse it.
void CheckOnlyDonnaAccepts(const did::PublicKey& key, const Bytes& message,
                           const Bytes& signature) {
  CHECK_FALSE(Sodium(key, message, signature));
  CHECK(DonnaAlone(key, message, signature));
  CHECK_FALSE(Ours(key, message, signature));
}

Bytes RandomBytes(std::mt19937_64& random, std::size_t size) {
  Bytes bytes(size);
  for (auto& byte : bytes) byte = static_cast<std::uint8_t>(random());
  return bytes;
}

// The group order L, little-endian.
constexpr Scalar kOrder = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                           0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                           0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

// A point of order 8 (from the small-order list libsodium refuses).
Point OrderEightPoint() {
  Point point;
  auto bytes =
      HexDecode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a").value();
  std::memcpy(point.data(), bytes.data(), point.size());
  return point;
}

TEST_CASE("valid, altered and random signatures: the same verdict as libsodium") {
  EnsureSodiumInitialized();
  std::mt19937_64 random(20261207);
  int accepted = 0;
  for (int i = 0; i < 300; ++i) {
    const Signer signer(random);
    Bytes message = RandomBytes(random, random() % 200);
    Bytes signature = signer.Sign(message);
    CHECK(Sodium(signer.public_key, message, signature));
    CHECK(DonnaAlone(signer.public_key, message, signature));
    accepted += Ours(signer.public_key, message, signature);

    // One bit flipped in the signature, the message or the key.
    Bytes altered = signature;
    altered[random() % altered.size()] ^= static_cast<std::uint8_t>(1u << (random() % 8));
    CHECK(Ours(signer.public_key, message, altered) == Sodium(signer.public_key, message, altered));
    if (!message.empty()) {
      Bytes other = message;
      other[random() % other.size()] ^= 1;
      CHECK(Ours(signer.public_key, other, signature) ==
            Sodium(signer.public_key, other, signature));
    }
    did::PublicKey other_key = signer.public_key;
    other_key[random() % other_key.size()] ^= static_cast<std::uint8_t>(1u << (random() % 8));
    CHECK(Ours(other_key, message, signature) == Sodium(other_key, message, signature));

    // Random bytes of every length around 64.
    Bytes noise = RandomBytes(random, 62 + random() % 5);
    CHECK(Ours(signer.public_key, message, noise) == Sodium(signer.public_key, message, noise));
  }
  CHECK(accepted == 300);
}

TEST_CASE("threads verifying at once get the same answers") {
  // tccd's workers verify concurrently, each with its own key cache and verifier objects.
  EnsureSodiumInitialized();
  std::mt19937_64 random(11);
  struct Case {
    did::PublicKey key;
    Bytes message, signature;
    bool valid;
  };
  std::vector<Case> cases;
  for (int i = 0; i < 40; ++i) {
    const Signer signer(random);
    Bytes message = RandomBytes(random, 64);
    Bytes signature = signer.Sign(message);
    const bool valid = i % 2 == 0;
    if (!valid) signature[i % signature.size()] ^= 4;
    cases.push_back({signer.public_key, std::move(message), std::move(signature), valid});
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int round = 0; round < 10; ++round) {
        for (const Case& one : cases) {
          if (VerifyEd25519(one.key, one.message, one.signature) != one.valid) ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(wrong.load() == 0);
}

TEST_CASE("the RFC 8032 vectors verify") {
  Json vectors = testing::ReadVectorJson("ed25519-rfc8032.json");
  for (const Json& vector : vectors.Find("vectors")->as_array()) {
    did::PublicKey key;
    const Bytes key_bytes = HexDecode(vector.GetString("publicKeyHex").value()).value();
    std::memcpy(key.data(), key_bytes.data(), key.size());
    const Bytes message = HexDecode(vector.GetString("messageHex").value()).value();
    const Bytes signature = HexDecode(vector.GetString("signatureHex").value()).value();
    CHECK(Ours(key, message, signature));
  }
}

TEST_CASE("a non-canonical S (S + L) is refused, as libsodium refuses it") {
  EnsureSodiumInitialized();
  std::mt19937_64 random(7);
  const Signer signer(random);
  const Bytes message = RandomBytes(random, 64);
  Bytes signature = signer.Sign(message);
  // S + L as a 256-bit little-endian sum: the same scalar modulo L, another encoding.
  unsigned carry = 0;
  for (std::size_t i = 0; i < 32; ++i) {
    const unsigned sum = signature[32 + i] + kOrder[i] + carry;
    signature[32 + i] = static_cast<std::uint8_t>(sum);
    carry = sum >> 8;
  }
  REQUIRE(carry == 0);
  CheckOnlyDonnaAccepts(signer.public_key, message, signature);
}

TEST_CASE("an identity R with S = h * a (a key owner's crafted signature) is refused") {
  EnsureSodiumInitialized();
  std::mt19937_64 random(8);
  const Signer signer(random);
  const Bytes message = RandomBytes(random, 64);
  const Point identity = {1};
  const Scalar h = Challenge(identity, signer.public_key, message);
  Scalar s;
  crypto_core_ed25519_scalar_mul(s.data(), h.data(), signer.a.data());  // [S]B = [h]A: R = identity
  const Bytes signature = Concat(identity, s);
  CheckOnlyDonnaAccepts(signer.public_key, message, signature);
}

TEST_CASE("small-order keys are refused") {
  EnsureSodiumInitialized();
  std::mt19937_64 random(9);
  const Bytes message = RandomBytes(random, 64);
  for (const char* hex : {"0100000000000000000000000000000000000000000000000000000000000000",
                          "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
                          "0000000000000000000000000000000000000000000000000000000000000000",
                          "0000000000000000000000000000000000000000000000000000000000000080",
                          "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
                          "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"}) {
    CAPTURE(hex);
    did::PublicKey key;
    const Bytes bytes = HexDecode(hex).value();
    std::memcpy(key.data(), bytes.data(), key.size());
    // With R = identity and S = 0 the equation holds for any small-order key whose challenge
    // kills it; refused on the key's order, whatever the equation says.
    const Bytes signature = Concat(Point{1}, Scalar{});
    CHECK_FALSE(Sodium(key, message, signature));
    CHECK_FALSE(Ours(key, message, signature));
    const Bytes noise = RandomBytes(random, 64);
    CHECK_FALSE(Ours(key, message, noise));
  }
}

TEST_CASE("under a key with a small-order component, libsodium's verdict too") {
  EnsureSodiumInitialized();
  std::mt19937_64 random(10);
  const Signer signer(random);
  did::PublicKey mixed;
  const Point torsion = OrderEightPoint();
  REQUIRE(crypto_core_ed25519_add(mixed.data(), signer.public_key.data(), torsion.data()) == 0);
  const Bytes message = RandomBytes(random, 64);
  // The key's owner picks nonces until the challenge is a multiple of 8, which cancels the
  // torsion in libsodium's cofactorless equation: [S]B - [h](A + T) = R.
  for (int attempt = 0; attempt < 512; ++attempt) {
    Scalar r;
    crypto_core_ed25519_scalar_random(r.data());
    Point big_r;
    REQUIRE(crypto_scalarmult_ed25519_base_noclamp(big_r.data(), r.data()) == 0);
    const Scalar h = Challenge(big_r, mixed, message);
    if ((h[0] & 7) != 0) continue;
    Scalar ha, s;
    crypto_core_ed25519_scalar_mul(ha.data(), h.data(), signer.a.data());
    crypto_core_ed25519_scalar_add(s.data(), r.data(), ha.data());
    const Bytes signature = Concat(big_r, s);
    CHECK(Sodium(mixed, message, signature));
    CHECK(Ours(mixed, message, signature));
    // An altered message: refused by both.
    Bytes other = message;
    other[0] ^= 1;
    CHECK_FALSE(Sodium(mixed, other, signature));
    CHECK_FALSE(Ours(mixed, other, signature));
    return;
  }
  FAIL("no nonce with a challenge divisible by 8 in 512 tries");
}

}  // namespace
}  // namespace tcc::controller
