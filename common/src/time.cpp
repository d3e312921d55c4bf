#include "tcc/common/time.h"

#include <cstdio>

namespace tcc {
namespace {

Error BadTime(std::string_view text, std::string_view why) {
  return Error(ErrorCode::kInvalidArgument,
               "invalid RFC 3339 date-time \"" + std::string(text.substr(0, 64)) + "\": " + std::string(why));
}

// Reads exactly `count` digits at text[pos].
bool ReadDigits(std::string_view text, size_t pos, size_t count, int& value) {
  if (pos + count > text.size()) return false;
  value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    value = value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

Result<Timestamp> ParseRfc3339(std::string_view text, MissingZone missing_zone) {
  int year, month, day, hour, minute, second;
  if (!ReadDigits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
      !ReadDigits(text, 5, 2, month) || text[7] != '-' || !ReadDigits(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't') || !ReadDigits(text, 11, 2, hour) || text[13] != ':' ||
      !ReadDigits(text, 14, 2, minute) || text[16] != ':' || !ReadDigits(text, 17, 2, second)) {
    return BadTime(text, "expected YYYY-MM-DDTHH:MM:SS followed by a zone");
  }
  using namespace std::chrono;
  year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                      std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok()) return BadTime(text, "no such date");
  if (hour > 23 || minute > 59 || second > 59) return BadTime(text, "time out of range");
  size_t pos = 19;
  milliseconds fraction{0};
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    int scale = 100;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      fraction += milliseconds((text[pos] - '0') * scale);
      scale /= 10;
      ++pos;
    }
    if (pos == start) return BadTime(text, "empty fraction of a second");
  }
  minutes offset{0};
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int offset_hours, offset_minutes;
    if (!ReadDigits(text, pos + 1, 2, offset_hours) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !ReadDigits(text, pos + 4, 2, offset_minutes) || offset_hours > 23 || offset_minutes > 59) {
      return BadTime(text, "bad zone offset");
    }
    offset = hours(offset_hours) + minutes(offset_minutes);
    if (text[pos] == '-') offset = -offset;
    pos += 6;
  } else if (missing_zone != MissingZone::kUtc) {
    return BadTime(text, "missing zone ('Z' or +HH:MM)");
  }
  if (pos != text.size()) return BadTime(text, "trailing characters");
  return Timestamp(sys_days(date) + hours(hour) + minutes(minute) + seconds(second) + fraction - offset);
}

std::string FormatRfc3339(Timestamp time) {
  using namespace std::chrono;
  auto day_point = floor<days>(time);
  year_month_day date{day_point};
  hh_mm_ss clock{time - day_point};
  char buffer[40];
  long long millis = clock.subseconds().count();
  if (millis != 0) {
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", int(date.year()),
                  unsigned(date.month()), unsigned(date.day()), static_cast<long long>(clock.hours().count()),
                  static_cast<long long>(clock.minutes().count()),
                  static_cast<long long>(clock.seconds().count()), millis);
  } else {
    std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02lld:%02lld:%02lldZ", int(date.year()),
                  unsigned(date.month()), unsigned(date.day()), static_cast<long long>(clock.hours().count()),
                  static_cast<long long>(clock.minutes().count()),
                  static_cast<long long>(clock.seconds().count()));
  }
  return buffer;
}

Timestamp NowSeconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

}  // namespace tcc
