// Solidity ABI encoding for the handful of types the TCC registry uses (bytes32, uint64, address,
// string/bytes, bytes32[]), and a strict decoder for call results, event data and revert reasons.
// The decoder checks every offset and length against the data, so a malformed reply from a node
// is an error, never an out-of-bounds read. Pure value types; thread-compatible.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/chain/evm_primitives.h"

namespace tcc::chain::evm {

// The 4-byte selector of a function signature such as "anchor(string,bytes32,uint64)".
std::array<std::uint8_t, 4> Selector(std::string_view signature);
// The topic of an event signature such as "Anchored(bytes32,bytes32,uint64,string)".
inline Hash256 EventTopic(std::string_view signature) { return Keccak256(signature); }

class AbiCall {
 public:
  explicit AbiCall(std::string_view signature);
  AbiCall& Word(const Hash256& word);
  AbiCall& Uint(std::uint64_t value);
  AbiCall& Dynamic(ByteView bytes);  // string or bytes
  AbiCall& Dynamic(std::string_view text) { return Dynamic(AsBytes(text)); }
  AbiCall& WordArray(std::span<const Hash256> words);
  Bytes Finish() const;
  // The arguments alone, without the selector: Solidity's abi.encode(...).
  Bytes Arguments() const;

 private:
  struct Slot {
    bool dynamic = false;
    Hash256 word{};
    Bytes tail;  // encoded tail of a dynamic argument
  };
  std::array<std::uint8_t, 4> selector_;
  std::vector<Slot> slots_;
};

// Reads the head slots of ABI-encoded data (a call result or an event's data).
class AbiReader {
 public:
  explicit AbiReader(ByteView data) : data_(data) {}
  Result<Hash256> Word(std::size_t slot) const;
  Result<std::uint64_t> Uint(std::size_t slot) const;  // kParse if it does not fit 64 bits
  Result<Address> AddressAt(std::size_t slot) const;
  Result<Bytes> Dynamic(std::size_t slot) const;
  Result<std::string> Text(std::size_t slot) const;

 private:
  ByteView data_;
};

// The message of a Solidity `Error(string)` revert, or empty when `data` is not one.
std::string RevertReason(ByteView data);

}  // namespace tcc::chain::evm
