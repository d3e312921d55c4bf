// Byte strings and their hex form.
//
// Bytes owns its storage; ByteView borrows and must not outlive what it points at. Hex is
// lowercase on output and accepted in either case on input. All functions are pure and
// thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/result.h"

namespace tcc {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline ByteView AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}
inline std::string_view AsChars(ByteView bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

std::string HexEncode(ByteView bytes);
Result<Bytes> HexDecode(std::string_view hex);
// Whether `text` is in HexEncode's form, lowercase hex digits only; the second form also wants
// exactly `digits` of them (64 for a SHA-256 hash).
bool IsLowerHex(std::string_view text);
bool IsLowerHex(std::string_view text, std::size_t digits);

// Constant-time comparison for secrets and MACs.
bool ConstantTimeEqual(ByteView a, ByteView b);

}  // namespace tcc
