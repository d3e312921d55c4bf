// tcc settle, tcc evidence show, tcc dispute show|close: the parties' commands on a channel of a
// running tccd, with a member's key, through the channel SDK (tcc::client). The operators' control
// commands are in control_commands.cpp.
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
#include "tccd_client.h"
#include "tcc/client/channel_client.h"
#include "tcc/client/connection.h"
#include "tcc/client/party_session.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/time.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/dispute.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"

namespace tcc::cli {
namespace {

using client::ChannelClient;
using client::Message;
using client::MessageType;
using tccd_client::CheckChannelId;
using tccd_client::Clock;
using tccd_client::ParseTimeout;
using tccd_client::ParseUint;
using tccd_client::StringOf;
using tccd_client::TimeoutHelp;
using tccd_client::kDefaultListen;
using tccd_client::kDefaultTimeoutMs;

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
  std::string listen, tcc, data_dir, key, channel, timeout;
  bool json = false;

  void Declare(CommandLine& command_line, std::string_view key_help) {
    command_line
        .Option("listen", "ENDPOINT",
                "tccd's party endpoint (default: the one tccd on --data-dir bound, else " +
                    std::string(kDefaultListen) + ").",
                &listen)
        .Option("tcc", "DID", "The TCC's DID (required unless --data-dir).", &tcc)
        .Option("data-dir", "DIR",
                "The data directory of a tccd on this machine: the TCC DID from DIR/tcc.key and "
                "the party\n"
                "      endpoint it bound (DIR/endpoints.json).",
                &data_dir)
        .Option("key", "FILE", std::string(key_help), &key)
        .Option("channel", "ID", "The channel id (the TIC's hash; required).", &channel)
        .Option("timeout", "MS", TimeoutHelp(), &timeout)
        .Flag("json", "Print JSON instead of text.", &json);
  }

  // Checks the options and fills --tcc and --listen in from --data-dir.
  Status Check() {
    if (!data_dir.empty()) {
      // The running tccd's own file names its DID too, so a party need not read tccd's key.
      auto bound = ReadEndpoints(data_dir);
      if (listen.empty() && bound.ok()) listen = bound->listen;
      if (tcc.empty() && bound.ok()) tcc = bound->did;
      if (tcc.empty()) {
        TCC_ASSIGN_OR_RETURN(tcc, DataDirDid(data_dir));
      }
    }
    if (!listen.empty()) {
      if (Status checked = CheckEndpoint(listen, "--listen"); !checked.ok())
        return UsageError(checked.error().message());
    }
    if (tcc.empty()) return MissingOption("--tcc DID (or --data-dir DIR)");
    if (key.empty()) return MissingOption("--key FILE");
    if (channel.empty()) return MissingOption("--channel ID");
    return CheckChannelId(channel, "--channel");
  }

  std::string endpoint() const { return listen.empty() ? std::string(kDefaultListen) : listen; }
};

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

struct Tally {
  std::uint64_t tscs = 0;
  Clock::time_point started = Clock::now();
  double seconds() const { return std::chrono::duration<double>(Clock::now() - started).count(); }
};

// The consumer's local policy for `tcc settle`: which bills it rejects, and why.
struct BillPolicy {
  std::optional<double> max_fee;
  std::optional<double> max_unit_price;
  std::string unit_path;  // dotted member path into the claim, e.g. usage.gpuSeconds

