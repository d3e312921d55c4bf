#include "metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcc/common/thread_safety.h"
#include "tcc/wire/dispute.h"

#ifndef TCC_VERSION
#define TCC_VERSION "unknown"
#endif

namespace tcc::controller {
namespace {

// Label values of the reason/kind families come from callers; a bug there must not turn into a
// series explosion, so at most this many distinct values are kept, the last one being "other".
constexpr std::size_t kMaxLabelValues = 32;
constexpr std::size_t kMaxLabelValueBytes = 64;
constexpr std::string_view kOtherLabelValue = "other";

// prometheus-cpp 1.0's Histogram takes a mutex on every Observe, which all pipeline threads would
// contend on; this one is a handful of relaxed atomics, exported by HistogramCollector.
class AtomicHistogram {
 public:
  explicit AtomicHistogram(std::vector<double> bounds)
      : bounds_(std::move(bounds)), counts_(bounds_.size() + 1) {}

  void Observe(double value) {
    // Prometheus buckets are `le`: a value equal to a bound belongs to that bound's bucket.
    auto bucket = static_cast<std::size_t>(
        std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
    counts_[bucket].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
  }

  prometheus::ClientMetric Collect() const {
    prometheus::ClientMetric metric;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      cumulative += counts_[i].load(std::memory_order_relaxed);
      prometheus::ClientMetric::Bucket bucket;
      bucket.cumulative_count = cumulative;
      bucket.upper_bound = i < bounds_.size() ? bounds_[i] : std::numeric_limits<double>::infinity();
      metric.histogram.bucket.push_back(bucket);
    }
    // Derived from the buckets so that _count always equals the +Inf bucket within one scrape.
    metric.histogram.sample_count = cumulative;
    metric.histogram.sample_sum = sum_.load(std::memory_order_relaxed);
    return metric;
  }

 private:
  const std::vector<double> bounds_;
  std::vector<std::atomic<std::uint64_t>> counts_;
  std::atomic<double> sum_{0.0};
};

// A fixed set of histogram families; every series is created up front, so collection needs no lock.
class HistogramCollector : public prometheus::Collectable {
 public:
  struct Series {
    std::vector<prometheus::ClientMetric::Label> labels;
    std::unique_ptr<AtomicHistogram> histogram;
  };
  struct Family {
    std::string name;
    std::string help;
    std::vector<Series> series;
  };

  AtomicHistogram* Add(const std::string& name, const std::string& help, std::vector<double> bounds,
                       std::vector<prometheus::ClientMetric::Label> labels = {}) {
    auto family = std::find_if(families_.begin(), families_.end(), [&](const Family& f) { return f.name == name; });
    if (family == families_.end()) {
      families_.push_back(Family{name, help, {}});
      family = std::prev(families_.end());
    }
    family->series.push_back(Series{std::move(labels), std::make_unique<AtomicHistogram>(std::move(bounds))});
    return family->series.back().histogram.get();
  }

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    for (const Family& family : families_) {
      prometheus::MetricFamily exported{family.name, family.help, prometheus::MetricType::Histogram, {}};
      for (const Series& series : family.series) {
        prometheus::ClientMetric metric = series.histogram->Collect();
        metric.label = series.labels;
        exported.metric.push_back(std::move(metric));
      }
      out.push_back(std::move(exported));
    }
    return out;
  }

