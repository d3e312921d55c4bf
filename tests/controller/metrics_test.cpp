// DaemonMetrics served by a real prometheus-cpp exposer on loopback and read back over HTTP, the way
// Prometheus scrapes it: every method moves its series by exactly what it was given.
#include "metrics.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace tcc::controller {
namespace {

// The body of GET http://<address>/metrics; HTTP/1.0 so the server closes when done and sends no
// chunked encoding.
std::string Scrape(const std::string& address) {
  auto colon = address.rfind(':');
  REQUIRE(colon != std::string::npos);
  sockaddr_in peer{};
  peer.sin_family = AF_INET;
  peer.sin_port = htons(static_cast<std::uint16_t>(std::stoi(address.substr(colon + 1))));
  REQUIRE(inet_pton(AF_INET, address.substr(0, colon).c_str(), &peer.sin_addr) == 1);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&peer), sizeof peer) == 0);
  std::string request = "GET /metrics HTTP/1.0\r\nHost: " + address + "\r\n\r\n";
  REQUIRE(send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) response.append(buffer, static_cast<std::size_t>(n));
  close(fd);
  REQUIRE_MESSAGE(response.rfind("HTTP/1.1 200", 0) == 0, response.substr(0, 200));
  auto body = response.find("\r\n\r\n");
  REQUIRE(body != std::string::npos);
  return response.substr(body + 4);
}

// The value of the sample whose name-and-labels part is exactly `series`, if exposed.
std::optional<double> Sample(const std::string& exposition, const std::string& series) {
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 && line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::nullopt;
}

double Value(const std::string& exposition, const std::string& series) {
  std::optional<double> value = Sample(exposition, series);
  REQUIRE_MESSAGE(value.has_value(), "missing series " << series);
  return *value;
}

int CountSeries(const std::string& exposition, const std::string& prefix) {
  int count = 0;
  std::istringstream lines(exposition);
  for (std::string line; std::getline(lines, line);) count += line.rfind(prefix, 0) == 0;
  return count;
}

std::unique_ptr<DaemonMetrics> Serve() {
  auto metrics = DaemonMetrics::Create("127.0.0.1:0", "did:key:z6MkTest", "local");
  REQUIRE_MESSAGE(metrics.ok(), metrics.error().ToString());
  return std::move(metrics).value();
}

