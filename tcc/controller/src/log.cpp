#include "tcc/controller/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

#include "tcc/common/thread_safety.h"
#include "tcc/common/time.h"

namespace tcc::controller {
namespace {

std::atomic<int> minimum_level{static_cast<int>(LogLevel::kInfo)};
Mutex output_mutex;

std::string_view LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarning: return "warning";
    case LogLevel::kError: return "error";
  }
  return "info";
}

}  // namespace

void SetLogLevel(LogLevel level) { minimum_level = static_cast<int>(level); }

void Log(LogLevel level, std::string_view message, std::initializer_list<LogField> fields) {
  if (static_cast<int>(level) < minimum_level) return;
  std::string line = "{\"ts\":";
  AppendJsonString(line, FormatRfc3339(std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now())));
  line += ",\"level\":";
  AppendJsonString(line, LevelName(level));
  line += ",\"msg\":";
  AppendJsonString(line, message);
  for (const auto& [name, value] : fields) {
    line += ',';
    AppendJsonString(line, name);
    line += ':';
    line += value.Serialize();
  }
  line += "}\n";
  MutexLock lock(output_mutex);
  std::fwrite(line.data(), 1, line.size(), stderr);
  std::fflush(stderr);
}

}  // namespace tcc::controller
