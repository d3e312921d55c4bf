// Full settlement in process: what tccd does for every submitted claim, without the network.
//
// Per claim, on `--threads` workers (default: all cores): parse the submitted JSON text, read
// channel/seq/prev and check them against the channel's head (the hash-chain check), validate the
// claim against the TST, verify both parties' proofs (vc::VerifyJointClaim with tccd's options, Crypto++'s
// Ed25519 as in tccd: controller::SettlementProofOptions; DID documents through
// a caching did:key resolver as in tccd), issue the TSC as canonical text with its hash and the
// claim's (the replay key; vc::IssueCanonicalTsc, as tccd), and hand it to the daemon's own
// StoreWriter, which group-commits it to a real LevelDB ChannelStore (synced) with the channel's
// new head and, every N, its evidence item. A claim counts once durable. Each channel has one
// settlement in flight, as in tccd; workers serve many channels.
//
// The claims of every channel are built before the timed part: the provider's and consumer's
// proofs and the TCC's `created` time are fixed, so the TSC a run issues is byte-identical to the
// one the setup predicted, and the next claim's `prev` can name it. Every issued TSC's hash is
// compared with the prediction: a mismatch ends the benchmark (a fast wrong answer is no result).
//
// The ceiling, measured in the same run on the same threads: two Ed25519 verifications and one
// signature (64-byte messages) with the primitives tccd uses (crypto_floor.h), the cryptographic
// work a settlement cannot avoid.
// A single-thread breakdown shows what each step of the hot path costs.
//
// With --scaling 1 it also compares 1 worker pinned to 1 CPU with 2 workers on 2 CPUs, and with
// --adaptive-seconds S it runs the adaptive-N experiment (AdaptiveRun below).
//
// Usage: settle_bench [--runs N] [--seconds S] [--json-out FILE] [--claims C] [--channels K]
//                     [--threads T] [--n N] [--scaling 1] [--adaptive-seconds S --adaptive-rate R --adaptive-csv FILE]
#include <sched.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "crypto_floor.h"
#include "proc_cpu.h"
#include "controller/faulty_adapter.h"  // tests/controller: a real ledger behind a settable delay
#include "tcc/controller/daemon.h"        // StoreTuning: tccd's group-commit defaults
#include "store_writer.h"                // the daemon's group-committing writer (tcc/controller/src)
#include "ed25519_verifier.h"            // the settlement path's Ed25519 check (tcc/controller/src)
#include "anchor_service.h"
#include "channel_store.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/common/file.h"
#include "tcc/common/sha256.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"

namespace {

using Clock = std::chrono::steady_clock;
using tcc::Json;
using tcc::controller::ChannelRecord;

constexpr const char* kCreated = "2026-01-01T00:00:00Z";

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "settle_bench: %s\n", what.c_str());
  std::exit(1);
}

template <typename T>
T Must(tcc::Result<T> result, const char* what) {
  if (!result.ok()) Die(std::string(what) + ": " + result.error().ToString());
  return std::move(result).value();
}

std::string HexSha256(std::string_view text) { return tcc::HexEncode(tcc::Sha256(text)); }

struct Parties {
  tcc::did::KeyPair provider = tcc::did::KeyPair::FromSeed(tcc::Bytes(32, 1)).value();
  tcc::did::KeyPair consumer = tcc::did::KeyPair::FromSeed(tcc::Bytes(32, 2)).value();
  tcc::did::KeyPair tcc = tcc::did::KeyPair::FromSeed(tcc::Bytes(32, 3)).value();
  std::string provider_did = tcc::did::DidKeyFromPublicKey(provider.public_key());
  std::string consumer_did = tcc::did::DidKeyFromPublicKey(consumer.public_key());
};

tcc::vc::Template LoadTst(const std::string& owner) {
  std::string text = Must(tcc::ReadFile(std::string(TCC_SCHEMAS_DIR) + "/examples/gpu-hour.tst.json"), "TST");
  Json document = Must(Json::Parse(text), "TST");
  document.Set("owner", owner);
  return Must(tcc::vc::Template::FromJson(document), "TST");
}

// One channel's pre-built submissions: the joint claims as the wire carries them, and the hash of
// the TSC each must produce.
struct ChannelPlan {
  std::string channel_id;
  std::vector<std::string> claim_texts;
  std::vector<std::string> tsc_hashes;
};

struct Plan {
  Parties parties;
  tcc::vc::Template tst;
  Json claim_template;
  std::vector<ChannelPlan> channels;
};