  std::optional<wire::Reason> Check(const Json& claim) const {
    if (!max_fee && !max_unit_price) return std::nullopt;
    const Json* fee = claim.Find("fee");
    const std::string amount_text =
        fee != nullptr && fee->is_object() ? StringOf(*fee, "amount", "") : "";
    auto amount = ParseDecimal(amount_text);
    if (!amount)
      return wire::Reason{wire::ReasonCode::kWrongAmount,
                                "the bill has no readable fee.amount"};
    if (max_fee && *amount > *max_fee) {
      return wire::Reason{
          wire::ReasonCode::kPrice,
          "fee " + amount_text + " is above the consumer's limit " + FormatAmount(*max_fee)};
    }
    if (max_unit_price) {
      const Json* units = &claim;
      for (std::size_t from = 0; units != nullptr && from <= unit_path.size();) {
        const std::size_t dot = std::min(unit_path.find('.', from), unit_path.size());
        units = units->is_object()
                    ? units->Find(std::string_view(unit_path).substr(from, dot - from))
                    : nullptr;
        from = dot + 1;
      }
      if (units == nullptr || !units->is_number() || units->as_number() <= 0) {
        return wire::Reason{wire::ReasonCode::kWrongUsage,
                                  "the bill has no positive " + unit_path};
      }
      const double unit_price = *amount / units->as_number();
      if (unit_price > *max_unit_price) {
        return wire::Reason{wire::ReasonCode::kPrice,
                                  "price per " + unit_path + " " + FormatAmount(unit_price) +
                                      " is above the consumer's limit " +
                                      FormatAmount(*max_unit_price)};
      }
    }
    return std::nullopt;
  }

  // A non-negative decimal amount ("0.38"); nullopt for anything else.
  static std::optional<double> ParseDecimal(const std::string& text) {
    if (text.empty() || text.size() > 32) return std::nullopt;
    bool dot = false;
    for (char c : text) {
      if (c == '.' && !dot) {
        dot = true;
      } else if (c < '0' || c > '9') {
        return std::nullopt;
      }
    }
    if (text == ".") return std::nullopt;
    return std::stod(text);
  }

  static std::string FormatAmount(double value) {
    std::ostringstream out;
    out << value;
    return out.str();
  }
};

Result<double> ParseAmount(const std::string& text, std::string_view flag) {
  auto amount = BillPolicy::ParseDecimal(text);
  if (!amount)
    return UsageError(std::string(flag) + " must be a decimal amount such as 0.38, not \"" + text +
                      "\"");
  return *amount;
}

// One party run by `tcc settle`: the SDK's PartySession does the protocol (join, verify, resume);
// this class decides when to propose or co-sign and prints what happens.
class Party {
 public:
  Party(PartyOptions options, std::string role, std::uint64_t count, std::string chain_uri)
      : options_(std::move(options)), role_(std::move(role)), count_(count), chain_uri_(std::move(chain_uri)) {}

  Status Join(vc::Template tst, std::shared_ptr<const did::KeyPair> key, std::chrono::milliseconds timeout,
              std::string tsc_dir) {
    client::PartySessionOptions session;
    session.tsc_dir = std::move(tsc_dir);
    session.connect.endpoint = options_.endpoint();
    session.connect.tcc_did = options_.tcc;
    session.connect.timeout = timeout;
    session.channel_id = options_.channel;
    session.key = std::move(key);
    session.tst = std::move(tst);
    session.resolver = CliResolver();
    session.open_wait = std::max(timeout, std::chrono::milliseconds(10000));
    session.cancelled = Stopping;
    timeout_ = timeout;
    TCC_ASSIGN_OR_RETURN(session_, client::PartySession::Join(std::move(session)));
    const client::ChannelHead& head = session_->head();
    if (head.role != role_) {
      return UsageError("the key is the channel's " + head.role + ", not its " + role_ + " (--role " + head.role + "?)");
    }
    session_->Subscribe([this](const client::SessionEvent& event) { Print(event); });
    Emit("joined", "joined channel " + Short(options_.channel) + " as " + role_ + " at seq " + std::to_string(head.seq) +
                       ", N=" + std::to_string(head.n),
         {{"channel", options_.channel}, {"role", role_}, {"seq", head.seq}, {"hash", head.hash}, {"n", head.n}});
    return OkStatus();
  }

  Status RunProvider(const Json& claim_template, std::chrono::milliseconds interval);
  Status RunConsumer(const BillPolicy& policy);