 private:
  std::vector<Family> families_;  // filled before the collector is registered, immutable after
};

// The standard process_* metrics (as Prometheus' Go and Python clients name them), read from
// /proc at scrape time because prometheus-cpp 1.0 has no process collector.
class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    auto add = [&](const char* name, const char* help, prometheus::MetricType type, double value) {
      prometheus::ClientMetric metric;
      if (type == prometheus::MetricType::Counter) metric.counter.value = value;
      else metric.gauge.value = value;
      out.push_back(prometheus::MetricFamily{name, help, type, {metric}});
    };
    const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    const double page_bytes = static_cast<double>(sysconf(_SC_PAGESIZE));
    if (auto stat = ReadStat(); stat.ok) {
      add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.",
          prometheus::MetricType::Counter, (stat.utime + stat.stime) / ticks);
      if (double boot = BootTime(); boot > 0) {
        add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            prometheus::MetricType::Gauge, boot + stat.starttime / ticks);
      }
      add("process_virtual_memory_bytes", "Virtual memory size in bytes.", prometheus::MetricType::Gauge,
          stat.vsize);
      add("process_resident_memory_bytes", "Resident memory size in bytes.", prometheus::MetricType::Gauge,
          stat.rss_pages * page_bytes);
    }
    std::error_code error;
    double fds = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", error), end; !error && it != end;
         it.increment(error)) {
      ++fds;
    }
    if (!error) {
      // The directory iterator holds one descriptor of its own while counting.
      add("process_open_fds", "Number of open file descriptors.", prometheus::MetricType::Gauge,
          std::max(0.0, fds - 1));
    }
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
      add("process_max_fds", "Maximum number of open file descriptors.", prometheus::MetricType::Gauge,
          static_cast<double>(limit.rlim_cur));
    }
    return out;
  }

 private:
  struct Stat {
    bool ok = false;
    double utime = 0, stime = 0, starttime = 0, vsize = 0, rss_pages = 0;
  };

  static Stat ReadStat() {
    std::ifstream file("/proc/self/stat");
    std::string line;
    if (!std::getline(file, line)) return {};
    // The command name (field 2) may contain spaces and parentheses; fields resume after the last ')'.
    auto close = line.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream fields(line.substr(close + 2));
    std::vector<std::string> values;  // values[0] is field 3 (state)
    for (std::string value; fields >> value;) values.push_back(value);
    if (values.size() < 22) return {};
    auto field = [&](int number) { return std::strtod(values[static_cast<std::size_t>(number - 3)].c_str(), nullptr); };
    Stat stat;
    stat.ok = true;
    stat.utime = field(14);
    stat.stime = field(15);
    stat.starttime = field(22);
    stat.vsize = field(23);
    stat.rss_pages = field(24);
    return stat;
  }

  static double BootTime() {
    std::ifstream file("/proc/stat");
    for (std::string line; std::getline(file, line);) {
      if (line.rfind("btime ", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
    }
    return 0;
  }
};

// A counter family keyed by one bounded label. Lookups of known values are lock-free (a scan of at
// most kMaxLabelValues published slots); only a value's first use takes the mutex.
class LabeledCounter {
 public:
  LabeledCounter(prometheus::Family<prometheus::Counter>& family, std::string label)
      : family_(family), label_(std::move(label)) {
    other_ = &family_.Add({{label_, std::string(kOtherLabelValue)}});
  }

  // Values that exist from the start, so that rate() over them works before the first event.
  void Precreate(std::string_view value) { Get(value); }

  void Increment(std::string_view value) { Get(value)->Increment(); }

 private:
  prometheus::Counter* Get(std::string_view value) {
    if (value.empty() || value.size() > kMaxLabelValueBytes || value == kOtherLabelValue) return other_;
    if (prometheus::Counter* found = Find(value, size_.load(std::memory_order_acquire))) return found;
    MutexLock lock(mutex_);
    std::size_t size = size_.load(std::memory_order_relaxed);
    if (prometheus::Counter* found = Find(value, size)) return found;
    if (size >= slots_.size()) return other_;
    slots_[size].value = std::string(value);
    slots_[size].counter = &family_.Add({{label_, slots_[size].value}});
    size_.store(size + 1, std::memory_order_release);
    return slots_[size].counter;
  }

  prometheus::Counter* Find(std::string_view value, std::size_t size) const {
    for (std::size_t i = 0; i < size; ++i) {
      if (slots_[i].value == value) return slots_[i].counter;
    }
    return nullptr;
  }

  struct Slot {
    std::string value;  // written once, before size_ publishes it
    prometheus::Counter* counter = nullptr;
  };
  prometheus::Family<prometheus::Counter>& family_;
  const std::string label_;
  prometheus::Counter* other_ = nullptr;
  std::array<Slot, kMaxLabelValues - 1> slots_;  // "other" is the last of the kMaxLabelValues
  std::atomic<std::size_t> size_{0};
  Mutex mutex_;  // one new value at a time (readers go by size_)
};

// Buckets, in seconds or items, covering what each stage can take on a healthy and a sick system.
const std::vector<double> kSettlementBuckets = {0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                0.05,   0.1,    0.2,   0.5,   1,     2,    5};
const std::vector<double> kStoreWriteBuckets = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                0.025,  0.05,    0.1,    0.25,  0.5,    1};
// Stages run from tens of microseconds (publishing) to seconds (queueing on a sick system).
const std::vector<double> kStageBuckets = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                           0.001,   0.0025,   0.005,   0.01,   0.025,   0.05,
                                           0.1,     0.25,     0.5,     1,      2.5};
