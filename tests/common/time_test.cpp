#include <doctest/doctest.h>

#include "tcc/common/time.h"

namespace tcc {
namespace {

TEST_CASE("RFC 3339 timestamps parse strictly and format canonically") {
  auto parsed = ParseRfc3339("2025-01-01T00:00:00Z");
  REQUIRE(parsed.ok());
  CHECK(parsed->time_since_epoch() == std::chrono::milliseconds(1735689600000));
  CHECK(FormatRfc3339(*parsed) == "2025-01-01T00:00:00Z");
  CHECK(ParseRfc3339("2025-01-01T01:30:00+01:30").value() == *parsed);
  CHECK(FormatRfc3339(ParseRfc3339("2024-02-29T23:59:59.1234Z").value()) == "2024-02-29T23:59:59.123Z");
  for (const char* bad : {"2025-01-01", "2025-01-01T00:00:00", "2025-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                          "2025-01-01T24:00:00Z", "2025-01-01T00:00:00.Z", "2025-01-01T00:00:00Zjunk",
                          "2025-01-01 00:00:00Z", "2025-01-01T00:00:00+0100", ""}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad).ok());
  }
}

}  // namespace
}  // namespace tcc
