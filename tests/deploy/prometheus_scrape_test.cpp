// Operators' view end to end: a real tccd with --metrics on loopback, a real Prometheus server
// (Debian's package, started by run_prometheus.sh with the shipped deploy/prometheus config and
// alert rules, scraping every second), real parties settling over CURVE and a few bad requests.
// The metric assertions read Prometheus' HTTP API (/api/v1/query with curl), so it covers the whole
// path an operator relies on: tccd counts, the exposer serves, Prometheus scrapes and the rules
// evaluate. It also runs the container image's HEALTHCHECK command against the live tccd.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/daemon_test_util.h"
#include "tcc/common/file.h"
#include "tcc/wire/transport.h"

namespace tcc::testing {
namespace {

using client::MessageType;

// Runs a program (looked up in PATH) and returns its exit status; stdout goes to `out`, stderr is
// inherited so a failing curl or script explains itself in the test log.
int RunCapture(const std::vector<std::string>& arguments, std::string& out,
               const std::vector<std::string>& extra_environment = {}) {
  int pipe_fds[2];
  REQUIRE(::pipe2(pipe_fds, O_CLOEXEC) == 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  // Only stdout may hold the pipe: a background process the program leaves behind (Prometheus)
  // must not keep it open, or the read below would wait for that process to end.
  posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
  posix_spawn_file_actions_addclose(&actions, pipe_fds[1]);
  std::vector<std::string> argument_strings = arguments;
  std::vector<char*> argv;
  for (auto& argument : argument_strings) argv.push_back(argument.data());
  argv.push_back(nullptr);
  std::vector<std::string> environment_strings = extra_environment;
  for (char** variable = environ; *variable != nullptr; ++variable) environment_strings.emplace_back(*variable);
  std::vector<char*> envp;
  for (auto& variable : environment_strings) envp.push_back(variable.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  out.clear();
  if (spawned == 0) {
    char buffer[4096];
    ssize_t got;
    while ((got = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0) out.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(pipe_fds[0]);
  if (spawned != 0) return 127;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// A private Prometheus started by tests/deploy/run_prometheus.sh from the shipped config, with the
// scrape and evaluation intervals shortened to one second; stopped (and waited for) on destruction.
class PrometheusServer {
 public:
  PrometheusServer(const TempDir& dir, const std::string& tccd_metrics_address) : data_dir_(dir.Sub("prometheus")) {
    const std::string deploy = std::string(TCC_SOURCE_DIR) + "/deploy/prometheus/";
    std::string config = Unwrap(ReadFile(deploy + "prometheus.yml"), "read prometheus.yml");
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"scrape_interval: 5s", "scrape_interval: 1s"},
                                   {"evaluation_interval: 5s", "evaluation_interval: 1s"},
                                   {"scrape_timeout: 4s", "scrape_timeout: 1s"}}) {
      std::size_t at;
      bool found = false;
      while ((at = config.find(from)) != std::string::npos) {
        config.replace(at, from.size(), to);
        found = true;
      }
      REQUIRE_MESSAGE(found, "deploy/prometheus/prometheus.yml no longer contains '" << from << "'");
    }
    const std::string template_dir = dir.Sub("prometheus-template");
    std::filesystem::create_directories(template_dir);
    REQUIRE(WriteFileAtomic(template_dir + "/prometheus.yml", config).ok());
    REQUIRE(WriteFileAtomic(template_dir + "/alerts.yml", Unwrap(ReadFile(deploy + "alerts.yml"), "read alerts.yml")).ok());
    std::string url;
    const int status = RunCapture({"bash", std::string(TCC_SOURCE_DIR) + "/tests/deploy/run_prometheus.sh",
                                   template_dir + "/prometheus.yml", data_dir_, tccd_metrics_address},
                                  url, {"TCCD_TARGET_PLACEHOLDER=127.0.0.1:9464"});
    started_ = std::filesystem::exists(data_dir_ + "/prometheus.pid");
    REQUIRE_MESSAGE(status == 0, "run_prometheus.sh failed (exit " << status << ")");
    while (!url.empty() && (url.back() == '\n' || url.back() == '\r')) url.pop_back();
    url_ = url;
  }

  ~PrometheusServer() {
    if (!started_) return;
    auto pid_text = ReadFile(data_dir_ + "/prometheus.pid");
    if (!pid_text.ok()) return;
    const pid_t pid = static_cast<pid_t>(std::stol(*pid_text));
    if (pid <= 0 || ::kill(pid, SIGTERM) != 0) return;
    // Not our child (run_prometheus.sh detached it): poll until it is gone.
    for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (::kill(pid, 0) == 0) ::kill(pid, SIGKILL);
  }

  PrometheusServer(const PrometheusServer&) = delete;
  PrometheusServer& operator=(const PrometheusServer&) = delete;

  // GET path?query=... on the HTTP API; the "data" member of a successful answer.
  Json Api(const std::string& path, const std::string& query = "") const {
    std::vector<std::string> command = {"curl", "-fsS", "--max-time", "5", "--get"};
    if (!query.empty()) {
      command.push_back("--data-urlencode");
      command.push_back("query=" + query);
    }
    command.push_back(url_ + path);
    std::string body;
    REQUIRE_MESSAGE(RunCapture(command, body) == 0, "curl " << path << " " << query);
    Json answer = Unwrap(Json::Parse(body), "Prometheus answer");
    REQUIRE_MESSAGE(answer.GetString("status").value() == "success", body);
    return *answer.Find("data");
  }

  // The value of an instant query that yields at most one sample; nullopt when it yields none.
  std::optional<double> Scalar(const std::string& query) const {
    Json data = Api("/api/v1/query", query);
    const JsonArray& result = *data.GetArray("result").value();
    REQUIRE_MESSAGE(result.size() <= 1, query << " returned " << result.size() << " series");
    if (result.empty()) return std::nullopt;
    const JsonArray& sample = *result[0].GetArray("value").value();
    REQUIRE(sample.size() == 2);
    REQUIRE(sample[1].is_string());
    return std::stod(sample[1].as_string());
  }

  // Polls `query` until `accept` holds for its value (Prometheus sees a change one scrape later).
  std::optional<double> AwaitValue(const std::string& query, const std::function<bool(double)>& accept,
                                   std::chrono::seconds wait = std::chrono::seconds(15)) const {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    std::optional<double> value;
    while (std::chrono::steady_clock::now() < deadline) {
      value = Scalar(query);
      if (value && accept(*value)) return value;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    return value;
  }

  const std::string& url() const { return url_; }

 private:
  std::string data_dir_;
  std::string url_;
  bool started_ = false;
};

// "ADDR:PORT" of tccd's metrics exposer, from its "ready" log line.
std::string MetricsAddress(const TccdProcess& tccd) {
  std::istringstream log(tccd.Log());
  for (std::string line; std::getline(log, line);) {
    if (line.find("\"msg\":\"ready\"") == std::string::npos) continue;
    Json ready = Unwrap(Json::Parse(line), "ready line");
    std::string address(ready.GetString("metrics").value());
    REQUIRE_MESSAGE(!address.empty(), "tccd serves no metrics");
    return address;
  }
  FAIL("tccd logged no ready line");
  return {};
}

// The container's HEALTHCHECK command (deploy/container/Dockerfile, its exec form is a JSON array).
std::vector<std::string> ContainerHealthCheck() {
  std::istringstream dockerfile(Unwrap(ReadFile(std::string(TCC_SOURCE_DIR) + "/deploy/container/Dockerfile"), "Dockerfile"));
  bool in_healthcheck = false;
  for (std::string line; std::getline(dockerfile, line);) {
    if (line.rfind("HEALTHCHECK", 0) == 0) in_healthcheck = true;
    const std::size_t command = line.find("CMD [");
    if (!in_healthcheck || command == std::string::npos) continue;
    Json arguments = Unwrap(Json::Parse(line.substr(command + 4)), "HEALTHCHECK CMD");
    std::vector<std::string> out;
    for (const Json& argument : arguments.as_array()) out.push_back(argument.as_string());
    REQUIRE_MESSAGE((!out.empty() && out[0] == "tcc"), "the HEALTHCHECK no longer runs tcc");
    out[0] = TCC_CLI_PATH;
    return out;
  }
  FAIL("the Dockerfile has no HEALTHCHECK CMD");
  return {};
}

std::unique_ptr<client::Connection> OpenConnection(const std::string& endpoint, const std::string& tcc_did,
                                                   std::optional<wire::CurveKeyPair> key = std::nullopt) {
  client::ConnectOptions options;
  options.endpoint = endpoint;
  options.tcc_did = tcc_did;
  options.timeout = std::chrono::milliseconds(1500);
  options.client_key = std::move(key);
  return Unwrap(client::Connection::Open(std::move(options)), "connect");
}

TEST_CASE("metrics: a real Prometheus scraping tccd sees settlements, refusals, channels, anchoring and N") {
  const auto started = std::chrono::steady_clock::now();
  TempDir dir;
  Trade trade;
  // The TCC's key where tccd looks by default (<data-dir>/tcc.key), as in the container image.
  std::filesystem::create_directories(dir.Sub("data"));
  std::filesystem::permissions(dir.Sub("data"), std::filesystem::perms::owner_all);
  REQUIRE(trade.tcc->WriteFile(dir.Sub("data/tcc.key")).ok());
  // Two channels: A anchors every 3 TSCs, B every 4.
  trade.Record(dir.Sub("ledger"), 3, /*with_auditor=*/false);
  const std::string channel_a = trade.channel_id;
  trade.Record(dir.Sub("ledger"), 4, /*with_auditor=*/false);
  const std::string channel_b = trade.channel_id;
  REQUIRE(channel_a != channel_b);

  // Default N at its maximum (40): the N-at-maximum alert must go pending on real data.
  TccdProcess tccd;
  tccd.Start({"--data-dir", dir.Sub("data"), "--chain", "local:" + dir.Sub("ledger"),
              "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0",
              "--anchor-interval", "100", "--n", "40", "--n-max", "40"});
  const std::string metrics_address = MetricsAddress(tccd);
  REQUIRE(metrics_address.rfind("127.0.0.1:", 0) == 0);

  PrometheusServer prometheus(dir, metrics_address);
  REQUIRE_MESSAGE(prometheus.AwaitValue("up{job=\"tccd\"}", [](double up) { return up == 1; }) == 1.0,
                  "Prometheus does not scrape tccd at " << metrics_address);
  const double issued_before = prometheus.Scalar("tcc_tscs_issued_total").value();

  // --- settlements: 7 on A, 4 on B ---
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  auto consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  std::string prev_a = channel_a, prev_b = channel_b;
  for (const std::string& channel : {channel_a, channel_b}) {
    JoinWhenOpen(*provider, channel);
    JoinWhenOpen(*consumer, channel);
  }
  constexpr int kSettledA = 7, kSettledB = 4;
  for (int seq = 1; seq <= kSettledA; ++seq) {
    trade.channel_id = channel_a;
    prev_a = vc::CredentialHash(SettleOnce(trade, *provider, *consumer, seq, prev_a).tsc).value();
  }
  for (int seq = 1; seq <= kSettledB; ++seq) {
    trade.channel_id = channel_b;
    prev_b = vc::CredentialHash(SettleOnce(trade, *provider, *consumer, seq, prev_b).tsc).value();
  }

  // --- bad requests, each refused and counted ---
  // A co-signed claim whose seq does not follow the channel's last one: conflict.
  trade.channel_id = channel_a;
  auto stale = consumer->Submit(channel_a, trade.Cosign(trade.Proposal(3, channel_a)));
  REQUIRE_FALSE(stale.ok());
  CHECK(stale.error().code() == ErrorCode::kConflict);
  // A connection that never authenticated asks for a channel's state: permission_denied.
  auto unauthenticated = OpenConnection(tccd.listen(), tccd.did());
  auto state = unauthenticated->Request(MessageType::kChannelState, {{"channel", channel_a}});
  REQUIRE_FALSE(state.ok());
  CHECK(state.error().code() == ErrorCode::kPermissionDenied);
  // A DID that is not a member of the channel tries to authenticate: auth failure not_a_member.
  auto outsider = NewKey();
  auto begun = unauthenticated->Request(MessageType::kAuthBegin, {{"channel", channel_a}, {"did", DidOf(*outsider)}});
  REQUIRE_FALSE(begun.ok());
  CHECK(begun.error().code() == ErrorCode::kPermissionDenied);
  // A CURVE client that is not an admin on the control endpoint: auth failure control_key_not_admin.
  auto not_admin = OpenConnection(tccd.control(), tccd.did());
  CHECK_FALSE(not_admin->Request(MessageType::kControlList, {}).ok());
  // Frames that are not JSON: parse_error, answered with an error.
  auto context = Unwrap(wire::ZmqContext::Create(1), "context");
  auto raw = Unwrap(wire::ZmqSocket::Create(context, wire::SocketType::kDealer), "socket");
  REQUIRE(raw.SetCurveClient(wire::CurveKeyPair::Generate(), trade.tcc->X25519Public()).ok());
  REQUIRE(raw.Connect(tccd.listen()).ok());
  constexpr int kMalformed = 2;
  for (const std::string& frame : {std::string("not json"), std::string(200, '[')}) {
    const std::string_view parts[] = {frame};
    REQUIRE(raw.Send(parts, false).ok());
    auto reply = Unwrap(raw.Receive(false), "reply");
    CHECK(Unwrap(wire::DecodeMessage(reply[0].data), "decode").type == MessageType::kError);
  }

  // --- the admin closes channel B ---
  auto admin_key = Unwrap(did::KeyPair::ReadFile(dir.Sub("data/admin.key")), "admin key");
  auto admin = OpenConnection(tccd.control(), tccd.did(), wire::CurveKeyPair::FromDidKey(admin_key));
  REQUIRE(admin->Request(MessageType::kControlClose, {{"channel", channel_b}}).ok());

  // --- what Prometheus saw ---
  constexpr double kSettled = kSettledA + kSettledB;
  CHECK(prometheus.AwaitValue("tcc_tscs_issued_total", [&](double v) { return v - issued_before >= kSettled; }) ==
        issued_before + kSettled);
  CHECK(prometheus.AwaitValue("tcc_settlement_latency_seconds_count{stage=\"durable\"}",
                              [&](double v) { return v >= kSettled; }) == kSettled);
  // Where the time went: every settlement passed every stage once (the stale claim below is refused
  // before it reaches a worker). The stages are disjoint parts of a settlement's time, so the first
  // four add up to no more than submit-to-durable, and publishing to no more than what follows it.
  for (const std::string stage : {"queue_wait", "verify", "issue", "commit", "publish"}) {
    CHECK_MESSAGE(prometheus.AwaitValue("tcc_settlement_stage_seconds_count{stage=\"" + stage + "\"}",
                                        [&](double v) { return v >= kSettled; }) == kSettled,
                  stage);
    CHECK_MESSAGE(prometheus.Scalar("tcc_settlement_stage_seconds_sum{stage=\"" + stage + "\"}").value() > 0, stage);
  }
  CHECK(prometheus.AwaitValue("tcc_settlement_latency_seconds_count{stage=\"published\"}",
                              [&](double v) { return v >= kSettled; }) == kSettled);
  const double durable_sum = prometheus.Scalar("tcc_settlement_latency_seconds_sum{stage=\"durable\"}").value();
  const double published_sum = prometheus.Scalar("tcc_settlement_latency_seconds_sum{stage=\"published\"}").value();
  CHECK(prometheus.Scalar("sum(tcc_settlement_stage_seconds_sum{stage!=\"publish\"})").value() <= durable_sum);
  CHECK(prometheus.Scalar("tcc_settlement_stage_seconds_sum{stage=\"publish\"}").value() <= published_sum - durable_sum);
  // One settlement at a time here: each is its own group commit, one sync at least.
  CHECK(prometheus.AwaitValue("tcc_store_syncs_total", [&](double v) { return v >= kSettled; }) >= kSettled);
  CHECK(prometheus.AwaitValue("tcc_submissions_rejected_total{reason=\"conflict\"}", [](double v) { return v > 0; }) == 1);
  CHECK(prometheus.AwaitValue("tcc_submissions_rejected_total{reason=\"permission_denied\"}",
                              [](double v) { return v > 0; }) == 1);
  CHECK(prometheus.AwaitValue("tcc_submissions_rejected_total{reason=\"parse_error\"}",
                              [](double v) { return v >= kMalformed; }) == kMalformed);
  CHECK(prometheus.AwaitValue("sum(tcc_submissions_rejected_total)", [](double v) { return v >= 4; }) == 2 + kMalformed);
  CHECK(prometheus.AwaitValue("tcc_auth_failures_total{reason=\"not_a_member\"}", [](double v) { return v > 0; }) == 1);
  CHECK(prometheus.AwaitValue("tcc_auth_failures_total{reason=\"control_key_not_admin\"}",
                              [](double v) { return v > 0; }) >= 1);
  // Four admissions: both parties on both channels.
  CHECK(prometheus.AwaitValue("tcc_auth_attempts_total{result=\"ok\"}", [](double v) { return v >= 4; }) == 4);
  CHECK(prometheus.Scalar("tcc_auth_attempts_total{result=\"failed\"}") ==
        prometheus.Scalar("sum(tcc_auth_failures_total)"));
  CHECK(prometheus.AwaitValue("tcc_channels_closed_total", [](double v) { return v >= 1; }) == 1);
  CHECK(prometheus.AwaitValue("tcc_channels_open", [](double v) { return v == 1; }) == 1);
  CHECK(prometheus.Scalar("tcc_channels_opened_total") == 2);
  // Evidence leaves: A at seq 3 and 6, B at seq 4 (its last, so closing adds none). All anchored.
  CHECK(prometheus.AwaitValue("tcc_anchor_batch_leaves_sum", [](double v) { return v >= 3; }) == 3);
  CHECK(prometheus.AwaitValue("tcc_anchor_batches_total", [](double v) { return v >= 1; }) >= 1);
  CHECK(prometheus.AwaitValue("tcc_unanchored_evidence", [](double v) { return v == 0; }) == 0);
  CHECK(prometheus.AwaitValue("tcc_chain_height", [](double v) { return v > 0; }) > 0);
  CHECK(prometheus.Scalar("tcc_anchor_n_default_effective") == 40);
  CHECK(prometheus.Scalar("tcc_anchor_n_max") == 40);
  CHECK(prometheus.Scalar("tcc_anchor_n_min") == 1);
  CHECK(prometheus.Scalar("tcc_anchor_n_factor") == 1);
  CHECK(prometheus.Scalar("tcc_build_info") == 1);
  CHECK(prometheus.Scalar("up{job=\"tccd\"}") == 1);

  // The shipped rules evaluate without errors, and N at N_max puts its alert in "pending" (its
  // `for` is 15 minutes) while the quiet ones stay inactive.
  CHECK(prometheus.AwaitValue("ALERTS{alertname=\"TccAnchorNAtMaximum\", alertstate=\"pending\"}",
                              [](double v) { return v == 1; }) == 1);
  CHECK_FALSE(prometheus.Scalar("ALERTS{alertname=\"TccdDown\"}").has_value());
  Json rules = prometheus.Api("/api/v1/rules");
  std::size_t evaluated = 0;
  for (const Json& group : *rules.GetArray("groups").value()) {
    for (const Json& rule : *group.GetArray("rules").value()) {
      CHECK_MESSAGE(rule.GetString("health").value() == "ok",
                    rule.GetString("name").value() << ": " << rule.Serialize());
      ++evaluated;
    }
  }
  CHECK(evaluated >= 8);

  // Every tcc_* series the dashboard and the alert rules query is one this tccd really exported.
  std::set<std::string> scraped;
  const Json names = prometheus.Api("/api/v1/label/__name__/values");
  for (const Json& name : names.as_array()) scraped.insert(name.as_string());
  std::size_t referenced = 0;
  for (const std::string file : {"/deploy/grafana/dashboards/tccd.json", "/deploy/prometheus/alerts.yml"}) {
    const std::string text = Unwrap(ReadFile(std::string(TCC_SOURCE_DIR) + file), file.c_str());
    const std::regex metric_name("tcc_[a-z0-9_]+");
    for (auto match = std::sregex_iterator(text.begin(), text.end(), metric_name); match != std::sregex_iterator(); ++match) {
      ++referenced;
      CHECK_MESSAGE(scraped.contains(match->str()), file << " queries " << match->str() << ", which Prometheus never scraped");
    }
  }
  CHECK(referenced >= 30);

  // The container's health check, pointed at this tccd's control endpoint (in the container it is
  // the default one), passes while tccd runs and fails once it has stopped.
  std::vector<std::string> health_check = ContainerHealthCheck();
  for (std::string& argument : health_check) {
    if (argument == "/var/lib/tccd") argument = dir.Sub("data");
  }
  health_check.insert(health_check.end(), {"--control", tccd.control()});
  std::string health;
  CHECK(RunCapture(health_check, health) == 0);
  CHECK(health.find("status        ok") != std::string::npos);
  CHECK(health.find("TSCs issued   " + std::to_string(kSettledA + kSettledB) + " since tccd started\n") != std::string::npos);

  // SIGTERM drains and exits 0; Prometheus then sees the target down.
  CHECK(tccd.Stop() == 0);
  health_check.insert(health_check.end(), {"--timeout", "500"});
  CHECK(RunCapture(health_check, health) == 3);
  CHECK(prometheus.AwaitValue("up{job=\"tccd\"}", [](double up) { return up == 0; }) == 0.0);
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  MESSAGE("prometheus_scrape_test took " << seconds << " s against " << prometheus.url());
  CHECK(seconds < 60);
}

}  // namespace
}  // namespace tcc::testing
