#include "tcc/did/key_pair.h"

#include <sodium.h>

#include <cstring>

#include "tcc/common/base58.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/did/did_key.h"

namespace tcc::did {
namespace {

// Multicodec ed25519-priv (0x1300) as an unsigned varint.
constexpr std::uint8_t kEd25519SecretPrefix[] = {0x80, 0x26};


}  // namespace

KeyPair KeyPair::Generate() {
  EnsureSodiumInitialized();
  SecureBytes seed(crypto_sign_SEEDBYTES);
  randombytes_buf(seed.data(), seed.size());
  return FromSeed(seed.view()).value();
}

Result<KeyPair> KeyPair::FromSeed(ByteView seed) {
  if (seed.size() != crypto_sign_SEEDBYTES) {
    return Error(ErrorCode::kInvalidArgument,
                 "an Ed25519 seed is 32 bytes, not " + std::to_string(seed.size()));
  }
  EnsureSodiumInitialized();
  SecureBytes secret(crypto_sign_SECRETKEYBYTES);
  PublicKey public_key;
  crypto_sign_seed_keypair(public_key.data(), secret.data(), seed.data());
  return KeyPair(std::move(secret), public_key);
}

std::string KeyPair::SecretKeyMultibase() const {
  SecureBytes prefixed(sizeof kEd25519SecretPrefix + crypto_sign_SEEDBYTES);
  std::memcpy(prefixed.data(), kEd25519SecretPrefix, sizeof kEd25519SecretPrefix);
  std::memcpy(prefixed.data() + sizeof kEd25519SecretPrefix, secret_key_.data(), crypto_sign_SEEDBYTES);
  return MultibaseEncode(prefixed.view());
}

Result<KeyPair> KeyPair::FromSecretKeyMultibase(std::string_view text) {
  TCC_ASSIGN_OR_RETURN(Bytes decoded, MultibaseDecode(text));
  struct Wiper {
    Bytes& bytes;
    ~Wiper() { SecureWipe(bytes); }
  } wiper{decoded};
  if (decoded.size() != sizeof kEd25519SecretPrefix + crypto_sign_SEEDBYTES ||
      decoded[0] != kEd25519SecretPrefix[0] || decoded[1] != kEd25519SecretPrefix[1]) {
    return Error(ErrorCode::kInvalidArgument,
                 "secretKeyMultibase is not an Ed25519 secret key (multicodec 0x1300 + 32 bytes)");
  }
  return FromSeed(ByteView(decoded).subspan(sizeof kEd25519SecretPrefix));
}

Result<KeyPair> KeyPair::ReadFile(const std::string& path) {
  TCC_ASSIGN_OR_RETURN(std::string text, tcc::ReadFile(path, {.max_bytes = 64 * 1024, .require_private = true}));
  auto parsed = Json::Parse(text);
  WipeJsonParseScratch(text.size());
  SecureWipe(text.data(), text.size());
  if (!parsed.ok()) return std::move(parsed).error().WithContext("key file " + path);
  Json json = std::move(parsed).value();
  auto secret = json.GetString("secretKeyMultibase");
  if (!secret.ok()) return std::move(secret).error().WithContext("key file " + path);
  auto key = FromSecretKeyMultibase(*secret);
  SecureWipe(json.Find("secretKeyMultibase")->as_string().data(), secret->size());
  if (!key.ok()) return std::move(key).error().WithContext("key file " + path);
  // A file whose public half disagrees with its secret was edited or corrupted.
  auto public_multibase = json.GetString("publicKeyMultibase");
  if (public_multibase.ok() && *public_multibase != Ed25519Multibase(key->public_key())) {
    return Error(ErrorCode::kInvalidArgument,
                 "key file " + path + ": publicKeyMultibase does not match the secret key");
  }
  return key;
}

Status KeyPair::WriteFile(const std::string& path, bool overwrite) const {
  std::string did = DidKeyFromPublicKey(public_key_);
  Json json = Json::Object();
  json.Set("type", "Multikey");
  json.Set("controller", did);
  json.Set("id", DidKeyVerificationMethod(public_key_));
  json.Set("publicKeyMultibase", Ed25519Multibase(public_key_));
  json.Set("secretKeyMultibase", SecretKeyMultibase());
  std::string text = json.SerializePretty() + "\n";
  Status written = WriteFileAtomic(path, text, {.mode = 0600, .overwrite = overwrite});
  SecureWipe(text.data(), text.size());
  SecureWipe(json.Find("secretKeyMultibase")->as_string().data(),
             json.Find("secretKeyMultibase")->as_string().size());
  return written;
}

Signature KeyPair::Sign(ByteView message) const {
  Signature signature;
  crypto_sign_detached(signature.data(), nullptr, message.data(), message.size(), secret_key_.data());
  return signature;
}

X25519PublicKey KeyPair::X25519Public() const {
  // A key pair made by libsodium always has a valid point.
  return X25519FromEd25519(public_key_).value();
}

SecureBytes KeyPair::X25519Secret() const {
  SecureBytes secret(crypto_scalarmult_curve25519_BYTES);
  crypto_sign_ed25519_sk_to_curve25519(secret.data(), secret_key_.data());
  return secret;
}

bool VerifySignature(const PublicKey& public_key, ByteView message, const Signature& signature) {
  EnsureSodiumInitialized();
  return crypto_sign_verify_detached(signature.data(), message.data(), message.size(),
                                     public_key.data()) == 0;
}

bool VerifySignature(const PublicKey& public_key, ByteView message, ByteView signature) {
  if (signature.size() != crypto_sign_BYTES) return false;
  Signature fixed;
  std::memcpy(fixed.data(), signature.data(), fixed.size());
  return VerifySignature(public_key, message, fixed);
}

Result<X25519PublicKey> X25519FromEd25519(const PublicKey& public_key) {
  EnsureSodiumInitialized();
  X25519PublicKey converted;
  if (crypto_sign_ed25519_pk_to_curve25519(converted.data(), public_key.data()) != 0) {
    return Error(ErrorCode::kInvalidArgument, "Ed25519 public key is not a valid curve point");
  }
  return converted;
}

}  // namespace tcc::did
