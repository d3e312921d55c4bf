#include "evm_abi.h"

#include <cstring>

namespace tcc::chain::evm {
namespace {

Hash256 UintWord(std::uint64_t value) {
  Hash256 word{};
  for (int i = 0; i < 8; ++i) word[31 - i] = static_cast<std::uint8_t>(value >> (8 * i));
  return word;
}

void Append(Bytes& out, const Hash256& word) { out.insert(out.end(), word.begin(), word.end()); }

Error Malformed(const std::string& what) {
  return Error(ErrorCode::kParse, "malformed ABI data: " + what);
}

}  // namespace

std::array<std::uint8_t, 4> Selector(std::string_view signature) {
  Hash256 digest = Keccak256(signature);
  return {digest[0], digest[1], digest[2], digest[3]};
}

AbiCall::AbiCall(std::string_view signature) : selector_(Selector(signature)) {}

AbiCall& AbiCall::Word(const Hash256& word) {
  slots_.push_back({false, word, {}});
  return *this;
}

AbiCall& AbiCall::Uint(std::uint64_t value) { return Word(UintWord(value)); }

AbiCall& AbiCall::Dynamic(ByteView bytes) {
  Slot slot{true, {}, {}};
  Append(slot.tail, UintWord(bytes.size()));
  slot.tail.insert(slot.tail.end(), bytes.begin(), bytes.end());
  slot.tail.resize(32 + (bytes.size() + 31) / 32 * 32, 0);
  slots_.push_back(std::move(slot));
  return *this;
}

AbiCall& AbiCall::WordArray(std::span<const Hash256> words) {
  Slot slot{true, {}, {}};
  Append(slot.tail, UintWord(words.size()));
  for (const Hash256& word : words) Append(slot.tail, word);
  slots_.push_back(std::move(slot));
  return *this;
}

Bytes AbiCall::Finish() const {
  Bytes out(selector_.begin(), selector_.end());
  Bytes arguments = Arguments();
  out.insert(out.end(), arguments.begin(), arguments.end());
  return out;
}

Bytes AbiCall::Arguments() const {
  Bytes out;
  std::uint64_t tail_offset = 32 * slots_.size();
  for (const Slot& slot : slots_) {
    if (slot.dynamic) {
      Append(out, UintWord(tail_offset));
      tail_offset += slot.tail.size();
    } else {
      Append(out, slot.word);
    }
  }
  for (const Slot& slot : slots_) out.insert(out.end(), slot.tail.begin(), slot.tail.end());
  return out;
}

Result<Hash256> AbiReader::Word(std::size_t slot) const {
  if (slot > data_.size() / 32 || (slot + 1) * 32 > data_.size()) {
    return Malformed("slot " + std::to_string(slot) + " is past the end of " +
                     std::to_string(data_.size()) + " bytes");
  }
  Hash256 word;
  std::memcpy(word.data(), data_.data() + slot * 32, 32);
  return word;
}

Result<std::uint64_t> AbiReader::Uint(std::size_t slot) const {
  TCC_ASSIGN_OR_RETURN(Hash256 word, Word(slot));
  for (int i = 0; i < 24; ++i) {
    if (word[i] != 0) return Malformed("slot " + std::to_string(slot) + " does not fit 64 bits");
  }
  std::uint64_t value = 0;
  for (int i = 24; i < 32; ++i) value = value << 8 | word[i];
  return value;
}

Result<Address> AbiReader::AddressAt(std::size_t slot) const {
  TCC_ASSIGN_OR_RETURN(Hash256 word, Word(slot));
  for (int i = 0; i < 12; ++i) {
    if (word[i] != 0) return Malformed("slot " + std::to_string(slot) + " is not an address");
  }
  Address address;
  std::copy(word.begin() + 12, word.end(), address.begin());
  return address;
}

Result<Bytes> AbiReader::Dynamic(std::size_t slot) const {
  TCC_ASSIGN_OR_RETURN(std::uint64_t offset, Uint(slot));
  if (offset > data_.size() || data_.size() - offset < 32) {
    return Malformed("offset " + std::to_string(offset) + " is past the end");
  }
  AbiReader at(data_.subspan(offset));
  TCC_ASSIGN_OR_RETURN(std::uint64_t length, at.Uint(0));
  if (length > data_.size() - offset - 32) {
    return Malformed("length " + std::to_string(length) + " runs past the end");
  }
  ByteView bytes = data_.subspan(offset + 32, length);
  return Bytes(bytes.begin(), bytes.end());
}

Result<std::string> AbiReader::Text(std::size_t slot) const {
  TCC_ASSIGN_OR_RETURN(Bytes bytes, Dynamic(slot));
  return std::string(AsChars(bytes));
}

std::string RevertReason(ByteView data) {
  static const std::array<std::uint8_t, 4> kErrorSelector = Selector("Error(string)");
  if (data.size() < 4 || !std::equal(kErrorSelector.begin(), kErrorSelector.end(), data.begin())) {
    return {};
  }
  auto text = AbiReader(data.subspan(4)).Text(0);
  return text.ok() ? *text : std::string();
}

}  // namespace tcc::chain::evm