  void Summary() {
    (void)session_->Resync();
    const client::ChannelHead& head = session_->head();
    const std::string chain = chain_uri_.empty() ? "CHAIN" : chain_uri_;
    const std::string show = "tcc evidence show --listen " + options_.endpoint() + " --tcc " + options_.tcc + " --key " +
                             options_.key + " --channel " + options_.channel + " --seq " +
                             std::to_string(head.anchored_seq) + " --out evidence.json --tsc-out tsc.json";
    const std::string verify = "tcc evidence verify --chain " + chain + " --tsc tsc.json evidence.json";
    if (options_.json) {
      Json out = Json::Object();
      out.Set("event", "summary");
      out.Set("role", role_);
      out.Set("tscs", tally_.tscs);
      out.Set("seconds", tally_.seconds());
      out.Set("last_seq", head.seq);
      out.Set("last_hash", head.hash);
      out.Set("n", head.n);
      out.Set("anchored_seq", head.anchored_seq);
      out.Set("anchored_root", head.anchored_root);
      out.Set("fetch_evidence", show);
      out.Set("verify_evidence", verify);
      std::cout << out.Serialize() << std::endl;
      return;
    }
    std::cout << "summary (" << role_ << "): " << tally_.tscs << " TSCs in " << Seconds(tally_.seconds()) << " s ("
              << Rate(tally_.tscs, tally_.seconds()) << "/s)\n"
              << "  last TSC      seq " << head.seq << " hash " << (head.hash.empty() ? "-" : head.hash) << "\n"
              << "  anchored      through seq " << head.anchored_seq
              << (head.anchored_root.empty() ? "" : " (root " + head.anchored_root + ")") << "; N=" << head.n << "\n";
    if (head.anchored_seq > 0) {
      std::cout << "  evidence      " << show << "\n"
                << "  verify it     " << verify << "\n";
    } else {
      std::cout << "  evidence      nothing anchored yet (tccd anchors every N TSCs, and the last one on close)\n";
    }
    std::cout.flush();
  }

 private:
  // Every TSC after the join settles a claim both parties signed, so each counts for either party.
  void Print(const client::SessionEvent& event) {
    switch (event.kind) {
      case client::SessionEventKind::kTsc: {
        ++tally_.tscs;
        const std::string& hash = event.hash;
        const std::string fee = FeeOf(ClaimOf(event.body));
        Emit("tsc", (role_ == "provider" ? "TSC seq=" : "cosigned TSC seq=") + std::to_string(event.seq) + " hash=" + hash +
                        " fee=" + fee,
             {{"seq", event.seq}, {"hash", hash}, {"fee", fee}});
        return;
      }
      case client::SessionEventKind::kAnchored: {
        const std::string root = StringOf(event.body, "root", "");
        const std::string batch = StringOf(event.body, "batch", "");
        Emit("anchored", "anchored seq=" + std::to_string(event.seq) + " root=" + root + " batch=" + batch,
             {{"seq", event.seq}, {"root", root}, {"batch", batch}});
        return;
      }
      case client::SessionEventKind::kReconnected:
        Emit("rejoined", "lost tccd; rejoined channel " + Short(options_.channel) + " at seq " + std::to_string(event.seq),
             {{"seq", event.seq}});
        return;
      case client::SessionEventKind::kRejection: {
        const std::string code = StringOf(event.body, "code");
        const std::string text = StringOf(event.body, "text", "");
        Emit("rejection",
             "rejected by the consumer: seq=" + std::to_string(event.seq) + " code=" + code + " " +
                 text,
             {{"seq", event.seq}, {"code", code}, {"text", text}});
        if (role_ == "provider")
          rejected_ = Error(ErrorCode::kConflict, "the consumer rejected the bill for seq " +
                                                      std::to_string(event.seq) + " (" + code +
                                                      ": " + text +
                                                      "); correct --claim and run again to "
                                                      "propose the amended bill");
        return;
      }
      case client::SessionEventKind::kChannel: {
        const Json* closed_by = event.body.Find("closed_by");
        if (closed_by == nullptr || !closed_by->is_object() || closed_said_) return;
        closed_said_ = true;
        const std::string party = StringOf(*closed_by, "party");
        const std::string code = StringOf(*closed_by, "code");
        const std::string text = StringOf(*closed_by, "text", "");
        Emit("closed", "channel closed by " + party + ": " + code + " " + text,
             {{"party", party}, {"code", code}, {"text", text}});
        return;
      }
      case client::SessionEventKind::kProposal:
        return;
    }
  }

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

