// ParseDecimal: the one reader of an unsigned integer written in canonical decimal.
//
// Canonical means one spelling per value: ASCII digits only (no sign, space or "0x"), and no
// leading zero unless the value is 0. Cursors and other numbers that tccd or an adapter wrote and
// gets back from a caller are read with it, so a value that was not written by std::to_string is
// refused rather than read as a different one. Pure and thread-safe.
#pragma once

#include <charconv>
#include <concepts>
#include <optional>
#include <string_view>
#include <system_error>

namespace tcc {

// The value of `text`, or nullopt when it is empty, not canonical, or does not fit Integer.
template <std::unsigned_integral Integer>
std::optional<Integer> ParseDecimal(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  Integer value{};
  // from_chars reads no sign for an unsigned type, so "-1" and "+1" fail here.
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace tcc
