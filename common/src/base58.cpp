#include "tcc/common/base58.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "tcc/common/secure_memory.h"

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
// 2^32 limbs of the longest accepted text's value (58^n < 2^(32 * 0.1833 n)).
constexpr size_t kMaxDecodedLimbs = kMaxEncodedLength * 733 / 4000 + 2;

}  // namespace

// Both directions convert between bases with multi-precision arithmetic. Working in limbs of
// 58^5 (< 2^30) on one side and 2^32 on the other does five base-58 digits or four bytes per step
// instead of one, which makes signatures (64 bytes) about twenty times cheaper than digit-at-a-
// time conversion: this runs for every proof created or verified.
constexpr std::uint64_t kBase58Limb = 58ull * 58 * 58 * 58 * 58;  // 656,356,768
constexpr int kDigitsPerLimb = 5;

namespace {

// Appends the base58btc form of bytes to out. Secret keys pass through here (key files), so the
// scratch digits are wiped and out is grown once, never leaving a stale copy behind.
void AppendBase58Btc(std::string& out, ByteView bytes) {
  size_t zeros = 0;
  while (zeros < bytes.size() && bytes[zeros] == 0) ++zeros;
  // Big-endian input, little-endian limbs of 58^5.
  std::vector<std::uint32_t> limbs;
  limbs.reserve((bytes.size() - zeros) * 138 / 500 + 2);
  size_t i = zeros;
  while (i < bytes.size()) {
    // Take up to four bytes as one base-2^32 (or smaller) digit.
    size_t take = std::min<size_t>(4, bytes.size() - i);
    std::uint64_t carry = 0;
    for (size_t k = 0; k < take; ++k) carry = carry << 8 | bytes[i + k];
    std::uint64_t shift = 1ull << (8 * take);
    i += take;
    for (auto& limb : limbs) {
      carry += static_cast<std::uint64_t>(limb) * shift;
      limb = static_cast<std::uint32_t>(carry % kBase58Limb);
      carry /= kBase58Limb;
    }
    while (carry != 0) {
      limbs.push_back(static_cast<std::uint32_t>(carry % kBase58Limb));
      carry /= kBase58Limb;
    }
  }
  std::string digits;
  digits.reserve(limbs.size() * kDigitsPerLimb);
  for (std::uint32_t limb : limbs) {  // least significant first
    for (int k = 0; k < kDigitsPerLimb; ++k) {
      digits.push_back(kAlphabet[limb % 58]);
      limb /= 58;
    }
  }
  while (!digits.empty() && digits.back() == '1') digits.pop_back();  // leading zero digits
  out.reserve(out.size() + zeros + digits.size());
  out.append(zeros, '1');
  out.append(digits.rbegin(), digits.rend());
  SecureWipe(limbs.data(), limbs.size() * sizeof limbs[0]);
  SecureWipe(digits.data(), digits.size());
}

}  // namespace

std::string Base58BtcEncode(ByteView bytes) {
  std::string out;
  AppendBase58Btc(out, bytes);
  return out;
}

Result<Bytes> Base58BtcDecode(std::string_view text) {
  if (text.size() > kMaxEncodedLength) {
    return Error(ErrorCode::kResourceExhausted, "base58btc string longer than " +
                                                    std::to_string(kMaxEncodedLength));
  }
  size_t zeros = 0;
  while (zeros < text.size() && text[zeros] == '1') ++zeros;
  // Little-endian limbs of 2^32, on the stack (this runs twice per proof checked).
  std::array<std::uint32_t, kMaxDecodedLimbs> limbs;
  size_t used = 0;
  size_t i = zeros;
  while (i < text.size()) {
    size_t take = std::min<size_t>(kDigitsPerLimb, text.size() - i);
    std::uint64_t carry = 0;
    std::uint64_t multiplier = 1;
    for (size_t k = 0; k < take; ++k) {
      auto c = static_cast<unsigned char>(text[i + k]);
      int value = c < 128 ? kReverse[c] : -1;
      if (value < 0) {
        SecureWipe(limbs.data(), used * sizeof limbs[0]);
        return Error(ErrorCode::kParse, "invalid base58btc character at offset " + std::to_string(i + k));
      }
      carry = carry * 58 + static_cast<std::uint64_t>(value);
      multiplier *= 58;
    }
    i += take;
    for (size_t l = 0; l < used; ++l) {
      carry += static_cast<std::uint64_t>(limbs[l]) * multiplier;
      limbs[l] = static_cast<std::uint32_t>(carry);
      carry >>= 32;
    }
    while (carry != 0) {
      limbs[used++] = static_cast<std::uint32_t>(carry);
      carry >>= 32;
    }
  }
  // The value's bytes, most significant first and without leading zero bytes, after one zero
  // byte per leading '1'.
  auto byte_at = [&](size_t j) { return static_cast<std::uint8_t>(limbs[j / 4] >> (8 * (j % 4))); };
  size_t significant = used * 4;
  while (significant > 0 && byte_at(significant - 1) == 0) --significant;
  Bytes out(zeros + significant, 0);
  for (size_t b = 0; b < significant; ++b) out[zeros + b] = byte_at(significant - 1 - b);
  // Secrets are decoded here too (key files); the caller wipes what it gets, this wipes the rest.
  SecureWipe(limbs.data(), used * sizeof limbs[0]);
  return out;
}

std::string MultibaseEncode(ByteView bytes) {
  std::string out = "z";
  AppendBase58Btc(out, bytes);
  return out;
}

Result<Bytes> MultibaseDecode(std::string_view text) {
  if (text.empty()) return Error(ErrorCode::kParse, "empty multibase string");
  if (text[0] != 'z') {
    return Error(ErrorCode::kParse, std::string("unsupported multibase prefix '") + text[0] +
                                        "' (only base58btc 'z' is accepted)");
  }
  return Base58BtcDecode(text.substr(1));
}

}  // namespace tcc
