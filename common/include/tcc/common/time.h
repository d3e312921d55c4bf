// RFC 3339 / XML Schema dateTime stamps as used by Verifiable Credentials (validFrom, created).
//
// Timestamps are UTC instants with millisecond precision (sub-millisecond digits are accepted
// and truncated). Parsing is strict: a full date, 'T', a full time and a zone ('Z' or ±HH:MM) are
// required, and every field is range-checked (including leap years); only where a specification
// says a stamp without an offset is read as UTC (Data Integrity's proof `created`/`expires`) may a
// caller allow the zone to be missing. Pure functions, thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "tcc/common/result.h"

namespace tcc {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

enum class MissingZone {
  kRefuse,  // RFC 3339: the zone is required
  kUtc,     // read as UTC (VC Data Integrity 1.0: "incorrectly serialized without an offset")
};
Result<Timestamp> ParseRfc3339(std::string_view text, MissingZone missing_zone = MissingZone::kRefuse);
// "2025-01-01T00:00:00Z"; milliseconds are written only when non-zero.
std::string FormatRfc3339(Timestamp time);
// The current time, truncated to whole seconds (the form credentials carry).
Timestamp NowSeconds();

}  // namespace tcc
