// End-to-end benchmark against a real tccd process over loopback TCP with CURVE: settlement
// throughput and latency for K channels, DID challenge-response admissions per second, and the
// memory tccd spends per idle open channel.
//
// Setup (not timed): a trade on an embedded ledger (tests/daemon/daemon_test_util.h's Trade: keys,
// the GPU-hour TIT/TST, one recorded TIC per channel), then tccd started as a child process.
//
// Settlement (per K in --channels): the generator is one thread with two CURVE connections, the
// consumer's (which submits) and the provider's (which receives every event.tsc, as a live provider
// would). Both joined every channel. A claim names the hash of the previous TSC, which tccd
// issues, so claims cannot all be signed ahead: each channel has one settlement in flight, and the
// generator signs a channel's next claim (provider's and consumer's proofs) right after that
// channel's TSC arrives. Everything else (the claim body, keys, DID URLs) is built up front.
//  - fixed rates: a pacer releases submissions at each --rate per second, each to the next idle channel
//    (a release with no idle channel waits: the achieved rate then falls short of the offered one);
//  - saturation: every channel always has its next claim in flight.
// Latency is from the submission leaving the generator to its reply (the durable, issued TSC).
// The generator's own CPU time (getrusage) and tccd's (/proc/PID/stat) are reported for each, and
// what tccd spends per settlement: its CPU microseconds (/proc) against the crypto floor (two raw
// verifies and one raw sign, measured on one thread between the runs), split by tccd thread
// (/proc/PID/task), the mean time in each settlement stage and the fsyncs per settlement (from
// tccd's own /metrics, scraped before and after each run).
//
// Admission: both parties join every channel of a second tccd (channels opened through the
// control API) with up to --window handshakes in flight; handshakes per second. tccd's RSS
// (/proc/PID/status) before opening, after opening and after admitting gives bytes per channel.
//
// Usage: tccd_bench [--runs N] [--seconds S] [--json-out FILE] [--channels 1,10,100,1000]
//                   [--rate R1,R2,R3] [--idle-channels M] [--window W] [--phases settle,admission]
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sodium.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench_util.h"
#include "crypto_floor.h"
#include "proc_cpu.h"
#include "daemon/daemon_test_util.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/did/challenge.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/wire/transport.h"

namespace tcc::perf {
namespace {

using Clock = std::chrono::steady_clock;
using wire::FrameBuilder;
using wire::Message;
using wire::MessageType;
using testing::TccdProcess;
using testing::Trade;

// The tccd running now, killed when the benchmark gives up (exit runs no destructors).
TccdProcess* running_tccd = nullptr;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "tccd_bench: %s\n", what.c_str());
  if (running_tccd != nullptr) running_tccd->Kill();
  std::exit(1);
}

template <typename T>
T Must(Result<T> result, const std::string& what) {
  if (!result.ok()) Die(what + ": " + result.error().ToString());
  return std::move(result).value();
}

double SecondsSince(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::uint64_t RssBytes(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  }
  return 0;
}

double Percentile(std::vector<double>& sorted, double fraction) {
  if (sorted.empty()) return 0;
  std::size_t index = static_cast<std::size_t>(fraction * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(index, sorted.size() - 1)];
}

// One party's CURVE connection to tccd with requests pipelined: Send returns the request id at
// once; Receive hands back whatever answers and events have arrived.
class PartyLink {
 public:
  // `client_key`: the CURVE key of an admin (control endpoint); parties use a fresh one.
  PartyLink(const std::string& endpoint, const std::string& tcc_did,
            std::optional<wire::CurveKeyPair> client_key = std::nullopt) {
    context_ = Must(wire::ZmqContext::Create(1), "context");
    socket_.emplace(Must(wire::ZmqSocket::Create(context_, wire::SocketType::kDealer), "socket"));
    auto server = Must(did::X25519FromEd25519(Must(did::ParseDidKey(tcc_did), "TCC DID")), "server key");
    if (auto set = socket_->SetCurveClient(client_key ? std::move(*client_key) : wire::CurveKeyPair::Generate(), server); !set.ok()) Die(set.error().ToString());
    (void)socket_->SetMaxMessageSize(static_cast<std::int64_t>(wire::kMaxFrameBytes));
    (void)socket_->SetHighWaterMarks(0, 0);  // the generator bounds what is in flight itself
    if (auto connected = socket_->Connect(endpoint); !connected.ok()) Die(connected.error().ToString());
  }

  // The frame must have been built with id NextId().
  std::uint64_t NextId() { return next_id_++; }
  void SendFrame(const std::string& frame) {
    const std::string_view parts[] = {frame};
    if (auto sent = socket_->Send(parts, false); !sent.ok()) Die("send: " + sent.error().ToString());
  }

  // Every message already received, without waiting.
  void ReceiveReady(std::vector<Message>& out) {
    while (true) {
      auto frames = socket_->Receive(true);
      if (!frames.ok()) return;  // nothing more (EAGAIN)
      if (frames->size() != 1) Die("tccd sent a multi-part message");
      out.push_back(Must(wire::DecodeMessage((*frames)[0].data), "message from tccd"));
    }
  }

  wire::ZmqSocket& socket() { return *socket_; }

 private:
  std::shared_ptr<wire::ZmqContext> context_;
  std::optional<wire::ZmqSocket> socket_;
  std::uint64_t next_id_ = 1;
};