  // Hands out events (printing them) for `wait`, or until Ctrl-C.
  Status Pump(std::chrono::milliseconds wait) {
    const auto deadline = Clock::now() + wait;
    do {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      TCC_ASSIGN_OR_RETURN(auto event, session_->Poll(std::max(left, std::chrono::milliseconds(0))));
      (void)event;
    } while (Clock::now() < deadline && !Stopping());
    return OkStatus();
  }

  void MaybeProgress(bool force = false) {
    if (!force && Clock::now() - last_progress_ < std::chrono::seconds(5)) return;
    last_progress_ = Clock::now();
    (void)session_->Resync();
    const client::ChannelHead& head = session_->head();
    const std::string root = head.anchored_root.empty() ? "-" : Short(head.anchored_root);
    Emit("progress",
         "progress: " + std::to_string(tally_.tscs) + " TSCs in " + Seconds(tally_.seconds()) + " s (" +
             Rate(tally_.tscs, tally_.seconds()) + "/s), seq " + std::to_string(head.seq) + ", N=" + std::to_string(head.n) +
             ", anchored through seq " + std::to_string(head.anchored_seq) + " (root " + root + ")",
         {{"tscs", tally_.tscs},
          {"seconds", tally_.seconds()},
          {"seq", head.seq},
          {"n", head.n},
          {"anchored_seq", head.anchored_seq},
          {"anchored_root", head.anchored_root}});
  }

  bool Done() const { return Stopping() || session_->head().closed || (count_ != 0 && tally_.tscs >= count_); }

  Json MakeClaim(const Json& claim_template, std::uint64_t seq) const;

  PartyOptions options_;
  std::string role_;
  std::uint64_t count_;
  std::string chain_uri_;
  std::chrono::milliseconds timeout_{kDefaultTimeoutMs};
  std::unique_ptr<client::PartySession> session_;
  Tally tally_;
  Clock::time_point last_progress_ = Clock::now();
  Status rejected_ = OkStatus();  // provider: the consumer rejected the current bill
  bool closed_said_ = false;
};

// The claim for `seq`: the template's members with the interval [start, end) moved to the seq-th
// interval after the template's start (same length). The session sets the channel link and parties.
Json Party::MakeClaim(const Json& claim_template, std::uint64_t seq) const {
  Json claim = claim_template;
  auto start = ParseRfc3339(StringOf(claim_template, "start", ""));
  auto end = ParseRfc3339(StringOf(claim_template, "end", ""));
  if (start.ok() && end.ok() && *end > *start) {
    const auto length = *end - *start;
    const Timestamp from = *start + length * static_cast<std::int64_t>(seq - 1);
    claim.Set("start", FormatRfc3339(from));
    claim.Set("end", FormatRfc3339(from + length));
  }
  return claim;
}

Status Party::RunProvider(const Json& claim_template, std::chrono::milliseconds interval) {
  bool waiting_said = false;
  while (!Done()) {
    // The CLI cannot know the right bill: a rejected one ends the run, and a run with a corrected
    // --claim proposes the amended bill for the same seq.
    if (!rejected_.ok()) return rejected_;
    const auto round_started = Clock::now();
    const std::uint64_t seq = session_->head().seq + 1;
    auto proposed = session_->ProposeNext(MakeClaim(claim_template, seq));
    if (!proposed.ok()) {
      if (proposed.error().code() != ErrorCode::kUnavailable) return proposed.error();
      // The consumer is not connected (yet); the same proposal goes again in a moment.
      if (!waiting_said) std::cerr << "waiting: " << proposed.error().message() << " ...\n";
      waiting_said = true;
      TCC_RETURN_IF_ERROR(Pump(std::chrono::milliseconds(500)));
      continue;
    }
    waiting_said = false;
    // The consumer submits; the TSC comes back as an event. Unanswered, the same proposal is sent
    // again (the consumer co-signs it only once).
    Status issued = session_->AwaitTsc(seq, timeout_);
    if (!issued.ok() && issued.error().code() == ErrorCode::kConflict) {
      // Rejected: the event (printed here) carries the consumer's reason.
      TCC_RETURN_IF_ERROR(Pump(std::chrono::milliseconds(0)));
      return rejected_.ok() ? issued : rejected_;
    }
    if (!issued.ok() && issued.error().code() != ErrorCode::kUnavailable) return issued;
    TCC_RETURN_IF_ERROR(Pump(std::chrono::milliseconds(0)));
    if (!issued.ok()) continue;
    MaybeProgress();
    const auto next = round_started + interval;
    if (!Done() && Clock::now() < next) {
      TCC_RETURN_IF_ERROR(Pump(std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now())));
    }
  }
  // A last look for the anchor of the latest evidence leaf, which is on its way (one anchor
  // interval), so the summary names it.
  TCC_RETURN_IF_ERROR(session_->Resync());
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  while (session_->head().anchored_seq < session_->head().evidence_seq && Clock::now() < deadline) {
    TCC_ASSIGN_OR_RETURN(auto event, session_->Poll(std::chrono::milliseconds(100)));
    (void)event;
  }
  MaybeProgress(true);
  return OkStatus();
}

