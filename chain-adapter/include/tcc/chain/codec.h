// Big-endian, length-prefixed binary encoding shared by the ledger format and the evidence leaf.
//
// ByteReader never reads past its input: every accessor returns kParse with the field name when
// the input is short or a length prefix is out of bounds, so decoders built on it are safe to fuzz.
// Both classes are single-threaded value helpers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "tcc/chain/types.h"
#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc::chain {

class ByteWriter {
 public:
  ByteWriter& U8(std::uint8_t value) {
    out_.push_back(value);
    return *this;
  }
  ByteWriter& U32(std::uint32_t value) {
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(std::uint8_t(value >> shift));
    return *this;
  }
  ByteWriter& U64(std::uint64_t value) {
    for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(std::uint8_t(value >> shift));
    return *this;
  }
  ByteWriter& Raw(ByteView bytes) {
    out_.insert(out_.end(), bytes.begin(), bytes.end());
    return *this;
  }
  ByteWriter& Raw(std::string_view text) { return Raw(AsBytes(text)); }
  // u32 length, then the bytes. Callers keep sizes below 4 GiB (validated limits are far lower).
  ByteWriter& Sized(ByteView bytes) { return U32(std::uint32_t(bytes.size())).Raw(bytes); }
  ByteWriter& Sized(std::string_view text) { return Sized(AsBytes(text)); }

  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

class ByteReader {
 public:
  explicit ByteReader(ByteView input) : input_(input) {}

  std::size_t remaining() const { return input_.size() - position_; }
  std::size_t position() const { return position_; }

  Result<std::uint8_t> U8(std::string_view field) {
    TCC_ASSIGN_OR_RETURN(ByteView raw, Raw(1, field));
    return raw[0];
  }
  Result<std::uint32_t> U32(std::string_view field) {
    TCC_ASSIGN_OR_RETURN(ByteView raw, Raw(4, field));
    std::uint32_t value = 0;
    for (std::uint8_t byte : raw) value = (value << 8) | byte;
    return value;
  }
  Result<std::uint64_t> U64(std::string_view field) {
    TCC_ASSIGN_OR_RETURN(ByteView raw, Raw(8, field));
    std::uint64_t value = 0;
    for (std::uint8_t byte : raw) value = (value << 8) | byte;
    return value;
  }
  Result<Hash256> Hash(std::string_view field) {
    TCC_ASSIGN_OR_RETURN(ByteView raw, Raw(32, field));
    Hash256 hash;
    std::copy(raw.begin(), raw.end(), hash.begin());
    return hash;
  }
  Result<ByteView> Raw(std::size_t size, std::string_view field) {
    if (remaining() < size) {
      return Error(ErrorCode::kParse, std::string(field) + ": needs " + std::to_string(size) +
                                          " bytes at offset " + std::to_string(position_) +
                                          ", " + std::to_string(remaining()) + " left");
    }
    ByteView view = input_.subspan(position_, size);
    position_ += size;
    return view;
  }
  Result<ByteView> Sized(std::string_view field, std::size_t max_size) {
    TCC_ASSIGN_OR_RETURN(std::uint32_t size, U32(field));
    if (size > max_size) {
      return Error(ErrorCode::kParse, std::string(field) + ": length " + std::to_string(size) +
                                          " exceeds the limit of " + std::to_string(max_size));
    }
    return Raw(size, field);
  }
  Result<std::string> SizedString(std::string_view field, std::size_t max_size) {
    TCC_ASSIGN_OR_RETURN(ByteView raw, Sized(field, max_size));
    return std::string(AsChars(raw));
  }
  Status ExpectEnd(std::string_view what) const {
    if (remaining() != 0) {
      return Error(ErrorCode::kParse, std::string(what) + ": " + std::to_string(remaining()) +
                                          " unexpected trailing bytes");
    }
    return OkStatus();
  }

 private:
  ByteView input_;
  std::size_t position_ = 0;
};

}  // namespace tcc::chain