// The joint claim for `seq` after `prev`, both parties' proofs with the fixed `created`.
Json JointClaim(const Plan& plan, const std::string& channel_id, std::uint64_t seq, const std::string& prev) {
  Json claim = plan.claim_template;
  claim.Set("channel", channel_id);
  claim.Set("seq", seq);
  claim.Set("prev", prev);
  Json proposal = Must(tcc::vc::ProposeSettlement(plan.tst, std::move(claim), plan.parties.provider, kCreated), "propose");
  tcc::did::DidKeyResolver resolver;
  return Must(tcc::vc::CosignSettlement(plan.tst, std::move(proposal), plan.parties.consumer, resolver, kCreated),
              "cosign");
}

std::string TscHash(Json joint, const Plan& plan) {
  Json tsc = Must(tcc::vc::IssueTsc(std::move(joint), plan.tst, plan.parties.tcc, kCreated), "issue");
  return HexSha256(Must(tcc::vc::Canonicalize(tsc), "canonicalize"));
}

void BuildPlan(Plan& plan, int channels, int per_channel, int threads) {
  plan.channels.resize(static_cast<std::size_t>(channels));
  std::vector<std::thread> builders;
  for (int t = 0; t < threads; ++t) {
    builders.emplace_back([&, t] {
      for (int c = t; c < channels; c += threads) {
        ChannelPlan& channel = plan.channels[static_cast<std::size_t>(c)];
        channel.channel_id = HexSha256("settle_bench channel " + std::to_string(c));
        std::string prev = channel.channel_id;
        for (int seq = 1; seq <= per_channel; ++seq) {
          Json joint = JointClaim(plan, channel.channel_id, static_cast<std::uint64_t>(seq), prev);
          channel.claim_texts.push_back(joint.Serialize());
          prev = TscHash(std::move(joint), plan);
          channel.tsc_hashes.push_back(prev);
        }
      }
    });
  }
  for (auto& builder : builders) builder.join();
}

std::string FreshDirectory() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/tcc_settle_bench_XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) Die("mkdtemp failed");
  return pattern;
}

// The adaptive-N run: claims released at a fixed rate, each channel's evidence every N TSCs as the
// anchor service's policy says (N moves), durable evidence handed to the service as tccd does.
struct Anchoring {
  tcc::controller::AnchorService* service = nullptr;
  double rate = 0;  // claims released per second
  std::atomic<std::uint64_t> issued{0};
};

struct RunResult {
  double per_sec = 0;
  double group_commits = 0;
  double tscs_per_group = 0;
  // CPU microseconds per settlement of the store writer's thread (one thread: a serial stage) and
  // of everything else (the workers; LevelDB's compaction thread; the main thread only waits).
  double writer_us = 0;
  double compaction_us = 0;  // LevelDB's background thread (tcc-leveldb-bg)
  double workers_us = 0;
};

