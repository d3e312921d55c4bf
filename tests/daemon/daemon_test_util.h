// Helpers for the daemon tests: a trade set up on an embedded ledger (keys, templates, a recorded
// TIC naming the TCC), a tccd child process, and the two parties' settlement round.
#pragma once

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "chain/chain_test_util.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/client/channel_client.h"
#include "tcc/client/party_session.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/controller/chain_template_registry.h"
#include "tcc/controller/daemon.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"
#include "test_util.h"

extern char** environ;

namespace tcc::testing {

using chain::testing::TempDir;

inline std::shared_ptr<did::KeyPair> NewKey() { return std::make_shared<did::KeyPair>(did::KeyPair::Generate()); }
inline std::string DidOf(const did::KeyPair& key) { return did::DidKeyFromPublicKey(key.public_key()); }

// Keys, the example GPU-hour TIT/TST published by the provider, and a TIC recorded on the ledger
// naming the TCC. The ledger is closed again afterwards (tccd opens it).
struct Trade {
  std::shared_ptr<did::KeyPair> tcc = NewKey();
  std::shared_ptr<did::KeyPair> provider = NewKey();
  std::shared_ptr<did::KeyPair> consumer = NewKey();
  std::shared_ptr<did::KeyPair> auditor = NewKey();
  std::shared_ptr<vc::Template> tit;
  std::shared_ptr<vc::Template> tst;
  std::string channel_id;
  // The consumer's DID when it is a registered one (did:web on a chain) rather than consumer's did:key.
  std::string consumer_did;
  std::shared_ptr<did::Resolver> resolver = std::make_shared<did::DidKeyResolver>();
  // The validFrom stamps used so far (earliest, latest): each TIC needs its own, see Record.
  std::optional<std::pair<Timestamp, Timestamp>> valid_from_range;
  // The TIC's settlement.amend_after_s for the next Record (none when unset).
  std::optional<std::uint64_t> amend_after_s;

  std::string tcc_did() const { return DidOf(*tcc); }
  std::string consumer_id() const { return consumer_did.empty() ? DidOf(*consumer) : consumer_did; }

