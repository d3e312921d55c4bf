// tcc channel open|close|status|list|policy, tcc anchor status: the operators' commands on tccd's
// control API, with an admin key, through the channel SDK's connection (tcc::client).
//
// Control commands connect with the X25519 form of an admin key; tccd admits nothing else on the
// control socket. A wrong TCC DID or a refused key fails the CURVE handshake, which the SDK's
// connection reports within a second; an unreachable tccd shows only as no answer, which is why
// every command has --timeout. --data-dir DIR finds the DID, the admin key and the endpoints of a
// tccd on this machine.
#include <charconv>
#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <thread>

#include "command_line.h"
#include "tcc/client/connection.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/time.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/controller/store_backup.h"
#include "tcc/did/resolver.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"
#include "tcc/did/did_key.h"
#include "tccd_client.h"

namespace tcc::cli {
namespace {

using client::Message;
using client::MessageType;
using tccd_client::CheckChannelId;
using tccd_client::Clock;
using tccd_client::kDefaultControl;
using tccd_client::ParseTimeout;
using tccd_client::ParseUint;
using tccd_client::StringOf;
using tccd_client::TimeoutHelp;

// Counts in tccd's answers, read through the checked JSON conversion. An absent one shows as 0; the
// first that is not a JSON integer from 0 to 2^53 - 1 is kept in status() and fails the command
// before anything is printed.
class Counts {
 public:
  std::uint64_t operator()(const Json& object, std::string_view name) {
    auto value = object.GetIntegerOr(name, 0);
    if (value.ok()) return *value;
    if (status_.ok()) status_ = std::move(value).error().WithContext("tccd's answer");
    return 0;
  }
  const Status& status() const { return status_; }

 private:
  Status status_ = OkStatus();
};

// ---------------------------------------------------------------------------------------------
// Control commands

struct ControlOptions {
  std::string control, tcc, data_dir, key, timeout;
  bool json = false;

  void Declare(CommandLine& command_line) {
    command_line
        .Option("control", "ENDPOINT",
                "tccd's control endpoint (default: the one tccd on --data-dir bound, else " +
                    std::string(kDefaultControl) + ").",
                &control)
        .Option("tcc", "DID", "The TCC's DID (required unless --data-dir has tcc.key).", &tcc)
        .Option("data-dir", "DIR",
                "tccd's data directory: the TCC DID from DIR/tcc.key, the admin key DIR/admin.key, "
                "and\n"
                "      the control endpoint of the tccd running on it (DIR/endpoints.json).",
                &data_dir)
        .Option("key", "FILE", "An admin key of tccd (default DIR/admin.key with --data-dir).",
                &key)
        .Option("timeout", "MS", TimeoutHelp(), &timeout)
        .Flag("json", "Print JSON instead of text.", &json);
  }