TEST_CASE("every method moves its series by exactly what it was given") {
  auto metrics = Serve();
  std::string address = metrics->bound_address();
  CHECK(address.rfind("127.0.0.1:", 0) == 0);
  CHECK(address != "127.0.0.1:0");

  for (int i = 0; i < 3; ++i) metrics->TscIssued();
  metrics->SettlementDurable(0.0001);  // lands in the first bucket
  metrics->SettlementDurable(0.001);   // exactly on a bound: `le` includes it
  metrics->SettlementPublished(0.003);
  metrics->SettlementPublished(10);    // above the last bound: +Inf only
  metrics->Rejected("conflict");
  metrics->Rejected("conflict");
  metrics->Rejected("verification_failed");
  metrics->Replayed();
  metrics->RanOnLoop();
  metrics->RanOnLoop();
  metrics->SetPipelineDepth(7);

  metrics->ChannelOpened();
  metrics->ChannelOpened();
  metrics->ChannelClosed();
  metrics->SetChannelsOpen(1);
  metrics->SetConnections(4, 2);
  metrics->AuthSucceeded();
  metrics->AuthSucceeded();
  metrics->AuthFailed("bad_signature");
  metrics->AuthFailed("expired");
  metrics->AuthFailed("bad_signature");
  metrics->SetDidCache(5, 2);
  metrics->SetDidCache(8, 3);

  metrics->StoreWrite(0.002, 10);
  metrics->StoreWrite(0.004, 6);
  metrics->SetStoreHealth(true, 0, 0, 5);  // cumulative totals: the counter grows by the difference
  metrics->SetStoreHealth(true, 0, 0, 7);

  // Stage times measured from a point in the past: each observation is at least that long.
  using Stage = DaemonMetrics::Stage;
  const auto arrived = std::chrono::steady_clock::now() - std::chrono::milliseconds(30);
  auto stage = metrics->StageDone(Stage::kQueueWait, arrived);  // >= 30 ms
  CHECK(stage - arrived >= std::chrono::milliseconds(30));
  stage = metrics->StageDone(Stage::kVerify, stage);
  metrics->StageDone(Stage::kIssue, stage);
  metrics->StageDone(Stage::kCommit, stage - std::chrono::seconds(3));  // above the last bound: +Inf only
  metrics->StageDone(Stage::kPublish, stage);
  metrics->StageDone(Stage::kPublish, stage);

  metrics->SetUnanchored(12);
  metrics->AnchorBatch(20, 0.7);
  metrics->AnchorBatch(3, 2);
  metrics->AdapterError("unavailable");
  metrics->SetEffectiveN(400, 4);  // the caller passes the effective (clamped) N
  metrics->SetNBounds(2, 500);
  metrics->SetChainHeight(123456789);

  std::string text = Scrape(address);
  CHECK(Value(text, "tcc_tscs_issued_total") == 3);
  CHECK(Value(text, "tcc_settlement_latency_seconds_count{stage=\"durable\"}") == 2);
  CHECK(Value(text, "tcc_settlement_latency_seconds_sum{stage=\"durable\"}") == doctest::Approx(0.0011));
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"durable\",le=\"0.0002\"}") == 1);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"durable\",le=\"0.0005\"}") == 1);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"durable\",le=\"0.001\"}") == 2);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"durable\",le=\"+Inf\"}") == 2);
  CHECK(Value(text, "tcc_settlement_latency_seconds_count{stage=\"published\"}") == 2);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"published\",le=\"0.002\"}") == 0);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"published\",le=\"0.005\"}") == 1);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"published\",le=\"5\"}") == 1);
  CHECK(Value(text, "tcc_settlement_latency_seconds_bucket{stage=\"published\",le=\"+Inf\"}") == 2);
  CHECK(Value(text, "tcc_submissions_rejected_total{reason=\"conflict\"}") == 2);
  CHECK(Value(text, "tcc_submissions_rejected_total{reason=\"verification_failed\"}") == 1);
  // Every error code exists from the start, so rate() works before its first event.
  CHECK(Value(text, "tcc_submissions_rejected_total{reason=\"not_found\"}") == 0);
  CHECK(Value(text, "tcc_submissions_replayed_total") == 1);
  CHECK(Value(text, "tcc_loop_inline_tasks_total") == 2);
  CHECK(Value(text, "tcc_pipeline_depth") == 7);

  CHECK(Value(text, "tcc_channels_opened_total") == 2);
  CHECK(Value(text, "tcc_channels_closed_total") == 1);
  CHECK(Value(text, "tcc_channels_open") == 1);
  CHECK(Value(text, "tcc_connections") == 4);
  CHECK(Value(text, "tcc_auth_attempts_total{result=\"ok\"}") == 2);
  CHECK(Value(text, "tcc_auth_attempts_total{result=\"failed\"}") == 3);
  CHECK(Value(text, "tcc_auth_failures_total{reason=\"bad_signature\"}") == 2);
  CHECK(Value(text, "tcc_auth_failures_total{reason=\"expired\"}") == 1);
  CHECK(Value(text, "tcc_did_cache_hits_total") == 8);
  CHECK(Value(text, "tcc_did_cache_misses_total") == 3);

  CHECK(Value(text, "tcc_store_write_seconds_count") == 2);
  CHECK(Value(text, "tcc_store_write_seconds_sum") == doctest::Approx(0.006));
  CHECK(Value(text, "tcc_store_write_seconds_bucket{le=\"0.0025\"}") == 1);
  CHECK(Value(text, "tcc_store_write_seconds_bucket{le=\"0.005\"}") == 2);
  CHECK(Value(text, "tcc_store_written_tscs_total") == 16);
  CHECK(Value(text, "tcc_store_syncs_total") == 7);

  CHECK(Value(text, "tcc_settlement_stage_seconds_count{stage=\"queue_wait\"}") == 1);
  CHECK(Value(text, "tcc_settlement_stage_seconds_sum{stage=\"queue_wait\"}") >= 0.03);
  CHECK(Value(text, "tcc_settlement_stage_seconds_bucket{stage=\"queue_wait\",le=\"0.025\"}") == 0);
  CHECK(Value(text, "tcc_settlement_stage_seconds_bucket{stage=\"queue_wait\",le=\"+Inf\"}") == 1);
  CHECK(Value(text, "tcc_settlement_stage_seconds_count{stage=\"verify\"}") == 1);
  CHECK(Value(text, "tcc_settlement_stage_seconds_count{stage=\"issue\"}") == 1);
  CHECK(Value(text, "tcc_settlement_stage_seconds_bucket{stage=\"commit\",le=\"2.5\"}") == 0);
  CHECK(Value(text, "tcc_settlement_stage_seconds_bucket{stage=\"commit\",le=\"+Inf\"}") == 1);
  CHECK(Value(text, "tcc_settlement_stage_seconds_sum{stage=\"commit\"}") >= 3);
  CHECK(Value(text, "tcc_settlement_stage_seconds_count{stage=\"publish\"}") == 2);

  CHECK(Value(text, "tcc_unanchored_evidence") == 12);
  CHECK(Value(text, "tcc_anchor_batches_total") == 2);
  CHECK(Value(text, "tcc_anchor_batch_leaves_count") == 2);
  CHECK(Value(text, "tcc_anchor_batch_leaves_sum") == 23);
  CHECK(Value(text, "tcc_anchor_batch_leaves_bucket{le=\"4\"}") == 1);
  CHECK(Value(text, "tcc_anchor_batch_leaves_bucket{le=\"64\"}") == 2);
  CHECK(Value(text, "tcc_anchor_latency_seconds_count") == 2);
  CHECK(Value(text, "tcc_anchor_latency_seconds_bucket{le=\"1\"}") == 1);
  CHECK(Value(text, "tcc_anchor_latency_seconds_bucket{le=\"2.5\"}") == 2);
  CHECK(Value(text, "tcc_adapter_errors_total{kind=\"unavailable\"}") == 1);
  CHECK(Value(text, "tcc_adapter_errors_total{kind=\"internal\"}") == 0);
  CHECK(Value(text, "tcc_anchor_n_default_effective") == 400);
  CHECK(Value(text, "tcc_anchor_n_factor") == 4);
  CHECK(Value(text, "tcc_anchor_n_min") == 2);
  CHECK(Value(text, "tcc_anchor_n_max") == 500);
  CHECK(Value(text, "tcc_chain_height") == 123456789);

  CHECK(Value(text, "tcc_build_info{chain_adapter=\"local\",version=\"0.1.0\"}") == 1);
  CHECK(text.find("did:key") == std::string::npos);  // the DID is never a label

  CHECK(Value(text, "process_resident_memory_bytes") > 0);
  CHECK(Value(text, "process_virtual_memory_bytes") >= Value(text, "process_resident_memory_bytes"));
  CHECK(Value(text, "process_open_fds") >= 3);
  CHECK(Value(text, "process_cpu_seconds_total") >= 0);
  double started = Value(text, "process_start_time_seconds");
  double now = static_cast<double>(std::time(nullptr));
  CHECK(started <= now + 1);
  CHECK(started > now - 3600);

  // Gauges follow the latest value; counters only add.
  metrics->SetPipelineDepth(0);
  metrics->SetChannelsOpen(0);
  metrics->SetChainHeight(123456790);
  metrics->TscIssued();
  text = Scrape(address);
  CHECK(Value(text, "tcc_pipeline_depth") == 0);
  CHECK(Value(text, "tcc_channels_open") == 0);
  CHECK(Value(text, "tcc_chain_height") == 123456790);
  CHECK(Value(text, "tcc_tscs_issued_total") == 4);
}