// Waits until any of the links has something to read (or `wait` passed).
void WaitReadable(std::initializer_list<PartyLink*> links, std::chrono::milliseconds wait) {
  std::vector<wire::PollItem> items;
  for (PartyLink* link : links) items.push_back({&link->socket(), -1});
  std::vector<bool> ready;
  (void)wire::PollReadable(items, wait, ready);
}

struct Party {
  std::shared_ptr<did::KeyPair> key;
  std::string did;
  PartyLink* link;
};

// Joins `party` to every channel by DID challenge-response with up to `window` handshakes in
// flight; channels tccd has not opened yet are retried. Returns handshakes per second.
double AdmitAll(Party party, const std::string& tcc_did, const std::vector<std::string>& channels, std::size_t window) {
  struct Pending {
    std::size_t channel;
    bool proving;
  };
  std::unordered_map<std::uint64_t, Pending> in_flight;
  std::deque<std::size_t> to_start(channels.size());
  for (std::size_t i = 0; i < channels.size(); ++i) to_start[i] = i;
  std::vector<Clock::time_point> retry_at(channels.size());
  std::size_t admitted = 0;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(120);
  std::vector<Message> messages;
  while (admitted < channels.size()) {
    if (Clock::now() > deadline) Die("admission did not finish within 120 s");
    while (in_flight.size() < window && !to_start.empty() && retry_at[to_start.front()] <= Clock::now()) {
      const std::size_t channel = to_start.front();
      to_start.pop_front();
      const std::uint64_t id = party.link->NextId();
      party.link->SendFrame(FrameBuilder(MessageType::kAuthBegin, id).Add("channel", channels[channel]).Add("did", party.did).Finish());
      in_flight[id] = {channel, false};
    }
    WaitReadable({party.link}, std::chrono::milliseconds(5));
    messages.clear();
    party.link->ReceiveReady(messages);
    for (Message& message : messages) {
      auto found = in_flight.find(message.id);
      if (wire::IsEvent(message.type) || found == in_flight.end()) continue;
      const Pending pending = found->second;
      in_flight.erase(found);
      const std::string& channel_id = channels[pending.channel];
      if (message.type == MessageType::kError) {
        const Error error = wire::ErrorFromMessage(message);
        if (error.code() != ErrorCode::kNotFound || pending.proving) Die("join " + channel_id + ": " + error.ToString());
        retry_at[pending.channel] = Clock::now() + std::chrono::milliseconds(50);  // not opened yet
        to_start.push_back(pending.channel);
        continue;
      }
      if (pending.proving) {
        ++admitted;
        continue;
      }
      const Bytes sealed = Must(HexDecode(wire::StringMember(message, "sealed")), "sealed challenge");
      const did::Challenge challenge = Must(did::OpenChallenge(sealed, *party.key), "open challenge");
      if (challenge.binding.channel_id != channel_id || challenge.binding.tcc_did != tcc_did ||
          challenge.binding.party_did != party.did) {
        Die("a challenge bound to another channel, TCC or party");
      }
      const did::Signature signature = did::SignChallengeResponse(challenge, *party.key);
      const std::uint64_t id = party.link->NextId();
      party.link->SendFrame(FrameBuilder(MessageType::kAuthProve, id)
                                .Add("channel", channel_id)
                                .Add("nonce", HexEncode(challenge.nonce))
                                .Add("signature", HexEncode(signature))
                                .Finish());
      in_flight[id] = {pending.channel, true};
    }
  }
  return static_cast<double>(channels.size()) / SecondsSince(start);
}

// A channel as the generator sees it: the head tccd acknowledged last.
struct GeneratorChannel {
  std::string id;
  std::uint64_t last_seq = 0;
  std::string last_hash;
  bool busy = false;
  Clock::time_point sent;
};

struct LoadResult {
  double offered = 0;  // 0: saturation
  double achieved = 0;
  double p50_ms = 0, p99_ms = 0, p999_ms = 0;
  double generator_cpu = 0;  // CPU seconds per second of the generator (1.0 = one core)
  double tccd_cpu = 0;
  std::map<std::string, double> tccd_threads;  // CPU seconds per second by thread name
  std::map<std::string, double> tccd_threads_kernel;  // the kernel (stime) part of those
  std::uint64_t settled = 0;
  std::uint64_t events = 0;
};

class Generator {
 public:
  Generator(const Trade& trade, PartyLink& consumer, PartyLink& provider)
      : trade_(trade), consumer_(consumer), provider_(provider) {
    base_claim_ = testing::ReadExampleJson("claims/gpu-hour.tsc-claim.json");
    base_claim_.Set("provider", testing::DidOf(*trade.provider));
    base_claim_.Set("consumer", testing::DidOf(*trade.consumer));
    consumer_proof_.verification_method = did::DidKeyVerificationMethod(trade.consumer->public_key());
  }