Status Party::RunConsumer(const BillPolicy& policy) {
  while (!Done()) {
    TCC_ASSIGN_OR_RETURN(auto event, session_->Poll(std::chrono::milliseconds(100)));
    if (!event || event->kind != client::SessionEventKind::kProposal) continue;
    // A bill that breaks the policy is never co-signed; one for a settled seq is a late re-send.
    if (std::optional<wire::Reason> refused = policy.Check(event->body)) {
      if (event->seq <= session_->head().seq) continue;
      auto rejection = session_->Reject(event->body, *refused);
      if (!rejection.ok()) {
        std::cerr << "reject seq=" << event->seq << " refused: " << rejection.error().message()
                  << "\n";
        continue;
      }
      const std::string code(wire::ReasonCodeName(refused->code));
      Emit("rejected",
           "rejected seq=" + std::to_string(event->seq) + " code=" + code + " " + refused->text,
           {{"seq", event->seq}, {"code", code}, {"text", refused->text}});
      continue;
    }
    auto joint = session_->Cosign(event->body);
    if (!joint.ok()) {
      // A late re-proposal of a settled seq is normal after a reconnect; anything else is reported.
      if (event->seq > session_->head().seq) {
        std::cerr << "rejected proposal seq=" << event->seq << ": " << joint.error().message() << "\n";
      }
      continue;
    }
    auto issued = session_->Submit(*joint);
    if (!issued.ok()) {
      if (issued.error().code() == ErrorCode::kVerificationFailed) return issued.error();
      std::cerr << "submit seq=" << event->seq << " refused: " << issued.error().message() << "\n";
    }
  }
  TCC_RETURN_IF_ERROR(Pump(std::chrono::milliseconds(0)));
  return OkStatus();
}

