#include "tcc/common/bytes.h"

#include <sodium.h>

#include <algorithm>

namespace tcc {
namespace {

int HexNibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string HexEncode(ByteView bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    out[2 * i] = kDigits[bytes[i] >> 4];
    out[2 * i + 1] = kDigits[bytes[i] & 0xf];
  }
  return out;
}

Result<Bytes> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Error(ErrorCode::kParse, "hex string has odd length " + std::to_string(hex.size()));
  }
  Bytes out(hex.size() / 2);
  for (size_t i = 0; i < out.size(); ++i) {
    int high = HexNibble(hex[2 * i]);
    int low = HexNibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) {
      return Error(ErrorCode::kParse, "invalid hex digit at offset " +
                                          std::to_string(2 * i + (high < 0 ? 0 : 1)));
    }
    out[i] = static_cast<std::uint8_t>(high << 4 | low);
  }
  return out;
}

bool IsLowerHex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool IsLowerHex(std::string_view text, std::size_t digits) {
  return text.size() == digits && IsLowerHex(text);
}

bool ConstantTimeEqual(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace tcc