  static vc::Template Example(const std::string& file, const std::string& owner) {
    Json document = ReadExampleJson(file);
    document.Set("owner", owner);
    auto parsed = vc::Template::FromJson(document);
    REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().ToString()));
    return std::move(parsed).value();
  }

  // Publishes the templates (once per ledger) and records a TIC with settlement N = n.
  void Record(const std::string& ledger_path, std::uint64_t n, bool with_auditor = true) {
    auto opened = chain::LocalLedger::Open({.path = ledger_path});
    REQUIRE_MESSAGE(opened.ok(), (opened.ok() ? "" : opened.error().ToString()));
    Record(std::shared_ptr<chain::ChainAdapter>(std::move(opened).value()), n, with_auditor);
  }

  // The same on a ledger the caller keeps open (recording thousands of TICs, as the benchmarks do).
  void Record(const std::shared_ptr<chain::ChainAdapter>& ledger, std::uint64_t n, bool with_auditor = true) {
    controller::ChainTemplateRegistry registry(ledger);
    if (!tit) {
      tit = std::make_shared<vc::Template>(Example("gpu-hour.tit.json", DidOf(*provider)));
      tst = std::make_shared<vc::Template>(Example("gpu-hour.tst.json", DidOf(*provider)));
      REQUIRE(registry.Publish(*tit, DidOf(*provider)).ok());
      REQUIRE(registry.Publish(*tst, DidOf(*provider)).ok());
    }
    Json claim = ReadExampleJson("claims/gpu-hour.tic-claim.json");
    claim.Set("provider", DidOf(*provider));
    claim.Set("consumer", consumer_id());
    Json* settlement = claim.Find("settlement");
    settlement->Set("n", n);
    if (amend_after_s) settlement->Set("amend_after_s", *amend_after_s);
    if (with_auditor) claim.Set("auditors", JsonArray{Json(DidOf(*auditor))});
    // A distinct TIC per call (its hash is the channel id): validFrom is now in whole seconds, or,
    // for calls within the same second (the benchmarks record thousands), one second before the
    // earliest stamp used so far, so it never lies in the future.
    Timestamp valid_from = NowSeconds();
    if (!valid_from_range) {
      valid_from_range.emplace(valid_from, valid_from);
    } else if (valid_from > valid_from_range->second) {
      valid_from_range->second = valid_from;
    } else {
      valid_from = valid_from_range->first - std::chrono::seconds(1);
      valid_from_range->first = valid_from;
    }
    claim.Set("validFrom", FormatRfc3339(valid_from));
    auto application = vc::ApplyForTic(*tit, claim);
    REQUIRE_MESSAGE(application.ok(), (application.ok() ? "" : application.error().ToString()));
    auto tic = vc::IssueTic(std::move(application).value(), *tit, *provider);
    REQUIRE_MESSAGE(tic.ok(), (tic.ok() ? "" : tic.error().ToString()));
    channel_id = vc::CredentialHash(*tic).value();
    const std::string content = vc::Canonicalize(*tic).value();
    auto recorded = ledger->RecordTic({channel_id, tcc_did(), Bytes(content.begin(), content.end())});
    REQUIRE_MESSAGE(recorded.ok(), (recorded.ok() ? "" : recorded.error().ToString()));
  }

  // The provider's proposal for `seq` after the TSC (or TIC) with hash `prev`.
  Json Proposal(std::uint64_t seq, const std::string& prev, const std::string& fee = "0.38") const {
    Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
    claim.Set("provider", DidOf(*provider));
    claim.Set("consumer", consumer_id());
    claim.Set("channel", channel_id);
    claim.Set("seq", seq);
    claim.Set("prev", prev);
    Json* fee_member = claim.Find("fee");
    fee_member->Set("amount", fee);
    auto proposal = vc::ProposeSettlement(*tst, std::move(claim), *provider);
    REQUIRE_MESSAGE(proposal.ok(), (proposal.ok() ? "" : proposal.error().ToString()));
    return std::move(proposal).value();
  }

  Json Cosign(const Json& proposal) const {
    auto joint = vc::CosignSettlement(*tst, proposal, *consumer, *resolver);
    REQUIRE_MESSAGE(joint.ok(), (joint.ok() ? "" : joint.error().ToString()));
    return std::move(joint).value();
  }
};

// A tccd child process with its stderr (the JSON log) captured. Start waits for the "ready" line.
// tccd's arguments for a test in `dir`: its key dir/tcc.key, its data in dir/data, the embedded
// ledger in dir/ledger, loopback ports the system picks, then `extra`.
inline std::vector<std::string> LocalTccdArguments(const TempDir& dir, std::vector<std::string> extra = {}) {
  std::vector<std::string> arguments{"--data-dir", dir.Sub("data"),    "--key",     dir.Sub("tcc.key"),
                                     "--chain",    "local:" + dir.Sub("ledger"), "--listen", "tcp://127.0.0.1:*",
                                     "--control",  "tcp://127.0.0.1:*"};
  arguments.insert(arguments.end(), extra.begin(), extra.end());
  return arguments;
}

// The same for an embedded Daemon: its key dir/tcc.key, its data in dir/data, the embedded ledger
// in dir/ledger, loopback ports the system picks.
inline controller::DaemonConfig LocalDaemonConfig(const TempDir& dir) {
  controller::DaemonConfig config;
  config.data_dir = dir.Sub("data");
  config.key_file = dir.Sub("tcc.key");
  config.chain_uri = "local:" + dir.Sub("ledger");
  config.listen = "tcp://127.0.0.1:*";
  config.control = "tcp://127.0.0.1:*";
  return config;
}