  // Runs `warmup` + `seconds` against `channels`; offered_rate 0 = saturation. Counts only what
  // completes inside the measured window; waits for every in-flight claim before returning.
  LoadResult Run(std::vector<GeneratorChannel>& channels, double offered_rate, double warmup, double seconds, pid_t tccd) {
    std::unordered_map<std::uint64_t, std::size_t> by_request;
    std::vector<double> latencies_ms;
    std::size_t next_channel = 0;
    std::uint64_t released = 0;
    LoadResult result;
    result.offered = offered_rate;
    const auto start = Clock::now();
    const auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(warmup));
    const auto measure_to = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    bool measuring = false;
    double cpu_at_start = 0, tccd_cpu_at_start = 0;
    std::map<std::string, double> threads_at_start, kernel_at_start;
    std::vector<Message> messages;
    std::size_t busy = 0;

    auto start_channel = [&](std::size_t index) {
      GeneratorChannel& channel = channels[index];
      const std::uint64_t id = consumer_.NextId();
      consumer_.SendFrame(FrameBuilder(MessageType::kSettleSubmit, id)
                              .Add("channel", channel.id)
                              .Add("claim", JointClaim(channel))
                              .Finish());
      channel.busy = true;
      channel.sent = Clock::now();
      by_request[id] = index;
      ++busy;
    };

    while (true) {
      const auto now = Clock::now();
      if (!measuring && now >= measure_from) {
        measuring = true;
        cpu_at_start = CpuSeconds();
        tccd_cpu_at_start = ProcessCpuSeconds(tccd);
        threads_at_start = ThreadCpuSeconds(tccd, &kernel_at_start);
      }
      if (now >= measure_to) break;
      bool more_due = false;
      if (offered_rate <= 0) {
        for (std::size_t i = 0; i < channels.size(); ++i) {
          if (!channels[i].busy) start_channel(i);
        }
      } else {
        const auto due = static_cast<std::uint64_t>(SecondsSince(start) * offered_rate);
        for (std::size_t tried = 0; released < due && tried < channels.size(); ++tried) {
          const std::size_t index = next_channel;
          next_channel = (next_channel + 1) % channels.size();
          if (channels[index].busy) continue;
          start_channel(index);
          ++released;
          tried = 0;
        }
        more_due = released < due && busy < channels.size();
      }
      WaitReadable({&consumer_, &provider_}, std::chrono::milliseconds(more_due ? 0 : 1));
      messages.clear();
      provider_.ReceiveReady(messages);
      for (const Message& message : messages) result.events += message.type == MessageType::kEventTsc;
      messages.clear();
      consumer_.ReceiveReady(messages);
      for (const Message& message : messages) Complete(message, channels, by_request, busy, measuring && Clock::now() < measure_to,
                                                       latencies_ms, result);
    }
    const double measured = SecondsSince(measure_from);
    result.generator_cpu = (CpuSeconds() - cpu_at_start) / measured;
    result.tccd_cpu = (ProcessCpuSeconds(tccd) - tccd_cpu_at_start) / measured;
    std::map<std::string, double> kernel_at_end;
    for (const auto& [name, cpu_seconds] : ThreadCpuSeconds(tccd, &kernel_at_end)) {
      result.tccd_threads[name] = (cpu_seconds - threads_at_start[name]) / measured;
      result.tccd_threads_kernel[name] = (kernel_at_end[name] - kernel_at_start[name]) / measured;
    }
    result.achieved = static_cast<double>(result.settled) / measured;
    // Drain what is still in flight so every channel's head is known for the next run.
    const auto drain_deadline = Clock::now() + std::chrono::seconds(30);
    while (busy > 0) {
      if (Clock::now() > drain_deadline) Die("settlements still in flight 30 s after the run");
      WaitReadable({&consumer_, &provider_}, std::chrono::milliseconds(5));
      messages.clear();
      provider_.ReceiveReady(messages);
      messages.clear();
      consumer_.ReceiveReady(messages);
      for (const Message& message : messages) Complete(message, channels, by_request, busy, false, latencies_ms, result);
    }
    std::sort(latencies_ms.begin(), latencies_ms.end());
    result.p50_ms = Percentile(latencies_ms, 0.50);
    result.p99_ms = Percentile(latencies_ms, 0.99);
    result.p999_ms = Percentile(latencies_ms, 0.999);
    return result;
  }

 private:
  // The next claim of a channel, signed by both parties (the generator holds both keys).
  Json JointClaim(const GeneratorChannel& channel) {
    Json claim = base_claim_;
    claim.Set("channel", channel.id);
    claim.Set("seq", channel.last_seq + 1);
    claim.Set("prev", channel.last_hash);
    Json joint = Must(vc::ProposeSettlement(*trade_.tst, std::move(claim), *trade_.provider), "propose");
    if (auto signed_ = vc::AddProof(joint, *trade_.consumer, consumer_proof_); !signed_.ok()) Die(signed_.error().ToString());
    return joint;
  }

  void Complete(const Message& message, std::vector<GeneratorChannel>& channels,
                std::unordered_map<std::uint64_t, std::size_t>& by_request, std::size_t& busy, bool count,
                std::vector<double>& latencies_ms, LoadResult& result) {
    if (wire::IsEvent(message.type)) return;  // the submitter also gets events (anchored, ...)
    auto found = by_request.find(message.id);
    if (found == by_request.end()) return;
    GeneratorChannel& channel = channels[found->second];
    by_request.erase(found);
    if (message.type == MessageType::kError) Die("settlement refused: " + wire::ErrorFromMessage(message).ToString());
    channel.last_hash = Must(vc::CredentialHash(wire::ObjectMember(message, "tsc")), "TSC hash");
    channel.last_seq = wire::UintMember(message, "seq");
    channel.busy = false;
    --busy;
    if (!count) return;
    ++result.settled;
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - channel.sent).count());
  }

  const Trade& trade_;
  PartyLink& consumer_;
  PartyLink& provider_;
  Json base_claim_;
  vc::ProofOptions consumer_proof_;
};

