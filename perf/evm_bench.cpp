// evm_bench: evidence anchoring through the EVM adapter on a real anvil node (started here, on a
// free loopback port, from the pinned npm package).
//
//  1. Merkle-batched evidence: each interval's leaves are built into one RFC 9162 tree and its
//     root anchored in ONE transaction (what tccd's batcher does); leaves per second counts the
//     whole interval, tree building and the confirmed transaction included.
//  2. Gas: per anchor transaction, and per leaf at each batch size.
//  3. For comparison, one transaction per evidence item (no batching): confirmed anchors per
//     second from 1 and from 8 concurrent writers on the same node.
// Medians of --runs runs; one JSON object per line also goes to --json-out.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include "bench_util.h"
#include "evm/evm_node.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/evm_adapter.h"

namespace tcc::perf {
namespace {

using chain::EvmAdapter;
using chain::EvidenceBatchBuilder;
using chain::EvidenceItem;
using chain::Hash256;
using Clock = std::chrono::steady_clock;

int Fail(const std::string& what) {
  std::fprintf(stderr, "evm_bench: %s\n", what.c_str());
  return 1;
}

struct BatchResult {
  double leaves_per_second = 0;
  double build_ms = 0;
  double anchor_ms = 0;
  std::uint64_t gas = 0;
};

// One interval: `leaves` evidence items built into a tree and anchored in one transaction.
Result<BatchResult> AnchorInterval(EvmAdapter& adapter, std::size_t leaves, std::uint64_t& batch_counter) {
  Clock::time_point start = Clock::now();
  EvidenceBatchBuilder builder;
  for (std::size_t i = 0; i < leaves; ++i) {
    std::uint64_t seq = batch_counter * leaves + i + 1;
    Hash256 tsc_hash{};
    for (int b = 0; b < 8; ++b) tsc_hash[b] = static_cast<std::uint8_t>(seq >> (8 * b));
    TCC_RETURN_IF_ERROR(builder.Add(EvidenceItem{"channel-" + std::to_string(i % 64), seq, tsc_hash}));
  }
  TCC_ASSIGN_OR_RETURN(auto batch, builder.Build("bench-" + std::to_string(batch_counter++)));
  Clock::time_point built = Clock::now();
  TCC_ASSIGN_OR_RETURN(auto anchored, adapter.Anchor(batch.anchor()));
  Clock::time_point done = Clock::now();
  // The bundle of the last leaf must verify, or the figure means nothing.
  TCC_ASSIGN_OR_RETURN(auto bundle, batch.Bundle(leaves - 1, anchored.receipt));
  TCC_RETURN_IF_ERROR(chain::VerifyEvidenceBundle(bundle));
  BatchResult result;
  result.build_ms = std::chrono::duration<double, std::milli>(built - start).count();
  result.anchor_ms = std::chrono::duration<double, std::milli>(done - built).count();
  result.leaves_per_second = static_cast<double>(leaves) / std::chrono::duration<double>(done - start).count();
  TCC_ASSIGN_OR_RETURN(result.gas, adapter.GasUsed(anchored.receipt));
  return result;
}

int Run(int argc, char** argv) {
  BenchSettings settings;
  settings.runs = 5;
  std::string batch_sizes = "1000,10000,100000";
  if (auto exit = ParseBenchSettings(argc, argv, "evm_bench", settings,
                                     {{"batches", "comma-separated leaves per anchored batch", &batch_sizes}})) {
    return *exit;
  }
  std::vector<std::size_t> sizes;
  for (std::size_t start = 0; start < batch_sizes.size();) {
    std::size_t comma = batch_sizes.find(',', start);
    sizes.push_back(std::stoul(batch_sizes.substr(start, comma - start)));
    start = comma == std::string::npos ? batch_sizes.size() : comma + 1;
  }
  char pattern[] = "/tmp/tcc_evm_bench_XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return Fail("cannot create a temporary directory");
  const std::string dir = pattern;
  chain::testing::EvmNode node({.state_file = {}, .block_time_s = 0});
  if (std::string started = node.Start(); !started.empty()) return Fail(started);
  chain::EvmOptions options;
  options.rpc_url = node.rpc_url();
  options.key_file = dir + "/account.key";
  options.poll_interval = std::chrono::milliseconds(20);
  chain::evm::AccountKey key = chain::evm::AccountKey::Generate();
  if (!key.WriteFile(options.key_file).ok() || !node.Fund(key.address()).ok()) return Fail("cannot fund the account");
  auto deployed = chain::DeployEvmRegistry(options);
  if (!deployed.ok()) return Fail(deployed.error().ToString());
  options.contract = deployed->contract;
  auto opened = EvmAdapter::Open(options);
  if (!opened.ok()) return Fail(opened.error().ToString());
  EvmAdapter& adapter = **opened;
  std::ofstream json;
  if (!settings.json_out.empty()) json.open(settings.json_out, std::ios::app);
  auto emit = [&](const std::string& line) {
    std::printf("%s\n", line.c_str());
    if (json) json << line << "\n";
  };

  std::printf("EVM adapter on anvil (london, automine), %s\n", chain::EvmRegistryBuildInfo().c_str());
  std::printf("\n1) Merkle-batched evidence, one anchor transaction per interval (median of %d)\n", settings.runs);
  std::printf("%10s %14s %10s %10s %12s %12s\n", "leaves", "leaves/s", "build ms", "anchor ms", "gas/anchor",
              "gas/leaf");
  std::uint64_t batch_counter = 0;
  for (std::size_t leaves : sizes) {
    std::vector<double> rates, builds, anchors;
    std::uint64_t gas = 0;
    for (int run = 0; run < settings.runs; ++run) {
      auto result = AnchorInterval(adapter, leaves, batch_counter);
      if (!result.ok()) return Fail(result.error().ToString());
      rates.push_back(result->leaves_per_second);
      builds.push_back(result->build_ms);
      anchors.push_back(result->anchor_ms);
      gas = result->gas;
    }
    double rate = Median(rates);
    std::printf("%10zu %14.0f %10.1f %10.1f %12llu %12.3f\n", leaves, rate, Median(builds), Median(anchors),
                static_cast<unsigned long long>(gas), static_cast<double>(gas) / static_cast<double>(leaves));
    emit("{\"bench\":\"evm_batched\",\"leaves\":" + std::to_string(leaves) + ",\"leaves_per_s\":" +
         std::to_string(static_cast<long long>(rate)) + ",\"build_ms\":" + std::to_string(Median(builds)) +
         ",\"anchor_ms\":" + std::to_string(Median(anchors)) + ",\"gas_per_anchor\":" + std::to_string(gas) + "}");
  }

  std::printf("\n2) one transaction per evidence item, confirmed (median of %d x %.1f s)\n", settings.runs,
              settings.seconds);
  std::printf("%10s %14s\n", "writers", "anchors/s");
  std::atomic<std::uint64_t> single{0};
  for (int writers : {1, 8}) {
    double rate = MedianRate(settings.runs, writers, settings.seconds, [&] {
      std::uint64_t n = single.fetch_add(1);
      Hash256 root = Sha256("single " + std::to_string(n));
      auto anchored = adapter.Anchor({"single-" + std::to_string(n), root, 1});
      return anchored.ok() && anchored->value.root == root;
    });
    std::printf("%10d %14.1f\n", writers, rate);
    emit("{\"bench\":\"evm_single\",\"writers\":" + std::to_string(writers) + ",\"anchors_per_s\":" +
         std::to_string(rate) + "}");
  }
  auto one = adapter.FindAnchor("single-0");
  if (one.ok()) {
    auto gas = adapter.GasUsed(one->receipt);
    if (gas.ok()) std::printf("gas per single-evidence anchor: %llu\n", static_cast<unsigned long long>(*gas));
  }
  node.Stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
  return 0;
}

}  // namespace
}  // namespace tcc::perf

int main(int argc, char** argv) { return tcc::perf::Run(argc, argv); }
