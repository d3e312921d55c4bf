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

TEST_CASE("a stamp without an offset is UTC only where the caller allows it") {
  const Timestamp utc = ParseRfc3339("2025-01-01T00:00:00Z").value();
  CHECK(ParseRfc3339("2025-01-01T00:00:00", MissingZone::kUtc).value() == utc);
  CHECK(FormatRfc3339(ParseRfc3339("2025-01-01T00:00:00.250", MissingZone::kUtc).value()) ==
        "2025-01-01T00:00:00.250Z");
  CHECK(ParseRfc3339("2025-01-01T01:00:00+01:00", MissingZone::kUtc).value() == utc);
  const auto refused = ParseRfc3339("2025-01-01T00:00:00");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message().find("missing zone") != std::string::npos);
  // Everything else stays as strict.
  for (const char* bad : {"2025-01-01", "2025-01-01T00:00", "2025-01-01T00:00:0", "2025-01-01T00:00:00Zjunk",
                          "2025-01-01T00:00:00junk", "2025-01-01T00:00:00.", "2025-01-01T00:00:00+0100"}) {
    INFO(bad);
    CHECK_FALSE(ParseRfc3339(bad, MissingZone::kUtc).ok());
  }
}

}  // namespace
}  // namespace tcc
