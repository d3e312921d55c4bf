// tcc channel open|close|status|list|policy, tcc anchor status (the control API, admin key), and
// tcc settle, tcc evidence show (the party API, a member's key): the commands that talk to a
// running tccd through the channel SDK (tcc::client).
//
// Control commands connect with the X25519 form of an admin key; tccd admits nothing else on the
// control socket, so a wrong key or TCC DID shows up as a timeout (CURVE handshakes fail silently).
// That is why every command has --timeout: the only sign of an unreachable or wrong tccd is that no
// answer comes.
#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "command_line.h"
#include "tcc/client/channel_client.h"
#include "tcc/client/connection.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/time.h"
#include "tcc/controller/protocol.h"
#include "tcc/controller/transport.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/transaction.h"

namespace tcc::cli {
namespace {

using client::ChannelClient;
using client::Message;
using client::MessageType;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kDefaultControl = "tcp://127.0.0.1:7701";
constexpr std::string_view kDefaultListen = "tcp://127.0.0.1:7700";
constexpr std::uint64_t kDefaultTimeoutMs = 10000;

Result<std::uint64_t> ParseUint(const std::string& text, std::string_view flag) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return UsageError(std::string(flag) + " needs a non-negative integer, not \"" + text + "\"");
  }
  return value;
}

Status CheckChannelId(const std::string& id, std::string_view what) {
  bool ok = id.size() == 64;
  for (char c : id) ok = ok && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
  if (!ok) return UsageError(std::string(what) + " must be 64 lowercase hex digits (tcc vc hash tic.json), not \"" + id + "\"");
  return OkStatus();
}

std::string TimeoutHelp() { return "Per-request timeout in ms (default " + std::to_string(kDefaultTimeoutMs) + ")."; }

Result<std::chrono::milliseconds> ParseTimeout(const std::string& text) {
  if (text.empty()) return std::chrono::milliseconds(kDefaultTimeoutMs);
  TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(text, "--timeout"));
  if (value == 0) return UsageError("--timeout must be at least 1 ms");
  return std::chrono::milliseconds(value);
}

std::uint64_t UintOf(const Json& object, std::string_view name) {
  const Json* member = object.is_object() ? object.Find(name) : nullptr;
  return member != nullptr && member->is_number() && member->as_number() >= 0
             ? static_cast<std::uint64_t>(member->as_number())
             : 0;
}

std::string StringOf(const Json& object, std::string_view name, std::string fallback = "-") {
  const Json* member = object.is_object() ? object.Find(name) : nullptr;
  return member != nullptr && member->is_string() && !member->as_string().empty() ? member->as_string() : fallback;
}

std::string Short(const std::string& hex) { return hex.size() > 16 ? hex.substr(0, 16) + "…" : hex; }

std::string Rate(std::uint64_t count, double seconds) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << (seconds > 0 ? static_cast<double>(count) / seconds : 0.0);
  return out.str();
}

std::string Seconds(double seconds) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << seconds;
  return out.str();
}

// ---------------------------------------------------------------------------------------------
// Control commands

struct ControlOptions {
  std::string control, tcc, data_dir, key, timeout;
  bool json = false;

  void Declare(CommandLine& command_line) {
    command_line
        .Option("control", "ENDPOINT", "tccd's control endpoint (default " + std::string(kDefaultControl) + ").", &control)
        .Option("tcc", "DID", "The TCC's DID (required unless --data-dir has tcc.key).", &tcc)
        .Option("data-dir", "DIR", "tccd's data directory: the TCC DID from DIR/tcc.key, the admin key DIR/admin.key.",
                &data_dir)
        .Option("key", "FILE", "An admin key of tccd (default DIR/admin.key with --data-dir).", &key)
        .Option("timeout", "MS", TimeoutHelp(), &timeout)
        .Flag("json", "Print JSON instead of text.", &json);
  }

  Result<std::unique_ptr<client::Connection>> Connect() const {
    std::string tcc_did = tcc;
    if (tcc_did.empty()) {
      if (data_dir.empty()) return MissingOption("--tcc DID (or --data-dir DIR)");
      auto tcc_key = did::KeyPair::ReadFile(data_dir + "/tcc.key");
      if (!tcc_key.ok()) {
        return std::move(tcc_key).error().WithContext("the TCC DID (pass --tcc DID if tccd's key is elsewhere)");
      }
      tcc_did = did::DidKeyFromPublicKey(tcc_key->public_key());
    }
    std::string key_file = key;
    if (key_file.empty()) {
      if (data_dir.empty()) return MissingOption("--key FILE (or --data-dir DIR)");
      key_file = data_dir + "/admin.key";
    }
    TCC_ASSIGN_OR_RETURN(std::chrono::milliseconds wait, ParseTimeout(timeout));
    TCC_ASSIGN_OR_RETURN(did::KeyPair admin, did::KeyPair::ReadFile(key_file));
    client::ConnectOptions options;
    options.endpoint = control.empty() ? std::string(kDefaultControl) : control;
    options.tcc_did = tcc_did;
    options.client_key = controller::CurveKeyPair::FromDidKey(admin);
    options.timeout = wait;
    return client::Connection::Open(std::move(options));
  }
};

// The member of a reply, or kParse naming what is missing.
Result<Json> ReplyMember(const Message& reply, std::string_view name) {
  const Json* member = reply.body.Find(name);
  if (member == nullptr) {
    return Error(ErrorCode::kParse, std::string(controller::MessageTypeName(reply.type)) + " answer lacks " + std::string(name));
  }
  return *member;
}

std::string ChannelText(const Json& state) {
  std::ostringstream out;
  const Json* tst = state.Find("tst");
  out << "channel       " << StringOf(state, "channel") << "\n"
      << "state         " << StringOf(state, "state") << "\n"
      << "provider      " << StringOf(state, "provider") << "\n"
      << "consumer      " << StringOf(state, "consumer") << "\n";
  if (const Json* auditors = state.Find("auditors"); auditors != nullptr && auditors->is_array()) {
    for (const auto& auditor : auditors->as_array()) {
      if (auditor.is_string()) out << "auditor       " << auditor.as_string() << "\n";
    }
  }
  if (tst != nullptr) out << "tst           " << StringOf(*tst, "id") << " v" << UintOf(*tst, "version") << "\n";
  out << "last seq      " << UintOf(state, "last_seq") << "\n"
      << "last hash     " << StringOf(state, "last_hash") << "\n"
      << "N             " << UintOf(state, "n") << " (TSCs per evidence leaf)\n"
      << "evidence seq  " << UintOf(state, "evidence_seq") << "\n"
      << "anchored seq  " << UintOf(state, "anchored_seq") << "\n"
      << "members       " << UintOf(state, "members") << " connected\n";
  return out.str();
}