// One timed run: every planned claim settled and durable in a fresh store.
RunResult SettleAll(const Plan& plan, int threads, std::uint64_t n, tcc::controller::ChannelStore* given_store = nullptr,
                    Anchoring* anchoring = nullptr) {
  const std::string dir = FreshDirectory();
  RunResult result;
  {
    std::unique_ptr<tcc::controller::ChannelStore> own_store;
    if (given_store == nullptr) own_store = Must(tcc::controller::ChannelStore::Open(dir + "/store"), "store");
    tcc::controller::ChannelStore* store = given_store != nullptr ? given_store : own_store.get();
    const std::size_t channel_count = plan.channels.size();
    std::vector<ChannelRecord> records(channel_count);
    for (std::size_t c = 0; c < channel_count; ++c) {
      ChannelRecord& record = records[c];
      record.channel_id = plan.channels[c].channel_id;
      record.provider = plan.parties.provider_did;
      record.consumer = plan.parties.consumer_did;
      record.tst_id = plan.tst.id();
      record.tst_version = plan.tst.version();
      record.strategy_n = n;
      record.last_hash = Must(tcc::Sha256DigestFromHex(record.channel_id), "channel id");
      if (auto put = store->PutChannel(record); !put.ok()) Die(put.error().ToString());
    }
    // As in tccd: did:key documents derived locally, behind the resolver cache.
    auto resolver = std::make_shared<tcc::did::CachingResolver>(std::make_shared<tcc::did::DidKeyResolver>(),
                                                                 std::chrono::minutes(5));
    // A channel is ready for its next claim once its previous TSC is durable (one in flight).
    std::vector<std::atomic<bool>> ready(channel_count);
    for (auto& flag : ready) flag = true;
    std::atomic<std::uint64_t> durable{0};
    std::atomic<bool> failed{false};
    std::uint64_t total = 0;
    for (const auto& channel : plan.channels) total += channel.claim_texts.size();
    std::mutex done_mutex;
    std::condition_variable all_done;
    std::atomic<std::uint64_t> released{0};
    // Bumped whenever a channel becomes ready again; an idle worker waits for it to move.
    std::mutex ready_mutex;
    std::condition_variable ready_changed;
    std::atomic<std::uint64_t> ready_epoch{0};
    auto effective_n = [&](const ChannelRecord& record) {
      if (anchoring == nullptr) return n;
      return anchoring->service->EffectiveN(record.strategy_n, record.n_override);
    };

    // The daemon's group-commit policy (tccd's defaults, docs/tccd.md). A channel whose claim is
    // ready counts as being verified until its commit is queued, as in tccd from the hand-off to
    // a worker to the commit.
    const tcc::controller::StoreTuning tuning;
    tcc::controller::StoreWriter writer(
        *store, [](double, std::size_t) {},
        tcc::controller::GroupCommitPolicy{.width = tuning.group_commit_width,
                                           .linger = tuning.group_commit_linger});
    writer.SettlementsVerifying(static_cast<std::ptrdiff_t>(channel_count));
    auto threads_at_start = tcc::perf::ThreadCpuSeconds(::getpid());
    const double writer_cpu_at_start = threads_at_start["tcc-store-write"];
    const double compaction_cpu_at_start = threads_at_start["tcc-leveldb-bg"];
    const double cpu_at_start = tcc::perf::ProcessCpuSeconds(::getpid());
    const auto start = Clock::now();
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
      workers.emplace_back([&, t] {
        std::vector<std::size_t> next(channel_count, 0);
        std::uint64_t seen_epoch = ready_epoch.load();
        std::size_t remaining = 0;
        for (std::size_t c = static_cast<std::size_t>(t); c < channel_count; c += static_cast<std::size_t>(threads)) {
          remaining += plan.channels[c].claim_texts.size();
        }
        while (remaining > 0 && !failed) {
          bool worked = false;
          for (std::size_t c = static_cast<std::size_t>(t); c < channel_count; c += static_cast<std::size_t>(threads)) {
            const ChannelPlan& channel = plan.channels[c];
            if (next[c] >= channel.claim_texts.size() || !ready[c].load(std::memory_order_acquire)) continue;
            if (anchoring != nullptr && anchoring->rate > 0) {
              const double due = std::chrono::duration<double>(Clock::now() - start).count() * anchoring->rate;
              if (static_cast<double>(released.load()) >= due) break;  // paced: wait for the next release
              released.fetch_add(1);
            }
            ready[c] = false;
            worked = true;
            ChannelRecord& record = records[c];  // only this worker touches channel c
            Json claim = Must(Json::Parse(channel.claim_texts[next[c]]), "parse");
            auto link = Must(tcc::vc::ReadSettlementLink(claim), "link");
            if (link.channel != record.channel_id || link.seq != record.last_seq + 1 || link.prev != tcc::HexEncode(record.last_hash)) {
              Die("hash-chain check failed at channel " + std::to_string(c) + " seq " + std::to_string(link.seq));
            }
            if (auto verified = tcc::vc::VerifyJointClaim(claim, plan.tst, *resolver, tcc::controller::SettlementProofOptions());
                !verified.ok()) {
              Die("verify: " + verified.error().ToString());
            }
            tcc::controller::TscRecord tsc;
            tsc.channel_id = record.channel_id;
            tsc.seq = link.seq;
            auto issued = Must(
                tcc::vc::IssueCanonicalTsc(std::move(claim), plan.tst, plan.parties.tcc, kCreated),
                "issue");
            tsc.claim_hash = tcc::HexEncode(issued.SubjectDigest());
            tsc.tsc_hash = issued.digest;
            tsc.tsc = std::move(issued.text);
            if (tcc::HexEncode(tsc.tsc_hash) != channel.tsc_hashes[next[c]]) Die("an issued TSC differs from the predicted one");
            tcc::controller::SettlementCommit commit;
            record.last_seq = tsc.seq;
            record.last_hash = tsc.tsc_hash;
            if (record.last_seq - record.evidence_seq >= effective_n(record)) {
              commit.evidence = tcc::chain::EvidenceItem{record.channel_id, tsc.seq, tsc.tsc_hash};
              record.evidence_seq = tsc.seq;
            }
            commit.channel = record;
            commit.tsc = std::move(tsc);
            ++next[c];
            --remaining;
            writer.SettlementsVerifying(-1);
            const bool last = next[c] == channel.claim_texts.size();
            writer.Commit(std::move(commit), [&, c, last](const tcc::Status& status,
                                                          tcc::controller::SettlementCommit committed) {
              if (!status.ok()) failed = true;
              if (!last) writer.SettlementsVerifying(+1);  // the channel's next claim is ready
              if (anchoring != nullptr) {
                if (committed.evidence) anchoring->service->Submit(*committed.evidence);
                anchoring->issued.fetch_add(1);
              }
              ready[c].store(true, std::memory_order_release);
              {
                std::lock_guard lock(ready_mutex);
                ready_epoch.fetch_add(1);
              }
              ready_changed.notify_all();
              if (durable.fetch_add(1) + 1 == total) {
                std::lock_guard lock(done_mutex);
                all_done.notify_all();
              }
            });
          }
          if (!worked) {  // every channel of this worker is waiting for its sync, or for the pacer
            if (anchoring != nullptr) {
              std::this_thread::sleep_for(std::chrono::microseconds(200));
            } else {
              // Sleeps (as tccd's workers do) instead of spinning, which would take the CPU the
              // store writer and LevelDB's compaction need. A commit's completion wakes it.
              std::unique_lock lock(ready_mutex);
              ready_changed.wait_for(lock, std::chrono::milliseconds(5),
                                     [&] { return ready_epoch.load() != seen_epoch; });
            }
          }
          seen_epoch = ready_epoch.load();
        }
      });
    }
    for (auto& worker : workers) worker.join();
    {
      std::unique_lock lock(done_mutex);
      all_done.wait(lock, [&] { return durable.load() == total || failed.load(); });
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (failed) Die("a store commit failed");
    // The workers have ended (their time stays in the process's), the writer still runs.
    auto threads_at_end = tcc::perf::ThreadCpuSeconds(::getpid());
    const double writer_cpu = threads_at_end["tcc-store-write"] - writer_cpu_at_start;
    const double compaction_cpu = threads_at_end["tcc-leveldb-bg"] - compaction_cpu_at_start;
    const double process_cpu = tcc::perf::ProcessCpuSeconds(::getpid()) - cpu_at_start;
    result.writer_us = 1e6 * writer_cpu / static_cast<double>(total);
    result.compaction_us = 1e6 * compaction_cpu / static_cast<double>(total);
    result.workers_us = 1e6 * (process_cpu - writer_cpu - compaction_cpu) / static_cast<double>(total);
    const auto stats = writer.stats();
    writer.Stop();
    result.per_sec = static_cast<double>(total) / elapsed;
    result.group_commits = static_cast<double>(stats.group_commits);
    result.tscs_per_group = stats.group_commits ? static_cast<double>(stats.commits) / static_cast<double>(stats.group_commits) : 0;
  }
  std::filesystem::remove_all(dir);
  return result;
}

