// What the EVM adapter reads from a node (chain-adapter/evm/src/evm_abi.h, tcc/chain/evm_primitives.h):
// ABI-encoded call results and event data, revert data, and the quantities, addresses and hex data
// of JSON-RPC replies. A node can be faulty or hostile. Properties: nothing crashes or reads out of
// bounds (ASan); every value read from an accepted slot re-encodes and reads back the same; a
// parsed quantity, address or hex string formats to text that parses to the same value.
#include <cstddef>
#include <cstdint>

#include "evm_abi.h"
#include "fuzz_support.h"
#include "tcc/chain/evm_primitives.h"

namespace {

using namespace tcc;
using namespace tcc::chain::evm;

void CheckAbi(ByteView data) {
  const AbiReader reader(data);
  for (std::size_t slot = 0; slot < 4; ++slot) {
    (void)reader.Word(slot);
    (void)reader.AddressAt(slot);
    (void)reader.Text(slot);
    if (auto value = reader.Uint(slot); value.ok()) {
      const Bytes encoded = AbiCall("f(uint64)").Uint(*value).Arguments();
      auto back = AbiReader(encoded).Uint(0);
      fuzz::Require(back.ok() && *back == *value, "a uint64 does not round-trip through the ABI");
    }
    if (auto dynamic = reader.Dynamic(slot); dynamic.ok()) {
      const Bytes encoded = AbiCall("f(bytes)").Dynamic(ByteView(*dynamic)).Arguments();
      auto back = AbiReader(encoded).Dynamic(0);
      fuzz::Require(back.ok() && *back == *dynamic, "bytes do not round-trip through the ABI");
    }
  }
  (void)RevertReason(data);
}

void CheckReplyFields(std::string_view text) {
  if (auto quantity = ParseQuantity(text); quantity.ok()) {
    auto back = ParseQuantity(QuantityHex(*quantity));
    fuzz::Require(back.ok() && *back == *quantity, "a quantity does not round-trip");
  }
  if (auto address = ParseAddress(text); address.ok()) {
    auto back = ParseAddress(AddressHex(*address));
    fuzz::Require(back.ok() && *back == *address, "an address does not round-trip");
  }
  if (auto bytes = ParsePrefixedHex(text); bytes.ok()) {
    auto back = ParsePrefixedHex(PrefixedHex(*bytes));
    fuzz::Require(back.ok() && *back == *bytes, "hex data does not round-trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  CheckAbi(ByteView(data, size));
  CheckReplyFields(fuzz::AsText(data, size));
  return 0;
}