int RunSettle(std::span<const std::string> arguments) {
  PartyOptions options;
  std::string role, tst_file, claim_file, count_text, interval_text, chain_uri;
  std::string max_fee_text, max_unit_price_text, unit_path, tsc_dir;
  CommandLine command_line(
      "settle",
      "Run one party of a channel against tccd until --count TSCs or Ctrl-C.\n"
      "  provider: joins, continues at the channel's last seq, and every --interval proposes the\n"
      "            next settlement (the --claim template for the next interval, seq = last + 1,\n"
      "            prev = last TSC's hash); prints each TSC the TCC issues, anchors, and "
      "progress.\n"
      "  consumer: joins, checks each proposal against the TST, the provider's proof and the\n"
      "            channel (seq/prev), co-signs and submits it; prints each TSC. A bill that "
      "breaks\n"
      "            --max-fee or --max-unit-price is rejected instead, with the reason (the "
      "provider\n"
      "            stops and says why; run it again with a corrected --claim to amend the bill).\n"
      "Both verify every TSC (TCC and parties' proofs, TST, hash link). Ctrl-C stops after the\n"
      "current round and prints a summary; a lost connection (tccd restarted) is re-joined, and a\n"
      "seq is never sent twice with different content. Exit codes: 0 done, 1 a TSC from tccd does\n"
      "not verify, 2 usage, 3 a file, key, or tccd cannot be read or reached.");
  options.Declare(command_line, "The party's key file (required).");
  command_line.Option("role", "provider|consumer", "Which party to run (required).", &role)
      .Option("tst", "FILE", "The TST template the claims follow (required).", &tst_file)
      .Option("claim", "FILE",
              "Provider: the claim template (required). Its members are copied, except channel, "
              "seq, prev,\n"
              "      provider and consumer (set from the channel) and start/end (moved to each "
              "seq's interval).",
              &claim_file)
      .Option("count", "N", "Stop after N TSCs (default 0: until Ctrl-C).", &count_text)
      .Option("interval", "MS", "Provider: time between proposals (default 1000).", &interval_text)
      .Option("chain", "URI", "Only for the evidence verify command the summary prints.",
              &chain_uri)
      .Option("max-fee", "AMOUNT",
              "Consumer: reject (code price) a bill whose fee.amount is above AMOUNT.",
              &max_fee_text)
      .Option("max-unit-price", "AMOUNT",
              "Consumer: reject (code price) a bill whose fee.amount divided by the --unit member "
              "is above AMOUNT.",
              &max_unit_price_text)
      .Option("unit", "PATH",
              "Consumer: the claim member --max-unit-price divides by, e.g. usage.gpuSeconds.",
              &unit_path)
      .Option("tsc-dir", "DIR",
              "Keep every TSC applied in DIR/<channel>/<seq>.json, and refuse a tccd that comes back\n"
              "      behind them or with another TSC at a kept seq (default: beside the key file,\n"
              "      KEY.tscs for KEY.key; 'none' keeps none).",
              &tsc_dir);
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
    BillPolicy policy;
    if (!max_fee_text.empty() || !max_unit_price_text.empty()) {
      if (role != "consumer")
        return UsageError("--max-fee and --max-unit-price are the consumer's policy");
    }
    if (!max_fee_text.empty()) {
      TCC_ASSIGN_OR_RETURN(policy.max_fee, ParseAmount(max_fee_text, "--max-fee"));
    }
    if (!max_unit_price_text.empty()) {
      if (unit_path.empty()) return MissingOption("--unit PATH (with --max-unit-price)");
      TCC_ASSIGN_OR_RETURN(policy.max_unit_price,
                           ParseAmount(max_unit_price_text, "--max-unit-price"));
      policy.unit_path = unit_path;
    }
    TCC_ASSIGN_OR_RETURN(vc::Template tst, ReadTemplate(tst_file, "--tst"));
    Json claim_template;
    if (role == "provider") {
      TCC_ASSIGN_OR_RETURN(claim_template, ReadJson(claim_file));
      if (!claim_template.is_object()) return Error(ErrorCode::kInvalidArgument, claim_file + ": a claim must be an object");
    }
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(options.key));
    InstallStopHandler();
    Party party(options, role, count, chain_uri);
    if (tsc_dir.empty()) {
      // Per key, so that parties whose keys share a directory keep separate copies.
      tsc_dir = std::filesystem::path(options.key).replace_extension(".tscs").string();
    } else if (tsc_dir == "none") {
      tsc_dir.clear();
    }
    TCC_RETURN_IF_ERROR(
        party.Join(std::move(tst), std::make_shared<const did::KeyPair>(std::move(key)), timeout, tsc_dir));
    Status ran = role == "provider"
                     ? party.RunProvider(claim_template, std::chrono::milliseconds(interval))
                     : party.RunConsumer(policy);
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
    client::ConnectOptions connect{.endpoint = options.endpoint(), .tcc_did = options.tcc, .timeout = timeout};
    TCC_ASSIGN_OR_RETURN(auto member, ChannelClient::Connect(std::move(connect), std::make_shared<const did::KeyPair>(std::move(key))));
    auto joined = member->Join(options.channel);
    if (!joined.ok()) return std::move(joined).error().WithContext("join channel " + options.channel);
    TCC_ASSIGN_OR_RETURN(client::EvidenceReply reply, member->GetEvidence(options.channel, seq));
    const Json bundle = chain::EvidenceBundleToJson(reply.bundle);
    Json tsc;
    if (!tsc_out.empty()) {
      TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs, member->Sync(options.channel, reply.anchored_seq - 1, 1));
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