// Pins this thread, and every thread it starts from now on, to the first `cpus` CPUs of `allowed`
// (what `taskset -c` does to a command); false when there are fewer.
bool PinTo(const cpu_set_t& allowed, int cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  int taken = 0;
  for (int cpu = 0; cpu < CPU_SETSIZE && taken < cpus; ++cpu) {
    if (CPU_ISSET(cpu, &allowed)) {
      CPU_SET(cpu, &set);
      ++taken;
    }
  }
  return taken == cpus && ::sched_setaffinity(0, sizeof set, &set) == 0;
}

// Settles at a fixed rate over 20 channels while the chain slows down for the second quarter of
// the run (each anchor call delayed 4x the policy's target latency), sampling every 250 ms: issued
// rate, unanchored backlog, effective N (for a channel whose TIC says N = 10) and the last
// anchor's latency. The policy is evaluated once per batcher interval (100 ms): each slow anchor
// that lands doubles N up to the anchor's multiple of the target latency (here about 4x, so N
// reaches 80), and once anchors are fast and the backlog drained each interval halves it, whether
// or not leaves arrive at the raised N.
std::string AdaptiveRun(Plan& plan, int threads, double seconds, double rate, const std::string& csv_path) {
  constexpr int kChannels = 20;
  constexpr std::uint64_t kBaseN = 10;
  const int per_channel = static_cast<int>(rate * seconds / kChannels) + 1;
  std::printf("\nadaptive N: building %d channels x %d claims...\n", kChannels, per_channel);
  std::fflush(stdout);
  plan.channels.clear();
  BuildPlan(plan, kChannels, per_channel, std::max(1u, std::thread::hardware_concurrency()));

  const std::string dir = FreshDirectory();
  std::string summary;
  {
    auto ledger = std::shared_ptr<tcc::chain::LocalLedger>(
        Must(tcc::chain::LocalLedger::Open({.path = dir + "/ledger"}), "ledger"));
    auto adapter = std::make_shared<tcc::controller::testing::FaultyAdapter>(ledger);
    auto store = Must(tcc::controller::ChannelStore::Open(dir + "/store"), "store");
    tcc::controller::AnchorServiceOptions anchor_options;
    anchor_options.interval = std::chrono::milliseconds(100);
    anchor_options.batch_id_prefix = "settle-bench";
    tcc::controller::AnchorPolicyOptions policy;
    policy.adaptive = true;
    policy.default_n = kBaseN;
    policy.target_latency = std::chrono::milliseconds(200);
    const int slow_delay_ms = 4 * static_cast<int>(policy.target_latency.count());
    tcc::controller::AnchorService service(adapter, *store, anchor_options, policy, [](const auto&, auto) {});
    if (auto started = service.Start(); !started.ok()) Die(started.error().ToString());
    Anchoring anchoring;
    anchoring.service = &service;
    anchoring.rate = rate;

    std::atomic<bool> sampling{true};
    std::ofstream csv(csv_path);
    csv << "seconds,issued_per_sec,backlog,effective_n,anchor_latency_ms,chain_delay_ms\n";
    struct Phase {
      double issued = 0, samples = 0, max_backlog = 0, max_n = 0, last_n = 0;
    };
    Phase phases[3];
    std::thread sampler([&] {
      const auto start = Clock::now();
      std::uint64_t last_issued = 0;
      auto last_time = start;
      while (sampling) {
        std::this_thread::sleep_for(std::chrono::milliseconds(250));
        const auto now = Clock::now();
        const double t = std::chrono::duration<double>(now - start).count();
        const int phase = t < seconds / 4 ? 0 : t < seconds / 2 ? 1 : 2;
        adapter->anchor_delay_ms = phase == 1 ? slow_delay_ms : 0;
        const std::uint64_t issued = anchoring.issued.load();
        const double issued_rate = static_cast<double>(issued - last_issued) / std::chrono::duration<double>(now - last_time).count();
        last_issued = issued;
        last_time = now;
        const tcc::controller::AnchorStats stats = service.stats();
        const double backlog = static_cast<double>(stats.queued_items + stats.in_flight_items);
        const double n = static_cast<double>(service.EffectiveN(kBaseN, std::nullopt));
        char row[160];
        std::snprintf(row, sizeof row, "%.2f,%.0f,%.0f,%.0f,%.1f,%d\n", t, issued_rate, backlog, n,
                      static_cast<double>(stats.last_anchor_latency.count()) / 1000.0, adapter->anchor_delay_ms.load());
        csv << row;
        Phase& p = phases[phase];
        p.issued += issued_rate;
        p.samples += 1;
        p.max_backlog = std::max(p.max_backlog, backlog);
        p.max_n = std::max(p.max_n, n);
        p.last_n = n;
      }
    });
    SettleAll(plan, threads, kBaseN, store.get(), &anchoring);
    sampling = false;
    sampler.join();
    service.Stop();
    csv.close();
    std::printf("adaptive N: %.0f settlements/s offered for %.0f s, chain slowed (+%d ms per anchor, target %lld ms) "
                "in the second quarter; samples in %s\n",
                rate, seconds, slow_delay_ms, static_cast<long long>(policy.target_latency.count()), csv_path.c_str());
    std::printf("  %-8s %12s %12s %8s %8s\n", "phase", "issued/s", "max backlog", "max N", "end N");
    const char* names[3] = {"fast", "slow", "fast"};
    for (int i = 0; i < 3; ++i) {
      const Phase& p = phases[i];
      std::printf("  %-8s %12.0f %12.0f %8.0f %8.0f\n", names[i], p.samples ? p.issued / p.samples : 0, p.max_backlog, p.max_n,
                  p.last_n);
    }
    char line[400];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"adaptive_n\",\"offered_per_sec\":%.0f,\"seconds\":%.0f,\"slow_delay_ms\":%d,\"csv\":\"%s\","
                  "\"issued_per_sec\":[%.0f,%.0f,%.0f],\"max_backlog\":[%.0f,%.0f,%.0f],\"max_n\":[%.0f,%.0f,%.0f],"
                  "\"end_n\":[%.0f,%.0f,%.0f]}",
                  rate, seconds, slow_delay_ms, csv_path.c_str(),
                  phases[0].samples ? phases[0].issued / phases[0].samples : 0,
                  phases[1].samples ? phases[1].issued / phases[1].samples : 0,
                  phases[2].samples ? phases[2].issued / phases[2].samples : 0, phases[0].max_backlog,
                  phases[1].max_backlog, phases[2].max_backlog, phases[0].max_n, phases[1].max_n, phases[2].max_n,
                  phases[0].last_n, phases[1].last_n, phases[2].last_n);
    summary = line;
  }
  std::filesystem::remove_all(dir);
  return summary;
}

}  // namespace

