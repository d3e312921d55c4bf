// Structured logs: one JSON object per line on stderr, {"ts":"<RFC 3339>","level":"info",
// "msg":"...", fields...}, so operators can ship them to any log pipeline unchanged.
//
// Callers pass identifiers, counts and error texts; never keys or whole credentials (the
// reliability tests grep a full run's logs for key material). Thread-safe: lines never interleave.
#pragma once

#include <initializer_list>
#include <string_view>
#include <utility>

#include "tcc/common/json.h"

namespace tcc::controller {

enum class LogLevel { kDebug, kInfo, kWarning, kError };

using LogField = std::pair<std::string_view, Json>;

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields = {});
// Lines below this level are dropped (default kInfo).
void SetLogLevel(LogLevel level);

}  // namespace tcc::controller