class TccdProcess {
 public:
  ~TccdProcess() { Kill(); }

  // Runs tccd to completion (for usage errors and --help); returns its exit status. Both output
  // streams go to Log().
  int RunToExit(const std::vector<std::string>& arguments) {
    Spawn(arguments, /*merge_stdout=*/true);
    return Stop(/*signal=*/0);
  }

  void Start(const std::vector<std::string>& arguments) {
    Spawn(arguments, /*merge_stdout=*/false);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& line : lines_) {
          if (line.find("\"msg\":\"ready\"") == std::string::npos) continue;
          Json ready = Json::Parse(line).value();
          listen_ = std::string(ready.GetString("listen").value());
          control_ = std::string(ready.GetString("control").value());
          did_ = std::string(ready.GetString("did").value());
          if (auto vc_api = ready.GetString("vc_api"); vc_api.ok()) vc_api_ = std::string(*vc_api);
          if (auto metrics = ready.GetString("metrics"); metrics.ok()) metrics_ = std::string(*metrics);
          return;
        }
        if (exited_) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    FAIL("tccd did not become ready:\n" << Log());
  }

  // Runs tccd expecting it to give up on its own (a refused start); returns its exit status, or
  // nullopt if it became ready or still ran after `wait` (it is then killed). Output goes to Log().
  std::optional<int> RunExpectingExit(const std::vector<std::string>& arguments,
                                      std::chrono::seconds wait = std::chrono::seconds(20)) {
    Spawn(arguments, /*merge_stdout=*/true);
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard lock(mutex_);
        if (exited_) break;
        bool ready = false;
        for (const auto& line : lines_)
          ready = ready || line.find("\"msg\":\"ready\"") != std::string::npos;
        if (ready) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    bool exited;
    {
      std::lock_guard lock(mutex_);
      exited = exited_;
    }
    if (!exited) {
      Kill();
      return std::nullopt;
    }
    return Stop(/*signal=*/0);
  }

  // SIGTERM (or, with signal 0, none: wait for it to exit), then wait; returns the exit status.
  int Stop(int signal = SIGTERM) { return Signal(signal); }
  // SIGKILL: a crash.
  void Kill() { (void)Signal(SIGKILL); }

 private:
  void Spawn(const std::vector<std::string>& arguments, bool merge_stdout) {
    {
      std::lock_guard lock(mutex_);
      lines_.clear();  // the log of this run only
      exited_ = false;
    }
    int pipe_fds[2];
    REQUIRE(::pipe(pipe_fds) == 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDERR_FILENO);
    if (merge_stdout) posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, pipe_fds[0]);
    std::vector<std::string> argv_strings = {TCCD_PATH};
    argv_strings.insert(argv_strings.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv;
    for (auto& argument : argv_strings) argv.push_back(argument.data());
    argv.push_back(nullptr);
    REQUIRE(posix_spawn(&pid_, TCCD_PATH, &actions, nullptr, argv.data(), environ) == 0);
    posix_spawn_file_actions_destroy(&actions);
    ::close(pipe_fds[1]);
    read_fd_ = pipe_fds[0];
    reader_ = std::thread([this] { ReadLog(); });
  }

 public:
  const std::string& listen() const { return listen_; }
  const std::string& control() const { return control_; }
  const std::string& did() const { return did_; }
  const std::string& vc_api() const { return vc_api_; }    // "ADDR:PORT"; empty when not served
  const std::string& metrics() const { return metrics_; }  // likewise
  // The running tccd's process id (-1 when none runs), for CPU and memory readings.
  pid_t pid() const { return pid_; }

  std::string Log() const {
    std::lock_guard lock(mutex_);
    std::string all;
    for (const auto& line : lines_) all += line + "\n";
    return all;
  }
  bool LogContains(const std::string& text) const { return Log().find(text) != std::string::npos; }

 private:
  int Signal(int signal) {
    if (pid_ <= 0) return -1;
    if (signal != 0) ::kill(pid_, signal);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    if (reader_.joinable()) reader_.join();
    if (read_fd_ >= 0) ::close(read_fd_);
    read_fd_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  void ReadLog() {
    std::string pending;
    char buffer[4096];
    while (true) {
      const ssize_t got = ::read(read_fd_, buffer, sizeof buffer);
      if (got <= 0) break;
      pending.append(buffer, static_cast<std::size_t>(got));
      std::size_t end;
      while ((end = pending.find('\n')) != std::string::npos) {
        std::lock_guard lock(mutex_);
        lines_.push_back(pending.substr(0, end));
        pending.erase(0, end + 1);
      }
    }
    std::lock_guard lock(mutex_);
    exited_ = true;
  }

  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::thread reader_;
  mutable std::mutex mutex_;
  std::vector<std::string> lines_;
  bool exited_ = false;
  std::string listen_, control_, did_, vc_api_, metrics_;
};