constexpr const char* kStages[] = {"queue_wait", "verify", "issue", "commit", "publish"};

// What tccd's own /metrics say about a stretch of load: the growth of its counters between two
// scrapes (tests/daemon's ScrapeMetrics, curl).
struct MetricsDelta {
  double issued = 0;
  double syncs = 0;                         // synced store writes (fsyncs of the store's log)
  std::map<std::string, double> stage_us;  // mean microseconds per settlement in each stage
  // The 99th percentile of each stage, as the upper bound (ms) of the histogram bucket it falls in:
  // where a p99 target's milliseconds go inside tccd.
  std::map<std::string, double> stage_p99_ms;
};

// How much a series grew between two scrapes (absent: 0).
double Growth(const std::string& before, const std::string& after, const std::string& series) {
  return testing::MetricValue(after, series).value_or(0) - testing::MetricValue(before, series).value_or(0);
}

// The upper bound of the bucket holding the q-th quantile of a stage's observations between two
// scrapes; the buckets' bounds are read from the scrape itself.
double StageQuantileBound(const std::string& before, const std::string& after, const std::string& stage, double q) {
  const std::string prefix = "tcc_settlement_stage_seconds_bucket{stage=\"" + stage + "\",le=\"";
  std::vector<std::pair<double, std::string>> bounds;
  for (std::size_t at = after.find(prefix); at != std::string::npos; at = after.find(prefix, at + 1)) {
    const std::size_t begin = at + prefix.size();
    const std::string le = after.substr(begin, after.find('"', begin) - begin);
    bounds.emplace_back(le == "+Inf" ? INFINITY : std::strtod(le.c_str(), nullptr), prefix + le + "\"}");
  }
  std::sort(bounds.begin(), bounds.end());
  if (bounds.empty()) return 0;
  auto grow = [&](const std::string& series) { return Growth(before, after, series); };
  const double total = grow(bounds.back().second);
  if (total <= 0) return 0;
  for (const auto& [bound, series] : bounds) {
    if (grow(series) >= q * total) return 1e3 * bound;
  }
  return INFINITY;
}

std::string Scrape(const TccdProcess& tccd) {
  std::string text = testing::ScrapeMetrics(tccd.metrics());
  if (text.find("tcc_tscs_issued_total") == std::string::npos) Die("tccd's /metrics did not answer at " + tccd.metrics());
  return text;
}

MetricsDelta Between(const std::string& before, const std::string& after) {
  auto grow = [&](const std::string& series) { return Growth(before, after, series); };
  MetricsDelta delta;
  delta.issued = grow("tcc_tscs_issued_total");
  delta.syncs = grow("tcc_store_syncs_total");
  for (const char* stage : kStages) {
    const std::string labels = std::string("{stage=\"") + stage + "\"}";
    const double count = grow("tcc_settlement_stage_seconds_count" + labels);
    delta.stage_us[stage] = count > 0 ? 1e6 * grow("tcc_settlement_stage_seconds_sum" + labels) / count : 0;
    delta.stage_p99_ms[stage] = StageQuantileBound(before, after, stage, 0.99);
  }
  return delta;
}

// One row of the settlement table with what tccd spent on it.
struct Row {
  int channels = 0;
  double offered = 0;
  LoadResult median;
  double tccd_us = 0;              // tccd CPU microseconds per settlement
  double syncs_per_settlement = 0;
  std::map<std::string, double> stage_us, stage_p99_ms, thread_us, thread_kernel_us;
};

std::string StageP99Json(const Row& row) {
  std::string json;
  for (const char* stage : kStages) {
    char one[64];
    std::snprintf(one, sizeof one, "%s\"%s\":%g", json.empty() ? "" : ",", stage, row.stage_p99_ms.at(stage));
    json += one;
  }
  return json;
}

struct Options {
  BenchSettings settings;
  std::vector<int> channel_counts = {1, 10, 100, 1000};
  std::vector<double> rates = {1000, 5000, 10000};  // fixed offered rates; saturation is run as well
  int idle_channels = 10000;
  std::size_t window = 64;  // tccd answers at most 64 requests in flight per connection
  bool settle = true;
  bool admission = true;
  Json tccd_config = Json::Object();  // --tccd-config: members merged into tccd's configuration
};

// Opens every channel through the control API with up to `window` requests in flight; returns
// opens per second.
double OpenAll(PartyLink& control, const std::vector<std::string>& ids, std::size_t window) {
  std::size_t sent = 0, answered = 0;
  std::vector<Message> messages;
  const auto start = Clock::now();
  while (answered < ids.size()) {
    while (sent < ids.size() && sent - answered < window) {
      control.SendFrame(FrameBuilder(MessageType::kControlOpen, control.NextId()).Add("tic", ids[sent++]).Finish());
    }
    WaitReadable({&control}, std::chrono::milliseconds(5));
    messages.clear();
    control.ReceiveReady(messages);
    for (const Message& message : messages) {
      if (wire::IsEvent(message.type)) continue;
      if (message.type == MessageType::kError) Die("control.open: " + wire::ErrorFromMessage(message).ToString());
      ++answered;
    }
    if (SecondsSince(start) > 600) Die("opening the channels took over 10 minutes");
  }
  return static_cast<double>(ids.size()) / SecondsSince(start);
}

