// The channel store as it grows: what committing one TSC costs the committing thread and LevelDB's
// compaction thread, step by step from an empty store to --tscs TSCs, with --channels channels
// settling at once (each group commit holds --group TSCs of different channels, as tccd's writer
// makes them at saturation).
//
// A long-lived store is what an operator runs; tccd_bench and settle_bench write a few hundred MB
// at most. In an LSM tree, compaction rewrites what a new table overlaps in the level below, so
// its cost per TSC depends on how new TSCs spread over the key space, and can grow with the store.
//
// The TSCs are shaped like tccd's (schemas/examples/channel-messages/event.tsc.json, compact):
// per TSC the channel, seq, prev and the three proof values are fresh (the proofs as random
// base58, as incompressible as signatures), and the hash stored with it is the TSC's real
// vc::CredentialDigest, so the store's reads accept it. At the end a sample of TSCs is read back
// and compared: a mismatch ends the benchmark with an error.
//
// Usage: store_bench [--tscs N] [--channels C] [--group G] [--steps S] [--dir DIR] [--json-out FILE]
#include <sodium.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "bench_util.h"
#include "channel_store.h"
#include "proc_cpu.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/transaction.h"

namespace {

using tcc::Json;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "store_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(tcc::Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what + ": " + result.error().ToString());
  return std::move(result).value();
}

std::string RandomHex(std::size_t bytes) {
  std::vector<std::uint8_t> raw(bytes);
  randombytes_buf(raw.data(), raw.size());
  return tcc::HexEncode(raw);
}

std::string RandomBase58(std::size_t length) {
  static constexpr char kAlphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
  std::string out(length, '1');
  for (char& c : out) c = kAlphabet[randombytes_uniform(58)];
  return out;
}

// The example TSC with this channel, seq and random prev and proof values.
std::string MakeTsc(const Json& example, const std::string& channel_id, std::uint64_t seq) {
  Json tsc = example;
  Json* subject = tsc.Find("credentialSubject");
  subject->Set("channel", channel_id);
  subject->Set("seq", static_cast<double>(seq));
  subject->Set("prev", RandomHex(32));
  for (Json& proof : subject->Find("proof")->as_array()) proof.Set("proofValue", "z" + RandomBase58(87));
  tsc.Find("proof")->Set("proofValue", "z" + RandomBase58(87));
  return tsc.Serialize();
}

