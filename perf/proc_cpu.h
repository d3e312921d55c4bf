// CPU time of processes and their threads from /proc, for the benchmarks in perf/: how much of a
// core a process (or each kind of thread in it) used between two readings. Linux only; plain
// functions, safe from any thread.
#pragma once

#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>

namespace tcc::perf {

// utime + stime from the text of a /proc/.../stat file; `name` gets the command (thread) name,
// `kernel` the stime part alone (system calls, and the kernel work they do: socket I/O, fsync).
inline double StatCpuSeconds(const std::string& text, std::string* name = nullptr,
                             double* kernel = nullptr) {
  const std::size_t open = text.find('('), close = text.rfind(')');
  if (open == std::string::npos || close == std::string::npos || close < open) return 0;
  if (name != nullptr) *name = text.substr(open + 1, close - open - 1);
  std::istringstream fields(text.substr(close + 2));  // after "pid (comm) "
  std::string field;
  double ticks = 0;
  const double tick_seconds = 1.0 / static_cast<double>(sysconf(_SC_CLK_TCK));
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15 && kernel != nullptr) *kernel = std::stod(field) * tick_seconds;
    if (i == 15) break;
  }
  return ticks * tick_seconds;
}

// A /proc file's text (tcc::ReadFile reads st_size bytes, which /proc reports as 0).
inline std::string ReadAll(const std::string& path) {
  std::ifstream file(path);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

// CPU seconds the calling thread has used (CLOCK_THREAD_CPUTIME_ID): its own work only, not the
// time other processes or threads take its core away.
inline double CallingThreadCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) / 1e9;
}

// utime + stime of a process, from /proc/PID/stat.
inline double ProcessCpuSeconds(pid_t pid) {
  return StatCpuSeconds(ReadAll("/proc/" + std::to_string(pid) + "/stat"));
}

// CPU seconds of each of a process's threads, summed by thread name without its trailing number
// ("tcc-worker-0" and "tcc-worker-1" count as "tcc-worker", "ZMQbg/IO/0" as "ZMQbg/IO"): which
// thread does how much of the work. `kernel`, when given, gets the stime parts by the same names.
inline std::map<std::string, double> ThreadCpuSeconds(
    pid_t pid, std::map<std::string, double>* kernel = nullptr) {
  std::map<std::string, double> by_name;
  std::error_code error;
  for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/task", error), end;
       !error && it != end; it.increment(error)) {
    std::string name;
    double kernel_seconds = 0;
    const double seconds =
        StatCpuSeconds(ReadAll(it->path().string() + "/stat"), &name, &kernel_seconds);
    while (!name.empty() && (std::isdigit(static_cast<unsigned char>(name.back())) ||
                             name.back() == '-' || name.back() == '/')) {
      name.pop_back();
    }
    if (name.empty()) name = "?";
    by_name[name] += seconds;
    if (kernel != nullptr) (*kernel)[name] += kernel_seconds;
  }
  return by_name;
}

}  // namespace tcc::perf