TEST_CASE("the DID cache counters add the growth of the cumulative numbers") {
  auto metrics = Serve();
  metrics->SetDidCache(5, 2);
  metrics->SetDidCache(5, 2);  // no change: nothing added
  metrics->SetDidCache(9, 2);
  std::string text = Scrape(metrics->bound_address());
  CHECK(Value(text, "tcc_did_cache_hits_total") == 9);
  CHECK(Value(text, "tcc_did_cache_misses_total") == 2);
  // A new resolver starts from zero: its totals are all new events.
  metrics->SetDidCache(3, 1);
  text = Scrape(metrics->bound_address());
  CHECK(Value(text, "tcc_did_cache_hits_total") == 12);
  CHECK(Value(text, "tcc_did_cache_misses_total") == 3);
}

TEST_CASE("a label family keeps at most 32 values; the rest count as other") {
  auto metrics = Serve();
  for (int i = 0; i < 40; ++i) metrics->AuthFailed("reason_" + std::to_string(100 + i));
  metrics->AuthFailed("reason_100");                      // an existing value keeps its series
  metrics->AuthFailed("");                                // no empty label values
  metrics->AuthFailed(std::string(200, 'x'));             // nor huge ones
  std::string text = Scrape(metrics->bound_address());
  CHECK(CountSeries(text, "tcc_auth_failures_total{") == 32);
  CHECK(Value(text, "tcc_auth_failures_total{reason=\"reason_100\"}") == 2);
  CHECK(Value(text, "tcc_auth_failures_total{reason=\"reason_130\"}") == 1);  // the 31st value
  CHECK_FALSE(Sample(text, "tcc_auth_failures_total{reason=\"reason_131\"}").has_value());
  CHECK(Value(text, "tcc_auth_failures_total{reason=\"other\"}") == 9 + 2);
  CHECK(Value(text, "tcc_auth_attempts_total{result=\"failed\"}") == 43);

  // The error-code family starts with 11 codes and "other": 20 more values fit.
  for (int i = 0; i < 25; ++i) metrics->Rejected("made_up_" + std::to_string(100 + i));
  text = Scrape(metrics->bound_address());
  CHECK(CountSeries(text, "tcc_submissions_rejected_total{") == 32);
  CHECK(Value(text, "tcc_submissions_rejected_total{reason=\"made_up_119\"}") == 1);
  CHECK(Value(text, "tcc_submissions_rejected_total{reason=\"other\"}") == 5);
}

