// did:key identifiers for Ed25519 keys (W3C CCG did:key method, multicodec ed25519-pub 0xed01).
//
// did:key:z6Mk… = "did:key:" + multibase(base58btc(0xed 0x01 || public key)). The matching
// verification method is did#z6Mk…; the key-agreement method is did#z6LS… with the X25519 key
// (multicodec x25519-pub 0xec01). Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"

namespace tcc::did {

inline constexpr std::string_view kDidKeyPrefix = "did:key:";

// "z6Mk…" for an Ed25519 key, "z6LS…" for an X25519 key.
std::string Ed25519Multibase(const PublicKey& public_key);
std::string X25519Multibase(const X25519PublicKey& public_key);
Result<PublicKey> ParseEd25519Multibase(std::string_view multibase);
Result<X25519PublicKey> ParseX25519Multibase(std::string_view multibase);

std::string DidKeyFromPublicKey(const PublicKey& public_key);
// Validates the whole identifier: method, multibase prefix, multicodec, key length.
Result<PublicKey> ParseDidKey(std::string_view did);
// did:key:z6Mk…#z6Mk…
std::string DidKeyVerificationMethod(const PublicKey& public_key);

// A DID URL split at '#': {did, fragment} (fragment without '#', possibly empty).
struct DidUrl {
  std::string did;
  std::string fragment;
};
Result<DidUrl> ParseDidUrl(std::string_view url);

}  // namespace tcc::did