std::uint64_t DirectoryBytes(const std::string& path) {
  std::uint64_t total = 0;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(path, error)) {
    if (entry.is_regular_file(error)) total += entry.file_size(error);
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  tcc::perf::BenchSettings settings;
  std::string tscs_text = "600000", channels_text = "1000", group_text = "64", steps_text = "6", dir_text;
  if (auto stop = tcc::perf::ParseBenchSettings(
          argc, argv, "store_bench", settings,
          {{"tscs", "TSCs committed in all (default 600000)", &tscs_text},
           {"channels", "channels settling at once (default 1000)", &channels_text},
           {"group", "TSCs per group commit (default 64)", &group_text},
           {"steps", "report this many steps of the run (default 6)", &steps_text},
           {"dir", "where the store is made (default: a new directory under TMPDIR or /tmp)", &dir_text}})) {
    return *stop;
  }
  if (sodium_init() < 0) return 1;
  const std::uint64_t total = std::max<std::uint64_t>(1, std::strtoull(tscs_text.c_str(), nullptr, 10));
  const std::size_t channels = std::max<std::size_t>(1, std::strtoull(channels_text.c_str(), nullptr, 10));
  const std::size_t group = std::max<std::size_t>(1, std::strtoull(group_text.c_str(), nullptr, 10));
  const std::uint64_t steps = std::clamp<std::uint64_t>(std::strtoull(steps_text.c_str(), nullptr, 10), 1, total);

  const char* tmp = std::getenv("TMPDIR");
  const std::string dir = dir_text.empty()
                              ? std::string(tmp != nullptr ? tmp : "/tmp") + "/store_bench." + std::to_string(::getpid())
                              : dir_text;
  if (std::filesystem::exists(dir)) Die(dir + " already exists; give a new --dir");
  std::filesystem::create_directories(dir);
  const Json example = *Must(Json::Parse(Must(tcc::ReadFile(std::string(TCC_SCHEMAS_DIR) +
                                                              "/examples/channel-messages/event.tsc.json"),
                                              "example")),
                             "example")
                            .Find("tsc");

  auto store = Must(tcc::controller::ChannelStore::Open(dir + "/store"), "store");
  std::vector<tcc::controller::ChannelRecord> records(channels);
  for (std::size_t c = 0; c < channels; ++c) {
    tcc::controller::ChannelRecord& record = records[c];
    record.channel_id = tcc::HexEncode(tcc::Sha256("store_bench channel " + std::to_string(c)));
    record.provider = "did:key:z6MkfLUffTs9EDReuf9KaL7m8UZ6dFWaTL5Rwaox1FB7ZqJx";
    record.consumer = "did:key:z6MkrunPpP82rFhBZNVHtdKnVuKYQf9bxEhGn7iojEPymUYW";
    record.tst_id = "example.gpu-hour.tst";
    record.tst_version = 1;
    record.strategy_n = 10;
    record.last_hash = *tcc::Sha256DigestFromHex(record.channel_id);
    record.opened_ms = 1700000000000;
    if (auto put = store->PutChannel(record); !put.ok()) Die("channel: " + put.error().ToString());
  }

  std::printf("store_bench: %llu TSCs over %zu channels, %zu per synced group commit, store in %s\n",
              static_cast<unsigned long long>(total), channels, group, dir.c_str());
  std::printf("%12s %10s %14s %14s %14s %12s\n", "TSCs", "store MB", "commit us/TSC", "compact us/TSC",
              "(kernel)", "TSCs/s");
  std::string json_lines;
  std::uint64_t committed = 0;
  std::size_t next_channel = 0;
  std::vector<tcc::controller::SettlementCommit> batch;
  for (std::uint64_t step = 1; step <= steps; ++step) {
    const std::uint64_t until = total * step / steps;
    const std::uint64_t in_step = until - committed;
    double commit_cpu = 0;
    const auto wall_start = std::chrono::steady_clock::now();
    std::map<std::string, double> kernel_start;
    auto threads_start = tcc::perf::ThreadCpuSeconds(::getpid(), &kernel_start);
    while (committed < until) {
      batch.clear();
      const std::size_t size = static_cast<std::size_t>(std::min<std::uint64_t>(group, until - committed));
      for (std::size_t i = 0; i < size; ++i) {
        tcc::controller::ChannelRecord& record = records[next_channel];
        next_channel = (next_channel + 1) % channels;
        tcc::controller::SettlementCommit commit;
        commit.tsc.channel_id = record.channel_id;
        commit.tsc.seq = record.last_seq + 1;
        commit.tsc.tsc = MakeTsc(example, record.channel_id, commit.tsc.seq);
        commit.tsc.tsc_hash = Must(tcc::vc::CredentialDigest(*Json::Parse(commit.tsc.tsc)), "digest");
        commit.tsc.claim_hash = RandomHex(32);
        record.last_seq = commit.tsc.seq;
        record.last_hash = commit.tsc.tsc_hash;
        if (record.last_seq - record.evidence_seq >= record.strategy_n) {
          commit.evidence = tcc::chain::EvidenceItem{record.channel_id, commit.tsc.seq, commit.tsc.tsc_hash};
          record.evidence_seq = commit.tsc.seq;
        }
        commit.channel = record;
        batch.push_back(std::move(commit));
      }
      const double before = tcc::perf::CallingThreadCpuSeconds();
      if (auto written = store->CommitSettlements(batch); !written.ok()) Die("commit: " + written.error().ToString());
      commit_cpu += tcc::perf::CallingThreadCpuSeconds() - before;
      committed += size;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
    std::map<std::string, double> kernel_end;
    auto threads_end = tcc::perf::ThreadCpuSeconds(::getpid(), &kernel_end);
    // A name not there yet (LevelDB starts its thread with the first compaction) reads as 0.
    const double per = 1e6 / static_cast<double>(in_step);
    const double commit_us = commit_cpu * per;
    const double compact_us = (threads_end["tcc-leveldb-bg"] - threads_start["tcc-leveldb-bg"]) * per;
    const double compact_kernel_us = (kernel_end["tcc-leveldb-bg"] - kernel_start["tcc-leveldb-bg"]) * per;
    const double mb = static_cast<double>(DirectoryBytes(dir + "/store")) / (1 << 20);
    std::printf("%12llu %10.0f %14.1f %14.1f %14.1f %12.0f\n", static_cast<unsigned long long>(committed), mb,
                commit_us, compact_us, compact_kernel_us, static_cast<double>(in_step) / wall);
    std::fflush(stdout);
    char line[320];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"store_growth\",\"tscs\":%llu,\"channels\":%zu,\"group\":%zu,\"store_mb\":%.1f,"
                  "\"commit_us\":%.2f,\"compaction_us\":%.2f,\"compaction_kernel_us\":%.2f,\"per_sec\":%.0f}\n",
                  static_cast<unsigned long long>(committed), channels, group, mb, commit_us, compact_us,
                  compact_kernel_us, static_cast<double>(in_step) / wall);
    json_lines += line;
  }

  // Read back: the first and the last TSC of a few channels, checked against their hash by the
  // store's own read path, and the head of each.
  for (std::size_t c = 0; c < channels; c += std::max<std::size_t>(1, channels / 16)) {
    const tcc::controller::ChannelRecord& record = records[c];
    if (record.last_seq == 0) continue;
    auto last = Must(store->GetTsc(record.channel_id, record.last_seq), "reading back");
    if (last.tsc_hash != record.last_hash) Die("the last TSC read back is not the one committed");
    Must(store->GetTsc(record.channel_id, 1), "reading back");
    auto stored = Must(store->GetChannel(record.channel_id), "reading back");
    if (stored.last_seq != record.last_seq) Die("a channel's head read back is not the one committed");
  }
  store.reset();
  std::filesystem::remove_all(dir);
  std::fputs(json_lines.c_str(), stdout);
  if (!settings.json_out.empty()) std::ofstream(settings.json_out, std::ios::app) << json_lines;
  return 0;
}