std::string ChannelLine(const Json& state) {
  return StringOf(state, "channel") + "  " + StringOf(state, "state") + "  seq=" + std::to_string(UintOf(state, "last_seq")) +
         " n=" + std::to_string(UintOf(state, "n")) + " anchored=" + std::to_string(UintOf(state, "anchored_seq")) +
         " members=" + std::to_string(UintOf(state, "members"));
}

Result<JsonArray> ListChannels(client::Connection& connection) {
  TCC_ASSIGN_OR_RETURN(Message reply, connection.Request(MessageType::kControlList, {}));
  TCC_ASSIGN_OR_RETURN(Json channels, ReplyMember(reply, "channels"));
  if (!channels.is_array()) return Error(ErrorCode::kParse, "control.list answer: channels is not an array");
  return channels.as_array();
}

int RunChannelList(std::span<const std::string> arguments) {
  ControlOptions options;
  CommandLine command_line("channel list", "List tccd's channels: id, state, last seq, N, anchored seq, members.");
  options.Declare(command_line);
  return RunCommand(command_line, "channel list", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    TCC_ASSIGN_OR_RETURN(JsonArray channels, ListChannels(*connection));
    if (options.json) {
      std::cout << Json(channels).SerializePretty() << "\n";
    } else if (channels.empty()) {
      std::cout << "no channels\n";
    } else {
      for (const auto& state : channels) std::cout << ChannelLine(state) << "\n";
    }
    return OkStatus();
  });
}

int RunChannelStatus(std::span<const std::string> arguments) {
  ControlOptions options;
  std::vector<std::string> ids;
  CommandLine command_line("channel status", "Show one channel's state. Exit 3 if tccd has no such channel.");
  options.Declare(command_line);
  command_line.Positionals("CHANNEL", "The channel id (the TIC's hash).", &ids, 1, 1);
  return RunCommand(command_line, "channel status", arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(CheckChannelId(ids[0], "CHANNEL"));
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    TCC_ASSIGN_OR_RETURN(JsonArray channels, ListChannels(*connection));
    for (const auto& state : channels) {
      if (StringOf(state, "channel") != ids[0]) continue;
      std::cout << (options.json ? state.SerializePretty() + "\n" : ChannelText(state));
      return OkStatus();
    }
    return Error(ErrorCode::kNotFound, "no channel " + ids[0] + " at this TCC");
  });
}

int RunChannelOpenOrClose(std::span<const std::string> arguments, bool open) {
  ControlOptions options;
  std::vector<std::string> ids;
  const std::string name = open ? "channel open" : "channel close";
  CommandLine command_line(name, open ? "Open the channel of a TIC recorded on the chain for this TCC (tccd also opens\n"
                                        "channels by itself when it sees the TIC recorded). Opening an open channel\n"
                                        "shows it."
                                      : "Close a channel: no further settlements; its last TSC is anchored at once.");
  options.Declare(command_line);
  command_line.Positionals(open ? "TIC_ID" : "CHANNEL",
                           open ? "The TIC's id = the channel id (tcc vc hash tic.json)." : "The channel id.", &ids, 1, 1);
  return RunCommand(command_line, name, arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(CheckChannelId(ids[0], open ? "TIC_ID" : "CHANNEL"));
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    Result<Message> reply = open ? connection->Request(MessageType::kControlOpen, {{"tic", ids[0]}})
                                 : connection->Request(MessageType::kControlClose, {{"channel", ids[0]}});
    if (!reply.ok()) return reply.error();
    TCC_ASSIGN_OR_RETURN(Json state, ReplyMember(*reply, "channel"));
    std::cout << (options.json ? state.SerializePretty() + "\n" : ChannelText(state));
    return OkStatus();
  });
}

int RunChannelOpen(std::span<const std::string> arguments) { return RunChannelOpenOrClose(arguments, true); }
int RunChannelClose(std::span<const std::string> arguments) { return RunChannelOpenOrClose(arguments, false); }

std::string PolicyText(const Json& policy) {
  std::ostringstream out;
  if (policy.Contains("channel")) {
    out << "channel     " << StringOf(policy, "channel") << "\n"
        << "N           " << UintOf(policy, "n") << " (TIC: " << UintOf(policy, "strategy_n")
        << (policy.Contains("n_override") ? ", override: " + std::to_string(UintOf(policy, "n_override")) : std::string())
        << ")\n";
  }
  const Json* adaptive = policy.Find("adaptive");
  out << "default N   " << UintOf(policy, "default_n") << "\n"
      << "N range     [" << UintOf(policy, "n_min") << ", " << UintOf(policy, "n_max") << "]\n"
      << "adaptive    " << (adaptive != nullptr && adaptive->is_bool() && adaptive->as_bool() ? "on" : "off") << "\n";
  if (const Json* factor = policy.Find("factor"); factor != nullptr && factor->is_number()) {
    out << "factor      " << factor->as_number() << "\n";
  }
  return out.str();
}

