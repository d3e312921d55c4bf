#include "tcc/common/decimal.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <optional>

namespace tcc {
namespace {

TEST_CASE("ParseDecimal reads canonical decimal and nothing else") {
  CHECK(ParseDecimal<std::uint64_t>("0") == std::optional<std::uint64_t>(0));
  CHECK(ParseDecimal<std::uint64_t>("42") == std::optional<std::uint64_t>(42));
  CHECK(ParseDecimal<std::uint64_t>("18446744073709551615") ==
        std::optional<std::uint64_t>(UINT64_MAX));
  CHECK(ParseDecimal<std::uint32_t>("4294967295") == std::optional<std::uint32_t>(UINT32_MAX));
  // One spelling per value: these would read as a value someone did not write.
  for (const char* text : {"", "00", "01", "+1", "-1", " 1", "1 ", "1.0", "0x10", "1e3", "١"}) {
    CAPTURE(text);
    CHECK_FALSE(ParseDecimal<std::uint64_t>(text).has_value());
  }
  // Too large for the type.
  CHECK_FALSE(ParseDecimal<std::uint64_t>("18446744073709551616").has_value());
  CHECK_FALSE(ParseDecimal<std::uint32_t>("4294967296").has_value());
  CHECK_FALSE(ParseDecimal<std::uint8_t>("256").has_value());
}

}  // namespace
}  // namespace tcc