int main(int argc, char** argv) {
  tcc::perf::BenchSettings settings;
  settings.runs = 3;
  settings.seconds = 0.5;
  std::string claims_text = "12000", channels_text = "256", threads_text = "0", n_text = "10";
  std::string scaling_text = "0";
  std::string adaptive_seconds_text = "0", adaptive_rate_text = "1000", adaptive_csv = "adaptive_n.csv";
  if (auto stop = tcc::perf::ParseBenchSettings(
          argc, argv, "settle_bench", settings,
          {{"claims", "claims settled per run (default 12000)", &claims_text},
           {"channels", "channels settling at once, one claim in flight each (default 256)", &channels_text},
           {"threads", "worker threads, 0 = one per core (default 0)", &threads_text},
           {"n", "an evidence item every N TSCs per channel (default 10)", &n_text},
           {"scaling", "1: also 1 worker on 1 CPU against 2 workers on 2 CPUs, pinned (default 0)", &scaling_text},
           {"adaptive-seconds", "length of the adaptive-N run, 0 = none (default 0)", &adaptive_seconds_text},
           {"adaptive-rate", "settlements per second released during the adaptive-N run (default 1000)", &adaptive_rate_text},
           {"adaptive-csv", "where the adaptive-N samples go (default adaptive_n.csv)", &adaptive_csv}})) {
    return *stop;
  }
  if (sodium_init() < 0) return 1;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int threads = std::atoi(threads_text.c_str()) > 0 ? std::atoi(threads_text.c_str()) : cores;
  const int channels = std::max(1, std::atoi(channels_text.c_str()));
  const int per_channel = std::max(1, std::atoi(claims_text.c_str()) / channels);
  const std::uint64_t n = static_cast<std::uint64_t>(std::max(1, std::atoi(n_text.c_str())));
  const bool scaling = std::atoi(scaling_text.c_str()) > 0;

  Plan plan{.parties = {}, .tst = LoadTst(Parties{}.provider_did), .claim_template = {}, .channels = {}};
  {
    std::string text = Must(tcc::ReadFile(std::string(TCC_SCHEMAS_DIR) + "/examples/claims/gpu-hour.tsc-claim.json"), "claim");
    plan.claim_template = Must(Json::Parse(text), "claim");
    plan.claim_template.Set("provider", plan.parties.provider_did);
    plan.claim_template.Set("consumer", plan.parties.consumer_did);
  }
  std::printf("settle_bench: building %d channels x %d co-signed claims...\n", channels, per_channel);
  std::fflush(stdout);
  const auto build_start = Clock::now();
  BuildPlan(plan, channels, per_channel, cores);
  std::printf("  built in %.1f s; claim on the wire: %zu bytes\n",
              std::chrono::duration<double>(Clock::now() - build_start).count(), plan.channels[0].claim_texts[0].size());

  // Raw ceiling: the unavoidable cryptography of one settlement.
  const tcc::perf::CryptoFloor crypto_floor;
  auto ceiling_work = [&] { return crypto_floor.Work(); };

  // Alternated run by run, so load from elsewhere on the machine hits both alike.
  std::vector<double> settled, ceilings, groups, writer_us, compaction_us, workers_us;
  for (int run = 0; run < settings.runs; ++run) {
    RunResult result = SettleAll(plan, threads, n);
    settled.push_back(result.per_sec);
    groups.push_back(result.tscs_per_group);
    writer_us.push_back(result.writer_us);
    compaction_us.push_back(result.compaction_us);
    workers_us.push_back(result.workers_us);
    ceilings.push_back(tcc::perf::MeasureRate(threads, settings.seconds, ceiling_work));
  }
  const double settled_rate = tcc::perf::Median(settled);
  const double ceiling_rate = tcc::perf::Median(ceilings);
  std::printf("\nfull settlement in process: median of %d runs, %d threads, %d channels, %d claims per run, N = %llu\n",
              settings.runs, threads, channels, channels * per_channel, static_cast<unsigned long long>(n));
  std::printf("  settled (durable)            %12.0f /s   (%.0f TSCs per group commit)\n", settled_rate,
              tcc::perf::Median(groups));
  std::printf("  ceiling: 2 verify + 1 sign   %12.0f /s\n", ceiling_rate);
  std::printf("  ratio                        %11.1f%%\n", 100 * settled_rate / ceiling_rate);
  std::printf("  CPU per settlement: workers %.1f us, store writer thread %.1f us, LevelDB compaction %.1f us\n",
              tcc::perf::Median(workers_us), tcc::perf::Median(writer_us), tcc::perf::Median(compaction_us));

  // Scaling: the same pipeline on one CPU with one worker, then on two CPUs with two workers
  // (the process pinned as `taskset -c` would), alternated run by run, each next to the ceiling on
  // the same CPUs. The store writer is one thread whatever the worker count: its CPU per
  // settlement bounds the rate any number of cores reaches (1e6 / writer_us settlements/s).
  std::string scaling_json;
  cpu_set_t allowed;
  if (scaling && ::sched_getaffinity(0, sizeof allowed, &allowed) == 0 && CPU_COUNT(&allowed) >= 2) {
    std::vector<double> one, two, ceiling_one, ceiling_two, writer_two, workers_one, workers_two;
    for (int run = 0; run < settings.runs; ++run) {
      if (!PinTo(allowed, 1)) Die("cannot pin to one CPU");
      RunResult single = SettleAll(plan, 1, n);
      ceiling_one.push_back(tcc::perf::MeasureRate(1, settings.seconds, ceiling_work));
      if (!PinTo(allowed, 2)) Die("cannot pin to two CPUs");
      RunResult pair = SettleAll(plan, 2, n);
      ceiling_two.push_back(tcc::perf::MeasureRate(2, settings.seconds, ceiling_work));
      one.push_back(single.per_sec);
      two.push_back(pair.per_sec);
      workers_one.push_back(single.workers_us);
      workers_two.push_back(pair.workers_us);
      writer_two.push_back(pair.writer_us);
    }
    ::sched_setaffinity(0, sizeof allowed, &allowed);
    const double rate_one = tcc::perf::Median(one), rate_two = tcc::perf::Median(two);
    const double ceiling_ratio = tcc::perf::Median(ceiling_two) / tcc::perf::Median(ceiling_one);
    const double writer = tcc::perf::Median(writer_two);
    std::printf("\nscaling (pinned like taskset): median of %d runs\n", settings.runs);
    std::printf("  1 worker on 1 CPU     %10.0f /s   (ceiling %.0f /s; %.1f us CPU per settlement)\n", rate_one,
                tcc::perf::Median(ceiling_one), tcc::perf::Median(workers_one));
    std::printf("  2 workers on 2 CPUs   %10.0f /s   (ceiling %.0f /s; workers %.1f us, store writer %.1f us per settlement)\n",
                rate_two, tcc::perf::Median(ceiling_two), tcc::perf::Median(workers_two), writer);
    std::printf("  2 / 1                 %10.2f      (target >= 1.8; the ceiling's own 2 / 1: %.2f)\n", rate_two / rate_one,
                ceiling_ratio);
    std::printf("  store writer bound    %10.0f /s   (1e6 / its CPU per settlement: one thread on any machine)\n",
                writer > 0 ? 1e6 / writer : 0.0);
    char line[400];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"scaling\",\"runs\":%d,\"one_per_sec\":%.0f,\"two_per_sec\":%.0f,\"ratio\":%.3f,"
                  "\"ceiling_one_per_sec\":%.0f,\"ceiling_two_per_sec\":%.0f,\"ceiling_ratio\":%.3f,"
                  "\"workers_us_one\":%.2f,\"workers_us_two\":%.2f,\"writer_us\":%.2f}",
                  settings.runs, rate_one, rate_two, rate_two / rate_one, tcc::perf::Median(ceiling_one),
                  tcc::perf::Median(ceiling_two), ceiling_ratio, tcc::perf::Median(workers_one),
                  tcc::perf::Median(workers_two), writer);
    scaling_json = line;
  } else if (scaling) {
    std::printf("\nscaling: skipped (fewer than 2 CPUs available)\n");
  }

  // Single-thread breakdown of one claim's steps (microseconds each).
  const ChannelPlan& first = plan.channels[0];
  const std::string& text = first.claim_texts[0];
  const Json claim = Json::Parse(text).value();
  auto resolver = std::make_shared<tcc::did::CachingResolver>(std::make_shared<tcc::did::DidKeyResolver>(),
                                                              std::chrono::minutes(5));
  const double step_seconds = std::max(0.1, settings.seconds / 2);
  struct Step {
    const char* name;
    std::function<bool()> work;
  };
  const std::vector<Step> steps = {
      {"parse claim JSON", [&] { return Json::Parse(text).ok(); }},
      {"TST validation (claim, its proof left out)", [&] {
         return plan.tst.claim_validator().CheckWithout(claim, "proof").ok();
       }},
      {"JCS + SHA-256 of claim without proof", [&] {
         thread_local std::string buffer;
         buffer.clear();
         return tcc::vc::AppendCanonicalWithout(buffer, claim, "proof").ok() && tcc::Sha256(buffer).size() == 32;
       }},
      {"VerifyJointClaim (validation + 2 proofs, libsodium)", [&] { return tcc::vc::VerifyJointClaim(claim, plan.tst, *resolver).ok(); }},
      {"IssueCanonicalTsc (JCS, sign, splice, hashes)", [&] {
         auto issued = tcc::vc::IssueCanonicalTsc(claim, plan.tst, plan.parties.tcc, kCreated);
         return issued.ok() && issued->SubjectDigest().size() == 32;
       }},
      {"VerifyJointClaim, tccd's verifier (Crypto++)", [&] {
         return tcc::vc::VerifyJointClaim(claim, plan.tst, *resolver, tcc::controller::SettlementProofOptions()).ok();
       }},
      {"raw Ed25519 verify (libsodium)", [&] {
         return crypto_sign_verify_detached(crypto_floor.signature, crypto_floor.message, sizeof crypto_floor.message, crypto_floor.public_key) == 0;
       }},
      {"raw Ed25519 verify (Crypto++, the floor's)", [&] { return crypto_floor.Verify(); }},
      {"raw Ed25519 sign", [&] {
         unsigned char signature[crypto_sign_BYTES];
         return crypto_sign_detached(signature, nullptr, crypto_floor.message, sizeof crypto_floor.message, crypto_floor.secret_key) == 0;
       }},
  };
  std::printf("\nhot-path breakdown, one thread, median of %d x %.2f s (microseconds per call):\n", settings.runs, step_seconds);
  std::vector<std::string> json;
  for (const Step& step : steps) {
    const double rate = tcc::perf::MedianRate(settings.runs, 1, step_seconds, step.work);
    std::printf("  %-44s %8.2f us\n", step.name, 1e6 / rate);
    char line[256];
    std::snprintf(line, sizeof line, "{\"bench\":\"settle_step\",\"step\":\"%s\",\"micros\":%.3f}", step.name, 1e6 / rate);
    json.push_back(line);
  }
  char line[400];
  std::snprintf(line, sizeof line,
                "{\"bench\":\"settle\",\"threads\":%d,\"channels\":%d,\"claims\":%d,\"n\":%llu,\"runs\":%d,"
                "\"per_sec\":%.0f,\"ceiling_per_sec\":%.0f,\"ratio\":%.4f,\"tscs_per_group_commit\":%.1f,"
                "\"workers_us\":%.2f,\"writer_us\":%.2f,\"compaction_us\":%.2f}",
                threads, channels, channels * per_channel, static_cast<unsigned long long>(n), settings.runs,
                settled_rate, ceiling_rate, settled_rate / ceiling_rate, tcc::perf::Median(groups),
                tcc::perf::Median(workers_us), tcc::perf::Median(writer_us), tcc::perf::Median(compaction_us));
  json.insert(json.begin(), line);
  if (!scaling_json.empty()) json.push_back(scaling_json);
  const double adaptive_seconds = std::atof(adaptive_seconds_text.c_str());
  if (adaptive_seconds > 0) json.push_back(AdaptiveRun(plan, threads, adaptive_seconds, std::atof(adaptive_rate_text.c_str()), adaptive_csv));

  std::ofstream json_file;
  if (!settings.json_out.empty()) json_file.open(settings.json_out, std::ios::app);
  for (const auto& one : json) {
    std::cout << one << "\n";
    if (json_file) json_file << one << "\n";
  }
  return 0;
}
