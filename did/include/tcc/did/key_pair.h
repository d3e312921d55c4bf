// Ed25519 signing keys (libsodium) and their key files.
//
// A KeyPair owns its secret in libsodium guarded memory (tcc::SecureBytes), wiped on destruction;
// it is movable, not copyable. Signing is thread-safe (the key is read-only after construction).
// The X25519 key-agreement pair used for sealed challenges is derived from the same key
// (RFC 7748 birational map, as did:key's keyAgreement entry does).
//
// Key file format (JSON, mode 0600, refused when group/other can access it): the W3C Multikey
// members {"type":"Multikey","controller":DID,"id":DID#fragment,"publicKeyMultibase":"z6Mk…",
// "secretKeyMultibase":"z3u2…"} where the secret is multicodec ed25519-priv (0x8026) + the
// 32-byte seed, so files interoperate with other Multikey tooling.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"
#include "tcc/common/secure_memory.h"

namespace tcc::did {

using PublicKey = std::array<std::uint8_t, 32>;
using Signature = std::array<std::uint8_t, 64>;
using X25519PublicKey = std::array<std::uint8_t, 32>;

class KeyPair {
 public:
  static KeyPair Generate();
  // Deterministic key from a 32-byte seed (RFC 8032 secret key); for tests and vectors.
  static Result<KeyPair> FromSeed(ByteView seed);

  static Result<KeyPair> ReadFile(const std::string& path);
  // Creates the file with mode 0600; refuses to overwrite unless told to.
  Status WriteFile(const std::string& path, bool overwrite = false) const;
  // The secret as secretKeyMultibase (for key files); the caller must not log it.
  std::string SecretKeyMultibase() const;
  static Result<KeyPair> FromSecretKeyMultibase(std::string_view text);

  const PublicKey& public_key() const { return public_key_; }
  Signature Sign(ByteView message) const;

  X25519PublicKey X25519Public() const;
  // The X25519 secret derived from this key, in guarded memory.
  SecureBytes X25519Secret() const;

  KeyPair(KeyPair&&) noexcept = default;
  KeyPair& operator=(KeyPair&&) noexcept = default;

 private:
  KeyPair(SecureBytes secret_key, const PublicKey& public_key)
      : secret_key_(std::move(secret_key)), public_key_(public_key) {}

  SecureBytes secret_key_;  // libsodium's 64-byte form: seed || public key
  PublicKey public_key_{};
};

bool VerifySignature(const PublicKey& public_key, ByteView message, const Signature& signature);
// Accepts any byte length; anything but 64 bytes fails verification.
bool VerifySignature(const PublicKey& public_key, ByteView message, ByteView signature);

// Maps an Ed25519 public key to its X25519 form; fails for keys that are not valid points.
Result<X25519PublicKey> X25519FromEd25519(const PublicKey& public_key);

}  // namespace tcc::did