std::vector<std::string> RecordTics(Trade& trade, const std::string& ledger_path, int count) {
  std::vector<std::string> ids;
  const auto start = Clock::now();
  // Kept open for all of them, closed before tccd starts (tccd opens the ledger itself).
  std::shared_ptr<chain::ChainAdapter> ledger(Must(chain::LocalLedger::Open({.path = ledger_path}), "ledger"));
  for (int i = 0; i < count; ++i) {
    trade.Record(ledger, 10, /*with_auditor=*/false);
    ids.push_back(trade.channel_id);
    if ((i + 1) % 2000 == 0) {
      std::printf("  %d TICs recorded (%.0f s)\n", i + 1, SecondsSince(start));
      std::fflush(stdout);
    }
  }
  return ids;
}

// The tccd configuration of a run: one source address (loopback) makes every handshake, so the
// per-source challenge rate is lifted; `extra` (--tccd-config) adds to it or overrides it, section
// by section (an object member merges into the section, anything else replaces it).
std::string TccdConfig(const Json& extra) {
  Json config = Json::Parse(R"({"limits": {"auth_rate_per_source": 1000000}})").value();
  for (const auto& [section, value] : extra.as_object()) {
    Json* present = config.Find(section);
    if (present != nullptr && present->is_object() && value.is_object()) {
      for (const auto& [name, member] : value.as_object()) present->Set(name, member);
    } else {
      config.Set(section, value);
    }
  }
  return config.Serialize();
}

void StartTccd(TccdProcess& tccd, const testing::TempDir& dir, const std::string& name, bool auto_open,
               const Json& extra_config) {
  const std::string config = dir.Sub(name + ".json");
  std::ofstream(config) << TccdConfig(extra_config);
  // --metrics: the settlement runs read tccd's syncs and stage times from it, as an operator would.
  std::vector<std::string> arguments = {"--data-dir", dir.Sub(name), "--key", dir.Sub("tcc.key"),
                                        "--chain", "local:" + dir.Sub("ledger"), "--listen", "tcp://127.0.0.1:*",
                                        "--control", "tcp://127.0.0.1:*", "--config", config,
                                        "--metrics", "127.0.0.1:0"};
  if (!auto_open) arguments.push_back("--no-auto-open");
  // TccdProcess reports a refused start as a doctest failure, which outside a test is an exception.
  try {
    tccd.Start(arguments);
  } catch (const doctest::detail::TestFailureException&) {
    Die("tccd did not start (its configuration: " + config + "):\n" + tccd.Log());
  }
  running_tccd = &tccd;
}

