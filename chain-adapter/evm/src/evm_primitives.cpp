#include "tcc/chain/evm_primitives.h"

#include <cryptopp/keccak.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <sodium.h>

#include <cctype>

#include "tcc/common/file.h"

namespace tcc::chain::evm {
namespace {

// One signing context for the process: libsecp256k1 contexts are read-only after creation and
// randomization, so concurrent signing through it is safe.
const secp256k1_context* Context() {
  static secp256k1_context* context = [] {
    secp256k1_context* created = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    EnsureSodiumInitialized();
    unsigned char seed[32];
    randombytes_buf(seed, sizeof(seed));
    // Side-channel blinding; failure only means no blinding, never a wrong signature.
    [[maybe_unused]] int blinded = secp256k1_context_randomize(created, seed);
    SecureWipe(seed, sizeof(seed));
    return created;
  }();
  return context;
}

Bytes BigEndian(std::uint64_t value) {
  Bytes out;
  for (int shift = 56; shift >= 0; shift -= 8) {
    auto byte = static_cast<std::uint8_t>(value >> shift);
    if (out.empty() && byte == 0) continue;
    out.push_back(byte);
  }
  return out;
}

Bytes RlpPrefixed(std::uint8_t short_base, std::uint8_t long_base, ByteView payload) {
  Bytes out;
  if (payload.size() <= 55) {
    out.push_back(static_cast<std::uint8_t>(short_base + payload.size()));
  } else {
    Bytes length = BigEndian(payload.size());
    out.push_back(static_cast<std::uint8_t>(long_base + length.size()));
    out.insert(out.end(), length.begin(), length.end());
  }
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::vector<Bytes> UnsignedFields(const LegacyTransaction& tx) {
  std::vector<Bytes> fields;
  fields.push_back(RlpUint(tx.nonce));
  fields.push_back(RlpUint(tx.gas_price));
  fields.push_back(RlpUint(tx.gas_limit));
  fields.push_back(tx.to ? RlpString(*tx.to) : RlpString({}));
  fields.push_back(RlpUint(tx.value));
  fields.push_back(RlpString(tx.data));
  return fields;
}

Bytes Minimal(ByteView big_endian) {
  std::size_t skip = 0;
  while (skip < big_endian.size() && big_endian[skip] == 0) ++skip;
  return Bytes(big_endian.begin() + static_cast<std::ptrdiff_t>(skip), big_endian.end());
}

}  // namespace

Hash256 Keccak256(ByteView data) {
  CryptoPP::Keccak_256 hasher;
  hasher.Update(data.data(), data.size());
  Hash256 digest;
  hasher.Final(digest.data());
  return digest;
}

std::string AddressHex(const Address& address) { return "0x" + HexEncode(address); }

Result<Address> ParseAddress(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) text.remove_prefix(2);
  auto bytes = HexDecode(text);
  if (text.size() != 40 || !bytes.ok()) {
    return Error(ErrorCode::kInvalidArgument,
                 "'" + std::string(text.substr(0, 64)) + "' is not a 20-byte hex address");
  }
  Address address;
  std::copy(bytes->begin(), bytes->end(), address.begin());
  return address;
}

std::string PrefixedHex(ByteView bytes) { return "0x" + HexEncode(bytes); }

std::string QuantityHex(std::uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (value == 0) return "0x0";
  std::string digits;
  for (; value != 0; value >>= 4) digits.insert(digits.begin(), kDigits[value & 0xf]);
  return "0x" + digits;
}

Result<std::uint64_t> ParseQuantity(std::string_view text) {
  if (!text.starts_with("0x") || text.size() < 3 || text.size() > 18) {
    return Error(ErrorCode::kParse, "'" + std::string(text.substr(0, 80)) +
                                        "' is not a 64-bit JSON-RPC quantity");
  }
  std::uint64_t value = 0;
  for (char c : text.substr(2)) {
    int digit = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
                : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                            : -1;
    if (digit < 0) {
      return Error(ErrorCode::kParse, "'" + std::string(text) + "' is not a hex quantity");
    }
    value = value << 4 | static_cast<std::uint64_t>(digit);
  }
  return value;
}

Result<Bytes> ParsePrefixedHex(std::string_view text) {
  if (!text.starts_with("0x")) {
    return Error(ErrorCode::kParse, "hex data '" + std::string(text.substr(0, 40)) +
                                        "' lacks the 0x prefix");
  }
  auto bytes = HexDecode(text.substr(2));
  if (!bytes.ok()) return Error(ErrorCode::kParse, "malformed hex data: " + bytes.error().message());
  return bytes;
}

Bytes RlpString(ByteView bytes) {
  if (bytes.size() == 1 && bytes[0] < 0x80) return Bytes(bytes.begin(), bytes.end());
  return RlpPrefixed(0x80, 0xb7, bytes);
}

Bytes RlpUint(std::uint64_t value) { return RlpString(BigEndian(value)); }

Bytes RlpList(std::span<const Bytes> encoded_items) {
  Bytes payload;
  for (const Bytes& item : encoded_items) payload.insert(payload.end(), item.begin(), item.end());
  return RlpPrefixed(0xc0, 0xf7, payload);
}

Hash256 SigningHash(const LegacyTransaction& tx) {
  std::vector<Bytes> fields = UnsignedFields(tx);
  fields.push_back(RlpUint(tx.chain_id));
  fields.push_back(RlpUint(0));
  fields.push_back(RlpUint(0));
  return Keccak256(RlpList(fields));
}

AccountKey::AccountKey(SecureBytes secret, const Address& address)
    : secret_(std::move(secret)), address_(address) {}

AccountKey AccountKey::Generate() {
  EnsureSodiumInitialized();
  while (true) {
    SecureBytes secret(32);
    randombytes_buf(secret.data(), secret.size());
    auto key = FromSecret(secret.view());
    if (key.ok()) return std::move(key).value();
  }
}

Result<AccountKey> AccountKey::FromSecret(ByteView secret) {
  if (secret.size() != 32 || !secp256k1_ec_seckey_verify(Context(), secret.data())) {
    return Error(ErrorCode::kInvalidArgument, "not a valid secp256k1 secret key");
  }
  secp256k1_pubkey public_key;
  if (!secp256k1_ec_pubkey_create(Context(), &public_key, secret.data())) {
    return Error(ErrorCode::kInvalidArgument, "not a valid secp256k1 secret key");
  }
  std::uint8_t serialized[65];
  std::size_t length = sizeof(serialized);
  secp256k1_ec_pubkey_serialize(Context(), serialized, &length, &public_key,
                                SECP256K1_EC_UNCOMPRESSED);
  // An account address is the last 20 bytes of Keccak-256 over the 64-byte public key.
  Hash256 digest = Keccak256(ByteView(serialized + 1, 64));
  Address address;
  std::copy(digest.begin() + 12, digest.end(), address.begin());
  return AccountKey(SecureBytes::CopyOf(secret), address);
}

Result<AccountKey> AccountKey::FromFile(const std::string& path) {
  TCC_ASSIGN_OR_RETURN(std::string text,
                       ReadFile(path, {.max_bytes = 4096, .require_private = true}));
  std::string_view hex = text;
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.front()))) hex.remove_prefix(1);
  while (!hex.empty() && std::isspace(static_cast<unsigned char>(hex.back()))) hex.remove_suffix(1);
  if (hex.starts_with("0x")) hex.remove_prefix(2);
  auto secret = HexDecode(hex);
  const bool well_formed = hex.size() == 64 && secret.ok();
  SecureWipe(text.data(), text.size());
  if (!well_formed) {
    // A file of the wrong length still decodes to secret bytes; they are wiped like the rest.
    if (secret.ok()) SecureWipe(*secret);
    return Error(ErrorCode::kInvalidArgument,
                 "EVM key file " + path + " does not hold 64 hex digits (a secp256k1 secret)");
  }
  auto key = FromSecret(*secret);
  SecureWipe(*secret);
  if (!key.ok()) return std::move(key).error().WithContext("EVM key file " + path);
  return key;
}