int RunChannelPolicy(std::span<const std::string> arguments) {
  ControlOptions options;
  std::string channel, n, adaptive, n_min, n_max, default_n;
  CommandLine command_line("channel policy",
                           "Show or set the anchoring policy (N = TSCs per evidence leaf). With --channel and\n"
                           "--n, set one channel's N (--n tic: back to the TIC's N). Without --channel, set the\n"
                           "global --default-n, --adaptive, --n-min, --n-max. With no setting, show the\n"
                           "global policy.");
  options.Declare(command_line);
  command_line.Option("channel", "ID", "The channel whose N to set (with --n).", &channel)
      .Option("n", "N|tic", "The channel's N, or \"tic\" to drop the override.", &n)
      .Option("default-n", "N", "Global: N of channels whose TIC sets none.", &default_n)
      .Option("adaptive", "on|off", "Global: adapt N to the chain's latency and backlog.", &adaptive)
      .Option("n-min", "N", "Global: lower bound of any channel's N.", &n_min)
      .Option("n-max", "N", "Global: upper bound of any channel's N.", &n_max);
  return RunCommand(command_line, "channel policy", arguments, [&]() -> Status {
    std::vector<std::pair<std::string, Json>> members;
    if (!channel.empty()) {
      TCC_RETURN_IF_ERROR(CheckChannelId(channel, "--channel"));
      if (n.empty()) return MissingOption("with --channel, --n N|tic");
      if (!default_n.empty() || !adaptive.empty() || !n_min.empty() || !n_max.empty()) {
        return UsageError("--default-n, --adaptive, --n-min and --n-max are global; drop --channel");
      }
      members.emplace_back("channel", channel);
      if (n != "tic") {
        TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(n, "--n"));
        members.emplace_back("n", value);
      }
    } else {
      if (!n.empty()) return UsageError("--n sets one channel's N and needs --channel; the global default is --default-n");
      if (!default_n.empty()) {
        TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(default_n, "--default-n"));
        members.emplace_back("n", value);
      }
      if (!adaptive.empty()) {
        if (adaptive != "on" && adaptive != "off") return UsageError("--adaptive must be on or off");
        members.emplace_back("adaptive", adaptive == "on");
      }
      if (!n_min.empty()) {
        TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(n_min, "--n-min"));
        members.emplace_back("n_min", value);
      }
      if (!n_max.empty()) {
        TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(n_max, "--n-max"));
        members.emplace_back("n_max", value);
      }
    }
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    Json policy;
    if (members.empty()) {
      // control.policy must set something (the protocol rejects an empty one); health shows it.
      TCC_ASSIGN_OR_RETURN(Message reply, connection->Request(MessageType::kControlHealth, {}));
      TCC_ASSIGN_OR_RETURN(Json health, ReplyMember(reply, "health"));
      TCC_ASSIGN_OR_RETURN(policy, ReplyMember(Message{reply.type, reply.id, health}, "policy"));
    } else {
      TCC_ASSIGN_OR_RETURN(Message reply, connection->Request(MessageType::kControlPolicy, members));
      TCC_ASSIGN_OR_RETURN(policy, ReplyMember(reply, "policy"));
    }
    std::cout << (options.json ? policy.SerializePretty() + "\n" : PolicyText(policy));
    return OkStatus();
  });
}

int RunAnchorStatus(std::span<const std::string> arguments) {
  ControlOptions options;
  CommandLine command_line("anchor status",
                           "Show tccd's anchoring: batches and leaves anchored, what is queued, the last root\n"
                           "and its chain height, the chain's state and the N policy (control.health).");
  options.Declare(command_line);
  return RunCommand(command_line, "anchor status", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    TCC_ASSIGN_OR_RETURN(Message reply, connection->Request(MessageType::kControlHealth, {}));
    TCC_ASSIGN_OR_RETURN(Json health, ReplyMember(reply, "health"));
    const Json anchoring = health.Contains("anchoring") ? *health.Find("anchoring") : Json::Object();
    const Json policy = health.Contains("policy") ? *health.Find("policy") : Json::Object();
    const Json chain = health.Contains("chain") ? *health.Find("chain") : Json::Object();
    if (options.json) {
      Json out = Json::Object();
      out.Set("status", StringOf(health, "status"));
      out.Set("issued", UintOf(health, "issued"));
      out.Set("anchoring", anchoring);
      out.Set("policy", policy);
      out.Set("chain", chain);
      std::cout << out.SerializePretty() << "\n";
      return OkStatus();
    }
    const Json* latency = anchoring.Find("last_latency_ms");
    std::cout << "status        " << StringOf(health, "status") << "\n"
              << "TSCs issued   " << UintOf(health, "issued") << "\n"
              << "batches       " << UintOf(anchoring, "batches") << " anchored\n"
              << "leaves        " << UintOf(anchoring, "leaves") << " anchored\n"
              << "queued        " << UintOf(anchoring, "queued") << " (in flight " << UintOf(anchoring, "in_flight") << ")\n"
              << "last root     " << StringOf(anchoring, "last_root") << "\n"
              << "last height   " << UintOf(anchoring, "last_height") << "\n";
    if (latency != nullptr && latency->is_number()) std::cout << "last latency  " << latency->as_number() << " ms\n";
    std::cout << "errors        " << UintOf(anchoring, "adapter_errors")
              << (StringOf(anchoring, "last_error", "").empty() ? "" : " (last: " + StringOf(anchoring, "last_error") + ")")
              << "\n";
    std::cout << "chain         " << StringOf(chain, "adapter", "unreachable") << " height " << UintOf(chain, "height")
              << " pending " << UintOf(chain, "pending") << "\n";
    const Json* adaptive = policy.Find("adaptive");
    std::cout << "policy        default N " << UintOf(policy, "default_n") << ", range [" << UintOf(policy, "n_min")
              << ", " << UintOf(policy, "n_max") << "], adaptive "
              << (adaptive != nullptr && adaptive->is_bool() && adaptive->as_bool() ? "on" : "off") << "\n";
    return OkStatus();
  });
}

// ---------------------------------------------------------------------------------------------
// Party commands

// SIGINT/SIGTERM ask the running party to stop after its current round; a second one exits at once.
volatile std::sig_atomic_t g_stop = 0;

extern "C" void OnStopSignal(int) {
  if (g_stop != 0) _exit(130);
  g_stop = 1;
}