constexpr std::array<std::string_view, 5> kStageNames = {"queue_wait", "verify", "issue",
                                                         "commit", "publish"};
const std::vector<double> kAnchorLeafBuckets = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536};
const std::vector<double> kAnchorLatencyBuckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

std::string BoundAddress(const std::string& listen_address, int port) {
  std::string host = listen_address.substr(0, listen_address.rfind(':'));
  return host + ":" + std::to_string(port);
}

}  // namespace

class DaemonMetrics::Impl {
 public:
  explicit Impl(std::string_view chain_adapter)
      : registry_(std::make_shared<prometheus::Registry>()),
        histograms_(std::make_shared<HistogramCollector>()),
        process_(std::make_shared<ProcessCollector>()) {
    auto counter = [&](const char* name, const char* help) -> prometheus::Family<prometheus::Counter>& {
      return prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
    };
    auto gauge = [&](const char* name, const char* help) -> prometheus::Gauge* {
      return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_).Add({});
    };

    tscs_issued_ = &counter("tcc_tscs_issued_total", "TSCs issued and stored.").Add({});
    settlement_durable_ = histograms_->Add("tcc_settlement_latency_seconds",
                                           "Seconds from a submission's arrival to its TSC being durable or published.",
                                           kSettlementBuckets, {{"stage", "durable"}});
    settlement_published_ = histograms_->Add("tcc_settlement_latency_seconds", "", kSettlementBuckets,
                                             {{"stage", "published"}});
    for (std::size_t stage = 0; stage < kStageNames.size(); ++stage) {
      stages_[stage] = histograms_->Add(
          "tcc_settlement_stage_seconds",
          stage == 0 ? "Seconds a settlement spends in each stage: queue_wait, verify, issue, "
                       "commit, publish."
                     : "",
          kStageBuckets, {{"stage", std::string(kStageNames[stage])}});
    }
    rejected_.emplace(counter("tcc_submissions_rejected_total", "Submissions and requests refused, by error code."),
                      "reason");
    bill_rejections_.emplace(
        counter("tcc_rejections_total", "Proposals the consumer rejected, by reason code."),
        "code");
    party_closes_.emplace(
        counter("tcc_channels_closed_by_party_total", "Channels a party closed, by reason code."),
        "code");
    for (wire::ReasonCode code : wire::kAllReasonCodes) {
      bill_rejections_->Precreate(wire::ReasonCodeName(code));
      party_closes_->Precreate(wire::ReasonCodeName(code));
    }
    replayed_ = &counter("tcc_submissions_replayed_total",
                         "Idempotent resubmissions answered with the stored TSC.").Add({});
    pipeline_depth_ = gauge("tcc_pipeline_depth", "Submissions verifying, issuing or waiting to be stored.");
    ran_on_loop_ =
        &counter("tcc_loop_inline_tasks_total",
                 "Work for a worker that the idle loop ran itself: a lone settlement whose "
                 "keys are derived in memory, below saturation.")
             .Add({});

