// Schema validation benchmark: settlement claims of about 1, 2 and 4 KB checked against the
// GPU-hour TST of schemas/examples (compiled once), on one thread and on all cores.
//
// Modes: "validate" = SchemaValidator::Validate (collects every violation; the claim is valid, so
// the list stays empty), "is_valid" = SchemaValidator::IsValid (stops at the first violation),
// "parse_validate" = Json::Parse of the claim text followed by Validate. Each figure is the median
// of --runs runs of --seconds each.
//
// Usage: schema_bench [--schemas DIR] [--runs N] [--seconds S]
// Prints a table and one JSON object per line and configuration.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/vc/template.h"

namespace {

struct Settings {
  std::string schemas = TCC_SCHEMAS_DIR;
  int runs = 5;
  double seconds = 0.5;
};

// The example settlement claim with per-GPU samples appended until it is at least `bytes` long
// (compact serialization); the TST allows up to 64 samples.
tcc::Json ClaimOfSize(const tcc::Json& base, std::size_t bytes) {
  tcc::Json claim = base;
  tcc::Json& samples = *claim.Find("usage")->Find("samples");
  for (unsigned i = 0; claim.Serialize().size() < bytes; ++i) {
    char gpu[16];
    std::snprintf(gpu, sizeof gpu, "GPU-%08x", 0x1f00a000u + i);
    tcc::Json sample = tcc::Json::Object();
    sample.Set("gpu", std::string(gpu));
    sample.Set("seconds", 60);
    sample.Set("utilization", 0.5 + (i % 50) / 100.0);
    samples.PushBack(std::move(sample));
  }
  return claim;
}

tcc::Json LoadJson(const std::string& path) {
  auto text = tcc::ReadFile(path);
  if (!text.ok()) {
    std::cerr << "schema_bench: " << text.error().ToString() << "\n";
    std::exit(1);
  }
  auto json = tcc::Json::Parse(*text);
  if (!json.ok()) {
    std::cerr << "schema_bench: " << path << ": " << json.error().ToString() << "\n";
    std::exit(1);
  }
  return json.value();
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--schemas" && i + 1 < argc) {
      settings.schemas = argv[++i];
    } else if (arg == "--runs" && i + 1 < argc) {
      settings.runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--seconds" && i + 1 < argc) {
      settings.seconds = std::atof(argv[++i]);
    } else {
      std::cerr << "usage: schema_bench [--schemas DIR] [--runs N] [--seconds S]\n";
      return 2;
    }
  }
  auto tst = tcc::vc::Template::FromJson(LoadJson(settings.schemas + "/examples/gpu-hour.tst.json"));
  if (!tst.ok()) {
    std::cerr << "schema_bench: " << tst.error().ToString() << "\n";
    return 1;
  }
  const tcc::vc::SchemaValidator& validator = tst->claim_validator();
  tcc::Json base = LoadJson(settings.schemas + "/examples/claims/gpu-hour.tsc-claim.json");
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> thread_counts = {1};
  if (cores > 1) thread_counts.push_back(cores);

  struct Row {
    std::string mode;
    std::size_t claim_bytes;
    int threads;
    double per_sec;
  };
  std::vector<Row> rows;
  for (std::size_t target : {1024u, 2048u, 4096u}) {
    const tcc::Json claim = ClaimOfSize(base, target);
    const std::string text = claim.Serialize();
    if (!validator.IsValid(claim)) {
      std::cerr << "schema_bench: generated claim is invalid: "
                << validator.Check(claim).error().message() << "\n";
      return 1;
    }
    const std::vector<std::pair<std::string, std::function<bool()>>> modes = {
        {"validate", [&] { return validator.Validate(claim).empty(); }},
        {"is_valid", [&] { return validator.IsValid(claim); }},
        {"parse_validate",
         [&] {
           auto parsed = tcc::Json::Parse(text);
           return parsed.ok() && validator.Validate(*parsed).empty();
         }},
    };
    for (const auto& [mode, work] : modes) {
      for (int threads : thread_counts) {
        std::vector<double> rates;
        for (int run = 0; run < settings.runs; ++run) {
          rates.push_back(tcc::perf::MeasureRate(threads, settings.seconds, work));
        }
        rows.push_back({mode, text.size(), threads, tcc::perf::Median(rates)});
      }
    }
  }

  std::printf("%-16s %11s %8s %14s %14s\n", "mode", "claim bytes", "threads", "per second",
              "us per op/core");
  for (const auto& row : rows) {
    std::printf("%-16s %11zu %8d %14.0f %14.2f\n", row.mode.c_str(), row.claim_bytes, row.threads,
                row.per_sec, 1e6 * row.threads / row.per_sec);
  }
  for (const auto& row : rows) {
    std::printf("{\"bench\":\"%s\",\"claim_bytes\":%zu,\"threads\":%d,\"per_sec\":%.0f,"
                "\"runs\":%d}\n",
                row.mode.c_str(), row.claim_bytes, row.threads, row.per_sec, settings.runs);
  }
  return 0;
}