void InstallStopHandler() {
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

bool Stopping() { return g_stop != 0; }

struct PartyOptions {
  std::string listen, tcc, key, channel, timeout;
  bool json = false;

  void Declare(CommandLine& command_line, std::string_view key_help) {
    command_line
        .Option("listen", "ENDPOINT", "tccd's party endpoint (default " + std::string(kDefaultListen) + ").", &listen)
        .Option("tcc", "DID", "The TCC's DID (required).", &tcc)
        .Option("key", "FILE", std::string(key_help), &key)
        .Option("channel", "ID", "The channel id (the TIC's hash; required).", &channel)
        .Option("timeout", "MS", TimeoutHelp(), &timeout)
        .Flag("json", "Print JSON instead of text.", &json);
  }

  Status Check() const {
    if (tcc.empty()) return MissingOption("--tcc DID");
    if (key.empty()) return MissingOption("--key FILE");
    if (channel.empty()) return MissingOption("--channel ID");
    return CheckChannelId(channel, "--channel");
  }

  std::string endpoint() const { return listen.empty() ? std::string(kDefaultListen) : listen; }
};

// One party's session with tccd: connects, joins, and after a lost connection (a timeout, or tccd
// restarted and forgot the admission) connects and joins again.
class Session {
 public:
  Session(const PartyOptions& options, std::shared_ptr<const did::KeyPair> key, std::chrono::milliseconds timeout)
      : options_(options), key_(std::move(key)), timeout_(timeout) {}

  // The first join: an unreachable tccd is an error here (exit 3), not something to wait for. A
  // channel tccd has not opened yet (it opens it when it sees the TIC recorded) is waited for.
  Result<client::JoinResult> Start() {
    const auto deadline = Clock::now() + std::max(timeout_, std::chrono::milliseconds(10000));
    while (true) {
      auto joined = Connect();
      if (joined.ok() || joined.error().code() != ErrorCode::kNotFound || Clock::now() > deadline || Stopping()) {
        return joined;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }

  // After a lost connection: keeps trying until it is back or the party is stopping.
  Result<client::JoinResult> Reconnect(std::ostream& log, bool json) {
    if (json) {
      log << R"({"event":"reconnecting"})" << "\n";
    } else {
      log << "lost tccd; reconnecting to " << options_.endpoint() << " ...\n";
    }
    log.flush();
    while (true) {
      auto joined = Connect();
      if (joined.ok()) {
        if (json) {
          log << R"({"event":"rejoined"})" << "\n";
        } else {
          log << "rejoined channel " << Short(options_.channel) << " as " << joined->role << "\n";
        }
        log.flush();
        return joined;
      }
      // A join refused for a reason a retry cannot fix (not a member, ...) ends the party.
      const ErrorCode code = joined.error().code();
      if (code != ErrorCode::kUnavailable && code != ErrorCode::kNotFound && code != ErrorCode::kResourceExhausted) {
        return joined;
      }
      if (Stopping()) return joined;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

  ChannelClient& client() { return *client_; }

 private:
  Result<client::JoinResult> Connect() {
    client::ConnectOptions connect;
    connect.endpoint = options_.endpoint();
    connect.tcc_did = options_.tcc;
    connect.timeout = timeout_;
    TCC_ASSIGN_OR_RETURN(client_, ChannelClient::Connect(std::move(connect), key_));
    return client_->Join(options_.channel);
  }

  const PartyOptions& options_;
  std::shared_ptr<const did::KeyPair> key_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<ChannelClient> client_;
};

// Errors that mean the connection (not the request) is gone: no answer, tccd draining, or a
// restarted tccd that no longer knows this connection's admission.
bool ConnectionLost(const Error& error) {
  if (error.code() == ErrorCode::kUnavailable) return error.message().find("counterpart") == std::string::npos;
  return error.code() == ErrorCode::kPermissionDenied && error.message().find("not admitted") != std::string::npos;
}

std::string FeeOf(const Json& claim) {
  const Json* fee = claim.Find("fee");
  if (fee == nullptr || !fee->is_object()) return "-";
  return StringOf(*fee, "amount") + " " + StringOf(*fee, "currency", "");
}

// The claim a TSC settles (credentialSubject), or the object itself when it has none.
const Json& ClaimOf(const Json& credential) {
  const Json* subject = credential.Find("credentialSubject");
  return subject != nullptr && subject->is_object() ? *subject : credential;
}

// Where the party's channel stands: the last TSC it has verified, what is anchored, N.
struct Head {
  std::uint64_t seq = 0;
  std::string hash;
  std::uint64_t n = 0;
  std::uint64_t anchored_seq = 0;
  std::string anchored_root;
  std::string anchored_batch;
};

void ApplyState(Head& head, const Json& state) {
  head.n = UintOf(state, "n");
  head.anchored_seq = std::max(head.anchored_seq, UintOf(state, "anchored_seq"));
}

struct Tally {
  std::uint64_t tscs = 0;
  Clock::time_point started = Clock::now();
  double seconds() const { return std::chrono::duration<double>(Clock::now() - started).count(); }
};

class Party {
 public:
  Party(PartyOptions options, std::string role, vc::Template tst, std::shared_ptr<const did::KeyPair> key,
        std::chrono::milliseconds timeout, std::uint64_t count, std::string chain_uri)
      : options_(std::move(options)),
        role_(std::move(role)),
        tst_(std::move(tst)),
        key_(key),
        timeout_(timeout),
        count_(count),
        chain_uri_(std::move(chain_uri)),
        session_(options_, std::move(key), timeout),
        resolver_(CliResolver()) {}

  Status Join() {
    auto joined = session_.Start();
    if (!joined.ok()) return std::move(joined).error().WithContext("join channel " + options_.channel);
    if (joined->role != role_) {
      return UsageError("the key is the channel's " + joined->role + ", not its " + role_ + " (--role " + joined->role + "?)");
    }
    TCC_RETURN_IF_ERROR(Adopt(joined->state));
    Emit("joined", "joined channel " + Short(options_.channel) + " as " + role_ + " at seq " + std::to_string(head_.seq) +
                       ", N=" + std::to_string(head_.n),
         {{"channel", options_.channel}, {"role", role_}, {"seq", head_.seq}, {"hash", head_.hash}, {"n", head_.n}});
    return OkStatus();
  }

  // A channel state (from a join or channel.state): adopts the head, syncing and verifying the TSCs
  // the party has not seen yet. The first state is taken as is (the chain before it is the TCC's).
  Status Adopt(const Json& state) {
    ApplyState(head_, state);
    if (StringOf(state, "state") == "closed") closed_ = true;
    provider_ = StringOf(state, "provider");
    consumer_ = StringOf(state, "consumer");
    const std::uint64_t seq = UintOf(state, "last_seq");
    if (!started_) {
      started_ = true;
      head_.seq = seq;
      head_.hash = StringOf(state, "last_hash", "");
      return OkStatus();
    }
    return CatchUp(seq);
  }

  // Asks tccd where the channel is and catches up with it; reconnects and re-joins when tccd has
  // forgotten this connection (it restarted).
  Status Resync() {
    auto state = session_.client().State(options_.channel);
    if (!state.ok()) {
      if (!ConnectionLost(state.error())) return state.error();
      return Reconnect();
    }
    ApplyState(head_, *state);
    return CatchUp(UintOf(*state, "last_seq"));
  }

  // Syncs and verifies TSCs after head_.seq through `target`.
  Status CatchUp(std::uint64_t target) {
    while (head_.seq < target) {
      TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs, session_.client().Sync(options_.channel, head_.seq, 100));
      if (tscs.empty()) break;
      for (const auto& tsc : tscs) TCC_RETURN_IF_ERROR(Accept(tsc, false));
    }
    return OkStatus();
  }

  // A TSC the TCC issued: must be the next one, verify at both levels, and link to the head.
  // Returns kVerificationFailed otherwise; a TSC at or below the head is ignored.
  Status Accept(const Json& tsc, bool mine) {
    TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(ClaimOf(tsc)));
    if (link.seq <= head_.seq) return OkStatus();
    if (link.seq != head_.seq + 1) {
      return Error(ErrorCode::kVerificationFailed,
                   "tccd sent TSC " + std::to_string(link.seq) + " after " + std::to_string(head_.seq));
    }
    vc::TscVerifyOptions verify{.expected_issuer = options_.tcc, .expected_prev = head_.hash};
    if (head_.hash.empty()) verify.expected_prev.reset();
    auto verified = vc::VerifyTsc(tsc, tst_, *resolver_, verify);
    if (!verified.ok()) return std::move(verified).error().WithContext("TSC " + std::to_string(link.seq) + " from tccd");
    TCC_ASSIGN_OR_RETURN(head_.hash, vc::CredentialHash(tsc));
    head_.seq = link.seq;
    if (mine) ++tally_.tscs;
    Emit("tsc",
         (role_ == "provider" ? "TSC seq=" : "cosigned TSC seq=") + std::to_string(head_.seq) + " hash=" + head_.hash +
             " fee=" + FeeOf(ClaimOf(tsc)),
         {{"seq", head_.seq}, {"hash", head_.hash}, {"fee", FeeOf(ClaimOf(tsc))}});
    return OkStatus();
  }

  void OnAnchored(const Message& event) {
    const std::uint64_t seq = controller::UintMember(event, "seq");
    if (seq < head_.anchored_seq && !head_.anchored_root.empty()) return;
    head_.anchored_seq = std::max(head_.anchored_seq, seq);
    head_.anchored_root = std::string(controller::StringMember(event, "root"));
    head_.anchored_batch = std::string(controller::StringMember(event, "batch"));
    Emit("anchored", "anchored seq=" + std::to_string(seq) + " root=" + head_.anchored_root + " batch=" + head_.anchored_batch,
         {{"seq", seq}, {"root", head_.anchored_root}, {"batch", head_.anchored_batch}});
  }

  // Handles one event; returns what it was. event.tsc is verified and adopted here.
  Status OnEvent(const Message& event, bool mine_if_next) {
    switch (event.type) {
      case MessageType::kEventTsc:
        return Accept(controller::ObjectMember(event, "tsc"), mine_if_next);
      case MessageType::kEventAnchored:
        OnAnchored(event);
        return OkStatus();
      case MessageType::kEventChannel: {
        const Json& state = controller::ObjectMember(event, "state");
        ApplyState(head_, state);
        if (StringOf(state, "state") == "closed" || StringOf(state, "state") == "closing") closed_ = true;
        return OkStatus();
      }
      default:
        return OkStatus();
    }
  }

  void MaybeProgress(bool force = false) {
    if (!force && Clock::now() - last_progress_ < std::chrono::seconds(5)) return;
    last_progress_ = Clock::now();
    if (auto state = session_.client().State(options_.channel); state.ok()) ApplyState(head_, *state);
    const std::string root = head_.anchored_root.empty() ? "-" : Short(head_.anchored_root);
    Emit("progress",
         "progress: " + std::to_string(tally_.tscs) + " TSCs in " + Seconds(tally_.seconds()) + " s (" +
             Rate(tally_.tscs, tally_.seconds()) + "/s), seq " + std::to_string(head_.seq) + ", N=" +
             std::to_string(head_.n) + ", anchored through seq " + std::to_string(head_.anchored_seq) + " (root " + root + ")",
         {{"tscs", tally_.tscs},
          {"seconds", tally_.seconds()},
          {"seq", head_.seq},
          {"n", head_.n},
          {"anchored_seq", head_.anchored_seq},
          {"anchored_root", head_.anchored_root}});
  }

  void Summary() {
    if (auto state = session_.client().State(options_.channel); state.ok()) ApplyState(head_, *state);
    const std::string chain = chain_uri_.empty() ? "CHAIN" : chain_uri_;
    const std::string show = "tcc evidence show --listen " + options_.endpoint() + " --tcc " + options_.tcc + " --key " +
                             options_.key + " --channel " + options_.channel + " --seq " +
                             std::to_string(head_.anchored_seq) + " --out evidence.json --tsc-out tsc.json";
    const std::string verify = "tcc evidence verify --chain " + chain + " --tsc tsc.json evidence.json";
    if (options_.json) {
      Json out = Json::Object();
      out.Set("event", "summary");
      out.Set("role", role_);
      out.Set("tscs", tally_.tscs);
      out.Set("seconds", tally_.seconds());
      out.Set("last_seq", head_.seq);
      out.Set("last_hash", head_.hash);
      out.Set("n", head_.n);
      out.Set("anchored_seq", head_.anchored_seq);
      out.Set("anchored_root", head_.anchored_root);
      out.Set("fetch_evidence", show);
      out.Set("verify_evidence", verify);
      std::cout << out.Serialize() << std::endl;
      return;
    }
    std::cout << "summary (" << role_ << "): " << tally_.tscs << " TSCs in " << Seconds(tally_.seconds()) << " s ("
              << Rate(tally_.tscs, tally_.seconds()) << "/s)\n"
              << "  last TSC      seq " << head_.seq << " hash " << (head_.hash.empty() ? "-" : head_.hash) << "\n"
              << "  anchored      through seq " << head_.anchored_seq
              << (head_.anchored_root.empty() ? "" : " (root " + head_.anchored_root + ")") << "; N=" << head_.n << "\n";
    if (head_.anchored_seq > 0) {
      std::cout << "  evidence      " << show << "\n"
                << "  verify it     " << verify << "\n";
    } else {
      std::cout << "  evidence      nothing anchored yet (tccd anchors every N TSCs, and the last one on close)\n";
    }
    std::cout.flush();
  }

  // Waits up to `wait` for events, handling each; returns early when `until` holds.
  // After Ctrl-C, a wait with `grace` (for the round's TSC) gets two more seconds to finish; any
  // other wait (the pause between rounds) ends at once.
  Status Pump(std::chrono::milliseconds wait, const std::function<bool(const Message&)>& until, bool grace = false) {
    auto deadline = Clock::now() + wait;
    bool stop_seen = false;
    while (Clock::now() < deadline) {
      if (Stopping() && !stop_seen) {
        stop_seen = true;
        if (!grace) return OkStatus();
        deadline = std::min(deadline, Clock::now() + std::chrono::seconds(2));
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      TCC_ASSIGN_OR_RETURN(auto event, session_.client().NextEvent(std::min(left, std::chrono::milliseconds(100))));
      if (!event) continue;
      if (until && until(*event)) return OkStatus();
    }
    return OkStatus();
  }

  Status RunProvider(const Json& claim_template, std::chrono::milliseconds interval);
  Status RunConsumer();

 private:
  void Emit(std::string_view kind, const std::string& text, std::initializer_list<std::pair<std::string_view, Json>> members) {
    if (options_.json) {
      Json out = Json::Object();
      out.Set("event", kind);
      for (const auto& [name, value] : members) out.Set(name, value);
      std::cout << out.Serialize() << std::endl;
    } else {
      std::cout << text << std::endl;
    }
  }

  Status Reconnect() {
    auto joined = session_.Reconnect(std::cerr, options_.json);
    if (!joined.ok()) return std::move(joined).error().WithContext("rejoin channel " + options_.channel);
    return Adopt(joined->state);
  }

  bool Done() const { return Stopping() || closed_ || (count_ != 0 && tally_.tscs >= count_); }

  Result<Json> MakeProposal(const Json& claim_template, std::uint64_t seq);

  PartyOptions options_;
  std::string role_;
  vc::Template tst_;
  std::shared_ptr<const did::KeyPair> key_;
  std::chrono::milliseconds timeout_;
  std::uint64_t count_;
  std::string chain_uri_;
  Session session_;
  std::shared_ptr<did::Resolver> resolver_;
  Head head_;
  Tally tally_;
  bool started_ = false;
  bool closed_ = false;
  std::string provider_, consumer_;
  Clock::time_point last_progress_ = Clock::now();
  // The one proposal (provider) or joint claim (consumer) for a seq: a retry sends the very same
  // content, so tccd answers it as a replay and never sees two claims for one seq from us.
  std::uint64_t pending_seq_ = 0;
  Json pending_;
};

// The claim for `seq`: the template's members, with the channel link and the parties set, and the
// interval [start, end) moved to the seq-th interval after the template's start (same length).
Result<Json> Party::MakeProposal(const Json& claim_template, std::uint64_t seq) {
  Json claim = claim_template;
  claim.Set("channel", options_.channel);
  claim.Set("seq", seq);
  claim.Set("prev", head_.hash);
  claim.Set("provider", provider_);
  claim.Set("consumer", consumer_);
  auto start = ParseRfc3339(StringOf(claim_template, "start", ""));
  auto end = ParseRfc3339(StringOf(claim_template, "end", ""));
  if (start.ok() && end.ok() && *end > *start) {
    const auto length = *end - *start;
    const Timestamp from = *start + length * static_cast<std::int64_t>(seq - 1);
    claim.Set("start", FormatRfc3339(from));
    claim.Set("end", FormatRfc3339(from + length));
  }
  return vc::ProposeSettlement(tst_, std::move(claim), *key_);
}

Status Party::RunProvider(const Json& claim_template, std::chrono::milliseconds interval) {
  bool waiting_said = false;
  while (!Done()) {
    const auto round_started = Clock::now();
    const std::uint64_t seq = head_.seq + 1;
    if (pending_seq_ != seq) {
      TCC_ASSIGN_OR_RETURN(pending_, MakeProposal(claim_template, seq));
      pending_seq_ = seq;
    }
    Status proposed = session_.client().Propose(options_.channel, pending_);
    if (!proposed.ok()) {
      const Error& error = proposed.error();
      if (ConnectionLost(error)) {
        TCC_RETURN_IF_ERROR(Reconnect());
        continue;
      }
      if (error.code() == ErrorCode::kUnavailable) {  // the consumer is not connected (yet)
        if (!waiting_said) std::cerr << "waiting for the consumer to join the channel ...\n";
        waiting_said = true;
        TCC_RETURN_IF_ERROR(Pump(std::chrono::milliseconds(500), nullptr));
        continue;
      }
      return error;
    }
    waiting_said = false;
    // The consumer submits; the TSC comes back as an event. Ctrl-C meanwhile still lets this round
    // finish, for a moment.
    bool issued = false;
    Status handled = OkStatus();
    TCC_RETURN_IF_ERROR(Pump(timeout_, [&](const Message& event) {
      handled = OnEvent(event, true);
      issued = head_.seq >= seq;
      return !handled.ok() || issued;
    }, true));
    TCC_RETURN_IF_ERROR(handled);
    if (!issued) {
      // No TSC: ask where the channel is (the TSC may be issued and its event lost), else re-propose.
      TCC_RETURN_IF_ERROR(Resync());
      if (head_.seq >= seq) ++tally_.tscs;
      if (Stopping()) break;
      continue;
    }
    MaybeProgress();
    // Until the next interval, keep reading events (anchors) and watch for Ctrl-C.
    const auto next = round_started + interval;
    if (!Done() && Clock::now() < next) {
      TCC_RETURN_IF_ERROR(Pump(std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now()),
                               [&](const Message& event) {
                                 handled = OnEvent(event, false);
                                 return !handled.ok();
                               }));
      TCC_RETURN_IF_ERROR(handled);
    }
  }
  // A last look for the anchor of the latest evidence leaf, which is on its way (one anchor
  // interval), so the summary names it.
  if (auto state = session_.client().State(options_.channel); state.ok()) {
    const std::uint64_t evidence_seq = UintOf(*state, "evidence_seq");
    ApplyState(head_, *state);
    if (head_.anchored_seq < evidence_seq) {
      TCC_RETURN_IF_ERROR(Pump(std::chrono::milliseconds(2000), [&](const Message& event) {
        (void)OnEvent(event, false);
        return head_.anchored_seq >= evidence_seq;
      }, true));
    }
  }
  MaybeProgress(true);
  return OkStatus();
}

Status Party::RunConsumer() {
  auto last_heard = Clock::now();
  while (!Done()) {
    auto event = session_.client().NextEvent(std::chrono::milliseconds(100));
    if (!event.ok()) return event.error();
    if (!*event) {
      // Silence: make sure tccd still knows this connection (a restarted tccd forgot it).
      if (Clock::now() - last_heard > std::chrono::seconds(3)) {
        last_heard = Clock::now();
        TCC_RETURN_IF_ERROR(Resync());
      }
      continue;
    }
    last_heard = Clock::now();
    if ((*event)->type != MessageType::kEventProposal) {
      TCC_RETURN_IF_ERROR(OnEvent(**event, false));
      continue;
    }
    const Json& proposal = controller::ObjectMember(**event, "proposal");
    auto link = vc::ReadSettlementLink(proposal);
    if (!link.ok()) {
      std::cerr << "rejected a proposal: " << link.error().message() << "\n";
      continue;
    }
    if (link->seq > head_.seq + 1) TCC_RETURN_IF_ERROR(CatchUp(link->seq - 1));  // TSCs missed while away
    if (link->seq <= head_.seq) continue;  // settled already (a late re-proposal)
    Json joint;
    if (pending_seq_ == link->seq) {
      joint = pending_;  // co-signed before: the same joint claim again, never a second one
    } else {
      if (link->channel != options_.channel || link->prev != head_.hash) {
        std::cerr << "rejected proposal seq=" << link->seq << ": it does not continue the channel (prev "
                  << Short(link->prev) << ", last TSC " << Short(head_.hash) << ")\n";
        continue;
      }
      auto cosigned = vc::CosignSettlement(tst_, proposal, *key_, *resolver_);
      if (!cosigned.ok()) {
        std::cerr << "rejected proposal seq=" << link->seq << ": " << cosigned.error().message() << "\n";
        continue;
      }
      joint = std::move(cosigned).value();
      pending_seq_ = link->seq;
      pending_ = joint;
    }
    while (true) {
      auto issued = session_.client().Submit(options_.channel, joint);
      if (issued.ok()) {
        // The TSC's event may have come first; it is this consumer's settlement either way.
        const bool seen = head_.seq >= link->seq;
        TCC_RETURN_IF_ERROR(Accept(issued->tsc, true));
        if (seen) ++tally_.tscs;
        if (issued->replayed && head_.seq == link->seq && !options_.json) std::cout << "  (tccd had issued it already)\n";
        break;
      }
      if (!ConnectionLost(issued.error())) {
        std::cerr << "submit seq=" << link->seq << " refused: " << issued.error().message() << "\n";
        if (issued.error().code() == ErrorCode::kConflict && issued.error().message().find("closed") != std::string::npos) {
          closed_ = true;
        }
        break;
      }
      TCC_RETURN_IF_ERROR(Reconnect());
      if (head_.seq >= link->seq) {
        ++tally_.tscs;  // issued before the connection broke; the head caught up through sync
        break;
      }
      if (Stopping()) break;
    }
  }
  return OkStatus();
}

int RunSettle(std::span<const std::string> arguments) {
  PartyOptions options;
  std::string role, tst_file, claim_file, count_text, interval_text, chain_uri;
  CommandLine command_line(
      "settle",
      "Run one party of a channel against tccd until --count TSCs or Ctrl-C.\n"
      "  provider: joins, continues at the channel's last seq, and every --interval proposes the\n"
      "            next settlement (the --claim template for the next interval, seq = last + 1,\n"
      "            prev = last TSC's hash); prints each TSC the TCC issues, anchors, and progress.\n"
      "  consumer: joins, checks each proposal against the TST, the provider's proof and the\n"
      "            channel (seq/prev), co-signs and submits it; prints each TSC.\n"
      "Both verify every TSC (TCC and parties' proofs, TST, hash link). Ctrl-C stops after the\n"
      "current round and prints a summary; a lost connection (tccd restarted) is re-joined, and a\n"
      "seq is never sent twice with different content. Exit codes: 0 done, 1 a TSC from tccd does\n"
      "not verify, 2 usage, 3 a file, key, or tccd cannot be read or reached.");
  options.Declare(command_line, "The party's key file (required).");
  command_line.Option("role", "provider|consumer", "Which party to run (required).", &role)
      .Option("tst", "FILE", "The TST template the claims follow (required).", &tst_file)
      .Option("claim", "FILE",
              "Provider: the claim template (required). Its members are copied, except channel, seq, prev,\n"
              "      provider and consumer (set from the channel) and start/end (moved to each seq's interval).",
              &claim_file)
      .Option("count", "N", "Stop after N TSCs (default 0: until Ctrl-C).", &count_text)
      .Option("interval", "MS", "Provider: time between proposals (default 1000).", &interval_text)
      .Option("chain", "URI", "Only for the evidence verify command the summary prints.", &chain_uri);
  return RunCommand(command_line, "settle", arguments, [&]() -> Status {
    if (role.empty()) return MissingOption("--role provider|consumer");
    if (role != "provider" && role != "consumer") return UsageError("--role must be provider or consumer, not \"" + role + "\"");
    TCC_RETURN_IF_ERROR(options.Check());
    if (tst_file.empty()) return MissingOption("--tst FILE");
    if (role == "provider" && claim_file.empty()) return MissingOption("--claim FILE (for the provider)");
    std::uint64_t count = 0, interval = 1000;
    if (!count_text.empty()) {
      TCC_ASSIGN_OR_RETURN(count, ParseUint(count_text, "--count"));
    }
    if (!interval_text.empty()) {
      TCC_ASSIGN_OR_RETURN(interval, ParseUint(interval_text, "--interval"));
    }
    TCC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, ParseTimeout(options.timeout));
    TCC_ASSIGN_OR_RETURN(vc::Template tst, ReadTemplate(tst_file, "--tst"));
    Json claim_template;
    if (role == "provider") {
      TCC_ASSIGN_OR_RETURN(claim_template, ReadJson(claim_file));
      if (!claim_template.is_object()) return Error(ErrorCode::kInvalidArgument, claim_file + ": a claim must be an object");
    }
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(options.key));
    InstallStopHandler();
    Party party(options, role, std::move(tst), std::make_shared<const did::KeyPair>(std::move(key)), timeout, count,
                chain_uri);
    TCC_RETURN_IF_ERROR(party.Join());
    Status ran = role == "provider" ? party.RunProvider(claim_template, std::chrono::milliseconds(interval))
                                    : party.RunConsumer();
    party.Summary();
    return ran;
  });
}

int RunEvidenceShow(std::span<const std::string> arguments) {
  PartyOptions options;
  std::string seq_text, out_file, tsc_out;
  CommandLine command_line(
      "evidence show",
      "Fetch the evidence bundle for TSC --seq of a channel from tccd (as a channel member). The\n"
      "bundle anchors the first anchored TSC at or after --seq, which commits --seq through the hash\n"
      "chain. Prints the bundle, or with --out saves it and prints where it is anchored. Verify it\n"
      "with: tcc evidence verify --chain URI [--tsc TSC.json] BUNDLE.json");
  options.Declare(command_line, "A channel member's key file: provider, consumer or auditor (required).");
  command_line.Option("seq", "N", "The TSC's seq (required).", &seq_text)
      .Option("out", "FILE", "Save the bundle here instead of printing it.", &out_file)
      .Option("tsc-out", "FILE", "Also save the anchored TSC the bundle commits to (for evidence verify --tsc).", &tsc_out);
  return RunCommand(command_line, "evidence show", arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(options.Check());
    if (seq_text.empty()) return MissingOption("--seq N");
    TCC_ASSIGN_OR_RETURN(std::uint64_t seq, ParseUint(seq_text, "--seq"));
    if (seq == 0) return UsageError("--seq must be at least 1");
    TCC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, ParseTimeout(options.timeout));
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(options.key));
    Session session(options, std::make_shared<const did::KeyPair>(std::move(key)), timeout);
    auto joined = session.Start();
    if (!joined.ok()) return std::move(joined).error().WithContext("join channel " + options.channel);
    TCC_ASSIGN_OR_RETURN(client::EvidenceReply reply, session.client().GetEvidence(options.channel, seq));
    const Json bundle = chain::EvidenceBundleToJson(reply.bundle);
    Json tsc;
    if (!tsc_out.empty()) {
      TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs, session.client().Sync(options.channel, reply.anchored_seq - 1, 1));
      if (tscs.empty()) return Error(ErrorCode::kNotFound, "tccd returned no TSC " + std::to_string(reply.anchored_seq));
      tsc = tscs[0];
      TCC_RETURN_IF_ERROR(WriteFileAtomic(tsc_out, tsc.SerializePretty() + "\n"));
    }
    if (out_file.empty()) {
      std::cout << bundle.SerializePretty() << "\n";
      return OkStatus();
    }
    TCC_RETURN_IF_ERROR(WriteFileAtomic(out_file, bundle.SerializePretty() + "\n"));
    if (options.json) {
      Json out = Json::Object();
      out.Set("seq", seq);
      out.Set("anchored_seq", reply.anchored_seq);
      out.Set("batch", reply.bundle.batch_id);
      out.Set("root", HexEncode(reply.bundle.root));
      out.Set("height", reply.bundle.receipt.height);
      out.Set("out", out_file);
      if (!tsc_out.empty()) out.Set("tsc_out", tsc_out);
      std::cout << out.SerializePretty() << "\n";
      return OkStatus();
    }
    std::cout << "evidence for TSC " << seq;
    if (reply.anchored_seq != seq) std::cout << " (committed through the hash chain to anchored TSC " << reply.anchored_seq << ")";
    std::cout << "\n  batch   " << reply.bundle.batch_id << "\n  root    " << HexEncode(reply.bundle.root)
              << "\n  chain   " << reply.bundle.receipt.adapter << " height " << reply.bundle.receipt.height
              << "\n  saved   " << out_file << "\n";
    if (!tsc_out.empty()) std::cout << "  TSC     " << tsc_out << " (seq " << reply.anchored_seq << ")\n";
    return OkStatus();
  });
}

}  // namespace

std::vector<Command> ChannelCommands() {
  return {
      {"channel open", "Open the channel of a recorded TIC (control API)", RunChannelOpen},
      {"channel close", "Close a channel; its last TSC is anchored at once (control API)", RunChannelClose},
      {"channel status", "Show one channel's state (control API)", RunChannelStatus},
      {"channel list", "List tccd's channels (control API)", RunChannelList},
      {"channel policy", "Show or set the anchoring policy N (control API)", RunChannelPolicy},
      {"anchor status", "Show tccd's anchoring: batches, queue, last root and height (control API)", RunAnchorStatus},
      {"settle", "Run a provider or consumer on a channel: propose/co-sign every interval", RunSettle},
      {"evidence show", "Fetch a TSC's evidence bundle from tccd (channel member)", RunEvidenceShow},
  };
}

}  // namespace tcc::cli