    channels_opened_ = &counter("tcc_channels_opened_total", "Channels opened.").Add({});
    channels_closed_ = &counter("tcc_channels_closed_total", "Channels closed.").Add({});
    channels_open_ = gauge("tcc_channels_open", "Channels currently open.");
    channels_recovering_found_ = &counter("tcc_channels_recovering_found_total",
                                          "Channels the start-up cross-check found behind or contradicted by the chain.")
                                      .Add({});
    channels_recovering_ = gauge("tcc_channels_recovering", "Channels recovering: not settling until restored.");
    connections_ = gauge("tcc_connections", "Party connections currently admitted to at least one channel.");
    unauthenticated_connections_ =
        gauge("tcc_connections_unauthenticated", "Party connections not admitted to any channel (yet).");
    peer_disconnects_.emplace(counter("tcc_peer_disconnects_total", "Party connections tccd ended, by reason."),
                              "reason");
    peer_queued_bytes_ =
        gauge("tcc_peer_queued_bytes", "Bytes handed to the transport for parties that the kernel has not taken yet.");
    auto& auth_attempts = counter("tcc_auth_attempts_total", "DID challenge-response and control authentications.");
    auth_ok_ = &auth_attempts.Add({{"result", "ok"}});
    auth_failed_ = &auth_attempts.Add({{"result", "failed"}});
    auth_failures_.emplace(counter("tcc_auth_failures_total", "Failed authentications, by reason."), "reason");
    did_cache_hits_ = &counter("tcc_did_cache_hits_total", "DID resolutions answered from the cache.").Add({});
    did_cache_misses_ = &counter("tcc_did_cache_misses_total", "DID resolutions that went to the chain.").Add({});

    store_write_ = histograms_->Add("tcc_store_write_seconds", "Seconds per group commit of TSCs to the store.",
                                    kStoreWriteBuckets);
    store_written_ = &counter("tcc_store_written_tscs_total", "TSCs written to the store.").Add({});
    store_writable_ = gauge("tcc_store_writable",
                            "1 while the store writes and settlements are accepted, 0 after a failed write until it recovers.");
    store_writable_->Set(1);
    store_write_failures_ = &counter("tcc_store_write_failures_total",
                                     "Store writes that failed, or were refused while the store waited to reopen.").Add({});
    store_reopens_ = &counter("tcc_store_reopens_total", "Store reopens after a failed write.").Add({});
    store_syncs_ =
        &counter("tcc_store_syncs_total",
                 "Synced store writes (one fsync of the store's log each): a group commit "
                 "of settlements is one.")
             .Add({});
    store_readable_ = gauge("tcc_store_readable",
                            "1 when the start-up read check read every store record, 0 when a record could not be read.");
    store_readable_->Set(1);
    channels_refused_ = gauge("tcc_channels_refused",
                              "Channels refused since start because their store records cannot be read.");
    auto& backups = counter("tcc_store_backups_total", "Store backups (control.backup), by result.");
    backups_ok_ = &backups.Add({{"result", "ok"}});
    backups_failed_ = &backups.Add({{"result", "failed"}});
    backup_seconds_ = gauge("tcc_store_backup_last_seconds", "Seconds the last successful store backup took.");

    unanchored_ = gauge("tcc_unanchored_evidence", "Evidence items waiting to be anchored on chain.");
    anchor_batches_ = &counter("tcc_anchor_batches_total", "Merkle roots anchored on chain.").Add({});
    anchor_leaves_ = histograms_->Add("tcc_anchor_batch_leaves", "Evidence leaves per anchored batch.",
                                      kAnchorLeafBuckets);
    anchor_latency_ = histograms_->Add("tcc_anchor_latency_seconds",
                                       "Seconds from a batch's submission to the chain to its receipt.",
                                       kAnchorLatencyBuckets);
    adapter_errors_.emplace(counter("tcc_adapter_errors_total", "Chain adapter call failures, by error code."),
                            "kind");
    n_effective_ = gauge("tcc_anchor_n_default_effective",
                         "Default anchoring interval N in TSCs after the adaptive factor.");
    n_factor_ = gauge("tcc_anchor_n_factor", "Adaptive factor applied to the default anchoring interval N.");
    n_min_ = gauge("tcc_anchor_n_min", "Lower bound of every channel's anchoring interval N in TSCs.");
    n_max_ = gauge("tcc_anchor_n_max", "Upper bound of every channel's anchoring interval N in TSCs.");
    chain_height_ = gauge("tcc_chain_height", "Chain height as the adapter last saw it.");