Status AccountKey::WriteFile(const std::string& path, bool overwrite) const {
  std::string text = "0x" + HexEncode(secret_.view()) + "\n";
  Status written = WriteFileAtomic(path, text, {.mode = 0600, .overwrite = overwrite});
  SecureWipe(text.data(), text.size());
  return written;
}

Result<Bytes> AccountKey::SignTransaction(const LegacyTransaction& tx) const {
  if (tx.chain_id == 0 || tx.chain_id > (std::uint64_t(1) << 60)) {
    return Error(ErrorCode::kInvalidArgument, "transaction chain id must be 1..2^60");
  }
  Hash256 digest = SigningHash(tx);
  secp256k1_ecdsa_recoverable_signature signature;
  if (!secp256k1_ecdsa_sign_recoverable(Context(), &signature, digest.data(), secret_.data(),
                                        nullptr, nullptr)) {
    return Error(ErrorCode::kInternal, "secp256k1 signing failed");
  }
  std::uint8_t compact[64];
  int recovery_id = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), compact, &recovery_id,
                                                          &signature);
  std::vector<Bytes> fields = UnsignedFields(tx);
  fields.push_back(RlpUint(static_cast<std::uint64_t>(recovery_id) + 35 + 2 * tx.chain_id));
  fields.push_back(RlpString(Minimal(ByteView(compact, 32))));
  fields.push_back(RlpString(Minimal(ByteView(compact + 32, 32))));
  return RlpList(fields);
}

}  // namespace tcc::chain::evm
