#include "tcc/did/did_key.h"

#include <cstring>

#include "tcc/common/base58.h"

namespace tcc::did {
namespace {

// Multicodec prefixes as unsigned varints: ed25519-pub 0xed, x25519-pub 0xec.
constexpr std::uint8_t kEd25519PublicPrefix[] = {0xed, 0x01};
constexpr std::uint8_t kX25519PublicPrefix[] = {0xec, 0x01};

template <size_t N>
std::string EncodeWithPrefix(const std::uint8_t (&prefix)[2], const std::array<std::uint8_t, N>& key) {
  Bytes bytes(prefix, prefix + 2);
  bytes.insert(bytes.end(), key.begin(), key.end());
  return MultibaseEncode(bytes);
}

template <size_t N>
Result<std::array<std::uint8_t, N>> DecodeWithPrefix(std::string_view multibase,
                                                     const std::uint8_t (&prefix)[2],
                                                     std::string_view what) {
  TCC_ASSIGN_OR_RETURN(Bytes bytes, MultibaseDecode(multibase));
  if (bytes.size() < 2 || bytes[0] != prefix[0] || bytes[1] != prefix[1]) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " key has the wrong multicodec prefix");
  }
  if (bytes.size() != 2 + N) {
    return Error(ErrorCode::kInvalidArgument, std::string(what) + " key must be " + std::to_string(N) +
                                                  " bytes, not " + std::to_string(bytes.size() - 2));
  }
  std::array<std::uint8_t, N> key;
  std::memcpy(key.data(), bytes.data() + 2, N);
  return key;
}

}  // namespace

std::string Ed25519Multibase(const PublicKey& public_key) {
  // An issuer names its own key on every credential it signs (issuer, verificationMethod), and
  // base58 is quadratic in the key's length: remember the calling thread's last answer.
  thread_local PublicKey last_key{};
  thread_local std::string last_multibase;
  if (last_multibase.empty() || last_key != public_key) {
    last_multibase = EncodeWithPrefix(kEd25519PublicPrefix, public_key);
    last_key = public_key;
  }
  return last_multibase;
}

std::string X25519Multibase(const X25519PublicKey& public_key) {
  return EncodeWithPrefix(kX25519PublicPrefix, public_key);
}

Result<PublicKey> ParseEd25519Multibase(std::string_view multibase) {
  return DecodeWithPrefix<32>(multibase, kEd25519PublicPrefix, "Ed25519");
}

Result<X25519PublicKey> ParseX25519Multibase(std::string_view multibase) {
  return DecodeWithPrefix<32>(multibase, kX25519PublicPrefix, "X25519");
}

std::string DidKeyFromPublicKey(const PublicKey& public_key) {
  return std::string(kDidKeyPrefix) + Ed25519Multibase(public_key);
}

Result<PublicKey> ParseDidKey(std::string_view did) {
  if (did.substr(0, kDidKeyPrefix.size()) != kDidKeyPrefix) {
    return Error(ErrorCode::kInvalidArgument, "not a did:key identifier: " + std::string(did.substr(0, 64)));
  }
  std::string_view multibase = did.substr(kDidKeyPrefix.size());
  if (multibase.find_first_of("#?/;") != std::string_view::npos) {
    return Error(ErrorCode::kInvalidArgument, "did:key identifier must not contain a path, query or fragment");
  }
  auto key = ParseEd25519Multibase(multibase);
  if (!key.ok()) return std::move(key).error().WithContext("malformed did:key");
  return key;
}

std::string DidKeyVerificationMethod(const PublicKey& public_key) {
  std::string multibase = Ed25519Multibase(public_key);
  return std::string(kDidKeyPrefix) + multibase + "#" + multibase;
}

Result<DidUrl> ParseDidUrl(std::string_view url) {
  if (url.substr(0, 4) != "did:") {
    return Error(ErrorCode::kInvalidArgument, "not a DID URL: " + std::string(url.substr(0, 64)));
  }
  size_t hash = url.find('#');
  DidUrl parsed;
  parsed.did = std::string(url.substr(0, hash));
  if (hash != std::string_view::npos) parsed.fragment = std::string(url.substr(hash + 1));
  size_t method_end = parsed.did.find(':', 4);
  if (method_end == std::string::npos || method_end == 4 || method_end + 1 == parsed.did.size()) {
    return Error(ErrorCode::kInvalidArgument, "DID needs a method and a method-specific id: " + parsed.did);
  }
  return parsed;
}

}  // namespace tcc::did