    vc_api_requests_.emplace(counter("tcc_vc_api_requests_total", "VC-API HTTP requests, by endpoint."), "endpoint");
    vc_api_rejected_.emplace(counter("tcc_vc_api_rejected_total", "VC-API HTTP requests refused, by error code."),
                             "reason");
    for (const char* endpoint : {"verify", "issue", "evidence", "identity"}) vc_api_requests_->Precreate(endpoint);

    prometheus::BuildGauge()
        .Name("tcc_build_info")
        .Help("Always 1; the labels say which tccd build is running.")
        .Register(*registry_)
        .Add({{"version", TCC_VERSION}, {"chain_adapter", std::string(chain_adapter)}})
        .Set(1);

    for (int code = 0; code <= static_cast<int>(ErrorCode::kInternal); ++code) {
      rejected_->Precreate(ErrorCodeName(static_cast<ErrorCode>(code)));
      adapter_errors_->Precreate(ErrorCodeName(static_cast<ErrorCode>(code)));
      vc_api_rejected_->Precreate(ErrorCodeName(static_cast<ErrorCode>(code)));
    }
  }

  Status Serve(const std::string& listen_address) {
    try {
      exposer_ = std::make_unique<prometheus::Exposer>(listen_address, 2);
    } catch (const std::exception& e) {
      return Error(ErrorCode::kUnavailable, "metrics: cannot serve on " + listen_address + ": " + e.what());
    }
    std::vector<int> ports = exposer_->GetListeningPorts();
    if (ports.empty()) {
      exposer_.reset();
      return Error(ErrorCode::kUnavailable, "metrics: nothing listening on " + listen_address);
    }
    exposer_->RegisterCollectable(registry_);
    exposer_->RegisterCollectable(histograms_);
    exposer_->RegisterCollectable(process_);
    bound_address_ = BoundAddress(listen_address, ports.front());
    return OkStatus();
  }

  void SetDidCache(std::uint64_t hits, std::uint64_t misses) {
    MutexLock lock(totals_mutex_);
    did_cache_hits_->Increment(Delta(hits, last_hits_));
    did_cache_misses_->Increment(Delta(misses, last_misses_));
  }

  void SetStoreHealth(bool writable, std::uint64_t write_failures, std::uint64_t reopens,
                      std::uint64_t syncs) {
    MutexLock lock(totals_mutex_);
    store_writable_->Set(writable ? 1 : 0);
    store_write_failures_->Increment(Delta(write_failures, last_store_write_failures_));
    store_reopens_->Increment(Delta(reopens, last_store_reopens_));
    store_syncs_->Increment(Delta(syncs, last_store_syncs_));
  }

  // The growth of a cumulative total since the last call (under totals_mutex_). A smaller total
  // means a new source started from zero: all of its counts are new.
  static double Delta(std::uint64_t now, std::uint64_t& last) {
    const std::uint64_t delta = now >= last ? now - last : now;
    last = now;
    return static_cast<double>(delta);
  }

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<HistogramCollector> histograms_;
  std::shared_ptr<ProcessCollector> process_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // declared last: stops serving before the rest goes
  std::string bound_address_;

  prometheus::Counter* tscs_issued_;
  AtomicHistogram* settlement_durable_;
  AtomicHistogram* settlement_published_;
  std::array<AtomicHistogram*, kStageNames.size()> stages_{};
  std::optional<LabeledCounter> rejected_;
  std::optional<LabeledCounter> bill_rejections_;
  std::optional<LabeledCounter> party_closes_;
  prometheus::Counter* replayed_;
  prometheus::Gauge* pipeline_depth_;
  prometheus::Counter* ran_on_loop_;
  prometheus::Counter* channels_opened_;
  prometheus::Counter* channels_closed_;
  prometheus::Gauge* channels_open_;
  prometheus::Counter* channels_recovering_found_;
  prometheus::Gauge* channels_recovering_;
  prometheus::Gauge* connections_;
  prometheus::Gauge* unauthenticated_connections_;
  std::optional<LabeledCounter> peer_disconnects_;
  prometheus::Gauge* peer_queued_bytes_;
  prometheus::Counter* auth_ok_;
  prometheus::Counter* auth_failed_;
  std::optional<LabeledCounter> auth_failures_;
  prometheus::Counter* did_cache_hits_;
  prometheus::Counter* did_cache_misses_;
  Mutex totals_mutex_;  // guards the last_* totals
  std::uint64_t last_hits_ TCC_GUARDED_BY(totals_mutex_) = 0;
  std::uint64_t last_misses_ TCC_GUARDED_BY(totals_mutex_) = 0;
  AtomicHistogram* store_write_;
  prometheus::Counter* store_written_;
  prometheus::Gauge* store_writable_;
  prometheus::Counter* store_write_failures_;
  prometheus::Counter* store_reopens_;
  prometheus::Counter* store_syncs_;
  prometheus::Gauge* store_readable_;
  prometheus::Gauge* channels_refused_;
  prometheus::Counter* backups_ok_;
  prometheus::Counter* backups_failed_;
  prometheus::Gauge* backup_seconds_;
  std::uint64_t last_store_write_failures_ TCC_GUARDED_BY(totals_mutex_) = 0;
  std::uint64_t last_store_reopens_ TCC_GUARDED_BY(totals_mutex_) = 0;
  std::uint64_t last_store_syncs_ TCC_GUARDED_BY(totals_mutex_) = 0;
  prometheus::Gauge* unanchored_;
  prometheus::Counter* anchor_batches_;
  AtomicHistogram* anchor_leaves_;
  AtomicHistogram* anchor_latency_;
  std::optional<LabeledCounter> adapter_errors_;
  prometheus::Gauge* n_effective_;
  prometheus::Gauge* n_factor_;
  prometheus::Gauge* n_min_;
  prometheus::Gauge* n_max_;
  prometheus::Gauge* chain_height_;
  std::optional<LabeledCounter> vc_api_requests_;
  std::optional<LabeledCounter> vc_api_rejected_;
};