int Main(const Options& options) {
  std::vector<std::string> json;
  const double warmup = std::min(1.0, options.settings.seconds / 2);
  const int max_channels = options.settle ? *std::max_element(options.channel_counts.begin(), options.channel_counts.end()) : 0;
  // One ledger for both parts: the settlement tccd opens the first channels itself, the idle tccd
  // (its own data directory) opens all of them through the control API.
  testing::TempDir dir;
  Trade trade;
  if (!trade.tcc->WriteFile(dir.Sub("tcc.key")).ok()) Die("cannot write the TCC key");
  const int tic_count = std::max(max_channels, options.admission ? options.idle_channels : 0);
  std::printf("recording %d TICs on the embedded ledger...\n", tic_count);
  std::fflush(stdout);
  const auto record_start = Clock::now();
  const std::vector<std::string> all_ids = RecordTics(trade, dir.Sub("ledger"), tic_count);
  std::printf("  done in %.1f s\n", SecondsSince(record_start));

  if (options.settle) {
    const std::vector<std::string> ids(all_ids.begin(), all_ids.begin() + max_channels);
    TccdProcess tccd;
    StartTccd(tccd, dir, "settle", true, options.tccd_config);
    const pid_t pid = tccd.pid();
    PartyLink consumer_link(tccd.listen(), tccd.did()), provider_link(tccd.listen(), tccd.did());
    AdmitAll({trade.consumer, testing::DidOf(*trade.consumer), &consumer_link}, tccd.did(), ids, options.window);
    AdmitAll({trade.provider, testing::DidOf(*trade.provider), &provider_link}, tccd.did(), ids, options.window);
    std::vector<GeneratorChannel> all(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i) all[i] = {ids[i], 0, ids[i], false, {}};
    Generator generator(trade, consumer_link, provider_link);

    // The crypto floor, measured before the load and after every saturation run (tccd idle), on
    // one thread of the same machine: tccd's CPU per settlement is read against it.
    const CryptoFloor crypto_floor;
    const double floor_seconds = std::clamp(options.settings.seconds / 2, 0.2, 1.0);
    std::vector<double> floor_samples = {crypto_floor.MicrosPerSettlement(floor_seconds)};

    std::printf("\nend to end: tccd (own process) over loopback TCP + CURVE; median of %d runs x %.1f s (+%.1f s warm-up)\n",
                options.settings.runs, options.settings.seconds, warmup);
    std::printf("%8s %10s %12s %9s %9s %9s %10s %10s %12s\n", "channels", "offered/s", "achieved/s", "p50 ms", "p99 ms",
                "p99.9 ms", "gen CPU", "tccd CPU", "tccd us/TSC");
    std::vector<Row> rows;
    for (int k : options.channel_counts) {
      std::vector<GeneratorChannel> channels(all.begin(), all.begin() + k);
      std::vector<double> offered_rates = options.rates;
      offered_rates.push_back(0);  // saturation
      for (double offered : offered_rates) {
        std::vector<LoadResult> runs;
        std::vector<MetricsDelta> deltas;
        for (int run = 0; run < options.settings.runs; ++run) {
          // Scraped outside the run (curl forks): the counters cover warm-up, run and drain.
          const std::string before = Scrape(tccd);
          runs.push_back(generator.Run(channels, offered, warmup, options.settings.seconds, pid));
          deltas.push_back(Between(before, Scrape(tccd)));
          if (offered <= 0) floor_samples.push_back(crypto_floor.MicrosPerSettlement(floor_seconds));
        }
        auto median = [&](auto value) {
          std::vector<double> values;
          for (std::size_t i = 0; i < runs.size(); ++i) values.push_back(value(runs[i], deltas[i]));
          return Median(values);
        };
        Row row;
        row.channels = k;
        row.offered = offered;
        LoadResult& m = row.median;
        m.achieved = median([](const LoadResult& r, const MetricsDelta&) { return r.achieved; });
        m.p50_ms = median([](const LoadResult& r, const MetricsDelta&) { return r.p50_ms; });
        m.p99_ms = median([](const LoadResult& r, const MetricsDelta&) { return r.p99_ms; });
        m.p999_ms = median([](const LoadResult& r, const MetricsDelta&) { return r.p999_ms; });
        m.generator_cpu = median([](const LoadResult& r, const MetricsDelta&) { return r.generator_cpu; });
        m.tccd_cpu = median([](const LoadResult& r, const MetricsDelta&) { return r.tccd_cpu; });
        row.tccd_us = median([](const LoadResult& r, const MetricsDelta&) {
          return r.achieved > 0 ? 1e6 * r.tccd_cpu / r.achieved : 0;
        });
        row.syncs_per_settlement = median([](const LoadResult&, const MetricsDelta& d) {
          return d.issued > 0 ? d.syncs / d.issued : 0;
        });
        for (const char* stage : kStages) {
          row.stage_us[stage] = median([&](const LoadResult&, const MetricsDelta& d) { return d.stage_us.at(stage); });
          row.stage_p99_ms[stage] =
              median([&](const LoadResult&, const MetricsDelta& d) { return d.stage_p99_ms.at(stage); });
        }
        for (const auto& named : runs.back().tccd_threads) {
          const std::string& thread = named.first;
          row.thread_us[thread] = median([&](const LoadResult& r, const MetricsDelta&) {
            auto found = r.tccd_threads.find(thread);
            return found == r.tccd_threads.end() || r.achieved <= 0 ? 0.0 : 1e6 * found->second / r.achieved;
          });
          row.thread_kernel_us[thread] = median([&](const LoadResult& r, const MetricsDelta&) {
            auto found = r.tccd_threads_kernel.find(thread);
            return found == r.tccd_threads_kernel.end() || r.achieved <= 0 ? 0.0 : 1e6 * found->second / r.achieved;
          });
        }
        char offered_text[32];
        std::snprintf(offered_text, sizeof offered_text, offered > 0 ? "%.0f" : "saturate", offered);
        std::printf("%8d %10s %12.0f %9.2f %9.2f %9.2f %9.0f%% %9.0f%% %12.0f\n", k, offered_text, m.achieved, m.p50_ms,
                    m.p99_ms, m.p999_ms, 100 * m.generator_cpu, 100 * m.tccd_cpu, row.tccd_us);
        std::fflush(stdout);
        rows.push_back(std::move(row));
      }
      std::copy(channels.begin(), channels.end(), all.begin());  // heads moved on
    }

    const double floor_us = Median(floor_samples);
    std::printf("\nwhere tccd's time goes (microseconds per settlement; crypto floor = 2 raw verify + 1 raw sign on one "
                "thread = %.1f us of CPU, median of %zu measurements):\n", floor_us, floor_samples.size());
    std::printf("%8s %10s %9s %7s %8s | %10s %8s %8s %8s %8s | %s\n", "channels", "offered/s", "tccd us", "x floor",
                "fsync/TSC", "queue_wait", "verify", "issue", "commit", "publish", "tccd CPU by thread (us per TSC)");
    for (const Row& row : rows) {
      char offered_text[32];
      std::snprintf(offered_text, sizeof offered_text, row.offered > 0 ? "%.0f" : "saturate", row.offered);
      std::string threads, threads_json, kernel_json;
      for (const auto& [name, us] : row.thread_us) {
        const double kernel = row.thread_kernel_us.at(name);
        char one[128];
        if (us >= 1) {
          std::snprintf(one, sizeof one, "%s%s %.0f (kernel %.0f)", threads.empty() ? "" : ", ", name.c_str(), us, kernel);
          threads += one;
        }
        std::snprintf(one, sizeof one, "%s\"%s\":%.2f", threads_json.empty() ? "" : ",", name.c_str(), us);
        threads_json += one;
        std::snprintf(one, sizeof one, "%s\"%s\":%.2f", kernel_json.empty() ? "" : ",", name.c_str(), kernel);
        kernel_json += one;
      }
      std::printf("%8d %10s %9.0f %7.2f %8.4f | %10.0f %8.0f %8.0f %8.0f %8.0f | %s\n", row.channels, offered_text,
                  row.tccd_us, row.tccd_us / floor_us, row.syncs_per_settlement, row.stage_us.at("queue_wait"),
                  row.stage_us.at("verify"), row.stage_us.at("issue"), row.stage_us.at("commit"), row.stage_us.at("publish"),
                  threads.c_str());
      const LoadResult& m = row.median;
      char line[1400];
      std::snprintf(line, sizeof line,
                    "{\"bench\":\"e2e\",\"channels\":%d,\"offered_per_sec\":%.0f,\"runs\":%d,\"per_sec\":%.0f,"
                    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"generator_cpu\":%.3f,\"tccd_cpu\":%.3f,"
                    "\"tccd_us_per_settlement\":%.1f,\"floor_us\":%.2f,\"ratio_to_floor\":%.3f,"
                    "\"syncs_per_settlement\":%.5f,\"stage_us\":{\"queue_wait\":%.1f,\"verify\":%.1f,\"issue\":%.1f,"
                    "\"commit\":%.1f,\"publish\":%.1f},\"stage_p99_ms\":{%s},\"threads_us\":{%s},"
                    "\"threads_kernel_us\":{%s}}",
                    row.channels, row.offered, options.settings.runs, m.achieved, m.p50_ms, m.p99_ms, m.p999_ms,
                    m.generator_cpu, m.tccd_cpu, row.tccd_us, floor_us, row.tccd_us / floor_us, row.syncs_per_settlement,
                    row.stage_us.at("queue_wait"), row.stage_us.at("verify"), row.stage_us.at("issue"),
                    row.stage_us.at("commit"), row.stage_us.at("publish"), StageP99Json(row).c_str(), threads_json.c_str(),
                    kernel_json.c_str());
      json.push_back(line);
    }
    std::printf("\nwhere p99 goes inside tccd (ms; each stage's 99th percentile, as the upper bound of its histogram "
                "bucket):\n");
    std::printf("%8s %10s | %10s %8s %8s %8s %8s | %s\n", "channels", "offered/s", "queue_wait", "verify", "issue",
                "commit", "publish", "end-to-end p99 (generator)");
    for (const Row& row : rows) {
      char offered_text[32];
      std::snprintf(offered_text, sizeof offered_text, row.offered > 0 ? "%.0f" : "saturate", row.offered);
      std::printf("%8d %10s | %10g %8g %8g %8g %8g | %.2f\n", row.channels, offered_text, row.stage_p99_ms.at("queue_wait"),
                  row.stage_p99_ms.at("verify"), row.stage_p99_ms.at("issue"), row.stage_p99_ms.at("commit"),
                  row.stage_p99_ms.at("publish"), row.median.p99_ms);
    }
    char floor_line[200];
    std::snprintf(floor_line, sizeof floor_line, "{\"bench\":\"crypto_floor\",\"us\":%.2f,\"samples\":%zu,\"threads\":1}",
                  floor_us, floor_samples.size());
    json.push_back(floor_line);
    running_tccd = nullptr;
    if (tccd.Stop() != 0) Die("tccd did not stop cleanly:\n" + tccd.Log());
  }

  if (options.admission) {
    const std::vector<std::string> ids(all_ids.begin(), all_ids.begin() + options.idle_channels);
    TccdProcess tccd;
    StartTccd(tccd, dir, "idle", false, options.tccd_config);
    const pid_t pid = tccd.pid();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::uint64_t rss_empty = RssBytes(pid);
    PartyLink control(tccd.control(), tccd.did(),
                      wire::CurveKeyPair::FromDidKey(Must(did::KeyPair::ReadFile(dir.Sub("idle/admin.key")), "admin key")));
    const double opens_per_sec = OpenAll(control, ids, options.window);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::uint64_t rss_open = RssBytes(pid);

    PartyLink consumer_link(tccd.listen(), tccd.did()), provider_link(tccd.listen(), tccd.did());
    const double cpu_before = CpuSeconds();
    const double tccd_cpu_before = ProcessCpuSeconds(pid);
    const auto admit_start = Clock::now();
    const double consumer_rate = AdmitAll({trade.consumer, testing::DidOf(*trade.consumer), &consumer_link}, tccd.did(),
                                          ids, options.window);
    const double provider_rate = AdmitAll({trade.provider, testing::DidOf(*trade.provider), &provider_link}, tccd.did(),
                                          ids, options.window);
    const double admit_seconds = SecondsSince(admit_start);
    const double generator_cpu = (CpuSeconds() - cpu_before) / admit_seconds;
    const double tccd_cpu = (ProcessCpuSeconds(pid) - tccd_cpu_before) / admit_seconds;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const std::uint64_t rss_admitted = RssBytes(pid);
    const double handshakes = Median({consumer_rate, provider_rate});
    const double n = static_cast<double>(ids.size());
    const double per_open = static_cast<double>(rss_open - rss_empty) / n;
    const double per_admitted = static_cast<double>(static_cast<std::int64_t>(rss_admitted - rss_empty)) / n;
    std::printf("\nadmission and idle channels: %zu channels, one tccd, %zu handshakes in flight per connection\n",
                ids.size(), options.window);
    std::printf("  DID challenge-response handshakes   %10.0f /s   (consumer %.0f, provider %.0f; gen CPU %.0f%%, tccd CPU %.0f%%)\n",
                handshakes, consumer_rate, provider_rate, 100 * generator_cpu, 100 * tccd_cpu);
    std::printf("  control.open (%zu in flight)         %10.0f /s\n", options.window, opens_per_sec);
    std::printf("  tccd RSS: empty %.1f MB, %zu open %.1f MB, both parties admitted %.1f MB\n", static_cast<double>(rss_empty) / 1e6,
                ids.size(), static_cast<double>(rss_open) / 1e6, static_cast<double>(rss_admitted) / 1e6);
    std::printf("  memory per open idle channel        %10.0f bytes (%.0f bytes with both parties admitted)\n", per_open,
                per_admitted);
    char line[400];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"admission\",\"channels\":%zu,\"window\":%zu,\"per_sec\":%.0f,\"generator_cpu\":%.3f,"
                  "\"tccd_cpu\":%.3f,\"opens_per_sec\":%.0f}",
                  ids.size(), options.window, handshakes, generator_cpu, tccd_cpu, opens_per_sec);
    json.push_back(line);
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"idle_memory\",\"channels\":%zu,\"rss_empty\":%llu,\"rss_open\":%llu,\"rss_admitted\":%llu,"
                  "\"bytes_per_open_channel\":%.0f,\"bytes_per_admitted_channel\":%.0f}",
                  ids.size(), static_cast<unsigned long long>(rss_empty), static_cast<unsigned long long>(rss_open),
                  static_cast<unsigned long long>(rss_admitted), per_open, per_admitted);
    json.push_back(line);
    running_tccd = nullptr;
    if (tccd.Stop() != 0) Die("tccd did not stop cleanly:\n" + tccd.Log());
  }

  std::ofstream json_file;
  if (!options.settings.json_out.empty()) json_file.open(options.settings.json_out, std::ios::app);
  for (const auto& line : json) {
    std::cout << line << "\n";
    if (json_file) json_file << line << "\n";
  }
  return 0;
}

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (std::atoi(item.c_str()) > 0) values.push_back(std::atoi(item.c_str()));
  }
  return values;
}

}  // namespace
}  // namespace tcc::perf