TEST_CASE("concurrent callers lose no increments") {
  auto metrics = Serve();
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        metrics->TscIssued();
        metrics->SettlementDurable(0.001);
        // New label values racing with lookups of existing ones.
        if (i % 100 == 0) metrics->Rejected("race_" + std::to_string((t * kPerThread + i) % 7));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::string text = Scrape(metrics->bound_address());
  CHECK(Value(text, "tcc_tscs_issued_total") == kThreads * kPerThread);
  CHECK(Value(text, "tcc_settlement_latency_seconds_count{stage=\"durable\"}") == kThreads * kPerThread);
  CHECK(Value(text, "tcc_settlement_latency_seconds_sum{stage=\"durable\"}") ==
        doctest::Approx(kThreads * kPerThread * 0.001));
  double races = 0;
  for (int r = 0; r < 7; ++r) races += Value(text, "tcc_submissions_rejected_total{reason=\"race_" + std::to_string(r) + "\"}");
  CHECK(races == kThreads * kPerThread / 100);
}

TEST_CASE("an occupied port is kUnavailable, not an exception") {
  auto first = Serve();
  auto second = DaemonMetrics::Create(first->bound_address(), "did:key:z6MkTest", "local");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kUnavailable);
  CHECK(second.error().message().find(first->bound_address()) != std::string::npos);

  auto garbage = DaemonMetrics::Create("not-an-address:99999", "did:key:z6MkTest", "local");
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error().code() == ErrorCode::kUnavailable);
}

TEST_CASE("without an address the metrics are kept but not served") {
  auto metrics = DaemonMetrics::Create("", "did:key:z6MkTest", "local");
  REQUIRE(metrics.ok());
  CHECK((*metrics)->bound_address().empty());
  (*metrics)->TscIssued();
  (*metrics)->Rejected("conflict");
  (*metrics)->SettlementPublished(0.01);
}

}  // namespace
}  // namespace tcc::controller
