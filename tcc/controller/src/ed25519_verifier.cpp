#include "ed25519_verifier.h"

#include <cryptopp/xed25519.h>
#include <sodium.h>

#include <array>
#include <cstring>
#include <unordered_set>

#include "tcc/common/secure_memory.h"

namespace tcc::controller {
namespace {

constexpr std::size_t kSignatureBytes = 64;
constexpr std::size_t kScalarBytes = 32;

// S < L: libsodium reduces S modulo L; a canonical S comes back unchanged.
bool ScalarIsCanonical(const std::uint8_t* scalar) {
  std::uint8_t wide[crypto_core_ed25519_NONREDUCEDSCALARBYTES] = {};
  std::memcpy(wide, scalar, kScalarBytes);
  std::uint8_t reduced[crypto_core_ed25519_SCALARBYTES];
  crypto_core_ed25519_scalar_reduce(reduced, wide);
  return std::memcmp(reduced, scalar, kScalarBytes) == 0;
}

// The identity's one canonical encoding (y = 1, x = 0).
bool IsIdentity(const std::uint8_t* point) {
  static constexpr std::array<std::uint8_t, 32> kIdentity = {1};
  return std::memcmp(point, kIdentity.data(), kIdentity.size()) == 0;
}

struct KeyHash {
  std::size_t operator()(const did::PublicKey& key) const {
    std::size_t hash;  // a key's bytes are already uniform
    std::memcpy(&hash, key.data(), sizeof hash);
    return hash;
  }
};

// Keys found to be canonical prime-order points, per thread. The parties' keys sign claim after
// claim; the set is emptied when full, so it stays small whatever keys arrive.
bool KeyIsPrimeOrderPoint(const did::PublicKey& key) {
  constexpr std::size_t kRemembered = 4096;
  thread_local std::unordered_set<did::PublicKey, KeyHash> valid;
  if (valid.contains(key)) return true;
  if (crypto_core_ed25519_is_valid_point(key.data()) != 1) return false;
  if (valid.size() == kRemembered) valid.clear();
  valid.insert(key);
  return true;
}

}  // namespace

bool VerifyEd25519(const did::PublicKey& public_key, ByteView message, ByteView signature) {
  EnsureSodiumInitialized();
  if (signature.size() != kSignatureBytes) return false;
  if (!ScalarIsCanonical(signature.data() + 32) || IsIdentity(signature.data())) return false;
  if (!KeyIsPrimeOrderPoint(public_key)) return false;
  const CryptoPP::ed25519Verifier verifier(public_key.data());
  return verifier.VerifyMessage(message.data(), message.size(), signature.data(), signature.size());
}

vc::ProofVerifyOptions SettlementProofOptions() {
  vc::ProofVerifyOptions options;
  options.verify_signature = &VerifyEd25519;
  return options;
}

}  // namespace tcc::controller