  Result<std::unique_ptr<client::Connection>> Connect() const {
    std::string tcc_did = tcc;
    if (tcc_did.empty()) {
      if (data_dir.empty()) return MissingOption("--tcc DID (or --data-dir DIR)");
      TCC_ASSIGN_OR_RETURN(tcc_did, DataDirDid(data_dir));
    }
    std::string endpoint = control;
    if (endpoint.empty() && !data_dir.empty()) {
      if (auto bound = ReadEndpoints(data_dir); bound.ok()) endpoint = bound->control;
    }
    if (endpoint.empty()) endpoint = kDefaultControl;
    if (Status checked = CheckEndpoint(endpoint, "--control"); !checked.ok())
      return UsageError(checked.error().message());
    std::string key_file = key;
    if (key_file.empty()) {
      if (data_dir.empty()) return MissingOption("--key FILE (or --data-dir DIR)");
      key_file = data_dir + "/admin.key";
    }
    TCC_ASSIGN_OR_RETURN(std::chrono::milliseconds wait, ParseTimeout(timeout));
    TCC_ASSIGN_OR_RETURN(did::KeyPair admin, did::KeyPair::ReadFile(key_file));
    client::ConnectOptions options;
    options.endpoint = endpoint;
    options.tcc_did = tcc_did;
    options.client_key = wire::CurveKeyPair::FromDidKey(admin);
    options.timeout = wait;
    return client::Connection::Open(std::move(options));
  }
};

// The member of a reply, or kParse naming what is missing.
Result<Json> ReplyMember(const Message& reply, std::string_view name) {
  const Json* member = reply.body.Find(name);
  if (member == nullptr) {
    return Error(ErrorCode::kParse, std::string(wire::MessageTypeName(reply.type)) +
                                        " answer lacks " + std::string(name));
  }
  return *member;
}

Result<std::string> ChannelText(const Json& state) {
  Counts count;
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
  if (tst != nullptr)
    out << "tst           " << StringOf(*tst, "id") << " v" << count(*tst, "version") << "\n";
  out << "last seq      " << count(state, "last_seq") << "\n"
      << "last hash     " << StringOf(state, "last_hash") << "\n"
      << "N             " << count(state, "n") << " (TSCs per evidence leaf)\n"
      << "evidence seq  " << count(state, "evidence_seq") << "\n"
      << "anchored seq  " << count(state, "anchored_seq") << "\n"
      << "members       " << count(state, "members") << " connected\n";
  if (const Json* recovering = state.Find("recovering"); recovering != nullptr) {
    out << "RECOVERING    store seq " << count(*recovering, "store_seq") << ", chain confirms seq "
        << count(*recovering, "chain_seq") << ": " << StringOf(*recovering, "reason")
        << " (tcc channel recover)\n";
  }
  TCC_RETURN_IF_ERROR(count.status());
  return out.str();
}

Result<std::string> ChannelLine(const Json& state) {
  Counts count;
  std::string line = StringOf(state, "channel") + "  " + StringOf(state, "state") +
                     "  seq=" + std::to_string(count(state, "last_seq")) +
                     " n=" + std::to_string(count(state, "n")) +
                     " anchored=" + std::to_string(count(state, "anchored_seq")) +
                     " members=" + std::to_string(count(state, "members"));
  TCC_RETURN_IF_ERROR(count.status());
  return line;
}

Result<JsonArray> ListChannels(client::Connection& connection) {
  TCC_ASSIGN_OR_RETURN(Message reply, connection.Request(MessageType::kControlList, {}));
  TCC_ASSIGN_OR_RETURN(Json channels, ReplyMember(reply, "channels"));
  if (!channels.is_array())
    return Error(ErrorCode::kParse, "control.list answer: channels is not an array");
  return channels.as_array();
}

int RunChannelList(std::span<const std::string> arguments) {
  ControlOptions options;
  CommandLine command_line("channel list",
                           "List tccd's channels: id, state, last seq, N, anchored seq, members.");
  options.Declare(command_line);
  return RunCommand(command_line, "channel list", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    TCC_ASSIGN_OR_RETURN(JsonArray channels, ListChannels(*connection));
    if (options.json) {
      std::cout << Json(channels).SerializePretty() << "\n";
    } else if (channels.empty()) {
      std::cout << "no channels\n";
    } else {
      std::string lines;
      for (const auto& state : channels) {
        TCC_ASSIGN_OR_RETURN(std::string line, ChannelLine(state));
        lines += line + "\n";
      }
      std::cout << lines;
    }
    return OkStatus();
  });
}

int RunChannelStatus(std::span<const std::string> arguments) {
  ControlOptions options;
  std::vector<std::string> ids;
  std::string wait_text;
  CommandLine command_line(
      "channel status",
      "Show one channel's state. Exit 3 if tccd has no such channel. With --wait, wait\n"
      "for tccd to start and open the channel (e.g. after starting tccd in the background).");
  options.Declare(command_line);
  command_line
      .Option("wait", "MS", "Retry until tccd answers with the channel, for up to MS milliseconds.",
              &wait_text)
      .Positionals("CHANNEL", "The channel id (the TIC's hash).", &ids, 1, 1);
  return RunCommand(command_line, "channel status", arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(CheckChannelId(ids[0], "CHANNEL"));
    std::uint64_t wait_ms = 0;
    if (!wait_text.empty()) {
      TCC_ASSIGN_OR_RETURN(wait_ms, ParseUint(wait_text, "--wait"));
    }
    const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
    ControlOptions attempt = options;
    // Each attempt re-reads DIR/endpoints.json, which appears once tccd is ready.
    if (wait_ms > 0 && attempt.timeout.empty()) attempt.timeout = "1000";
    while (true) {
      Status shown = [&]() -> Status {
        TCC_ASSIGN_OR_RETURN(auto connection, attempt.Connect());
        TCC_ASSIGN_OR_RETURN(JsonArray channels, ListChannels(*connection));
        for (const auto& state : channels) {
          if (StringOf(state, "channel") != ids[0]) continue;
          TCC_ASSIGN_OR_RETURN(std::string text,
                               options.json ? state.SerializePretty() + "\n" : ChannelText(state));
          std::cout << text;
          return OkStatus();
        }
        return Error(ErrorCode::kNotFound, "no channel " + ids[0] + " at this TCC");
      }();
      if (shown.ok() || Clock::now() >= deadline) return shown;
      // A usage or key error does not go away by waiting.
      if (shown.error().code() == ErrorCode::kInvalidArgument ||
          shown.error().code() == ErrorCode::kPermissionDenied) {
        return shown;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

int RunChannelOpenOrClose(std::span<const std::string> arguments, bool open) {
  ControlOptions options;
  std::vector<std::string> ids;
  const std::string name = open ? "channel open" : "channel close";
  CommandLine command_line(
      name, open ? "Open the channel of a TIC recorded on the chain for this TCC (tccd also opens\n"
                   "channels by itself when it sees the TIC recorded). Opening an open channel\n"
                   "shows it."
                 : "Close a channel: no further settlements; its last TSC is anchored at once.");
  std::string wait_text;
  options.Declare(command_line);
  if (!open) {
    command_line.Option(
        "wait", "MS",
        "Wait up to MS milliseconds for the last TSC to be anchored (exit 3 if it is not),\n"
        "      then show the channel.",
        &wait_text);
  }
  command_line.Positionals(
      open ? "TIC_ID" : "CHANNEL",
      open ? "The TIC's id = the channel id (tcc vc hash tic.json)." : "The channel id.", &ids, 1,
      1);
  return RunCommand(command_line, name, arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(CheckChannelId(ids[0], open ? "TIC_ID" : "CHANNEL"));
    std::uint64_t wait_ms = 0;
    if (!wait_text.empty()) {
      TCC_ASSIGN_OR_RETURN(wait_ms, ParseUint(wait_text, "--wait"));
    }
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    Result<Message> reply =
        open ? connection->Request(MessageType::kControlOpen, {{"tic", ids[0]}})
             : connection->Request(MessageType::kControlClose, {{"channel", ids[0]}});
    if (!reply.ok()) return reply.error();
    TCC_ASSIGN_OR_RETURN(Json state, ReplyMember(*reply, "channel"));
    const auto deadline = Clock::now() + std::chrono::milliseconds(wait_ms);
    while (wait_ms > 0) {
      Counts count;
      const bool anchored = count(state, "anchored_seq") == count(state, "last_seq");
      TCC_RETURN_IF_ERROR(count.status());
      if (anchored) break;
      if (Clock::now() >= deadline) {
        return Error(ErrorCode::kUnavailable,
                     "channel " + ids[0] + " closed, but its last TSC was not anchored within " +
                         wait_text + " ms");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      TCC_ASSIGN_OR_RETURN(JsonArray channels, ListChannels(*connection));
      for (auto& listed : channels) {
        if (StringOf(listed, "channel") == ids[0]) state = std::move(listed);
      }
    }
    TCC_ASSIGN_OR_RETURN(std::string text,
                         options.json ? state.SerializePretty() + "\n" : ChannelText(state));
    std::cout << text;
    return OkStatus();
  });
}

int RunChannelOpen(std::span<const std::string> arguments) {
  return RunChannelOpenOrClose(arguments, true);
}
int RunChannelClose(std::span<const std::string> arguments) {
  return RunChannelOpenOrClose(arguments, false);
}

// The TSCs of FILE... (each a TSC, an array of TSCs, or a TscJournal file), in requests that each
// stay well inside tccd's frame and count limits; only the last one ends the recovering state.
int RunChannelRecover(std::span<const std::string> arguments) {
  ControlOptions options;
  std::vector<std::string> positionals;
  CommandLine command_line(
      "channel recover",
      "Restore a recovering channel's TSCs from copies (e.g. a party's TSC journal,\n"
      "DIR/<channel>/*.json) and let it settle again. tccd checks its own signature, the\n"
      "TST, the parties' proofs and the hash links; a TSC differing from a stored one is\n"
      "refused. Without files it only ends the recovering state.");
  options.Declare(command_line);
  command_line.Positionals("CHANNEL [TSC_FILE...]", "The channel id, then the TSC files.",
                           &positionals, 1, 0);
  return RunCommand(command_line, "channel recover", arguments, [&]() -> Status {
    const std::string& channel = positionals[0];
    TCC_RETURN_IF_ERROR(CheckChannelId(channel, "CHANNEL"));
    std::vector<Json> tscs;
    for (std::size_t i = 1; i < positionals.size(); ++i) {
      TCC_ASSIGN_OR_RETURN(Json document, ReadJson(positionals[i]));
      if (document.is_array()) {
        for (Json& tsc : document.as_array()) tscs.push_back(std::move(tsc));
      } else {
        tscs.push_back(std::move(document));
      }
    }
    constexpr std::size_t kMaxRequestBytes = 192 * 1024;
    constexpr std::size_t kMaxRequestTscs = 256;
    std::vector<Json> requests;
    Json current = Json::Array();
    std::size_t bytes = 0;
    for (Json& tsc : tscs) {
      const std::size_t size = tsc.Serialize().size();
      if (size > kMaxRequestBytes) {
        return Error(ErrorCode::kInvalidArgument, "a TSC of " + std::to_string(size) +
                                                      " bytes does not fit in one request");
      }
      if (!current.as_array().empty() &&
          (bytes + size > kMaxRequestBytes || current.as_array().size() == kMaxRequestTscs)) {
        requests.push_back(std::move(current));
        current = Json::Array();
        bytes = 0;
      }
      bytes += size;
      current.PushBack(std::move(tsc));
    }
    requests.push_back(std::move(current));
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    Counts count;
    std::uint64_t restored = 0;
    Json last = Json::Object();
    for (std::size_t i = 0; i < requests.size(); ++i) {
      const bool finish = i + 1 == requests.size();
      auto reply = connection->Request(MessageType::kControlRecover,
                                       {{"channel", channel}, {"tscs", requests[i]}, {"finish", finish}});
      if (!reply.ok()) return reply.error();
      last = reply->body;
      restored += count(last, "restored");
      if (last.Contains("not_taken")) {
        std::cerr << "tcc channel recover: not taken: " << StringOf(last, "not_taken") << "\n";
      }
    }
    TCC_RETURN_IF_ERROR(count.status());
    const Json* recovering = last.Find("recovering");
    const bool still = recovering != nullptr && recovering->is_bool() && recovering->as_bool();
    if (options.json) {
      Json out = Json::Object();
      out.Set("channel", channel);
      out.Set("restored", restored);
      out.Set("last_seq", count(last, "last_seq"));
      out.Set("recovering", still);
      std::cout << out.SerializePretty() << "\n";
    } else {
      std::cout << "channel " << channel << ": " << restored << " TSC(s) restored, head seq "
                << count(last, "last_seq") << (still ? ", still recovering" : ", settling again")
                << "\n";
    }
    if (still) return Error(ErrorCode::kConflict, "channel " + channel + " is still recovering");
    return OkStatus();
  });
}

Result<std::string> PolicyText(const Json& policy) {
  Counts count;
  std::ostringstream out;
  if (policy.Contains("channel")) {
    out << "channel     " << StringOf(policy, "channel") << "\n"
        << "N           " << count(policy, "n") << " (TIC: " << count(policy, "strategy_n")
        << (policy.Contains("n_override")
                ? ", override: " + std::to_string(count(policy, "n_override"))
                : std::string())
        << ")\n";
  }
  const Json* adaptive = policy.Find("adaptive");
  out << "default N   " << count(policy, "default_n") << "\n"
      << "N range     [" << count(policy, "n_min") << ", " << count(policy, "n_max") << "]\n"
      << "adaptive    "
      << (adaptive != nullptr && adaptive->is_bool() && adaptive->as_bool() ? "on" : "off") << "\n";
  if (const Json* factor = policy.Find("factor"); factor != nullptr && factor->is_number()) {
    out << "factor      " << factor->as_number() << "\n";
  }
  TCC_RETURN_IF_ERROR(count.status());
  return out.str();
}

int RunChannelPolicy(std::span<const std::string> arguments) {
  ControlOptions options;
  std::string channel, n, adaptive, n_min, n_max, default_n;
  CommandLine command_line(
      "channel policy",
      "Show or set the anchoring policy (N = TSCs per evidence leaf). With --channel and\n"
      "--n, set one channel's N (--n tic: back to the TIC's N). Without --channel, set the\n"
      "global --default-n, --adaptive, --n-min, --n-max. With no setting, show the\n"
      "global policy.");
  options.Declare(command_line);
  command_line.Option("channel", "ID", "The channel whose N to set (with --n).", &channel)
      .Option("n", "N|tic", "The channel's N, or \"tic\" to drop the override.", &n)
      .Option("default-n", "N", "Global: N of channels whose TIC sets none.", &default_n)
      .Option("adaptive", "on|off", "Global: adapt N to the chain's latency and backlog.",
              &adaptive)
      .Option("n-min", "N", "Global: lower bound of any channel's N.", &n_min)
      .Option("n-max", "N", "Global: upper bound of any channel's N.", &n_max);
  return RunCommand(command_line, "channel policy", arguments, [&]() -> Status {
    std::vector<std::pair<std::string, Json>> members;
    if (!channel.empty()) {
      TCC_RETURN_IF_ERROR(CheckChannelId(channel, "--channel"));
      if (n.empty()) return MissingOption("with --channel, --n N|tic");
      if (!default_n.empty() || !adaptive.empty() || !n_min.empty() || !n_max.empty()) {
        return UsageError(
            "--default-n, --adaptive, --n-min and --n-max are global; drop --channel");
      }
      members.emplace_back("channel", channel);
      if (n != "tic") {
        TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(n, "--n"));
        members.emplace_back("n", value);
      }
    } else {
      if (!n.empty())
        return UsageError(
            "--n sets one channel's N and needs --channel; the global default is --default-n");
      if (!default_n.empty()) {
        TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(default_n, "--default-n"));
        members.emplace_back("n", value);
      }
      if (!adaptive.empty()) {
        if (adaptive != "on" && adaptive != "off")
          return UsageError("--adaptive must be on or off");
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
      TCC_ASSIGN_OR_RETURN(Message reply,
                           connection->Request(MessageType::kControlPolicy, members));
      TCC_ASSIGN_OR_RETURN(policy, ReplyMember(reply, "policy"));
    }
    TCC_ASSIGN_OR_RETURN(std::string text,
                         options.json ? policy.SerializePretty() + "\n" : PolicyText(policy));
    std::cout << text;
    return OkStatus();
  });
}

int RunAnchorStatus(std::span<const std::string> arguments) {
  ControlOptions options;
  CommandLine command_line(
      "anchor status",
      "Show tccd's anchoring: batches and leaves anchored since tccd started (counters of this\n"
      "process; what each channel has anchored is in `tcc channel status`), what is queued, the\n"
      "last root and its chain height, the chain's state and the N policy (control.health).");
  options.Declare(command_line);
  return RunCommand(command_line, "anchor status", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
    TCC_ASSIGN_OR_RETURN(Message reply, connection->Request(MessageType::kControlHealth, {}));
    TCC_ASSIGN_OR_RETURN(Json health, ReplyMember(reply, "health"));
    const Json anchoring =
        health.Contains("anchoring") ? *health.Find("anchoring") : Json::Object();
    const Json policy = health.Contains("policy") ? *health.Find("policy") : Json::Object();
    const Json chain = health.Contains("chain") ? *health.Find("chain") : Json::Object();
    Counts count;
    if (options.json) {
      Json out = Json::Object();
      out.Set("status", StringOf(health, "status"));
      out.Set("issued", count(health, "issued"));
      TCC_RETURN_IF_ERROR(count.status());
      out.Set("anchoring", anchoring);
      out.Set("policy", policy);
      out.Set("chain", chain);
      std::cout << out.SerializePretty() << "\n";
      return OkStatus();
    }
    const Json* latency = anchoring.Find("last_latency_ms");
    std::ostringstream text;
    text << "status        " << StringOf(health, "status") << "\n"
         << "TSCs issued   " << count(health, "issued") << " since tccd started\n"
         << "batches       " << count(anchoring, "batches") << " anchored since tccd started\n"
         << "leaves        " << count(anchoring, "leaves") << " anchored since tccd started\n"
         << "queued        " << count(anchoring, "queued") << " (in flight "
         << count(anchoring, "in_flight") << ")\n"
         << "last root     " << StringOf(anchoring, "last_root") << "\n"
         << "last height   " << count(anchoring, "last_height") << "\n";
    if (latency != nullptr && latency->is_number())
      text << "last latency  " << latency->as_number() << " ms\n";
    text << "errors        " << count(anchoring, "adapter_errors") << " since tccd started"
         << (StringOf(anchoring, "last_error", "").empty()
                 ? ""
                 : " (last: " + StringOf(anchoring, "last_error") + ")")
         << "\n";
    text << "chain         " << StringOf(chain, "adapter", "unreachable") << " height "
         << count(chain, "height") << " pending " << count(chain, "pending") << "\n";
    const Json* adaptive = policy.Find("adaptive");
    text << "policy        default N " << count(policy, "default_n") << ", range ["
         << count(policy, "n_min") << ", " << count(policy, "n_max") << "], adaptive "
         << (adaptive != nullptr && adaptive->is_bool() && adaptive->as_bool() ? "on" : "off")
         << "\n";
    TCC_RETURN_IF_ERROR(count.status());
    std::cout << text.str();
    return OkStatus();
  });
}

// tcc backup: a consistent copy of tccd's store (controller/store_backup.h). Online through
// control.backup (tccd copies from a LevelDB snapshot while it settles), offline from the store of
// a stopped tccd, and --verify to check a backup against its manifest.
int RunBackup(std::span<const std::string> arguments) {
  ControlOptions options;
  std::string out, verify;
  bool offline = false;
  CommandLine command_line(
      "backup",
      "Copy tccd's channel store into a new directory: OUT/store (a LevelDB store, copied from\n"
      "one snapshot and synced) and OUT/manifest.json (per channel: head seq and hash, anchored seq;\n"
      "the TCC's DID, the time). A running tccd makes the copy itself (control.backup) while it\n"
      "settles; OUT is a path on tccd's host that does not exist or is an empty directory.\n"
      "--offline copies DIR/store of a stopped tccd (--data-dir DIR) without it.\n"
      "--verify BACKUP checks a backup: the copy is audited like `tcc store verify` and every\n"
      "channel's head and anchored seq must equal the manifest's.\n"
      "Restore: stop tccd, move DIR/store aside, copy BACKUP/store to DIR/store, start tccd\n"
      "(docs/deploy.md, \"Backups\").\n"
      "Exit codes: 0 ok, 1 the backup differs from its manifest or has problems, 2 usage,\n"
      "3 cannot copy or read.");
  options.Declare(command_line);
  command_line.Option("out", "OUT", "The new backup directory.", &out)
      .Flag("offline", "Copy the store of a stopped tccd (--data-dir) directly.", &offline)
      .Option("verify", "BACKUP", "Check the backup directory BACKUP against its manifest.",
              &verify);
  return RunCommand(command_line, "backup", arguments, [&]() -> Status {
    namespace fs = std::filesystem;
    if (!verify.empty()) {
      if (!out.empty() || offline) return UsageError("--verify takes no --out or --offline");
      std::shared_ptr<did::Resolver> resolver = CliResolver();
      controller::StoreAuditOptions audit;
      audit.tcc_did = options.tcc;
      audit.resolver = resolver.get();
      TCC_ASSIGN_OR_RETURN(controller::BackupVerifyReport report,
                           controller::VerifyBackup(verify, audit));
      if (options.json) {
        Json json = Json::Object();
        json.Set("ok", report.ok());
        json.Set("manifest", report.manifest.ToJson());
        Json mismatches = Json::Array();
        for (const auto& mismatch : report.mismatches) mismatches.PushBack(mismatch);
        json.Set("mismatches", std::move(mismatches));
        json.Set("problemCount", report.audit.problem_count);
        Json problems = Json::Array();
        for (const auto& problem : report.audit.problems) problems.PushBack(problem);
        json.Set("problems", std::move(problems));
        std::cout << json.SerializePretty() << "\n";
      } else {
        std::cout << report.ToString();
      }
      if (!report.ok()) {
        return Error(ErrorCode::kVerificationFailed,
                     verify + ": " + std::to_string(report.mismatches.size()) +
                         " difference(s) from the manifest, " +
                         std::to_string(report.audit.problem_count) + " problem(s)");
      }
      return OkStatus();
    }
    if (out.empty()) return MissingOption("--out OUT (or --verify BACKUP)");
    std::error_code error;
    const std::string target = fs::absolute(out, error).lexically_normal().string();
    Json backup;
    if (offline) {
      if (options.data_dir.empty()) return MissingOption("--data-dir DIR (with --offline)");
      controller::BackupOptions backup_options;
      backup_options.tcc_did = options.tcc;
      if (auto did = DataDirDid(options.data_dir); options.tcc.empty() && did.ok())
        backup_options.tcc_did = *did;
      backup_options.progress = [](std::uint64_t records) {
        std::cerr << "backup: " << records << " records copied\n";
      };
      TCC_ASSIGN_OR_RETURN(controller::BackupResult result,
                           controller::BackupStoreOffline(options.data_dir + "/store", target,
                                                          backup_options));
      backup = Json::Object();
      backup.Set("directory", result.directory);
      backup.Set("records", result.manifest.records);
      backup.Set("bytes", result.bytes);
      backup.Set("seconds", result.seconds);
      backup.Set("channels", static_cast<std::uint64_t>(result.manifest.channels.size()));
      backup.Set("manifest", result.manifest.ToJson());
    } else {
      // A large store takes a while to copy: the answer comes when it is synced.
      if (options.timeout.empty()) options.timeout = "3600000";
      TCC_ASSIGN_OR_RETURN(auto connection, options.Connect());
      TCC_ASSIGN_OR_RETURN(Message reply,
                           connection->Request(MessageType::kControlBackup, {{"path", target}}));
      TCC_ASSIGN_OR_RETURN(backup, ReplyMember(reply, "backup"));
    }
    if (options.json) {
      std::cout << backup.SerializePretty() << "\n";
      return OkStatus();
    }
    Counts count;
    const Json* manifest = backup.Find("manifest");
    std::ostringstream text;
    text << "backup        " << StringOf(backup, "directory") << "\n"
         << "records       " << count(backup, "records") << " (" << count(backup, "bytes")
         << " bytes)\n";
    if (manifest != nullptr && manifest->is_object()) {
      text << "taken         " << StringOf(*manifest, "created") << "\n";
      const Json* channels = manifest->Find("channels");
      if (channels == nullptr) {
        text << "channels      " << count(backup, "channels") << " (listed in "
             << StringOf(backup, "directory") << "/manifest.json)\n";
      } else if (channels->is_array()) {
        for (const Json& channel : channels->as_array()) {
          text << "channel       " << StringOf(channel, "channel") << "  "
               << StringOf(channel, "state") << "  head " << count(channel, "head_seq")
               << "  anchored " << count(channel, "anchored_seq") << "\n";
        }
      }
    }
    TCC_RETURN_IF_ERROR(count.status());
    std::cout << text.str();
    return OkStatus();
  });
}

}  // namespace

std::vector<Command> ControlCommands() {
  return {
      {"channel open", "Open the channel of a recorded TIC (control API)", RunChannelOpen},
      {"channel close", "Close a channel; its last TSC is anchored at once (control API)",
       RunChannelClose},
      {"channel recover", "Restore a recovering channel's TSCs from files (control API)",
       RunChannelRecover},
      {"channel status", "Show one channel's state (control API)", RunChannelStatus},
      {"channel list", "List tccd's channels (control API)", RunChannelList},
      {"channel policy", "Show or set the anchoring policy N (control API)", RunChannelPolicy},
      {"anchor status", "Show tccd's anchoring: batches, queue, last root and height (control API)",
       RunAnchorStatus},
      {"backup", "Copy tccd's store with a manifest (online or --offline); --verify a backup",
       RunBackup},
  };
}

}  // namespace tcc::cli