template <typename T>
T Unwrap(Result<T> result, const char* what) {
  REQUIRE_MESSAGE(result.ok(), what << ": " << (result.ok() ? "" : result.error().ToString()));
  return std::move(result).value();
}

// What a shell command prints on its standard output; the command must exit 0.
inline std::string CommandOutput(const std::string& command) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string text;
  char buffer[4096];
  std::size_t got;
  while ((got = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) text.append(buffer, got);
  INFO("command: " << command);
  REQUIRE(::pclose(pipe) == 0);
  return text;
}

#ifdef TCC_CLI_PATH
// Runs the `tcc` CLI with `arguments` (shell words) and returns its exit status (-1: it did not
// exit). With `output`, what it printed on stdout and stderr.
inline int RunCli(const std::string& arguments, std::string* output = nullptr) {
  TempDir out_dir;
  const std::string out_file = out_dir.Sub("out.txt");
  const int status = std::system(
      (std::string(TCC_CLI_PATH) + " " + arguments + " >" + out_file + " 2>&1").c_str());
  if (output != nullptr) {
    auto text = ReadFile(out_file);
    *output = text.ok() ? *text : "";
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}
#endif

// The Prometheus text of tccd's metrics endpoint ("ADDR:PORT"), fetched with curl (a dependency
// of the suite).
inline std::string ScrapeMetrics(const std::string& address) {
  return CommandOutput("curl -sf --max-time 10 http://" + address + "/metrics");
}

// One series' value in a scrape, the series written as exposed (`tcc_store_writable`,
// `tcc_submissions_rejected_total{reason="parse"}`); nullopt when the scrape does not have it (a
// labelled counter appears only once it has counted).
inline std::optional<double> MetricValue(const std::string& scrape, const std::string& series) {
  const std::string line_start = "\n" + series + " ";
  const std::size_t at = ("\n" + scrape).find(line_start);
  if (at == std::string::npos) return std::nullopt;
  return std::stod(scrape.substr(at + line_start.size() - 1));
}

// A control connection with the admin key tccd keeps in `admin_key_file` (<data-dir>/admin.key by
// default).
inline std::unique_ptr<client::Connection> ConnectControl(const TccdProcess& tccd, const std::string& admin_key_file) {
  client::ConnectOptions options;
  options.endpoint = tccd.control();
  options.tcc_did = tccd.did();
  options.client_key = wire::CurveKeyPair::FromDidKey(Unwrap(did::KeyPair::ReadFile(admin_key_file), "admin key"));
  return Unwrap(client::Connection::Open(std::move(options)), "control connect");
}

// The control endpoint's health report.
inline Json ControlHealth(const TccdProcess& tccd, const std::string& admin_key_file) {
  auto reply = Unwrap(ConnectControl(tccd, admin_key_file)->Request(client::MessageType::kControlHealth, {}), "health");
  const Json* health = reply.body.Find("health");
  REQUIRE(health != nullptr);
  return *health;
}

inline std::unique_ptr<client::ChannelClient> ConnectParty(const std::string& endpoint, const std::string& tcc_did,
                                                           std::shared_ptr<did::KeyPair> key) {
  client::ConnectOptions options;
  options.endpoint = endpoint;
  options.tcc_did = tcc_did;
  options.timeout = std::chrono::seconds(10);
  return Unwrap(client::ChannelClient::Connect(std::move(options), std::move(key)), "connect");
}

// Joins, retrying while the channel is not open yet (tccd opens it from a chain event).
inline client::JoinResult JoinWhenOpen(client::ChannelClient& client, const std::string& channel_id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    auto joined = client.Join(channel_id);
    if (joined.ok()) return std::move(joined).value();
    if (joined.error().code() != ErrorCode::kNotFound || std::chrono::steady_clock::now() > deadline) {
      FAIL("join: " << joined.error().ToString());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// Waits for the next event of a type, skipping others.
inline client::Message AwaitEvent(client::ChannelClient& client, client::MessageType type,
                                  std::chrono::milliseconds wait = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    auto event = Unwrap(client.NextEvent(std::chrono::milliseconds(100)), "event");
    if (event && event->type == type) return std::move(*event);
  }
  FAIL("no " << wire::MessageTypeName(type) << " event");
  return {};
}

// One settlement round over the channel: the provider proposes, the consumer receives the proposal
// as an event, co-signs and submits. Returns the issued TSC.
inline client::IssuedTsc SettleOnce(const Trade& trade, client::ChannelClient& provider, client::ChannelClient& consumer,
                                    std::uint64_t seq, const std::string& prev) {
  REQUIRE(provider.Propose(trade.channel_id, trade.Proposal(seq, prev)).ok());
  client::Message event = AwaitEvent(consumer, client::MessageType::kEventProposal);
  const Json joint = trade.Cosign(wire::ObjectMember(event, "proposal"));
  return Unwrap(consumer.Submit(trade.channel_id, joint), "submit");
}

// Whether tccd's log shows `fragment` within `wait`: its stderr is read by a thread of the test,
// so a line tccd wrote before an answer the test has seen may not be in Log() yet.
inline bool LogShows(const TccdProcess& tccd, const std::string& fragment,
                     std::chrono::seconds wait = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (tccd.Log().find(fragment) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// The options of a PartySession (the SDK) for the trade's channel with `key`.
inline client::PartySessionOptions SessionOptions(const Trade& trade, const TccdProcess& tccd,
                                                  std::shared_ptr<did::KeyPair> key) {
  client::PartySessionOptions options;
  options.connect.endpoint = tccd.listen();
  options.connect.tcc_did = tccd.did();
  options.connect.timeout = std::chrono::milliseconds(3000);
  options.channel_id = trade.channel_id;
  options.key = std::move(key);
  options.tst = *trade.tst;
  return options;
}

// A PartySession joined to the trade's channel with `key`.
inline std::unique_ptr<client::PartySession> JoinSession(const Trade& trade, const TccdProcess& tccd,
                                                         std::shared_ptr<did::KeyPair> key) {
  return Unwrap(client::PartySession::Join(SessionOptions(trade, tccd, std::move(key))), "join");
}

// The proposal the provider's session makes for the next seq, as the consumer receives it.
inline Json NextProposal(client::PartySession& provider, client::PartySession& consumer) {
  Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
  const Json proposal = Unwrap(provider.ProposeNext(claim), "propose");
  for (int i = 0; i < 50; ++i) {
    auto event = Unwrap(consumer.Poll(std::chrono::milliseconds(100)), "poll");
    if (event && event->kind == client::SessionEventKind::kProposal) {
      CHECK(event->body == proposal);
      return event->body;
    }
  }
  FAIL("the consumer never saw the proposal");
  return Json();
}

}  // namespace tcc::testing
