#include "tcc/common/base58.h"

#include <array>

namespace tcc {
namespace {

constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

constexpr std::array<int8_t, 128> MakeReverseAlphabet() {
  std::array<int8_t, 128> table{};
  for (auto& entry : table) entry = -1;
  for (int i = 0; i < 58; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<int8_t>(i);
  return table;
}
constexpr auto kReverse = MakeReverseAlphabet();

// Inputs are keys and signatures (tens of bytes); anything this large is hostile.
constexpr size_t kMaxEncodedLength = 4096;

}  // namespace

std::string Base58BtcEncode(ByteView bytes) {
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // log(256)/log(58) ~ 1.37: digits needed for the big-endian base-58 number.
  std::vector<uint8_t> digits((bytes.size() - zeros) * 138 / 100 + 1);
  size_t length = 0;
  for (size_t i = zeros; i < bytes.size(); ++i) {
    unsigned carry = bytes[i];
    size_t j = 0;
    for (auto it = digits.rbegin(); (carry != 0 || j < length) && it != digits.rend(); ++it, ++j) {
      carry += 256u * *it;
      *it = static_cast<uint8_t>(carry % 58);
      carry /= 58;
    }
    length = j;
  }
  auto it = digits.begin() + static_cast<std::ptrdiff_t>(digits.size() - length);
  while (it != digits.end() && *it == 0) ++it;
  std::string out(zeros, '1');
  out.reserve(zeros + static_cast<size_t>(digits.end() - it));
  for (; it != digits.end(); ++it) out.push_back(kAlphabet[*it]);
  return out;
}

Result<Bytes> Base58BtcDecode(std::string_view text) {
  if (text.size() > kMaxEncodedLength) {
    return Error(ErrorCode::kResourceExhausted, "base58btc string longer than " +
                                                    std::to_string(kMaxEncodedLength));
  }
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  // log(58)/log(256) ~ 0.733
  std::vector<uint8_t> bytes((text.size() - zeros) * 733 / 1000 + 1);
  size_t length = 0;
  for (size_t i = zeros; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    int value = c < 128 ? kReverse[c] : -1;
    if (value < 0) {
      return Error(ErrorCode::kParse, "invalid base58btc character at offset " + std::to_string(i));
    }
    unsigned carry = static_cast<unsigned>(value);
    size_t j = 0;
    for (auto it = bytes.rbegin(); (carry != 0 || j < length) && it != bytes.rend(); ++it, ++j) {
      carry += 58u * *it;
      *it = static_cast<uint8_t>(carry % 256);
      carry /= 256;
    }
    length = j;
  }
  auto it = bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() - length);
  while (it != bytes.end() && *it == 0) ++it;
  Bytes out(zeros, 0);
  out.insert(out.end(), it, bytes.end());
  return out;
}

std::string MultibaseEncode(ByteView bytes) { return "z" + Base58BtcEncode(bytes); }

Result<Bytes> MultibaseDecode(std::string_view text) {
  if (text.empty()) return Error(ErrorCode::kParse, "empty multibase string");
  if (text[0] != 'z') {
    return Error(ErrorCode::kParse, std::string("unsupported multibase prefix '") + text[0] +
                                        "' (only base58btc 'z' is accepted)");
  }
  return Base58BtcDecode(text.substr(1));
}

}  // namespace tcc
