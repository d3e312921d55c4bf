#include "ed25519_verifier.h"

#include <cryptopp/donna.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

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

// What is known of a key in its slot of the calling thread's table.
enum class KeyState : std::uint8_t { kUnseen, kSeenOnce, kPrimeOrder, kOther };

KeyState& StateOf(const did::PublicKey& key) {
  constexpr std::size_t kSlots = std::size_t{1} << 14;
  struct Slot {
    did::PublicKey key{};
    KeyState state = KeyState::kUnseen;
  };
  thread_local std::unique_ptr<Slot[]> slots;
  if (!slots) slots = std::make_unique<Slot[]>(kSlots);
  std::size_t index;  // a key's bytes are already uniform
  std::memcpy(&index, key.data(), sizeof index);
  Slot& slot = slots[index & (kSlots - 1)];
  if (slot.key != key) {
    slot.key = key;
    slot.state = KeyState::kUnseen;
  }
  return slot.state;
}

// Whether donna may be asked: a key of prime order, checked on its second sighting in a row.
bool KeyIsPrimeOrderPoint(const did::PublicKey& key) {
  KeyState& state = StateOf(key);
  switch (state) {
    case KeyState::kUnseen:
      state = KeyState::kSeenOnce;
      return false;
    case KeyState::kSeenOnce:
      state = crypto_core_ed25519_is_valid_point(key.data()) == 1 ? KeyState::kPrimeOrder
                                                                  : KeyState::kOther;
      return state == KeyState::kPrimeOrder;
    case KeyState::kPrimeOrder:
      return true;
    case KeyState::kOther:
      return false;
  }
  return false;
}

}  // namespace

bool VerifyEd25519(const did::PublicKey& public_key, ByteView message, ByteView signature) {
  EnsureSodiumInitialized();
  if (signature.size() != kSignatureBytes) return false;
  // libsodium refuses both; donna would not.
  if (!ScalarIsCanonical(signature.data() + 32) || IsIdentity(signature.data())) return false;
  if (!KeyIsPrimeOrderPoint(public_key)) return did::VerifySignature(public_key, message, signature);
  // donna's function itself: the ed25519Verifier object around it allocates a key object and a
  // message accumulator on every call.
  return CryptoPP::Donna::ed25519_sign_open(message.data(), message.size(), public_key.data(),
                                            signature.data()) == 0;
}

vc::ProofVerifyOptions SettlementProofOptions() {
  vc::ProofVerifyOptions options;
  options.verify_signature = &VerifyEd25519;
  return options;
}

}  // namespace tcc::controller