int main(int argc, char** argv) {
  // The Trade fixture reports setup failures through doctest assertions; outside a test run they
  // end the benchmark with the message.
  doctest::Context context;
  context.setAsDefaultForAssertsOutOfTestCases();
  context.setAssertHandler([](const doctest::AssertData& data) {
    tcc::perf::Die(std::string("setup failed at ") + data.m_file + ":" + std::to_string(data.m_line) + ": " +
                   data.m_expr + " " + data.m_exception.c_str());
  });

  tcc::perf::Options options;
  options.settings.runs = 3;
  options.settings.seconds = 2;
  std::string channels = "1,10,100,1000", rate = "1000,5000,10000", idle = "10000", window = "64", phases = "settle,admission";
  std::string tccd_config;
  if (auto stop = tcc::perf::ParseBenchSettings(
          argc, argv, "tccd_bench", options.settings,
          {{"channels", "comma-separated channel counts K for the settlement runs (default 1,10,100,1000)", &channels},
           {"rate", "comma-separated offered settlements per second of the fixed-rate runs (default 1000,5000,10000)", &rate},
           {"idle-channels", "channels opened and joined for the admission and memory run (default 10000)", &idle},
           {"window", "handshakes in flight per connection during admission (default 64, tccd's per-connection limit)", &window},
           {"phases", "which parts to run: settle, admission, or both (default settle,admission)", &phases},
           {"tccd-config", "a JSON file of tccd configuration sections merged into the bench's own (to measure a setting, "
                           "e.g. {\"store\": {\"group_commit_linger_ms\": 1}}; default none)",
            &tccd_config}})) {
    return *stop;
  }
  options.channel_counts = tcc::perf::ParseList(channels);
  options.rates.clear();
  for (int one : tcc::perf::ParseList(rate)) options.rates.push_back(one);
  options.idle_channels = std::max(1, std::atoi(idle.c_str()));
  options.window = static_cast<std::size_t>(std::max(1, std::atoi(window.c_str())));
  options.settle = phases.find("settle") != std::string::npos && !options.channel_counts.empty();
  options.admission = phases.find("admission") != std::string::npos;
  if (!tccd_config.empty()) {
    auto text = tcc::ReadFile(tccd_config);
    if (!text.ok()) tcc::perf::Die("--tccd-config: " + text.error().ToString());
    auto parsed = tcc::Json::Parse(*text);
    if (!parsed.ok() || !parsed->is_object()) {
      tcc::perf::Die("--tccd-config " + tccd_config + ": not a JSON object" +
                     (parsed.ok() ? std::string() : " (" + parsed.error().ToString() + ")"));
    }
    options.tccd_config = std::move(parsed).value();
  }
  if (sodium_init() < 0) return 1;
  return tcc::perf::Main(options);
}
