// tccd: the Transaction Channel Controller daemon. A thin main() around tcc::controller::Daemon:
// read the configuration (file, then flags), start, wait for SIGTERM/SIGINT, drain and stop.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "allocator.h"
#include "command_line.h"
#include "tcc/common/thread_name.h"
#include "tcc/controller/daemon.h"
#include "tcc/controller/log.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"

namespace {

using tcc::controller::DaemonConfig;

tcc::Status ParseCount(const std::string& text, std::string_view flag, std::uint64_t& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (error != std::errc() || end != text.data() + text.size()) {
    return tcc::Error(tcc::ErrorCode::kInvalidArgument, std::string(flag) + " needs a non-negative integer, not \"" + text + "\"");
  }
  return tcc::OkStatus();
}

std::vector<std::string> SplitCommas(const std::string& text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  std::string config_file, data_dir, key_file, chain, listen, control, metrics, admins, workers, interval, n, n_min, n_max, log_level;
  std::string vc_api, vc_api_token_file, vc_api_issuer_key;
  bool adaptive = false, no_auto_open = false, version = false, print_did = false, check_config = false;
  auto command_line = tcc::cli::CommandLine::Program(
      "tccd",
      "The Transaction Channel Controller daemon. Opens a channel per recorded TIC that names this\n"
      "TCC, admits parties by DID challenge-response over ZeroMQ CURVE, verifies and issues\n"
      "settlement credentials (TSCs), stores them, and anchors evidence on the chain every N TSCs.\n"
      "Flags override the config file. Logs are JSON lines on stderr; the \"ready\" line names the\n"
      "bound endpoints and the TCC DID. SIGTERM/SIGINT drain and stop cleanly.");
  command_line.Option("config", "FILE", "JSON config file (members: data_dir, key_file, chain, listen, control, metrics,\n"
                                        "admin_dids, workers, auto_open, chain_poll_ms, anchoring{interval_ms, max_batch,\n"
                                        "default_n, n_min, n_max, adaptive, target_latency_ms, backlog_high,\n"
                                        "adapter_pending_high}, limits{max_channels, max_connections, idle_timeout_ms,\n"
                                        "challenge_ttl_ms, auth_rate_per_source, max_waiting_per_channel, max_connections_per_source,\n"
                                        "max_unauthenticated_connections, unauthenticated_timeout_ms,\n"
                                        "max_challenges_per_connection, max_requests_in_flight_per_connection,\n"
                                        "max_queued_bytes_per_connection, max_queued_bytes_total}, store{group_commit_width,\n"
                                        "group_commit_linger_ms, group_commit_idle_linger_ms}, vc_api{listen,\n"
                                        "token_file, issuer_key_file, threads, max_connections, max_connections_per_source,\n"
                                        "max_body_bytes, header_timeout_ms, request_timeout_ms}).",
                      &config_file)
      .Option("data-dir", "DIR", "State directory: store/, tcc.key, admin.key, and ledger/ for the default chain.", &data_dir)
      .Option("key", "FILE", "The TCC's DID key (default <data-dir>/tcc.key, created on first start).", &key_file)
      .Option("chain", "URI", "Chain adapter (default local:<data-dir>/ledger, the embedded ledger).", &chain)
      .Option("listen", "ENDPOINT", "Party endpoint (default tcp://127.0.0.1:7700; tcp://HOST:* picks a port).", &listen)
      .Option("control", "ENDPOINT", "Control endpoint (default tcp://127.0.0.1:7701), CURVE, admin keys only.", &control)
      .Option("metrics", "ADDR:PORT", "Serve Prometheus metrics at http://ADDR:PORT/metrics (e.g. 127.0.0.1:9464;\n"
                                      "port 0 picks a free one). Off by default.", &metrics)
      .Option("vc-api", "ADDR:PORT", "Serve the VC API over HTTP (POST /credentials/verify, /credentials/issue,\n"
                                     "GET /evidence/{tsc-hash}, /identity); PORT alone binds 127.0.0.1, port 0 picks\n"
                                     "one. Off by default. See docs/vc-api.md.", &vc_api)
      .Option("vc-api-token-file", "FILE", "Bearer token (file mode 0600, at least 16 characters) that POST\n"
                                           "/credentials/issue requires; without it issuing is disabled. Needs\n"
                                           "--vc-api-issuer-key.", &vc_api_token_file)
      .Option("vc-api-issuer-key", "FILE", "Key that signs credentials issued over the VC API; required for issuing.\n"
                                           "Never the TCC key (tccd refuses to start): that key signs settlements only.",
              &vc_api_issuer_key)
      .Option("admin", "DIDS", "Comma-separated did:key DIDs allowed on the control endpoint (default: the key\n"
                               "in <data-dir>/admin.key, created on first start).", &admins)
      .Option("workers", "N", "Worker threads for verification and signing (default: one per core).", &workers)
      .Option("anchor-interval", "MS", "Anchor one evidence batch per interval (default 500).", &interval)
      .Option("n", "N", "Default N (TSCs per evidence leaf) for channels whose TIC sets none (default 10).", &n)
      .Option("n-min", "N", "Lower bound of any channel's N (default 1).", &n_min)
      .Option("n-max", "N", "Upper bound of any channel's N (default 10000).", &n_max)
      .Flag("adaptive", "Raise N when the chain is slow or backlogged, lower it when it has room.", &adaptive)
      .Flag("no-auto-open", "Open channels only through the control API, not from chain events.", &no_auto_open)
      .Option("log-level", "LEVEL", "debug, info (default), warning or error.", &log_level)
      .Flag("print-did", "Print the TCC's DID (from --key, default <data-dir>/tcc.key) and exit, without starting.",
            &print_did)
      .Flag("check-config", "Check the configuration (file and flags) and exit: 0 if tccd would accept it.",
            &check_config)
      .Flag("version", "Print the version and git revision and exit.", &version);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return tcc::cli::kExitUsage;
  if (!*parsed) return tcc::cli::kExitOk;
  if (version) {
    std::cout << tcc::cli::VersionLine("tccd") << "\n";
    return tcc::cli::kExitOk;
  }

  DaemonConfig config;
  if (!config_file.empty()) {
    auto loaded = tcc::controller::LoadDaemonConfig(config_file);
    if (!loaded.ok()) return tcc::cli::ReportProgramError("tccd", loaded.error());
    config = std::move(loaded).value();
  }
  auto apply = [&]() -> tcc::Status {
    if (!data_dir.empty()) config.data_dir = data_dir;
    if (!key_file.empty()) config.key_file = key_file;
    if (!chain.empty()) config.chain_uri = chain;
    if (!listen.empty()) config.listen = listen;
    if (!control.empty()) config.control = control;
    if (!metrics.empty()) config.metrics = metrics;
    if (!vc_api.empty()) config.vc_api.listen = vc_api;
    if (!vc_api_token_file.empty()) config.vc_api.token_file = vc_api_token_file;
    if (!vc_api_issuer_key.empty()) config.vc_api_issuer_key_file = vc_api_issuer_key;
    if (!admins.empty()) config.admin_dids = SplitCommas(admins);
    std::uint64_t value = 0;
    if (!workers.empty()) {
      TCC_RETURN_IF_ERROR(ParseCount(workers, "--workers", value));
      config.workers = value;
    }
    if (!interval.empty()) {
      TCC_RETURN_IF_ERROR(ParseCount(interval, "--anchor-interval", value));
      if (value == 0) return tcc::Error(tcc::ErrorCode::kInvalidArgument, "--anchor-interval must be at least 1 ms");
      config.anchoring.interval = std::chrono::milliseconds(value);
    }
    if (!n.empty()) TCC_RETURN_IF_ERROR(ParseCount(n, "--n", config.policy.default_n));
    if (!n_min.empty()) TCC_RETURN_IF_ERROR(ParseCount(n_min, "--n-min", config.policy.n_min));
    if (!n_max.empty()) TCC_RETURN_IF_ERROR(ParseCount(n_max, "--n-max", config.policy.n_max));
    if (adaptive) config.policy.adaptive = true;
    if (no_auto_open) config.auto_open = false;
    if (log_level == "debug") tcc::controller::SetLogLevel(tcc::controller::LogLevel::kDebug);
    else if (log_level == "warning") tcc::controller::SetLogLevel(tcc::controller::LogLevel::kWarning);
    else if (log_level == "error") tcc::controller::SetLogLevel(tcc::controller::LogLevel::kError);
    else if (!log_level.empty() && log_level != "info") {
      return tcc::Error(tcc::ErrorCode::kInvalidArgument, "--log-level must be debug, info, warning or error");
    }
    TCC_RETURN_IF_ERROR(tcc::controller::FinishDaemonConfig(config));
    TCC_RETURN_IF_ERROR(tcc::cli::CheckEndpoint(config.listen, "--listen (listen)"));
    return tcc::cli::CheckEndpoint(config.control, "--control (control)");
  };
  if (tcc::Status applied = apply(); !applied.ok()) {
    std::cerr << "tccd: " << applied.error().message() << "\n(see: tccd --help)\n";
    return tcc::cli::kExitUsage;
  }
  if (check_config) {
    std::cout << "tccd: configuration OK (data dir " << config.data_dir << ", parties " << config.listen
              << ", control " << config.control << ")\n";
    return tcc::cli::kExitOk;
  }
  if (print_did) {
    auto key = tcc::did::KeyPair::ReadFile(config.key_file);
    if (!key.ok()) {
      return tcc::cli::ReportProgramError(
          "tccd", std::move(key).error().WithContext("no TCC key to print (tccd creates " + config.key_file +
                                                     " on first start; tcc key new --out FILE makes one)"));
    }
    std::cout << tcc::did::DidKeyFromPublicKey(key->public_key()) << "\n";
    return tcc::cli::kExitOk;
  }

  // Every thread inherits the blocked signals, so only sigwait below ever sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  tcc::controller::Log(
      tcc::controller::LogLevel::kInfo, "starting",
      {{"version", tcc::cli::VersionLine("tccd")}, {"allocator", tcc::tccd::AllocatorName()}});
  auto daemon = tcc::controller::Daemon::Start(config);
  if (!daemon.ok()) {
    // For the log collector (JSON, like every line tccd logs) and for the person at the terminal.
    tcc::controller::Log(tcc::controller::LogLevel::kError, "start failed",
                         {{"code", std::string(tcc::ErrorCodeName(daemon.error().code()))},
                          {"error", daemon.error().message()}});
    return tcc::cli::ReportProgramError("tccd", daemon.error());
  }
  // Clients given only --data-dir find the bound endpoints here (ports chosen with tcp://HOST:*).
  const std::string endpoints_file = tcc::cli::EndpointsFile(config.data_dir);
  if (tcc::Status written = tcc::cli::WriteEndpoints(endpoints_file, (*daemon)->did(), (*daemon)->listen_endpoint(),
                                                     (*daemon)->control_endpoint());
      !written.ok()) {
    tcc::controller::Log(tcc::controller::LogLevel::kWarning, "endpoints file not written",
                         {{"file", endpoints_file}, {"error", written.error().message()}});
  }

  // A daemon that stops on its own (fatal error) wakes the signal wait below.
  std::thread watchdog([&] {
    tcc::SetCurrentThreadName("tccd-watchdog");
    (void)(*daemon)->Wait();
    kill(getpid(), SIGTERM);
  });
  int received = 0;
  sigwait(&signals, &received);
  tcc::controller::Log(tcc::controller::LogLevel::kInfo, "signal", {{"signal", received == SIGINT ? "SIGINT" : "SIGTERM"}});
  (*daemon)->Stop();
  tcc::Status status = (*daemon)->Wait();
  watchdog.join();
  std::remove(endpoints_file.c_str());
  if (!status.ok()) return tcc::cli::ReportProgramError("tccd", status.error());
  return tcc::cli::kExitOk;
}
