// Shared measuring code for the benchmarks in perf/: timed multi-threaded loops and medians.
//
// MeasureRate runs `work` on N threads for a fixed wall time and returns operations per second;
// `work` returns false when an operation produced a wrong result, which ends the benchmark with
// an error (a fast wrong answer is not a result). Header-only, used by one thread of the caller.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace tcc::perf {

inline double MeasureRate(int threads, double seconds, const std::function<bool()>& work) {
  std::atomic<bool> stop{false};
  std::atomic<bool> wrong{false};
  constexpr std::size_t kStride = 16;  // counters a cache line apart: no false sharing
  std::vector<std::uint64_t> counts(static_cast<std::size_t>(threads) * kStride, 0);
  std::vector<std::thread> workers;
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::uint64_t done = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        if (!work()) wrong = true;
        ++done;
      }
      counts[static_cast<std::size_t>(t) * kStride] = done;
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& worker : workers) worker.join();
  double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (wrong) {
    std::fputs("benchmark: an operation returned a wrong result; figures would be meaningless\n", stderr);
    std::exit(1);
  }
  std::uint64_t total = 0;
  for (int t = 0; t < threads; ++t) total += counts[static_cast<std::size_t>(t) * kStride];
  return static_cast<double>(total) / elapsed;
}

inline double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  std::size_t middle = values.size() / 2;
  return values.size() % 2 ? values[middle] : (values[middle - 1] + values[middle]) / 2;
}

// The median of `runs` measurements.
inline double MedianRate(int runs, int threads, double seconds, const std::function<bool()>& work) {
  std::vector<double> rates;
  for (int run = 0; run < runs; ++run) rates.push_back(MeasureRate(threads, seconds, work));
  return Median(rates);
}

// The options every benchmark takes: --vectors DIR, --runs N, --seconds S, --json-out FILE.
struct BenchSettings {
  std::string vectors;
  int runs = 5;
  double seconds = 1.0;
  std::string json_out;
};

// A benchmark's own option (`--name VALUE`), stored as text into `value` (which keeps its default
// when the option is absent).
struct ExtraOption {
  std::string_view name;  // without the leading dashes
  std::string_view meaning;
  std::string* value;
};

// Fills `settings` (and `extra`) from argv; returns the exit code when the program should stop
// instead (--help, a usage error).
inline std::optional<int> ParseBenchSettings(int argc, char** argv, std::string_view name, BenchSettings& settings,
                                             std::initializer_list<ExtraOption> extra = {}) {
  auto usage = [&](std::ostream& out) {
    out << "usage: " << name << " [--vectors DIR] [--runs N] [--seconds S] [--json-out FILE]";
    for (const ExtraOption& option : extra) out << " [--" << option.name << " VALUE]";
    out << "\n";
    for (const ExtraOption& option : extra) out << "  --" << option.name << ": " << option.meaning << "\n";
  };
  for (int i = 1; i < argc; ++i) {
    const std::string argument = argv[i];
    if (argument == "--help") {
      usage(std::cout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::cerr << argument << " needs a value\n";
      return 2;
    }
    const ExtraOption* own = nullptr;
    for (const ExtraOption& option : extra) {
      if (argument.size() > 2 && argument.compare(0, 2, "--") == 0 && argument.substr(2) == option.name) own = &option;
    }
    if (own != nullptr) *own->value = argv[++i];
    else if (argument == "--vectors") settings.vectors = argv[++i];
    else if (argument == "--runs") settings.runs = std::max(1, std::atoi(argv[++i]));
    else if (argument == "--seconds") settings.seconds = std::atof(argv[++i]);
    else if (argument == "--json-out") settings.json_out = argv[++i];
    else {
      usage(std::cerr);
      return 2;
    }
  }
  return std::nullopt;
}

}  // namespace tcc::perf