// A member's connection to a channel, joined.
Result<std::unique_ptr<ChannelClient>> JoinAsMember(const PartyOptions& options) {
  TCC_ASSIGN_OR_RETURN(std::chrono::milliseconds timeout, ParseTimeout(options.timeout));
  TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(options.key));
  client::ConnectOptions connect{
      .endpoint = options.endpoint(), .tcc_did = options.tcc, .timeout = timeout};
  TCC_ASSIGN_OR_RETURN(
      auto member, ChannelClient::Connect(std::move(connect),
                                          std::make_shared<const did::KeyPair>(std::move(key))));
  auto joined = member->Join(options.channel);
  if (!joined.ok()) return std::move(joined).error().WithContext("join channel " + options.channel);
  return member;
}

int RunDisputeShow(std::span<const std::string> arguments) {
  PartyOptions options;
  std::string from_text;
  CommandLine command_line(
      "dispute show",
      "Fetch a channel's dispute record from tccd (as a member: provider, consumer or\n"
      "auditor): every rejected bill (seq, which proposal, who, when, code and text) and, if a\n"
      "party closed the channel, the TCC's closing record with, once tccd anchored it, the\n"
      "evidence bundle of its own leaf. Each document's signature (and the bundle's Merkle path)\n"
      "is verified before it is shown.");
  std::string closing_out, evidence_out;
  options.Declare(command_line, "A channel member's key file (required).");
  command_line
      .Option("from-seq", "N", "Only rejections of seq N and later (default 1).", &from_text)
      .Option("closing-out", "FILE",
              "Write the closing record here (for tcc evidence verify --closing).", &closing_out)
      .Option("evidence-out", "FILE",
              "Write the closing record's evidence bundle here (fails if not anchored yet).",
              &evidence_out);
  return RunCommand(command_line, "dispute show", arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(options.Check());
    std::uint64_t from_seq = 1;
    if (!from_text.empty()) {
      TCC_ASSIGN_OR_RETURN(from_seq, ParseUint(from_text, "--from-seq"));
      if (from_seq == 0) return UsageError("--from-seq must be at least 1");
    }
    TCC_ASSIGN_OR_RETURN(auto member, JoinAsMember(options));
    TCC_ASSIGN_OR_RETURN(client::DisputeRecord record, member->Disputes(options.channel, from_seq));
    auto resolver = CliResolver();
    TCC_RETURN_IF_ERROR(
        client::VerifyDisputeRecord(record, options.channel, options.tcc, *resolver));
    if (!closing_out.empty()) {
      if (!record.closing)
        return Error(ErrorCode::kNotFound, "no party closed the channel: no closing record");
      TCC_RETURN_IF_ERROR(WriteFileAtomic(closing_out, record.closing->SerializePretty() + "\n"));
    }
    if (!evidence_out.empty()) {
      if (!record.closing_evidence) {
        return Error(ErrorCode::kNotFound,
                     "the closing record is not anchored yet (or no party closed the channel)");
      }
      TCC_RETURN_IF_ERROR(WriteFileAtomic(
          evidence_out,
          chain::EvidenceBundleToJson(*record.closing_evidence).SerializePretty() + "\n"));
    }
    if (options.json) {
      Json out = Json::Object();
      out.Set("channel", options.channel);
      Json rejections = Json::Array();
      for (const Json& entry : record.rejections) rejections.PushBack(entry);
      out.Set("rejections", std::move(rejections));
      if (record.closing) out.Set("closing", *record.closing);
      if (record.closing_evidence)
        out.Set("closing_evidence", chain::EvidenceBundleToJson(*record.closing_evidence));
      std::cout << out.SerializePretty() << "\n";
      return OkStatus();
    }
    for (const Json& entry : record.rejections) {
      const Json& rejection = *entry.Find("rejection");
      const Json* proof = rejection.Find("proof");
      std::cout << "rejected seq=" << static_cast<std::uint64_t>(rejection.Find("seq")->as_number())
                << " proposal=" << StringOf(rejection, "proposal_hash") << " by "
                << StringOf(rejection, "consumer") << " at " << StringOf(*proof, "created")
                << " code=" << StringOf(rejection, "code") << " " << StringOf(rejection, "text", "")
                << "\n";
    }
    if (record.closing) {
      std::cout << "closed by " << StringOf(*record.closing, "party") << " at "
                << StringOf(*record.closing, "closed")
                << " code=" << StringOf(*record.closing, "code") << " "
                << StringOf(*record.closing, "text", "") << " (last seq "
                << static_cast<std::uint64_t>(record.closing->Find("last_seq")->as_number())
                << ", signed by the TCC)\n";
      if (record.closing_evidence) {
        std::cout << "closing record anchored in batch " << record.closing_evidence->batch_id
                  << " at height " << record.closing_evidence->receipt.height << " on "
                  << record.closing_evidence->receipt.adapter << "\n";
      } else {
        std::cout << "closing record not anchored yet\n";
      }
    }
    if (record.rejections.empty() && !record.closing) std::cout << "no disputes\n";
    return OkStatus();
  });
}

