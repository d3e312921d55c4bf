// Embedded-ledger benchmark: synced blocks/s, Merkle-batched evidence leaves/s, and the sweep of
// M (entries per block). Each figure is the median of --runs runs of --seconds each, every run on
// a fresh ledger in a temporary directory on the disk under $TMPDIR (default /tmp).
//
//   ledger_bench [--runs N] [--seconds S] [--window W] [--json-out FILE]   (W = anchors in flight)
//
// Prints a table for people and one JSON object per line and configuration.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/ledger_format.h"
#include "tcc/chain/local_ledger.h"

namespace {

using Clock = std::chrono::steady_clock;
using tcc::chain::BatchAnchor;
using tcc::chain::LocalLedger;
using tcc::chain::LocalLedgerOptions;

struct Settings {
  int runs = 5;
  double seconds = 1.5;
  int window = 4096;
};

std::string FreshDirectory() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/tcc_ledger_bench_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::exit(1);
  }
  return pattern;
}

std::unique_ptr<LocalLedger> OpenFresh(const std::string& dir, std::size_t per_block) {
  auto ledger = LocalLedger::Open(LocalLedgerOptions{.path = dir + "/ledger",
                                                     .max_entries_per_block = per_block});
  if (!ledger.ok()) {
    std::fprintf(stderr, "open: %s\n", ledger.error().ToString().c_str());
    std::exit(1);
  }
  return std::move(ledger).value();
}

using tcc::perf::Median;

struct Throughput {
  double blocks_per_sec = 0;
  double entries_per_sec = 0;
};

// One submitter keeps `window` anchors in flight through AnchorAsync (a window of 1 is a plain
// synchronous caller); every anchor is a distinct batch, so every one is a new ledger entry.
Throughput RunAnchors(std::size_t per_block, int window, double seconds) {
  std::string dir = FreshDirectory();
  Throughput result;
  {
    auto ledger = OpenFresh(dir, per_block);
    std::counting_semaphore<> slots(window);
    std::atomic<std::uint64_t> entries{0};
    Clock::time_point start = Clock::now();
    Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
    for (std::uint64_t i = 0; Clock::now() < end; ++i) {
      slots.acquire();
      std::string id = "b" + std::to_string(i);
      tcc::Status queued = ledger->AnchorAsync(
          BatchAnchor{id, tcc::Sha256(id), 1}, [&](auto anchored) {
            if (!anchored.ok()) {
              std::fprintf(stderr, "anchor: %s\n", anchored.error().ToString().c_str());
              std::exit(1);
            }
            entries.fetch_add(1, std::memory_order_relaxed);
            slots.release();
          });
      if (!queued.ok()) {
        std::fprintf(stderr, "anchor: %s\n", queued.error().ToString().c_str());
        std::exit(1);
      }
    }
    for (int i = 0; i < window; ++i) slots.acquire();  // drain
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    result.blocks_per_sec = double(ledger->Status().value().height) / elapsed;
    result.entries_per_sec = double(entries.load()) / elapsed;
  }
  std::filesystem::remove_all(dir);
  return result;
}

// One thread builds Merkle batches of `batch_size` evidence leaves (leaf hashing included) and
// anchors each root; anchoring happens in the background while the next batch is built.
double RunEvidence(std::size_t batch_size, double seconds) {
  std::string dir = FreshDirectory();
  double per_sec = 0;
  {
    auto ledger = OpenFresh(dir, 256);
    std::uint64_t leaves = 0;
    std::uint64_t batch_number = 0;
    Clock::time_point start = Clock::now();
    Clock::time_point end = start + std::chrono::duration_cast<Clock::duration>(
                                        std::chrono::duration<double>(seconds));
    std::thread anchoring;
    while (Clock::now() < end) {
      tcc::chain::EvidenceBatchBuilder builder;
      for (std::size_t i = 0; i < batch_size; ++i) {
        tcc::chain::Hash256 tsc_hash{};
        std::uint64_t seq = leaves + i;
        std::memcpy(tsc_hash.data(), &seq, sizeof(seq));
        (void)builder.Add({"channel-" + std::to_string(seq % 64), seq, tsc_hash});
      }
      auto batch = builder.Build("batch-" + std::to_string(batch_number++));
      if (anchoring.joinable()) anchoring.join();
      anchoring = std::thread([&ledger, anchor = batch->anchor()] {
        if (!ledger->Anchor(anchor).ok()) std::exit(1);
      });
      leaves += batch_size;
    }
    if (anchoring.joinable()) anchoring.join();
    per_sec = double(leaves) / std::chrono::duration<double>(Clock::now() - start).count();
  }
  std::filesystem::remove_all(dir);
  return per_sec;
}

template <typename Run>
std::vector<Throughput> Repeat(int runs, Run run) {
  std::vector<Throughput> results;
  for (int i = 0; i < runs; ++i) results.push_back(run());
  return results;
}

Throughput MedianOf(const std::vector<Throughput>& results) {
  std::vector<double> blocks, entries;
  for (const Throughput& result : results) {
    blocks.push_back(result.blocks_per_sec);
    entries.push_back(result.entries_per_sec);
  }
  return {Median(blocks), Median(entries)};
}

}  // namespace