Result<std::unique_ptr<DaemonMetrics>> DaemonMetrics::Create(const std::string& listen_address,
                                                             std::string_view /*tcc_did*/,
                                                             std::string_view chain_adapter) {
  // The DID is deliberately not a label (see the header); the parameter stays for log context.
  std::unique_ptr<Impl> impl;
  try {
    impl = std::make_unique<Impl>(chain_adapter);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, std::string("metrics: ") + e.what());
  }
  if (!listen_address.empty()) TCC_RETURN_IF_ERROR(impl->Serve(listen_address));
  return std::unique_ptr<DaemonMetrics>(new DaemonMetrics(std::move(impl)));
}

DaemonMetrics::DaemonMetrics(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DaemonMetrics::~DaemonMetrics() = default;

std::string DaemonMetrics::bound_address() const { return impl_->bound_address_; }

void DaemonMetrics::TscIssued() { impl_->tscs_issued_->Increment(); }
void DaemonMetrics::SettlementDurable(double seconds) { impl_->settlement_durable_->Observe(seconds); }
void DaemonMetrics::SettlementPublished(double seconds) { impl_->settlement_published_->Observe(seconds); }
DaemonMetrics::TimePoint DaemonMetrics::StageDone(Stage stage, TimePoint since) {
  const TimePoint now = std::chrono::steady_clock::now();
  StageTook(stage, since, now);
  return now;
}
void DaemonMetrics::StageTook(Stage stage, TimePoint from, TimePoint to) {
  impl_->stages_[static_cast<std::size_t>(stage)]->Observe(
      std::chrono::duration<double>(to - from).count());
}
void DaemonMetrics::Rejected(std::string_view reason) { impl_->rejected_->Increment(reason); }
void DaemonMetrics::BillRejected(std::string_view code) {
  impl_->bill_rejections_->Increment(code);
}
void DaemonMetrics::ClosedByParty(std::string_view code) { impl_->party_closes_->Increment(code); }
void DaemonMetrics::Replayed() { impl_->replayed_->Increment(); }
void DaemonMetrics::RanOnLoop() { impl_->ran_on_loop_->Increment(); }

void DaemonMetrics::SetPipelineDepth(std::int64_t submissions) {
  impl_->pipeline_depth_->Set(static_cast<double>(submissions));
}

void DaemonMetrics::ChannelOpened() { impl_->channels_opened_->Increment(); }
void DaemonMetrics::ChannelClosed() { impl_->channels_closed_->Increment(); }
void DaemonMetrics::SetChannelsOpen(std::int64_t channels) { impl_->channels_open_->Set(static_cast<double>(channels)); }
void DaemonMetrics::ChannelsRecoveringFound(std::uint64_t channels) {
  impl_->channels_recovering_found_->Increment(static_cast<double>(channels));
}
void DaemonMetrics::SetChannelsRecovering(std::int64_t channels) {
  impl_->channels_recovering_->Set(static_cast<double>(channels));
}
void DaemonMetrics::SetConnections(std::int64_t admitted, std::int64_t unauthenticated) {
  impl_->connections_->Set(static_cast<double>(admitted));
  impl_->unauthenticated_connections_->Set(static_cast<double>(unauthenticated));
}
void DaemonMetrics::PeerDisconnected(std::string_view reason) { impl_->peer_disconnects_->Increment(reason); }
void DaemonMetrics::SetPeerQueuedBytes(std::int64_t bytes) {
  impl_->peer_queued_bytes_->Set(static_cast<double>(bytes));
}
void DaemonMetrics::AuthSucceeded() { impl_->auth_ok_->Increment(); }
void DaemonMetrics::AuthFailed(std::string_view reason) {
  impl_->auth_failed_->Increment();
  impl_->auth_failures_->Increment(reason);
}
void DaemonMetrics::SetDidCache(std::uint64_t hits, std::uint64_t misses) { impl_->SetDidCache(hits, misses); }

void DaemonMetrics::StoreWrite(double seconds, std::uint64_t tscs) {
  impl_->store_write_->Observe(seconds);
  impl_->store_written_->Increment(static_cast<double>(tscs));
}

void DaemonMetrics::SetStoreHealth(bool writable, std::uint64_t write_failures,
                                   std::uint64_t reopens, std::uint64_t syncs) {
  impl_->SetStoreHealth(writable, write_failures, reopens, syncs);
}

void DaemonMetrics::SetStoreReadable(bool readable, std::int64_t refused_channels) {
  impl_->store_readable_->Set(readable ? 1 : 0);
  impl_->channels_refused_->Set(static_cast<double>(refused_channels));
}
void DaemonMetrics::Backup(bool ok, double seconds) {
  (ok ? impl_->backups_ok_ : impl_->backups_failed_)->Increment();
  if (ok) impl_->backup_seconds_->Set(seconds);
}

void DaemonMetrics::SetUnanchored(std::int64_t evidence_items) {
  impl_->unanchored_->Set(static_cast<double>(evidence_items));
}
void DaemonMetrics::AnchorBatch(std::uint64_t leaves, double latency_seconds) {
  impl_->anchor_batches_->Increment();
  impl_->anchor_leaves_->Observe(static_cast<double>(leaves));
  impl_->anchor_latency_->Observe(latency_seconds);
}
void DaemonMetrics::AdapterError(std::string_view kind) { impl_->adapter_errors_->Increment(kind); }
// `default_n` is already the effective default (base N x factor, clamped to [n_min, n_max] by the
// policy): only the caller knows the bounds, so it is exported as given.
void DaemonMetrics::SetEffectiveN(std::int64_t default_n, std::int64_t factor) {
  impl_->n_effective_->Set(static_cast<double>(default_n));
  impl_->n_factor_->Set(static_cast<double>(factor));
}
void DaemonMetrics::SetNBounds(std::int64_t n_min, std::int64_t n_max) {
  impl_->n_min_->Set(static_cast<double>(n_min));
  impl_->n_max_->Set(static_cast<double>(n_max));
}
void DaemonMetrics::SetChainHeight(std::uint64_t height) { impl_->chain_height_->Set(static_cast<double>(height)); }

void DaemonMetrics::VcApiRequest(std::string_view endpoint) { impl_->vc_api_requests_->Increment(endpoint); }
void DaemonMetrics::VcApiRejected(std::string_view reason) { impl_->vc_api_rejected_->Increment(reason); }

}  // namespace tcc::controller
