// Ethereum building blocks of the EVM adapter: Keccak-256, RLP, 20-byte addresses, secp256k1
// account keys and legacy (EIP-155) transactions.
//
// Keccak-256 is Ethereum's pre-standard SHA-3 (Crypto++; Debian 12's OpenSSL 3.0 has none).
// Transactions are legacy type-0 with EIP-155 replay protection: every chain the adapter targets
// (Besu, GoQuorum, geth, FISCO BCOS's web3 RPC) accepts them, including gas-free consortium
// networks where EIP-1559 fee fields mean nothing (docs/evm.md).
//
// AccountKey owns its secp256k1 secret in libsodium guarded memory, wiped on destruction; it is
// movable, not copyable, and its const methods are safe to call from several threads. Everything
// else here is a pure function, thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tcc/chain/types.h"
#include "tcc/common/bytes.h"
#include "tcc/common/result.h"
#include "tcc/common/secure_memory.h"

namespace tcc::chain::evm {

using Address = std::array<std::uint8_t, 20>;

Hash256 Keccak256(ByteView data);
inline Hash256 Keccak256(std::string_view text) { return Keccak256(AsBytes(text)); }

// "0x" + 40 lowercase hex digits.
std::string AddressHex(const Address& address);
// Accepts 40 hex digits with or without "0x", in any case (checksums are not enforced).
Result<Address> ParseAddress(std::string_view text);

// "0x"-prefixed hex of bytes, and the minimal "0x..." form JSON-RPC uses for quantities.
std::string PrefixedHex(ByteView bytes);
std::string QuantityHex(std::uint64_t value);
// A JSON-RPC quantity ("0x0", "0x1f"); kParse unless it fits 64 bits.
Result<std::uint64_t> ParseQuantity(std::string_view text);
// "0x"-prefixed data of any even length; kParse otherwise.
Result<Bytes> ParsePrefixedHex(std::string_view text);

// Recursive length prefix encoding (Ethereum yellow paper, appendix B).
Bytes RlpString(ByteView bytes);
Bytes RlpUint(std::uint64_t value);  // big-endian without leading zeros; 0 is the empty string
// Wraps already encoded items in a list.
Bytes RlpList(std::span<const Bytes> encoded_items);

struct LegacyTransaction {
  std::uint64_t nonce = 0;
  std::uint64_t gas_price = 0;  // wei per gas; 0 on gas-free consortium chains
  std::uint64_t gas_limit = 0;
  std::optional<Address> to;    // empty: contract creation
  std::uint64_t value = 0;      // wei
  Bytes data;
  std::uint64_t chain_id = 0;
};

// Keccak-256 of RLP(nonce, gasPrice, gas, to, value, data, chainId, 0, 0): what EIP-155 signs.
Hash256 SigningHash(const LegacyTransaction& tx);

// A secp256k1 account key.
class AccountKey {
 public:
  // A new random key (libsodium's generator).
  static AccountKey Generate();
  // 32 bytes; kInvalidArgument if they are not a valid secp256k1 secret (zero or >= the order).
  static Result<AccountKey> FromSecret(ByteView secret);
  // A key file: 64 hex digits, optionally "0x"-prefixed, surrounding whitespace allowed (the
  // form Besu and geth use for node keys). Refused with kPermissionDenied when group or others
  // may read or write it.
  static Result<AccountKey> FromFile(const std::string& path);
  // Writes the key in that form, mode 0600; kAlreadyExists unless `overwrite`.
  Status WriteFile(const std::string& path, bool overwrite = false) const;

  AccountKey(AccountKey&&) noexcept = default;
  AccountKey& operator=(AccountKey&&) noexcept = default;

  const Address& address() const { return address_; }
  // The raw transaction for eth_sendRawTransaction: RLP of the fields with EIP-155's
  // v = recovery id + 35 + 2 * chain id, and the canonical (low-s) r, s.
  Result<Bytes> SignTransaction(const LegacyTransaction& tx) const;

 private:
  AccountKey(SecureBytes secret, const Address& address);
  SecureBytes secret_;
  Address address_{};
};

}  // namespace tcc::chain::evm