int main(int argc, char** argv) {
  Settings settings;
  tcc::perf::BenchSettings common;
  common.runs = settings.runs;
  common.seconds = settings.seconds;
  std::string window_text = std::to_string(settings.window);
  if (auto stop = tcc::perf::ParseBenchSettings(argc, argv, "ledger_bench", common,
                                                {{"window", "anchors in flight (default 4096)", &window_text}})) {
    return *stop;
  }
  settings.runs = common.runs;
  settings.seconds = common.seconds;
  settings.window = std::max(1, std::atoi(window_text.c_str()));
  std::vector<std::string> json;
  std::printf("ledger_bench: median of %d runs x %.1f s, fresh LevelDB ledger each run\n\n",
              settings.runs, settings.seconds);

  std::printf("%-34s %8s %14s %14s\n", "case", "window", "blocks/s", "entries/s");
  auto report_blocks = [&](const char* name, std::size_t m, int window) {
    Throughput t = MedianOf(
        Repeat(settings.runs, [&] { return RunAnchors(m, window, settings.seconds); }));
    std::printf("%-34s %8d %14.0f %14.0f\n", name, window, t.blocks_per_sec,
                t.entries_per_sec);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "{\"bench\":\"ledger\",\"case\":\"%s\",\"m\":%zu,\"window\":%d,"
                  "\"blocks_per_sec\":%.0f,\"per_sec\":%.0f}",
                  name, m, window, t.blocks_per_sec, t.entries_per_sec);
    json.push_back(line);
  };
  // One synchronous caller: each block waits for its own fsync.
  report_blocks("blocks_m1_sync_caller", 1, 1);
  // Many anchors in flight: up to 64 one-entry blocks share one synced LevelDB batch.
  report_blocks("blocks_m1", 1, settings.window);

  std::printf("\n%-34s %14s\n", "evidence (Merkle-batched)", "leaves/s");
  for (std::size_t batch : {1000u, 10000u}) {
    std::vector<double> runs;
    for (int i = 0; i < settings.runs; ++i) runs.push_back(RunEvidence(batch, settings.seconds));
    double median = Median(runs);
    std::printf("batch of %-25zu %14.0f\n", batch, median);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "{\"bench\":\"ledger\",\"case\":\"evidence_leaves\",\"batch\":%zu,"
                  "\"per_sec\":%.0f}",
                  batch, median);
    json.push_back(line);
  }

  std::printf("\nsweep of M (entries per block), %d anchors in flight\n", settings.window);
  std::printf("%8s %14s %14s\n", "M", "blocks/s", "entries/s");
  for (std::size_t m : {1u, 2u, 4u, 8u, 16u, 32u, 64u, 128u, 256u}) {
    Throughput t = MedianOf(Repeat(
        settings.runs, [&] { return RunAnchors(m, settings.window, settings.seconds); }));
    std::printf("%8zu %14.0f %14.0f\n", m, t.blocks_per_sec, t.entries_per_sec);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "{\"bench\":\"ledger\",\"case\":\"sweep_m\",\"m\":%zu,\"window\":%d,"
                  "\"blocks_per_sec\":%.0f,\"per_sec\":%.0f}",
                  m, settings.window, t.blocks_per_sec, t.entries_per_sec);
    json.push_back(line);
  }

  // On-chain bytes per evidence item: one anchor entry (batch id, Merkle root, leaf count) carries
  // a whole batch; with M entries per block each also carries 1/M of a block header. Exact
  // encoded sizes of the ledger format, not disk usage (LevelDB adds its index keys and compresses).
  const std::size_t header_bytes = tcc::chain::ledger::EncodeHeader({}).size();
  const std::size_t entry_bytes =
      tcc::chain::ledger::EncodeEntry(BatchAnchor{"tcc-z6MkexampleTccDidSuffix-123456", tcc::Sha256("root"), 1}).size();
  std::printf("\non-chain bytes per evidence item (anchor entry %zu B, block header %zu B, M = 256)\n", entry_bytes,
              header_bytes);
  std::printf("%14s %18s\n", "leaves/batch", "bytes/evidence");
  for (std::size_t leaves : {1u, 10u, 100u, 1000u, 10000u}) {
    const double per_evidence = (static_cast<double>(entry_bytes) + static_cast<double>(header_bytes) / 256.0) /
                                static_cast<double>(leaves);
    std::printf("%14zu %18.3f\n", leaves, per_evidence);
    char line[256];
    std::snprintf(line, sizeof(line),
                  "{\"bench\":\"ledger\",\"case\":\"bytes_per_evidence\",\"batch\":%zu,\"entry_bytes\":%zu,"
                  "\"header_bytes\":%zu,\"bytes_per_evidence\":%.4f}",
                  leaves, entry_bytes, header_bytes, per_evidence);
    json.push_back(line);
  }
  std::printf("\n");
  std::ofstream json_file;
  if (!common.json_out.empty()) json_file.open(common.json_out, std::ios::app);
  for (const std::string& line : json) {
    std::printf("%s\n", line.c_str());
    if (json_file) json_file << line << "\n";
  }
}
