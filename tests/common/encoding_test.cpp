#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <string>

#include "tcc/common/base58.h"
#include "tcc/common/bytes.h"
#include "tcc/common/secure_memory.h"
#include "tcc/common/sha256.h"

namespace tcc {
namespace {

TEST_CASE("hex round-trips and rejects bad input") {
  Bytes bytes{0x00, 0x01, 0xab, 0xff};
  CHECK(HexEncode(bytes) == "0001abff");
  CHECK(HexDecode("0001ABff").value() == bytes);
  CHECK(HexDecode("abc").error().code() == ErrorCode::kParse);
  CHECK(HexDecode("zz").error().message().find("invalid hex digit") != std::string::npos);
  CHECK(HexDecode("").value().empty());
}

TEST_CASE("IsLowerHex accepts HexEncode's form only") {
  CHECK(IsLowerHex(""));
  CHECK(IsLowerHex("0123456789abcdef"));
  CHECK_FALSE(IsLowerHex("0123456789ABCDEF"));
  CHECK_FALSE(IsLowerHex("12 4"));
  CHECK_FALSE(IsLowerHex("0x12"));
  CHECK(IsLowerHex("00ff", 4));
  CHECK_FALSE(IsLowerHex("00ff", 6));
  CHECK_FALSE(IsLowerHex("00fg", 4));
}

TEST_CASE("Sha256DigestFromHex reads back exactly what HexEncode wrote") {
  const Sha256Digest digest = Sha256("abc");
  const std::string hex = HexEncode(digest);
  CHECK(hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(Sha256DigestFromHex(hex).value() == digest);
  std::string upper = hex;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  // One spelling per digest: upper case, a prefix, a short or long text are all refused.
  for (const std::string& bad : {upper, "0x" + hex.substr(2), hex.substr(1), hex + "00",
                                 std::string(), std::string(64, 'g')}) {
    CAPTURE(bad);
    Result<Sha256Digest> read = Sha256DigestFromHex(bad);
    REQUIRE_FALSE(read.ok());
    CHECK(read.error().code() == ErrorCode::kInvalidArgument);
  }
  CHECK(Sha256DigestFromHex(hex.substr(1)).error().message() ==
        "a SHA-256 hash must be 64 lowercase hex digits, not 63 characters");
  CHECK(Sha256DigestFromHex(upper).error().message() ==
        "a SHA-256 hash must be 64 lowercase hex digits, not other characters");
}

TEST_CASE("base58btc matches known encodings and keeps leading zeros") {
  CHECK(Base58BtcEncode(AsBytes("Hello World!")) == "2NEpo7TZRRrLZSi2U");
  CHECK(Base58BtcEncode(Bytes{0, 0, 1}) == "112");
  CHECK(Base58BtcEncode(Bytes{}) == "");
  CHECK(Base58BtcDecode("2NEpo7TZRRrLZSi2U").value() == Bytes(AsBytes("Hello World!").begin(), AsBytes("Hello World!").end()));
  CHECK(Base58BtcDecode("112").value() == Bytes{0, 0, 1});
  CHECK_FALSE(Base58BtcDecode("0OIl").ok());
  // Round trip over many lengths and leading-zero counts.
  for (size_t length = 0; length < 70; ++length) {
    Bytes bytes(length);
    for (size_t i = 0; i < length; ++i) bytes[i] = static_cast<uint8_t>(i < length / 4 ? 0 : i * 37 + 11);
    CHECK(Base58BtcDecode(Base58BtcEncode(bytes)).value() == bytes);
  }
}

// Digit-at-a-time schoolbook conversion: slow, obviously right, independent of the limb code.
std::string ReferenceBase58(const Bytes& bytes) {
  static const char* alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  Bytes number(bytes);
  std::string digits;
  auto is_zero = [&] { for (auto b : number) if (b) return false; return true; };
  while (!is_zero()) {
    unsigned remainder = 0;
    for (auto& b : number) {
      unsigned value = remainder * 256 + b;
      b = static_cast<uint8_t>(value / 58);
      remainder = value % 58;
    }
    digits.push_back(alphabet[remainder]);
  }
  for (size_t i = 0; i < bytes.size() && bytes[i] == 0; ++i) digits.push_back('1');
  return std::string(digits.rbegin(), digits.rend());
}

TEST_CASE("base58btc agrees with a schoolbook reference on pseudo-random inputs") {
  uint32_t state = 12345;
  for (int round = 0; round < 500; ++round) {
    size_t length = round % 80;
    Bytes bytes(length);
    for (auto& b : bytes) {
      state = state * 1103515245 + 12345;
      b = static_cast<uint8_t>(state >> 16);
    }
    if (round % 7 == 0 && length > 2) bytes[0] = bytes[1] = 0;
    std::string encoded = Base58BtcEncode(bytes);
    CHECK(encoded == ReferenceBase58(bytes));
    CHECK(Base58BtcDecode(encoded).value() == bytes);
  }
}

TEST_CASE("base58btc decodes the longest accepted text, the largest value it can hold") {
  // 4096 digits of 57: the most limbs the decoder's fixed buffer must take.
  const std::string largest(4096, 'z');
  Bytes decoded = Base58BtcDecode(largest).value();
  CHECK(decoded.size() == 3000);  // 58^4096 - 1 has 23,995 bits
  CHECK(Base58BtcEncode(decoded) == largest);
  const std::string ones_then_value = std::string(100, '1') + std::string(3996, 'z');
  decoded = Base58BtcDecode(ones_then_value).value();
  CHECK(std::count(decoded.begin(), decoded.begin() + 100, 0) == 100);
  CHECK(Base58BtcEncode(decoded) == ones_then_value);
  CHECK(Base58BtcDecode(largest + "z").error().code() == ErrorCode::kResourceExhausted);
}

TEST_CASE("multibase accepts only base58btc") {
  Bytes key{0xed, 0x01, 0x02};
  std::string encoded = MultibaseEncode(key);
  CHECK(encoded[0] == 'z');
  CHECK(MultibaseDecode(encoded).value() == key);
  auto wrong = MultibaseDecode("mAAAA");
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message().find("'m'") != std::string::npos);
  CHECK_FALSE(MultibaseDecode("").ok());
}

TEST_CASE("SHA-256 matches FIPS 180-2 examples, one-shot and incremental") {
  CHECK(HexEncode(Sha256(std::string_view("abc"))) ==
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(HexEncode(Sha256(std::string_view(""))) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256Hasher hasher;
  hasher.Update(std::string_view("abcdbcdecdefdefgefghfghighijhijkijkl")).Update(std::string_view("jklmklmnlmnomnopnopq"));
  CHECK(HexEncode(hasher.Finish()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // Finish resets the hasher.
  hasher.Update(std::string_view("abc"));
  CHECK(HexEncode(hasher.Finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("SHA-256 DigestWith hashes a common prefix once and leaves the hasher as it was") {
  // Prefixes across the 64-byte block boundary, tails empty and longer than a block.
  const std::string text(300, 'x');
  for (std::size_t cut : {0u, 1u, 55u, 63u, 64u, 65u, 128u, 299u, 300u}) {
    CAPTURE(cut);
    Sha256Hasher hasher;
    hasher.Update(std::string_view(text).substr(0, cut));
    CHECK(hasher.DigestWith(std::string_view(text).substr(cut)) == Sha256(std::string_view(text)));
    CHECK(hasher.DigestWith(std::string_view("tail")) ==
          Sha256(std::string_view(text.substr(0, cut) + "tail")));
    CHECK(hasher.Finish() == Sha256(std::string_view(text).substr(0, cut)));
  }
}

TEST_CASE("SecureBytes copies, moves and wipes") {
  Bytes secret{1, 2, 3, 4};
  SecureBytes held = SecureBytes::CopyOf(secret);
  SecureWipe(secret);
  CHECK(secret == Bytes{0, 0, 0, 0});
  CHECK(held.size() == 4);
  CHECK(held.data()[3] == 4);
  SecureBytes moved = std::move(held);
  CHECK(held.empty());  // NOLINT: moved-from state is specified
  CHECK(moved.view()[0] == 1);
  SecureBytes clone = moved.Clone();
  CHECK(ConstantTimeEqual(clone.view(), moved.view()));
}

}  // namespace
}  // namespace tcc