int RunDisputeClose(std::span<const std::string> arguments) {
  PartyOptions options;
  std::string code_text, text;
  CommandLine command_line("dispute close",
                           "Close a channel as one of its parties, with a reason. tccd lets a "
                           "settlement in flight finish,\n"
                           "signs a closing record (who, why, the last TSC), anchors the last TSC "
                           "and tells the other party.\n"
                           "Prints the closing record.");
  options.Declare(command_line, "The provider's or consumer's key file (required).");
  command_line
      .Option("code", "CODE", "wrong_amount, wrong_usage, price or other (required).", &code_text)
      .Option("text", "TEXT", "Why, for people (at most 1024 bytes).", &text);
  return RunCommand(command_line, "dispute close", arguments, [&]() -> Status {
    TCC_RETURN_IF_ERROR(options.Check());
    if (code_text.empty()) return MissingOption("--code CODE");
    auto code = wire::ReasonCodeFromName(code_text);
    if (!code)
      return UsageError("--code must be wrong_amount, wrong_usage, price or other, not \"" +
                        code_text + "\"");
    if (text.size() > wire::kMaxReasonTextBytes)
      return UsageError("--text is at most 1024 bytes");
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(options.key));
    TCC_ASSIGN_OR_RETURN(Json request,
                         wire::MakeCloseRequest(options.channel, {*code, text}, key));
    TCC_ASSIGN_OR_RETURN(auto member, JoinAsMember(options));
    TCC_ASSIGN_OR_RETURN(Json closing, member->Close(options.channel, request));
    auto verified = wire::VerifyClosingRecord(closing, options.tcc, *CliResolver());
    if (!verified.ok()) return std::move(verified).error().WithContext("closing record from tccd");
    std::cout << closing.SerializePretty() << "\n";
    return OkStatus();
  });
}

}  // namespace

std::vector<Command> ChannelCommands() {
  return {
      {"settle", "Run a provider or consumer on a channel: propose/co-sign every interval",
       RunSettle},
      {"evidence show", "Fetch a TSC's evidence bundle from tccd (channel member)",
       RunEvidenceShow},
      {"dispute show",
       "Show a channel's rejected bills and closing record, verified (channel member)",
       RunDisputeShow},
      {"dispute close", "Close a channel with a reason (provider or consumer)", RunDisputeClose},
  
  };
}

}  // namespace tcc::cli
