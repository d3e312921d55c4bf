// Key building blocks for TCC's LevelDB databases: unsigned integers as 8 bytes big-endian, so
// that LevelDB's bytewise key order is numeric order and range scans come out ascending.
// Free functions, no state: any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tcc::storage {

inline void AppendU64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(char(value >> shift));
}

// `bytes` must hold at least 8 bytes; the first 8 are read.
inline std::uint64_t ReadU64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

inline std::string U64Value(std::uint64_t value) {
  std::string out;
  AppendU64(out, value);
  return out;
}

}  // namespace tcc::storage
