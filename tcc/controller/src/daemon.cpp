#include "tcc/controller/daemon.h"

#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <utility>

#include "admission.h"
#include "chain_crosscheck.h"
#include "chain_watch.h"
#include "channel_recovery.h"
#include "channel_opening.h"
#include "channel_state_machine.h"
#include "connection_table.h"
#include "chain_service.h"
#include "control_api.h"
#include "dispute_handler.h"
#include "in_flight.h"
#include "negotiation.h"
#include "requester.h"
#include "store_backup_online.h"
#include "store_check.h"
#include "store_evidence_source.h"
#include "store_guard.h"
#include "store_writer.h"
#include "tcc/chain/factory.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/sha256.h"
#include "tcc/common/thread_name.h"
#include "tcc/common/thread_safety.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/controller/chain_template_registry.h"
#include "channel_store.h"
#include "tcc/wire/dispute.h"
#include "tcc/controller/log.h"
#include "metrics.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"
#include "tcc/did/challenge.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"
#include "template_cache.h"
#include "work_queue.h"

namespace tcc::controller {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr char kPartyMonitorEndpoint[] = "inproc://tcc.party.monitor";
// Replies carrying TSCs (channel.sync) stay well under the client's frame limit.
constexpr std::size_t kMaxSyncReplyBytes = wire::kMaxFrameBytes / 2;
constexpr std::size_t kMaxReceivesPerWake = 512;
// channel.sync and evidence.get answers in preparation per connection (each up to a frame).
constexpr std::size_t kMaxLargeRequestsInFlight = 4;
// control.backup answers with the manifest's channels up to this many (about 250 bytes each).
constexpr std::size_t kMaxBackupChannelsAnswered = 500;

std::uint64_t UnixMillis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

Json StringArray(const std::vector<std::string>& values) {
  Json array = Json::Array();
  for (const auto& value : values) array.PushBack(value);
  return array;
}

struct ChannelRuntime {
  explicit ChannelRuntime(ChannelRecord stored) : machine(std::move(stored)) {}
  // The record with the pending head (handed to the store writer) and the current settings.
  const ChannelRecord& record() const { return machine.record(); }

  // Heads, waiting submissions, closing, settings not stored yet, the negotiation.
  ChannelStateMachine machine;
  std::shared_ptr<const vc::Template> tst;
  std::uint64_t anchored_seq = 0;
  std::vector<Requester> settings_requesters;  // answered once the change is stored
  std::vector<Requester> close_requesters;
  std::set<std::string> members;  // routing ids of admitted connections
  // A close a party asked for (its signed request), answered with the closing record once closed.
  std::optional<Json> close_request;
  std::vector<Requester> party_close_requesters;
  std::optional<Json> closing_record;  // the TCC-signed record of a close a party asked for
};

Status CheckClaimParty(const Json& claim, std::string_view role, const std::string& expected,
                       const std::string& channel_id) {
  auto named = claim.GetString(role);
  if (!named.ok()) return named.error().WithContext("claim");
  if (*named == expected) return OkStatus();
  return Error(ErrorCode::kPermissionDenied, "the claim names " + std::string(*named) + " as " + std::string(role) +
                                                 "; the " + std::string(role) + " of channel " + channel_id + " is " +
                                                 expected);
}

std::string ClaimHash(const Json& claim, Status& status) {
  auto canonical = vc::Canonicalize(claim);
  if (!canonical.ok()) {
    status = canonical.error();
    return {};
  }
  return HexEncode(Sha256(AsBytes(*canonical)));
}

// Reads the key, or creates it if there is no file: never replaces one (a key that cannot be read
// is an error to report, not a file to overwrite).
Result<did::KeyPair> LoadOrCreateKey(const std::string& path, std::string_view what, bool& created) {
  created = false;
  auto key = did::KeyPair::ReadFile(path);
  if (key.ok()) return key;
  if (key.error().code() != ErrorCode::kNotFound)
    return std::move(key).error().WithContext(std::string(what));
  did::KeyPair generated = did::KeyPair::Generate();
  if (Status written = generated.WriteFile(path, /*overwrite=*/false); !written.ok()) {
    return std::move(written).error().WithContext("create " + std::string(what));
  }
  created = true;
  return generated;
}

}  // namespace

class Daemon::Impl {
 public:
  explicit Impl(DaemonConfig config) : config_(std::move(config)) {}
  ~Impl() {
    Stop();
    // After a start that failed half-way there was no loop to drain, so the threads that post to
    // loop_ or use the store, metrics and chain may still run: they end here, in this order,
    // before anything they use is destroyed. Pending evidence stays in the store for the next
    // start instead of a drain holding up the failed one.
    vc_api_.reset();
    if (anchor_) anchor_->Stop(/*drain=*/false);
    workers_.reset();
    writer_.reset();
    anchor_.reset();
  }

  Status Start();
  void Stop();
  Status Wait();

  std::string did_;
  std::string listen_endpoint_;
  std::string control_endpoint_;
  std::string admin_key_file_;
  std::string metrics_address_;
  std::string vc_api_address_;

 private:
  // --- set-up ---
  Status LoadKeys();
  Status OpenChainAndStore();
  Status RecoverChannels();
  Status BindSockets();
  Status StartVcApi();
  Result<std::shared_ptr<const vc::Template>> GetTemplate(const std::string& id,
                                                          std::uint32_t version) {
    return templates_->Get(id, version);
  }

  // --- the loop (I/O thread) ---
  void RunLoop();
  void HandleZap();
  void HandleParty(std::vector<wire::ReceivedFrame> frames);
  void HandleControl(std::vector<wire::ReceivedFrame> frames);
  void Sweep();
  void BeginDrain();
  bool Drained() const;
  void FinishDrain();

  void Reply(const Requester& to, std::string frame);
  void ReplyError(const Requester& to, const Error& error);
  // false when nothing was sent (the peer was disconnected or its queue is full).
  bool SendParty(Connection& connection, std::string_view frame);
  // Sends to the channel's admitted members (only those in `only`'s role); returns how many got it.
  std::size_t Publish(ChannelRuntime& channel, std::string_view frame, std::optional<Role> only = std::nullopt);
  // Applies the socket monitor's events to the connection table.
  void DrainMonitor();
  void OnForgetting(const Connection& connection);
  void CountRejection(const Error& error) {
    ++rejected_[std::string(ErrorCodeName(error.code()))];
    metrics_->Rejected(ErrorCodeName(error.code()));
  }
  void UpdateGauges();

  // Runs `work` on a worker; the closure it returns runs back on the loop.
  void Async(std::function<Task()> work);
  // The store writer's callback for a write: `done` runs on the loop with the write's outcome.
  // Until then the write counts as work in flight and as a store write on its way.
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done);
  // The same for a party's request, counted against its connection's requests in flight
  // (`large`: its answer may be up to a frame, e.g. channel.sync).
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work);

  // party requests
  void AuthBegin(Connection& connection, const Requester& from, const wire::Message& message);
  void AuthProve(Connection& connection, const Requester& from, const wire::Message& message);
  void Propose(const Requester& from, Role role, ChannelRuntime& channel, const wire::Message& message);
  void Submit(const Requester& from, Role role, ChannelRuntime& channel, const wire::Message& message);
  void Sync(const Requester& from, ChannelRuntime& channel, const wire::Message& message);
  void EvidenceGet(const Requester& from, ChannelRuntime& channel, const wire::Message& message);
  // disputes (dispute_handler.h): the daemon's side of them
  class DisputeHost;
  void ClosePerParty(const std::string& channel_id, Json request, const Requester& from);
  // settlement pipeline: the channel's state machine decides, these carry out its effects
  void Apply(ChannelRuntime& channel, Effects effects);
  void Issue(ChannelRuntime& channel, Submission submission);
  void Replay(ChannelRuntime& channel, Submission submission);
  void CommitTsc(ChannelRuntime& channel, effect::Commit commit);
  void Acknowledge(ChannelRuntime& channel, const effect::Acknowledge& acknowledged);
  void WriteSettings(ChannelRuntime& channel);
  void Pump(ChannelRuntime& channel) { Apply(channel, channel.machine.Pump(StoreStatus())); }
  void PersistSettings(ChannelRuntime& channel) {
    Apply(channel, channel.machine.SettingsChanged(StoreStatus()));
  }
  std::uint64_t EffectiveN(const ChannelRecord& record);

  // store failure and recovery (loop thread)
  // Ok while the store writes; else the error settlements are refused with.
  Status StoreStatus() const { return store_guard_->status(); }
  void OnStoreWriteFailed(std::string_view what, const std::string& channel_id, const Error& error);
  bool ChannelsQuiet() const;
  void ProbeStore();
  void OnStoreRecovered(const StoreGuard::Recovery& recovery, std::chrono::milliseconds down);
  void ReportStoreHealth();

  // channels
  void OpenChannel(const std::string& tic_id, std::optional<Requester> requester);
  void OnPrepared(Result<PreparedChannel> prepared, const std::string& tic_id, std::optional<Requester> requester);
  void CloseChannel(ChannelRuntime& channel);
  void OnAnchored(const std::vector<chain::EvidenceBundle>& bundles);
  Json ChannelStateJson(const ChannelRuntime& channel);
  Json PolicyJson(const ChannelRuntime* channel);

  // control requests
  void ControlPolicy(const Requester& from, const wire::Message& message);
  void ControlHealth(const Requester& from);
  // recovery (chain_crosscheck.h, channel_recovery.h): a party's channel.recover (`role`) or an
  // operator's control.recover (no role: it also ends the recovering state)
  void Recover(const Requester& from, std::optional<Role> role, ChannelRuntime& channel,
               const wire::Message& message);
  void OnRecovered(const Requester& from, std::optional<Role> role, bool finishing,
                   const std::string& channel_id, Result<RecoveredTscs> recovered);
  void ControlBackup(const Requester& from, const wire::Message& message);
  // The refusal of a channel whose stored records cannot be read (store_check.h), if it is one.
  std::optional<Error> Refused(std::string_view channel_id) const;

  DaemonConfig config_;
  // The global policy members set through control.policy, stored (control_api.h); loop thread.
  Json stored_policy_ = Json::Object();
  // Worker tasks and store writes whose completion has not run on the loop (a drain waits for
  // them), and the store's state. Before loop_: completions still queued at destruction hold their
  // tokens, released when loop_ is destroyed.
  InFlight outstanding_;
  std::unique_ptr<StoreGuard> store_guard_;
  // Before everything that posts to it (anchor service, store writer, workers, watcher), so it is
  // destroyed after them.
  LoopQueue loop_;
  std::optional<did::KeyPair> key_;
  wire::CurveKeyPair curve_;
  std::unique_ptr<Admission> admission_;  // ZAP, channel admission, rate limits

  std::shared_ptr<chain::ChainAdapter> adapter_;
  std::shared_ptr<did::CachingResolver> resolver_;
  std::unique_ptr<TemplateCache> templates_;
  std::unique_ptr<DaemonMetrics> metrics_;
  std::unique_ptr<ChannelStore> store_;
  // Channels the start-up cross-check found behind or contradicted by the chain; they do not
  // settle until restored (shared with the VC-API's /healthz).
  std::shared_ptr<RecoveryBook> recovery_ = std::make_shared<RecoveryBook>();
  std::uint64_t recovering_found_ = 0;  // by this start's cross-check, for the metric
  std::mutex restore_mutex_;            // held by a worker restoring TSCs (Recover)
  std::unique_ptr<AnchorService> anchor_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<WorkerPool> workers_;
  std::unique_ptr<DisputeHost> dispute_host_;
  class ChainHost;  // lends the chain service (chain_service.h) the daemon's loop and sockets
  std::unique_ptr<ChainHost> chain_host_;
  std::unique_ptr<ChainService> chain_service_;
  std::unique_ptr<DisputeHandler> disputes_;

  std::shared_ptr<wire::ZmqContext> zmq_;
  std::optional<wire::ZmqSocket> zap_;
  std::optional<wire::ZmqSocket> party_;
  std::optional<wire::ZmqSocket> party_monitor_;  // accepts and disconnects on party_
  std::optional<wire::ZmqSocket> control_;

  // Loop-thread state.
  std::map<std::string, ChannelRuntime, std::less<>> channels_;
  std::unique_ptr<ConnectionTable> peers_;
  bool draining_ = false;
  Clock::time_point drain_deadline_;
  Clock::time_point next_sweep_;
  std::uint64_t issued_ = 0;
  std::uint64_t replayed_ = 0;
  std::map<std::string, std::uint64_t> rejected_;
  std::uint64_t dropped_events_ = 0;
  // The start-up read check (store_check.h): the store-wide read error, and the channels refused
  // because their records cannot be read (id -> LevelDB's error). Set before the loop starts.
  std::string store_read_error_;
  std::map<std::string, std::string, std::less<>> refused_;
  bool backup_running_ = false;  // control.backup: one at a time

  Mutex stop_mutex_;  // one Stop joins the threads; a concurrent one waits for it
  std::thread loop_thread_;
  std::unique_ptr<ChainWatchThread> watch_;  // with auto_open
  std::atomic<bool> stop_requested_{false};
  Mutex state_mutex_;
  CondVar stopped_cv_;
  bool stopped_ TCC_GUARDED_BY(state_mutex_) = false;
  Status final_status_ TCC_GUARDED_BY(state_mutex_) = OkStatus();
  // Last: destroyed first, so no HTTP request still reads the store, resolver or metrics.
  std::unique_ptr<vcapi::Server> vc_api_;
};

// ---------------------------------------------------------------------------------------------
// Set-up and shutdown

Status Daemon::Impl::LoadKeys() {
  bool created = false;
  TCC_ASSIGN_OR_RETURN(did::KeyPair key, LoadOrCreateKey(config_.key_file, "TCC key", created));
  did_ = did::DidKeyFromPublicKey(key.public_key());
  if (created) Log(LogLevel::kInfo, "created TCC key", {{"file", config_.key_file}, {"did", did_}});
  curve_ = wire::CurveKeyPair::FromDidKey(key);
  key_.emplace(std::move(key));

  std::vector<std::string> admins = config_.admin_dids;
  if (admins.empty()) {
    admin_key_file_ = config_.data_dir + "/admin.key";
    TCC_ASSIGN_OR_RETURN(did::KeyPair admin, LoadOrCreateKey(admin_key_file_, "admin key", created));
    if (created) Log(LogLevel::kInfo, "created admin key", {{"file", admin_key_file_}});
    admins.push_back(did::DidKeyFromPublicKey(admin.public_key()));
  }
  std::set<std::string> admin_curve_keys;  // hex
  for (const auto& admin : admins) {
    auto public_key = did::ParseDidKey(admin);
    if (!public_key.ok()) return std::move(public_key).error().WithContext("admin DID " + admin);
    TCC_ASSIGN_OR_RETURN(did::X25519PublicKey x25519, did::X25519FromEd25519(*public_key));
    admin_curve_keys.insert(HexEncode(x25519));
  }
  admission_ = std::make_unique<Admission>(
      did_, std::move(admin_curve_keys),
      Admission::Options{config_.limits.auth_rate_per_source, config_.limits.challenge_ttl},
      [this](std::string_view reason) { metrics_->AuthFailed(reason); });
  return OkStatus();
}

Status Daemon::Impl::OpenChainAndStore() {
  // A node that does not answer yet does not stop tccd (under systemd it may boot later): tccd
  // starts degraded, settles, queues evidence and opens the adapter once the node answers.
  bool deferred = false;
  auto adapter = chain::OpenChainAdapterOrDefer(config_.chain_uri, {}, std::chrono::seconds(1), &deferred);
  if (!adapter.ok()) return std::move(adapter).error().WithContext("open chain " + config_.chain_uri);
  adapter_ = std::shared_ptr<chain::ChainAdapter>(std::move(adapter).value());
  if (deferred) {
    auto status = adapter_->Status();
    Log(LogLevel::kWarning, "chain unreachable at start; starting degraded",
        {{"chain", config_.chain_uri}, {"error", status.ok() ? std::string() : status.error().message()}});
  }
  resolver_ = MakeChainResolver(adapter_);
  auto store = ChannelStore::Open(config_.data_dir + "/store");
  if (!store.ok()) return std::move(store).error().WithContext("open store");
  store_ = std::move(store).value();
  store_guard_ = std::make_unique<StoreGuard>(*store_);
  templates_ = std::make_unique<TemplateCache>(adapter_, *store_);
  return OkStatus();
}

Status Daemon::Impl::RecoverChannels() {
  TCC_ASSIGN_OR_RETURN(auto records, store_->ListChannels());
  StoreReadCheck read_check = CheckStoreReadable(*store_, records);
  if (!read_check.ok()) {
    store_read_error_ = read_check.store_error;
    if (!read_check.unreadable.empty()) store_->TolerateUnreadablePending();
    Log(LogLevel::kError, "store has unreadable records; the channels they belong to are refused",
        {{"error", store_read_error_},
         {"channels", static_cast<std::uint64_t>(read_check.unreadable.size())}});
  }
  for (auto& record : records) {
    if (auto unreadable = read_check.unreadable.find(record.channel_id);
        unreadable != read_check.unreadable.end()) {
      Log(LogLevel::kError, "channel refused: its records cannot be read",
          {{"channel", record.channel_id}, {"error", unreadable->second}});
      refused_.emplace(record.channel_id, unreadable->second);
      continue;
    }
    auto tst = GetTemplate(record.tst_id, record.tst_version);
    if (!tst.ok()) return std::move(tst).error().WithContext("recover channel " + record.channel_id);
    if (record.last_seq > 0) {
      // The record and its head TSC are written in one batch; a mismatch is a damaged store.
      auto head = store_->GetTsc(record.channel_id, record.last_seq);
      if (!head.ok() || head->tsc_hash != record.last_hash) {
        return Error(ErrorCode::kInternal, "store: channel " + record.channel_id + " names TSC " +
                                               std::to_string(record.last_seq) + " which is missing or differs");
      }
    }
    TCC_ASSIGN_OR_RETURN(std::uint64_t anchored, store_->AnchoredSeq(record.channel_id));
    ChannelRuntime runtime(record);
    runtime.tst = std::move(tst).value();
    runtime.anchored_seq = anchored;
    TCC_RETURN_IF_ERROR(RecoverNegotiation(*store_, record, runtime.machine.negotiation()));
    if (record.state == ChannelState::kClosed) {
      TCC_ASSIGN_OR_RETURN(std::optional<std::string> closing,
                           store_->GetClosingRecord(record.channel_id));
      if (closing) {
        auto parsed = Json::Parse(*closing);
        if (!parsed.ok())
          return std::move(parsed).error().WithContext("closing record of " + record.channel_id);
        // The record and the close are two ordered writes: a record left by a party's close that
        // a crash interrupted names another head than a later close, and is not this close's.
        const Json* last_seq = parsed->Find("last_seq");
        if (last_seq != nullptr && last_seq->is_number() &&
            last_seq->as_number() == static_cast<double>(record.last_seq)) {
          runtime.closing_record = std::move(parsed).value();
        }
      }
    }
    const std::string id = record.channel_id;
    channels_.emplace(id, std::move(runtime));
  }
  return OkStatus();
}

Status Daemon::Impl::BindSockets() {
  TCC_ASSIGN_OR_RETURN(zmq_, wire::ZmqContext::Create(1));
  // The ZAP handler must be bound before any CURVE socket, or libzmq admits everyone.
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket zap, wire::ZmqSocket::Create(zmq_, wire::SocketType::kRep));
  TCC_RETURN_IF_ERROR(zap.Bind(kZapEndpoint));
  zap_.emplace(std::move(zap));

  auto make_server = [&](std::string_view domain) -> Result<wire::ZmqSocket> {
    TCC_ASSIGN_OR_RETURN(wire::ZmqSocket socket, wire::ZmqSocket::Create(zmq_, wire::SocketType::kRouter));
    TCC_RETURN_IF_ERROR(socket.SetCurveServer(curve_, domain));
    TCC_RETURN_IF_ERROR(socket.SetRouterMandatory());
    // A peer that sends a frame over the limit is disconnected by libzmq before we see it.
    TCC_RETURN_IF_ERROR(socket.SetMaxMessageSize(static_cast<std::int64_t>(wire::kMaxFrameBytes)));
    TCC_RETURN_IF_ERROR(socket.SetHighWaterMarks(100000, 100000));
    TCC_RETURN_IF_ERROR(socket.SetHeartbeat(std::chrono::seconds(5), std::chrono::seconds(30)));
    TCC_RETURN_IF_ERROR(socket.SetHandshakeTimeout(std::chrono::seconds(10)));
    return socket;
  };
  auto bind = [](wire::ZmqSocket& socket, const std::string& endpoint, std::string& bound) -> Status {
    TCC_RETURN_IF_ERROR(socket.Bind(endpoint));
    TCC_ASSIGN_OR_RETURN(bound, socket.LastEndpoint());
    return OkStatus();
  };
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket party, make_server(kPartyDomain));
  // Monitored before it is bound, so every accept is seen.
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket monitor, party.Monitor(kPartyMonitorEndpoint));
  TCC_RETURN_IF_ERROR(bind(party, config_.listen, listen_endpoint_));
  party_monitor_.emplace(std::move(monitor));
  party_.emplace(std::move(party));
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket control, make_server(kControlDomain));
  TCC_RETURN_IF_ERROR(bind(control, config_.control, control_endpoint_));
  control_.emplace(std::move(control));
  peers_ = std::make_unique<ConnectionTable>(
      ConnectionLimits{.max_admitted = config_.limits.max_connections,
                       .max_unauthenticated = config_.limits.max_unauthenticated_connections,
                       .max_per_source = config_.limits.max_connections_per_source,
                       .max_challenges_per_connection = config_.limits.max_challenges_per_connection,
                       .unauthenticated_timeout = config_.limits.unauthenticated_timeout,
                       .idle_timeout = config_.limits.idle_timeout,
                       .max_queued_bytes_per_peer = config_.limits.max_queued_bytes_per_connection,
                       .max_queued_bytes_total = config_.limits.max_queued_bytes_total},
      ConnectionTable::Hooks{.forgetting = [this](const Connection& connection) { OnForgetting(connection); },
                             .disconnected = [this](std::string_view reason) { metrics_->PeerDisconnected(reason); }});
  return OkStatus();
}

Status Daemon::Impl::StartVcApi() {
  if (config_.vc_api.listen.empty()) return OkStatus();
  // The TCC key signs settlements only: anything it signed over this endpoint would carry the
  // TCC's authority (a second "TSC" for a settled seq, say). Issuing therefore needs a key of its
  // own, and the TCC key is refused in that role even when configured on purpose.
  std::optional<did::KeyPair> issuer_key;
  const std::string& key_file = config_.vc_api_issuer_key_file;
  if (!key_file.empty()) {
    auto read = did::KeyPair::ReadFile(key_file);
    if (!read.ok()) return std::move(read).error().WithContext("vc-api issuer key " + key_file);
    if (read->public_key() == key_->public_key()) {
      return Error(ErrorCode::kInvalidArgument,
                   "vc-api issuer key " + key_file +
                       " is the TCC's own key, which signs settlements only; create a separate "
                       "issuer key (tcc key new --out FILE) for --vc-api-issuer-key");
    }
    issuer_key = std::move(read).value();
  }
  if (!config_.vc_api.token_file.empty() && !issuer_key) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc-api: issuing (--vc-api-token-file) needs an issuer key of its own "
                 "(--vc-api-issuer-key FILE, config vc_api.issuer_key_file); the TCC key signs "
                 "settlements only");
  }
  auto service = std::make_shared<const vcapi::CredentialService>(vcapi::CredentialService::Parts{
      did::DidDocument::ForDidKey(key_->public_key()), std::move(issuer_key), resolver_,
      [this](const std::string& id, std::uint32_t version) { return GetTemplate(id, version); },
      adapter_, std::make_shared<StoreEvidenceSource>(*store_, recovery_, 1000, store_read_error_)});
  vcapi::ServerHooks hooks;
  hooks.on_request = [this](std::string_view endpoint) { metrics_->VcApiRequest(endpoint); };
  hooks.on_rejected = [this](std::string_view, ErrorCode code) { metrics_->VcApiRejected(ErrorCodeName(code)); };
  hooks.on_log = [](std::string_view message) { Log(LogLevel::kWarning, "vc-api", {{"message", message}}); };
  TCC_ASSIGN_OR_RETURN(vc_api_, vcapi::Server::Start(config_.vc_api, std::move(service), std::move(hooks)));
  vc_api_address_ = vc_api_->bound_address();
  return OkStatus();
}

Status Daemon::Impl::Start() {
  if (!loop_.valid()) return Error(ErrorCode::kInternal, "eventfd: " + std::string(std::strerror(errno)));
  TCC_RETURN_IF_ERROR(tcc::EnsurePrivateDirectory(config_.data_dir, "data directory"));
  TCC_RETURN_IF_ERROR(LoadKeys());
  TCC_RETURN_IF_ERROR(OpenChainAndStore());
  TCC_RETURN_IF_ERROR(RecoverChannels());

  AnchorServiceOptions anchoring = config_.anchoring;
  if (anchoring.batch_id_prefix == AnchorServiceOptions{}.batch_id_prefix) anchoring.batch_id_prefix = did_;
  // Before the anchor service draws batch ids: it would skip the ids that show the store behind.
  std::set<std::string, std::less<>> refused;
  for (const auto& [id, error] : refused_) refused.insert(id);
  TCC_ASSIGN_OR_RETURN(StartupCrossCheck cross_check,
                       RunStartupCrossCheck(*store_, *adapter_, anchoring.batch_id_prefix, *recovery_, refused));
  for (const auto& [id, seq] : cross_check.anchored_on_chain) {
    if (auto channel = channels_.find(id); channel != channels_.end()) channel->second.anchored_seq = seq;
  }
  recovering_found_ = cross_check.newly_recovering;
  auto metrics = DaemonMetrics::Create(config_.metrics, did_, adapter_->name());
  if (!metrics.ok()) return std::move(metrics).error().WithContext("metrics");
  metrics_ = std::move(metrics).value();
  metrics_address_ = metrics_->bound_address();
  metrics_->ChannelsRecoveringFound(recovering_found_);
  metrics_->SetStoreReadable(store_read_error_.empty(), static_cast<std::int64_t>(refused_.size()));
  // What was set live through control.policy outlives a restart (control_api.h).
  AnchorPolicyOptions policy = config_.policy;
  if (auto stored = store_->GetValue(control::kStoredPolicyKey); stored.ok()) {
    auto read = control::ReadStoredPolicy(*stored);
    if (!read.ok()) return std::move(read).error().WithContext("store " + config_.data_dir + "/store");
    stored_policy_ = std::move(read).value();
    policy = control::ApplyStoredPolicy(stored_policy_, policy);
    Log(LogLevel::kInfo, "global policy restored", {{"set_live", stored_policy_}});
  } else if (stored.error().code() != ErrorCode::kNotFound) {
    return std::move(stored).error().WithContext("reading the stored global policy");
  }
  anchor_ = std::make_unique<AnchorService>(
      adapter_, *store_, anchoring, policy,
      [this](const std::vector<chain::EvidenceBundle>& bundles, std::chrono::microseconds latency) {
        metrics_->AnchorBatch(bundles.size(), static_cast<double>(latency.count()) / 1e6);
        loop_.Post([this, bundles] { OnAnchored(bundles); });
      });
  anchor_->OnAdapterError([this](const Error& error) {
    metrics_->AdapterError(ErrorCodeName(error.code()));
    // One per failed anchor attempt: bounded by the anchor interval and the retry backoff.
    Log(LogLevel::kWarning, "chain adapter error",
        {{"kind", std::string(ErrorCodeName(error.code()))}, {"error", error.message()}});
  });
  TCC_RETURN_IF_ERROR(anchor_->Start());
  writer_ = std::make_unique<StoreWriter>(*store_, [this](double seconds, std::size_t tscs) {
    metrics_->StoreWrite(seconds, tscs);
  });
  workers_ = std::make_unique<WorkerPool>(config_.workers, "tcc-worker");
  dispute_host_ = std::make_unique<DisputeHost>(*this);
  disputes_ =
      std::make_unique<DisputeHandler>(*dispute_host_, *writer_, *store_, *resolver_, *metrics_);
  chain_host_ = std::make_unique<ChainHost>(*this);
  chain_service_ = std::make_unique<ChainService>(*chain_host_, adapter_);
  TCC_RETURN_IF_ERROR(BindSockets());
  TCC_RETURN_IF_ERROR(StartVcApi());

  std::uint64_t settled = 0;
  for (const auto& [id, channel] : channels_) settled += channel.machine.acknowledged().seq;
  Log(LogLevel::kInfo, "ready",
      {{"did", did_},
       {"listen", listen_endpoint_},
       {"control", control_endpoint_},
       {"metrics", metrics_address_},
       {"vc_api", vc_api_address_},
       {"chain", config_.chain_uri},
       {"data_dir", config_.data_dir},
       {"channels", static_cast<std::uint64_t>(channels_.size())},
       {"recovered_tscs", settled},
       {"workers", static_cast<std::uint64_t>(workers_->size())}});

  if (config_.auto_open) {
    // Made before the loop starts, which may ask it to stop.
    watch_ = std::make_unique<ChainWatchThread>(
        adapter_, resolver_, *store_, did_, config_.chain_poll_wait,
        [this](const std::string& tic_id) {
          loop_.Post([this, tic_id] { OpenChannel(tic_id, std::nullopt); });
        });
  }
  loop_thread_ = std::thread([this] {
    SetCurrentThreadName("tcc-loop");
    RunLoop();
  });
  if (watch_) watch_->Start();
  return OkStatus();
}

void Daemon::Impl::Stop() {
  MutexLock lock(stop_mutex_);
  stop_requested_ = true;
  loop_.Post([] {});
  if (loop_thread_.joinable()) loop_thread_.join();
  if (watch_) watch_->Stop();
}

Status Daemon::Impl::Wait() {
  MutexLock lock(state_mutex_);
  while (!stopped_) stopped_cv_.Wait(state_mutex_);
  return final_status_;
}

// ---------------------------------------------------------------------------------------------
// The loop

void Daemon::Impl::RunLoop() {
  std::vector<wire::PollItem> items = {{&*zap_, -1}, {nullptr, loop_.fd()}, {&*party_, -1}, {&*control_, -1}, {&*party_monitor_, -1}};
  std::vector<bool> ready;
  next_sweep_ = Clock::now() + std::chrono::seconds(1);
  while (true) {
    if (stop_requested_ && !draining_) BeginDrain();
    if (draining_ && (Drained() || Clock::now() > drain_deadline_)) break;
    if (Status polled = wire::PollReadable(items, std::chrono::milliseconds(200), ready); !polled.ok()) {
      Log(LogLevel::kError, "poll failed", {{"error", polled.error().ToString()}});
      MutexLock lock(state_mutex_);
      final_status_ = polled;
      break;
    }
    if (ready[0]) HandleZap();
    if (ready[4]) DrainMonitor();
    if (ready[1]) {
      for (auto& task : loop_.Drain()) task();
    }
    for (int socket_index : {2, 3}) {
      if (!ready[static_cast<std::size_t>(socket_index)]) continue;
      wire::ZmqSocket& socket = socket_index == 2 ? *party_ : *control_;
      for (std::size_t i = 0; i < kMaxReceivesPerWake; ++i) {
        auto frames = socket.Receive(true);
        if (!frames.ok()) break;
        if (socket_index == 2) {
          HandleParty(std::move(frames).value());
        } else {
          HandleControl(std::move(frames).value());
        }
      }
    }
    if (Clock::now() >= next_sweep_) Sweep();
  }
  FinishDrain();
}

void Daemon::Impl::BeginDrain() {
  draining_ = true;
  drain_deadline_ = Clock::now() + std::chrono::seconds(15);
  Log(LogLevel::kInfo, "draining",
      {{"in_flight", static_cast<std::uint64_t>(outstanding_.count())}});
}

bool Daemon::Impl::Drained() const { return outstanding_.count() == 0; }

void Daemon::Impl::FinishDrain() {
  vc_api_.reset();
  if (watch_) watch_->RequestStop();
  if (workers_) workers_->Stop();
  if (writer_) writer_->Stop();
  // Final anchors: each open channel's latest TSC, so nothing settled stays unanchored while the
  // daemon is down.
  std::size_t final_items = 0;
  if (store_guard_->ok() && outstanding_.count() == 0) {
    for (auto& [id, channel] : channels_) {
      const std::optional<chain::EvidenceItem> item = channel.machine.FinalEvidence();
      if (!item) continue;
      ChannelRecord updated = channel.record();
      updated.evidence_seq = item->seq;
      if (Status added = store_->AddPendingEvidence(*item, updated); !added.ok()) {
        Log(LogLevel::kError, "final anchor", {{"channel", id}, {"error", added.error().ToString()}});
        continue;
      }
      channel.machine.EvidenceQueued(item->seq);
      anchor_->Submit(*item);
      ++final_items;
    }
  }
  if (anchor_) {
    anchor_->Flush();
    anchor_->Stop(true);
    const AnchorStats stats = anchor_->stats();
    Log(LogLevel::kInfo, "stopped",
        {{"final_anchor_items", static_cast<std::uint64_t>(final_items)},
         {"unanchored_items", static_cast<std::uint64_t>(stats.queued_items + stats.in_flight_items)},
         {"issued", issued_}});
  }
  party_.reset();
  party_monitor_.reset();
  control_.reset();
  zap_.reset();
  MutexLock lock(state_mutex_);
  stopped_ = true;
  stopped_cv_.NotifyAll();
}

void Daemon::Impl::Async(std::function<Task()> work) {
  workers_->Post([this, token = outstanding_.BeginCarried(), work = std::move(work)] {
    Task done = work();
    loop_.Post([token, done = std::move(done)] {
      token.Take().Release();
      done();
    });
  });
}

StoreWriter::Done Daemon::Impl::OnLoop(std::function<void(const Status&)> done) {
  return [this, work = outstanding_.BeginCarried(), write = store_guard_->BeginWrite(),
          done = std::move(done)](const Status& status) {
    loop_.Post([work, write, done, status] {
      work.Take().Release();
      write.Take().Release();
      done(status);
    });
  };
}

void Daemon::Impl::PeerAsync(const Requester& from, bool large, std::function<Task()> work) {
  if (Connection* connection = peers_->Find({from.routing_id, from.generation})) {
    ++connection->requests_in_flight;
    if (large) ++connection->large_requests_in_flight;
  }
  Async([this, from, large, work = std::move(work)]() -> Task {
    Task done = work();
    return [this, from, large, done = std::move(done)] {
      if (Connection* connection = peers_->Find({from.routing_id, from.generation})) {
        --connection->requests_in_flight;
        if (large) --connection->large_requests_in_flight;
      }
      done();
    };
  });
}

void Daemon::Impl::HandleZap() {
  auto request = zap_->Receive(true);
  if (!request.ok()) return;
  std::vector<std::string_view> frames;
  for (const auto& frame : *request) frames.push_back(frame.data);
  const Admission::ZapReply reply = admission_->Zap(frames);
  const std::string version = "1.0";
  const std::string_view request_id = frames.size() > 1 ? frames[1] : std::string_view();
  const std::string_view parts[] = {version,           request_id,    reply.status,
                                    reply.status_text, reply.user_id, std::string_view()};
  (void)zap_->Send(parts, false);
}

void Daemon::Impl::Reply(const Requester& to, std::string frame) {
  if (to.control) {
    const std::string_view parts[] = {to.routing_id, frame};
    (void)control_->Send(parts, true);
    return;
  }
  DrainMonitor();
  // The asker's connection may have gone, and its routing id may now be another peer's.
  if (Connection* connection = peers_->Find({to.routing_id, to.generation})) SendParty(*connection, frame);
}

void Daemon::Impl::ReplyError(const Requester& to, const Error& error) { Reply(to, wire::EncodeError(to.request_id, error)); }

bool Daemon::Impl::SendParty(Connection& connection, std::string_view frame) {
  // Over its share of unsent bytes the peer is disconnected instead (ConnectionTable).
  if (!peers_->ReserveSend(connection, frame.size())) return false;
  const std::string routing_id = connection.routing_id;
  const std::string_view parts[] = {routing_id, frame};
  Status sent = party_->Send(parts, true);
  if (sent.ok()) return true;
  if (sent.error().code() == ErrorCode::kNotFound) {
    peers_->Forget(ConnectionTable::RefOf(connection));
  } else {
    ++dropped_events_;  // the peer's queue is full; it can catch up with channel.sync
  }
  return false;
}

std::size_t Daemon::Impl::Publish(ChannelRuntime& channel, std::string_view frame, std::optional<Role> only) {
  DrainMonitor();
  // Copy: a send may disconnect a peer, which edits the member set.
  const std::vector<std::string> members(channel.members.begin(), channel.members.end());
  std::size_t delivered = 0;
  for (const auto& routing_id : members) {
    Connection* connection = peers_->FindByRoutingId(routing_id);
    if (connection == nullptr) continue;
    auto role = connection->admitted.find(channel.record().channel_id);
    // Members are admitted connections; the check guards against a stale member entry.
    if (role == connection->admitted.end() || (only && role->second != *only)) continue;
    if (SendParty(*connection, frame)) ++delivered;
  }
  return delivered;
}

void Daemon::Impl::DrainMonitor() {
  while (auto event = party_monitor_->ReceiveEvent()) {
    if (event->kind == wire::TransportEvent::Kind::kAccepted) {
      peers_->OnAccepted(event->fd, Clock::now());
    } else {
      peers_->OnDisconnected(event->fd);
    }
  }
}

void Daemon::Impl::OnForgetting(const Connection& connection) {
  for (const auto& [channel_id, role] : connection.admitted) {
    auto channel = channels_.find(channel_id);
    if (channel != channels_.end()) channel->second.members.erase(connection.routing_id);
  }
}

void Daemon::Impl::UpdateGauges() {
  std::int64_t open = 0;
  for (const auto& [id, channel] : channels_)
    open += channel.record().state == ChannelState::kOpen ? 1 : 0;
  metrics_->SetChannelsOpen(open);
  metrics_->SetChannelsRecovering(static_cast<std::int64_t>(recovery_->size()));
  metrics_->SetConnections(static_cast<std::int64_t>(peers_->admitted_count()),
                           static_cast<std::int64_t>(peers_->unauthenticated_count()));
  metrics_->SetPeerQueuedBytes(static_cast<std::int64_t>(peers_->queued_bytes()));
  metrics_->SetPipelineDepth(static_cast<std::int64_t>(outstanding_.count()));
  const did::CachingResolver::Stats cache = resolver_->stats();
  metrics_->SetDidCache(cache.hits, cache.misses);
  const AnchorStats anchoring = anchor_->stats();
  metrics_->SetUnanchored(static_cast<std::int64_t>(anchoring.queued_items + anchoring.in_flight_items));
  if (anchoring.last_height > 0) metrics_->SetChainHeight(anchoring.last_height);
  const AnchorPolicy policy = anchor_->policy();
  metrics_->SetEffectiveN(static_cast<std::int64_t>(policy.EffectiveN(0, std::nullopt)),
                          static_cast<std::int64_t>(policy.factor()));
  metrics_->SetNBounds(static_cast<std::int64_t>(policy.options().n_min),
                       static_cast<std::int64_t>(policy.options().n_max));
  ReportStoreHealth();
}

void Daemon::Impl::Sweep() {
  const auto now = Clock::now();
  next_sweep_ = now + std::chrono::seconds(1);
  DrainMonitor();
  peers_->Sweep(now);
  if (store_guard_->ShouldProbe(ChannelsQuiet())) ProbeStore();
  UpdateGauges();
  admission_->Sweep();
}

// ---------------------------------------------------------------------------------------------
// Party requests

void Daemon::Impl::HandleParty(std::vector<wire::ReceivedFrame> frames) {
  // The parts a peer sent carry the metadata; a bare routing id cannot come from a DEALER.
  if (frames.size() < 2) return;
  // Its accept (and any disconnect before it) is reported before its messages: see them first.
  DrainMonitor();
  const wire::ReceivedFrame& body = frames[1];
  Connection* connection = peers_->OnRequest(frames[0].data, body.source_fd, body.user_id, Clock::now());
  if (connection == nullptr) return;  // its connection is being closed
  Requester from{false, frames[0].data, 0, Clock::now(), connection->generation};
  if (frames.size() != 2) {
    CountRejection(Error(ErrorCode::kParse, ""));
    ReplyError(from, Error(ErrorCode::kParse, "a request is exactly one frame"));
    return;
  }
  auto message = wire::DecodeMessage(body.data);
  if (!message.ok()) {
    CountRejection(message.error());
    from.request_id = wire::PeekRequestId(body.data);
    ReplyError(from, message.error());
    return;
  }
  from.request_id = message->id;
  if (message->type == wire::MessageType::kChainWrite) {  // refused there, saying where it is served
    return chain_service_->Handle(from, *message, ChainAccess::kMember);
  }
  if (!wire::IsRequest(message->type) || message->type >= wire::MessageType::kControlOpen) {
    const Error error(ErrorCode::kInvalidArgument,
                      std::string(wire::MessageTypeName(message->type)) + " is not a party request");
    CountRejection(error);
    ReplyError(from, error);
    return;
  }
  Connection& current = *connection;
  // Requests answered after work on a worker: a peer that does not wait for its answers gets a
  // bounded share of the workers and of the memory their answers take.
  const bool large = message->type == wire::MessageType::kChannelSync ||
                     message->type == wire::MessageType::kEvidenceGet ||
                     message->type == wire::MessageType::kChannelRejections ||
                     message->type == wire::MessageType::kChainRead;
  if (large || message->type == wire::MessageType::kAuthBegin ||
      message->type == wire::MessageType::kAuthProve || message->type == wire::MessageType::kSettleReject ||
      message->type == wire::MessageType::kChannelClose) {
    if (current.requests_in_flight >= config_.limits.max_requests_in_flight_per_connection ||
        (large && current.large_requests_in_flight >= kMaxLargeRequestsInFlight)) {
      const Error error(ErrorCode::kResourceExhausted,
                        "too many requests in flight on this connection; wait for their answers");
      CountRejection(error);
      ReplyError(from, error);
      return;
    }
  }

  switch (message->type) {
    case wire::MessageType::kPing:
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Finish());
      return;
    case wire::MessageType::kAuthBegin:
      AuthBegin(current, from, *message);
      return;
    case wire::MessageType::kAuthProve:
      AuthProve(current, from, *message);
      return;
    case wire::MessageType::kChainRead:
      chain_service_->Handle(from, *message, current.admitted.empty() ? ChainAccess::kNone : ChainAccess::kMember);
      return;
    default:
      break;
  }

  const std::string_view channel_id = wire::StringMember(*message, "channel");
  auto admitted = current.admitted.find(channel_id);
  auto channel = channels_.find(channel_id);
  if (admitted == current.admitted.end() || channel == channels_.end()) {
    const Error error(ErrorCode::kPermissionDenied,
                      "this connection is not admitted to channel " + std::string(channel_id) +
                          " (authenticate with auth.begin/auth.prove first)");
    CountRejection(error);
    ReplyError(from, error);
    return;
  }
  switch (message->type) {
    case wire::MessageType::kChannelState:
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Add("state", ChannelStateJson(channel->second)).Finish());
      return;
    case wire::MessageType::kSettlePropose:
    case wire::MessageType::kSettleSubmit:
      if (auto recovering = recovery_->Find(channel->first)) {
        const Error error(ErrorCode::kUnavailable,
                          "channel " + channel->first + " is recovering (store seq " +
                              std::to_string(recovering->store_seq) + ", chain confirms seq " +
                              std::to_string(recovering->chain_seq) + "): " + recovering->reason +
                              "; it settles again once its members presented their TSCs "
                              "(channel.recover) or an operator ran `tcc channel recover`");
        CountRejection(error);
        return ReplyError(from, error);
      }
      if (message->type == wire::MessageType::kSettlePropose) {
        Propose(from, admitted->second, channel->second, *message);
      } else {
        Submit(from, admitted->second, channel->second, *message);
      }
      return;
    case wire::MessageType::kChannelRecover:
      Recover(from, admitted->second, channel->second, *message);
      return;
    case wire::MessageType::kChannelSync:
      Sync(from, channel->second, *message);
      return;
    case wire::MessageType::kEvidenceGet:
      EvidenceGet(from, channel->second, *message);
      return;
    case wire::MessageType::kSettleReject:
      disputes_->Reject(from, admitted->second, channel->first, *message);
      return;
    case wire::MessageType::kChannelRejections:
      disputes_->Rejections(from, channel->first, channel->second.closing_record, *message);
      return;
    case wire::MessageType::kChannelClose:
      disputes_->Close(from, admitted->second, channel->first, *message);
      return;
    default:
      return;
  }
}

void Daemon::Impl::AuthBegin(Connection& connection, const Requester& from, const wire::Message& message) {
  const std::string channel_id(wire::StringMember(message, "channel"));
  if (auto refused = Refused(channel_id)) {
    CountRejection(*refused);
    return ReplyError(from, *refused);
  }
  auto channel = channels_.find(channel_id);
  auto begun =
      admission_->Begin(connection.peer_address, channel_id,
                        channel == channels_.end() ? nullptr : &channel->second.record(),
                        std::string(wire::StringMember(message, "did")), Clock::now(), UnixMillis());
  if (!begun.ok()) return ReplyError(from, begun.error());
  PeerAsync(from, false, [this, begun = std::move(begun).value(), from]() -> Task {
    Result<Bytes> sealed = Admission::Seal(begun.challenge, *resolver_);
    return [this, begun, from, sealed = std::move(sealed)] {
      auto pending = admission_->Sealed(begun.challenge, begun.role, sealed, Clock::now());
      if (!pending.ok()) return ReplyError(from, pending.error());
      DrainMonitor();
      Connection* live = peers_->Find({from.routing_id, from.generation});
      if (live == nullptr) return;
      peers_->AddChallenge(*live, begun.challenge.binding.channel_id, std::move(pending).value());
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                      .Add("sealed", HexEncode(*sealed))
                      .Add("expires", begun.challenge.binding.expires_ms)
                      .Finish());
    };
  });
}

void Daemon::Impl::AuthProve(Connection& connection, const Requester& from, const wire::Message& message) {
  auto proof = admission_->Prove(connection, std::string(wire::StringMember(message, "channel")),
                                 wire::StringMember(message, "nonce"), wire::StringMember(message, "signature"),
                                 Clock::now());
  if (!proof.ok()) return ReplyError(from, proof.error());
  PeerAsync(from, false, [this, proof = std::move(proof).value(), from]() -> Task {
    Status verified = Admission::Verify(proof, *resolver_);
    return [this, challenge = proof.challenge, verified, from] {
      if (!verified.ok()) {
        admission_->Refused("bad_signature", challenge.challenge.binding.party_did, verified.error().message());
        ReplyError(from, verified.error());
        return;
      }
      DrainMonitor();
      Connection* live = peers_->Find({from.routing_id, from.generation});
      auto channel = channels_.find(challenge.challenge.binding.channel_id);
      if (live == nullptr) return;  // the connection that proved it is gone
      if (channel == channels_.end()) {
        ReplyError(from, Error(ErrorCode::kNotFound, "the channel is gone"));
        return;
      }
      if (!peers_->Admit(*live, channel->first, challenge.role)) {
        admission_->Refused("connection_limit");
        ReplyError(from, Error(ErrorCode::kResourceExhausted,
                               "too many admitted connections at this TCC (limits.max_connections)"));
        return;
      }
      channel->second.members.insert(from.routing_id);
      admission_->Admitted();
      metrics_->AuthSucceeded();
      Log(LogLevel::kInfo, "admitted",
          {{"channel", channel->first}, {"did", challenge.challenge.binding.party_did}, {"role", RoleName(challenge.role)}});
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                      .Add("role", RoleName(challenge.role))
                      .Add("state", ChannelStateJson(channel->second))
                      .Finish());
    };
  });
}

void Daemon::Impl::Propose(const Requester& from, Role role, ChannelRuntime& channel, const wire::Message& message) {
  if (role == Role::kAuditor) {
    const Error error(ErrorCode::kPermissionDenied, "auditors are read-only");
    CountRejection(error);
    return ReplyError(from, error);
  }
  const Role counterpart = role == Role::kProvider ? Role::kConsumer : Role::kProvider;
  const std::string& sender =
      role == Role::kProvider ? channel.record().provider : channel.record().consumer;
  const Json& proposal = wire::ObjectMember(message, "proposal");
  const std::string channel_id = channel.record().channel_id;
  auto relay = [this, from, counterpart,
                frame = wire::FrameBuilder(wire::MessageType::kEventProposal)
                            .Add("channel", channel_id)
                            .Add("from", sender)
                            .Add("proposal", proposal)
                            .Finish()](ChannelRuntime& to) {
    const std::size_t delivered = Publish(to, frame, counterpart);
    if (delivered == 0) {
      return ReplyError(
          from, Error(ErrorCode::kUnavailable, "the counterpart is not connected to the channel"));
    }
    Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                    .Add("delivered", static_cast<std::uint64_t>(delivered))
                    .Finish());
  };
  // A provider's proposal for the next seq is the one the negotiation is about (an amend is allowed
  // only after a rejection or the TIC's timeout): the dispute handler decides.
  auto link = vc::ReadSettlementLink(proposal);
  if (role != Role::kProvider || !link.ok() || link->channel != channel_id ||
      link->seq != channel.record().last_seq + 1) {
    return relay(channel);
  }
  disputes_->ProviderProposal(from, channel_id, *link, proposal, [this, channel_id, relay] {
    relay(channels_.find(channel_id)->second);
  });
}

void Daemon::Impl::Submit(const Requester& from, Role role, ChannelRuntime& channel, const wire::Message& message) {
  auto reject = [&](const Error& error) {
    CountRejection(error);
    ReplyError(from, error);
  };
  if (role == Role::kAuditor) return reject(Error(ErrorCode::kPermissionDenied, "auditors are read-only"));
  if (channel.machine.ended()) {
    return reject(
        Error(ErrorCode::kConflict, "channel " + channel.record().channel_id + " is closed"));
  }
  if (draining_) return reject(Error(ErrorCode::kUnavailable, "tccd is shutting down; resubmit after it restarts"));
  Json claim = wire::ObjectMember(message, "claim");
  auto link = vc::ReadSettlementLink(claim);
  if (!link.ok()) return reject(link.error().WithContext("claim"));
  if (link->channel != channel.record().channel_id) {
    return reject(Error(ErrorCode::kInvalidArgument, "the claim names channel " + link->channel +
                                                         ", not the channel it was submitted to"));
  }
  // The proofs are checked against the parties the claim names, so the claim must name this
  // channel's parties: otherwise one party and a key of its choosing could settle in the channel.
  for (const auto& [party, expected] : {std::pair{"provider", &channel.record().provider},
                                        std::pair{"consumer", &channel.record().consumer}}) {
    Status named = CheckClaimParty(claim, party, *expected, channel.record().channel_id);
    if (!named.ok()) return reject(named.error());
  }
  Submission submission{from, std::move(claim), std::move(link).value()};
  Apply(channel, channel.machine.Submit(std::move(submission),
                                        config_.limits.max_waiting_per_channel, StoreStatus()));
}

void Daemon::Impl::Apply(ChannelRuntime& channel, Effects effects) {
  for (auto& next : effects) {
    if (auto* issue = std::get_if<effect::Issue>(&next)) {
      Issue(channel, std::move(issue->submission));
    } else if (auto* replay = std::get_if<effect::Replay>(&next)) {
      Replay(channel, std::move(replay->submission));
    } else if (auto* refuse = std::get_if<effect::Refuse>(&next)) {
      if (refuse->counted) CountRejection(refuse->error);
      ReplyError(refuse->to, refuse->error);
    } else if (auto* commit = std::get_if<effect::Commit>(&next)) {
      CommitTsc(channel, std::move(*commit));
    } else if (auto* evidence = std::get_if<effect::SubmitEvidence>(&next)) {
      anchor_->Submit(evidence->item);
    } else if (auto* acknowledged = std::get_if<effect::Acknowledge>(&next)) {
      Acknowledge(channel, *acknowledged);
    } else if (std::holds_alternative<effect::WriteSettings>(next)) {
      WriteSettings(channel);
    } else if (std::holds_alternative<effect::Close>(next)) {
      CloseChannel(channel);
    }
  }
}

void Daemon::Impl::Issue(ChannelRuntime& channel, Submission submission) {
  const std::string channel_id = channel.record().channel_id;
  Async([this, channel_id, tst = channel.tst, submission = std::move(submission)]() mutable -> Task {
    auto stage = metrics_->StageDone(DaemonMetrics::Stage::kQueueWait,
                                     submission.requester.received);
    Status status = vc::VerifyJointClaim(submission.claim, *tst, *resolver_);
    stage = metrics_->StageDone(DaemonMetrics::Stage::kVerify, stage);
    TscRecord tsc;
    if (status.ok()) {
      // The claim hash (replay key) hashes the claim's canonical text inside the TSC's.
      auto issued = vc::IssueCanonicalTsc(std::move(submission.claim), *tst, *key_);
      if (issued.ok()) {
        tsc.channel_id = channel_id;
        tsc.seq = submission.link.seq;
        tsc.claim_hash = HexEncode(issued->SubjectDigest());
        tsc.tsc_hash = issued->digest;
        tsc.tsc = std::move(issued->text);
      } else {
        status = issued.error();
      }
    }
    metrics_->StageDone(DaemonMetrics::Stage::kIssue, stage);
    return [this, channel_id, requester = submission.requester, status, tsc = std::move(tsc)]() mutable {
      auto live = channels_.find(channel_id);
      if (live == channels_.end()) return;
      ChannelStateMachine& machine = live->second.machine;
      if (!status.ok()) {
        return Apply(live->second,
                     machine.IssueFailed(std::move(requester), status.error(), StoreStatus()));
      }
      const std::uint64_t n = EffectiveN(machine.record());
      Apply(live->second, machine.Issued(std::move(requester), std::move(tsc), n, StoreStatus()));
    };
  });
}

void Daemon::Impl::Replay(ChannelRuntime& channel, Submission submission) {
  const std::string channel_id = channel.record().channel_id;
  Async([this, channel_id, submission = std::move(submission)]() -> Task {
    Status status = OkStatus();
    const std::string claim_hash = ClaimHash(submission.claim, status);
    Result<TscRecord> existing = Error(ErrorCode::kInternal, "");
    if (!status.ok()) {
      existing = status.error();
    } else if (auto seq = store_->FindSeqByClaimHash(channel_id, claim_hash); !seq.ok()) {
      existing = seq.error();
    } else if (!seq->has_value() || **seq != submission.link.seq) {
      existing = Error(ErrorCode::kConflict, "fork: seq " + std::to_string(submission.link.seq) +
                                                 " of this channel is already settled by a different claim");
    } else {
      existing = store_->GetTsc(channel_id, submission.link.seq);
    }
    return [this, requester = submission.requester, existing = std::move(existing)] {
      if (!existing.ok()) {
        CountRejection(existing.error());
        ReplyError(requester, existing.error());
        return;
      }
      // The same claim again (a client retrying after a lost reply): the same TSC, not a new seq.
      ++replayed_;
      metrics_->Replayed();
      Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                           .Add("channel", existing->channel_id)
                           .Add("seq", existing->seq)
                           .Add("replayed", true)
                           .AddRaw("tsc", existing->tsc)
                           .Finish());
    };
  });
}

std::uint64_t Daemon::Impl::EffectiveN(const ChannelRecord& record) {
  return anchor_->EffectiveN(record.strategy_n, record.n_override);
}

void Daemon::Impl::CommitTsc(ChannelRuntime& channel, effect::Commit commit) {
  const std::string channel_id = channel.record().channel_id;
  const TscRecord tsc = commit.commit.tsc;
  const auto evidence = commit.commit.evidence;
  writer_->Commit(
      std::move(commit.commit),
      OnLoop([this, channel_id, requester = std::move(commit.requester), tsc, evidence,
              committing = Clock::now()](const Status& status) {
        metrics_->StageDone(DaemonMetrics::Stage::kCommit, committing);
        ChannelRuntime& live = channels_.find(channel_id)->second;
        if (!status.ok()) {
          // Marked failed first: what the machine starts next sees the store as it is now.
          OnStoreWriteFailed("commit settlement", channel_id, status.error());
          return Apply(live, live.machine.CommitFailed(requester, status.error(), StoreStatus()));
        }
        Apply(live, live.machine.Committed(requester, tsc, evidence, StoreStatus()));
      }));
}

void Daemon::Impl::Acknowledge(ChannelRuntime& channel, const effect::Acknowledge& acknowledged) {
  const Requester& requester = acknowledged.to;
  const TscRecord& tsc = acknowledged.tsc;
  ++issued_;
  metrics_->TscIssued();
  metrics_->SettlementDurable(
      std::chrono::duration<double>(Clock::now() - requester.received).count());
  const auto publishing = Clock::now();
  Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                       .Add("channel", tsc.channel_id)
                       .Add("seq", tsc.seq)
                       .AddRaw("tsc", tsc.tsc)
                       .Finish());
  Publish(channel, wire::FrameBuilder(wire::MessageType::kEventTsc)
                       .Add("channel", tsc.channel_id)
                       .Add("seq", tsc.seq)
                       .AddRaw("tsc", tsc.tsc)
                       .Finish());
  metrics_->StageDone(DaemonMetrics::Stage::kPublish, publishing);
  metrics_->SettlementPublished(
      std::chrono::duration<double>(Clock::now() - requester.received).count());
}

void Daemon::Impl::WriteSettings(ChannelRuntime& channel) {
  const std::string channel_id = channel.record().channel_id;
  writer_->PutChannel(
      channel.record(), OnLoop([this, channel_id](const Status& status) {
        ChannelRuntime& stored = channels_.find(channel_id)->second;
        if (!status.ok()) {
          OnStoreWriteFailed("store channel", channel_id, status.error());
          stored.machine.SettingsNotStored();  // written again once the store recovers
          return;
        }
        for (const auto& requester : std::exchange(stored.settings_requesters, {})) {
          Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                               .Add("policy", PolicyJson(&stored))
                               .Finish());
        }
      }));
}

// ---------------------------------------------------------------------------------------------
// Store failure and recovery (the state and the probe are the store guard's)

void Daemon::Impl::OnStoreWriteFailed(std::string_view what, const std::string& channel_id, const Error& error) {
  Log(LogLevel::kError, "store write failed", {{"write", what}, {"channel", channel_id}, {"error", error.ToString()}});
  if (store_guard_->WriteFailed(error, Clock::now())) ReportStoreHealth();
}

// Recovery reloads the channels' heads, which must not move under it.
bool Daemon::Impl::ChannelsQuiet() const {
  return std::none_of(channels_.begin(), channels_.end(),
                      [](const auto& entry) { return entry.second.machine.in_flight(); });
}

void Daemon::Impl::ProbeStore() {
  store_guard_->ProbeStarted();
  Async([this]() -> Task {
    auto probed = store_guard_->Probe();
    return [this, probed = std::move(probed)]() mutable {
      std::chrono::milliseconds down{};
      auto recovery = store_guard_->ProbeFinished(std::move(probed), Clock::now(), down);
      if (recovery.ok()) OnStoreRecovered(*recovery, down);
    };
  });
}

void Daemon::Impl::OnStoreRecovered(const StoreGuard::Recovery& recovery,
                                    std::chrono::milliseconds down) {
  const auto resubmit = StoreGuard::EvidenceToResubmit(
      recovery.pending_evidence,
      [this](const std::string& channel_id) -> std::optional<std::uint64_t> {
        auto channel = channels_.find(channel_id);
        if (channel == channels_.end()) return std::nullopt;
        return channel->second.machine.acknowledged().evidence_seq;
      });
  for (const auto& item : resubmit) anchor_->Submit(item);
  // The store is the source of truth for each head; settings and state stay as in memory.
  std::map<std::string_view, const ChannelRecord*> stored;
  for (const auto& record : recovery.records) stored.emplace(record.channel_id, &record);
  std::uint64_t unacknowledged = 0;
  for (auto& [id, channel] : channels_) {
    auto found = stored.find(id);
    if (found == stored.end()) {
      channel.machine.SettingsNotStored();  // opened while the store could not write
      continue;
    }
    unacknowledged += channel.machine.ReloadHead(*found->second);
  }
  Log(LogLevel::kInfo, "store recovered",
      {{"down_ms", static_cast<std::uint64_t>(down.count())},
       {"stored_unacknowledged_tscs", unacknowledged},
       {"evidence_resubmitted", static_cast<std::uint64_t>(resubmit.size())}});
  ReportStoreHealth();
  for (auto& [id, channel] : channels_) {
    if (channel.machine.settings_dirty()) PersistSettings(channel);
    Pump(channel);  // closes the channels whose close waited for the store
  }
}

void Daemon::Impl::ReportStoreHealth() {
  const ChannelStore::WriteHealth health = store_guard_->write_health();
  metrics_->SetStoreHealth(store_guard_->ok(), health.write_failures, health.reopens, health.syncs);
}

void Daemon::Impl::Sync(const Requester& from, ChannelRuntime& channel, const wire::Message& message) {
  const std::string channel_id = channel.record().channel_id;
  const std::uint64_t after = wire::UintMember(message, "after");
  const std::size_t limit = static_cast<std::size_t>(wire::OptionalUint(message, "limit").value_or(100));
  const std::uint64_t last = channel.machine.acknowledged().seq;
  PeerAsync(from, true, [this, channel_id, after, limit, last, from]() -> Task {
    auto tscs = store_->ListTscs(channel_id, after, limit);
    return [this, channel_id, last, from, tscs = std::move(tscs)] {
      if (!tscs.ok()) return ReplyError(from, tscs.error());
      std::string array = "[";
      std::uint64_t through = 0;
      for (const auto& tsc : *tscs) {
        if (tsc.seq > last) break;  // not acknowledged yet
        if (array.size() + tsc.tsc.size() > kMaxSyncReplyBytes && through != 0) break;
        if (array.size() > 1) array += ',';
        array += tsc.tsc;
        through = tsc.seq;
      }
      array += ']';
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                      .Add("channel", channel_id)
                      .Add("last_seq", last)
                      .AddRaw("tscs", array)
                      .Finish());
    };
  });
}

void Daemon::Impl::EvidenceGet(const Requester& from, ChannelRuntime& channel, const wire::Message& message) {
  const std::string channel_id = channel.record().channel_id;
  const std::uint64_t seq = wire::UintMember(message, "seq");
  const std::uint64_t acknowledged = channel.machine.acknowledged().seq;
  if (seq > acknowledged) {
    return ReplyError(
        from, Error(ErrorCode::kNotFound, "channel has no TSC " + std::to_string(seq) +
                                              " (last is " + std::to_string(acknowledged) + ")"));
  }
  const std::uint64_t anchored = channel.anchored_seq;
  PeerAsync(from, true, [this, channel_id, seq, anchored, from]() -> Task {
    Result<std::string> bundle = Error(ErrorCode::kUnavailable, "");
    std::uint64_t covering_seq = 0;
    auto covering = store_->AnchoredSeqCovering(channel_id, seq);
    if (!covering.ok()) {
      bundle = covering.error();
    } else if (!covering->has_value()) {
      bundle = Error(ErrorCode::kUnavailable, "TSC " + std::to_string(seq) + " is not anchored yet (anchored through seq " +
                                                  std::to_string(anchored) + ")");
    } else {
      covering_seq = **covering;
      auto found = store_->GetBundle(channel_id, covering_seq);
      if (found.ok()) {
        bundle = chain::SerializeEvidenceBundle(*found);
      } else {
        bundle = found.error();
      }
    }
    return [this, channel_id, seq, covering_seq, from, bundle = std::move(bundle)] {
      if (!bundle.ok()) return ReplyError(from, bundle.error());
      // The bundle anchors TSC covering_seq; TSC seq is committed through the hash chain to it
      // (channel.sync returns the TSCs in between).
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                      .Add("channel", channel_id)
                      .Add("seq", seq)
                      .Add("anchored_seq", covering_seq)
                      .AddRaw("bundle", *bundle)
                      .Finish());
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Disputes: the handler (dispute_handler.h) decides; this is what it borrows from the daemon

// The daemon lends the dispute handler its loop, sockets and channels.
class Daemon::Impl::DisputeHost final : public DisputeHandler::Host {
 public:
  explicit DisputeHost(Impl& impl) : impl_(impl) {}

  ChannelStateMachine* Machine(const std::string& channel_id) override {
    auto channel = impl_.channels_.find(channel_id);
    return channel == impl_.channels_.end() ? nullptr : &channel->second.machine;
  }
  void Reply(const Requester& to, std::string frame) override { impl_.Reply(to, std::move(frame)); }
  void ReplyError(const Requester& to, const Error& error) override { impl_.ReplyError(to, error); }
  void CountRejection(const Error& error) override { impl_.CountRejection(error); }
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work) override {
    impl_.PeerAsync(from, large, std::move(work));
  }
  Status StoreStatus() const override { return impl_.StoreStatus(); }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override {
    return impl_.OnLoop(std::move(done));
  }
  void OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                          const Error& error) override {
    impl_.OnStoreWriteFailed(what, channel_id, error);
  }
  std::size_t Publish(const std::string& channel_id, std::string_view frame, Role role) override {
    auto channel = impl_.channels_.find(channel_id);
    return channel == impl_.channels_.end() ? 0 : impl_.Publish(channel->second, frame, role);
  }
  void ClosePerParty(const std::string& channel_id, Json request, const Requester& from) override {
    impl_.ClosePerParty(channel_id, std::move(request), from);
  }

 private:
  Impl& impl_;
};

// The daemon lends the chain service its loop, workers and sockets.
class Daemon::Impl::ChainHost final : public ChainService::Host {
 public:
  explicit ChainHost(Impl& impl) : impl_(impl) {}
  void Reply(const Requester& to, std::string frame) override { impl_.Reply(to, std::move(frame)); }
  void ReplyError(const Requester& to, const Error& error) override { impl_.ReplyError(to, error); }
  void CountRejection(const Error& error) override { impl_.CountRejection(error); }
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work) override {
    impl_.PeerAsync(from, large, std::move(work));
  }
  void Async(std::function<Task()> work) override { impl_.Async(std::move(work)); }
  bool Draining() const override { return impl_.draining_; }

 private:
  Impl& impl_;
};

void Daemon::Impl::ClosePerParty(const std::string& channel_id, Json request,
                                 const Requester& from) {
  ChannelRuntime& channel = channels_.find(channel_id)->second;
  channel.close_request = std::move(request);
  channel.party_close_requesters.push_back(from);
  // Closes once the settlement in flight, if any, is done.
  Apply(channel, channel.machine.RequestClose(StoreStatus()));
}

// ---------------------------------------------------------------------------------------------
// Channels

void Daemon::Impl::OpenChannel(const std::string& tic_id, std::optional<Requester> requester) {
  // Never opened afresh: its records exist but cannot be read, and a new head would fork it.
  if (auto refused = Refused(tic_id)) {
    if (requester) ReplyError(*requester, *refused);
    return;
  }
  if (auto existing = channels_.find(tic_id); existing != channels_.end()) {
    if (requester) {
      Reply(*requester, wire::FrameBuilder(wire::MessageType::kReply, requester->request_id)
                            .Add("channel", ChannelStateJson(existing->second))
                            .Finish());
    }
    return;
  }
  Async([this, tic_id, requester]() -> Task {
    auto prepared = PrepareChannel(*adapter_, *templates_, *resolver_, did_, tic_id, UnixMillis());
    return [this, tic_id, requester, prepared = std::move(prepared)]() mutable {
      OnPrepared(std::move(prepared), tic_id, requester);
    };
  });
}

void Daemon::Impl::OnPrepared(Result<PreparedChannel> prepared, const std::string& tic_id,
                              std::optional<Requester> requester) {
  if (!prepared.ok()) {
    Log(LogLevel::kWarning, "channel not opened", {{"tic", tic_id}, {"error", prepared.error().ToString()}});
    if (requester) ReplyError(*requester, prepared.error());
    return;
  }
  if (channels_.contains(tic_id)) return OpenChannel(tic_id, requester);  // opened meanwhile
  if (channels_.size() >= config_.limits.max_channels) {
    if (requester) ReplyError(*requester, Error(ErrorCode::kResourceExhausted, "the channel limit is reached"));
    return;
  }
  ChannelRuntime runtime(std::move(prepared->record));
  runtime.tst = std::move(prepared->tst);
  ChannelRuntime& channel = channels_.emplace(tic_id, std::move(runtime)).first->second;
  // A channel the store could not take stays open in memory (members may join and read it) and is
  // written once the store recovers; settlements wait for that anyway.
  const auto not_stored = [this, tic_id, requester](ChannelRuntime& unstored) {
    unstored.machine.SettingsNotStored();
    if (requester) {
      ReplyError(*requester, Error(ErrorCode::kUnavailable, "channel " + tic_id +
                                                                " is not stored yet: the store cannot write; it is stored once the store recovers"));
    }
  };
  if (!store_guard_->ok()) return not_stored(channel);
  writer_->PutChannel(channel.record(),
                      OnLoop([this, tic_id, requester, not_stored](const Status& status) {
                        auto opened = channels_.find(tic_id);
                        if (!status.ok()) {
                          OnStoreWriteFailed("store channel", tic_id, status.error());
                          not_stored(opened->second);
                          return;
                        }
                        metrics_->ChannelOpened();
                        Log(LogLevel::kInfo, "channel opened",
                            {{"channel", tic_id},
                             {"provider", opened->second.record().provider},
                             {"consumer", opened->second.record().consumer},
                             {"n", EffectiveN(opened->second.record())}});
                        if (requester) {
                          Reply(*requester, wire::FrameBuilder(wire::MessageType::kReply, requester->request_id)
                                                .Add("channel", ChannelStateJson(opened->second))
                                                .Finish());
                        }
                      }));
}

void Daemon::Impl::CloseChannel(ChannelRuntime& channel) {
  // Only started by the machine (effect::Close): nothing in flight, and the store writes.
  for (const auto& waiting : channel.machine.BeginClose()) {
    ReplyError(waiting, Error(ErrorCode::kConflict,
                              "channel " + channel.record().channel_id + " is closed"));
  }
  const ChannelRecord& record = channel.record();
  const std::string channel_id = record.channel_id;
  if (channel.close_request) {
    // Signed over the final head: the closing record names the last TSC, which the close anchors.
    // A close retried after a failed write writes the same record again.
    auto closing =
        channel.closing_record
            ? Result<Json>(*channel.closing_record)
            : wire::MakeClosingRecord(*channel.close_request, record.last_seq, HexEncode(record.last_hash), *key_);
    if (!closing.ok()) {
      Log(LogLevel::kError, "closing record not made",
          {{"channel", channel_id}, {"error", closing.error().ToString()}});
      for (const auto& requester : std::exchange(channel.party_close_requesters, {}))
        ReplyError(requester, closing.error());
      channel.close_request.reset();
      if (channel.close_requesters.empty()) return;  // stays open: only the party asked
    } else {
      channel.closing_record = std::move(closing).value();
      // Queued before the channel's close, so the store never holds a party's close without it.
      writer_->PutClosingRecord(channel_id, channel.closing_record->Serialize(),
                                OnLoop([this, channel_id](const Status& status) {
                                  if (!status.ok())
                                    OnStoreWriteFailed("store closing record", channel_id,
                                                       status.error());
                                }));
    }
  }
  ChannelStateMachine::CloseWrite write = channel.machine.MarkClosed(UnixMillis());
  // On the loop, with the outcome of the close's write.
  auto finish = [this, channel_id](const Status& status,
                                   const std::optional<chain::EvidenceItem>& item) {
    auto closed = channels_.find(channel_id);
    if (!status.ok()) {
      // Not known to be stored: the channel goes on closing, and the close is written again
      // (and only then answered) once the store recovers.
      OnStoreWriteFailed("store channel close", channel_id, status.error());
      closed->second.machine.CloseFailed();
      return;
    }
    closed->second.machine.CloseStored(item);
    // Closing anchors the last TSC at once rather than at the next interval, and a party's
    // closing record in the same batch (its leaf is pending since PutClosingRecord).
    std::vector<chain::EvidenceItem> final_items;
    if (item) final_items.push_back(*item);
    if (closed->second.closing_record) {
      if (auto closing = ClosingEvidenceItem(*closed->second.closing_record); closing.ok())
        final_items.push_back(std::move(closing).value());
    }
    if (!final_items.empty()) anchor_->SubmitTogether(std::move(final_items));
    metrics_->ChannelClosed();
    Log(LogLevel::kInfo, "channel closed",
        {{"channel", channel_id}, {"last_seq", closed->second.machine.acknowledged().seq}});
    Publish(closed->second, wire::FrameBuilder(wire::MessageType::kEventChannel)
                                .Add("channel", channel_id)
                                .Add("state", ChannelStateJson(closed->second))
                                .Finish());
    for (const auto& requester : std::exchange(closed->second.close_requesters, {})) {
      Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                           .Add("channel", ChannelStateJson(closed->second))
                           .Finish());
    }
    if (closed->second.closing_record) {
      const Json& closing = *closed->second.closing_record;
      if (const Json* code = closing.Find("code"); code != nullptr && code->is_string()) {
        metrics_->ClosedByParty(code->as_string());
      }
      for (const auto& requester : std::exchange(closed->second.party_close_requesters, {})) {
        Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                             .Add("channel", channel_id)
                             .Add("closing", closing)
                             .Add("state", ChannelStateJson(closed->second))
                             .Finish());
      }
    }
  };
  const std::optional<chain::EvidenceItem> item = write.evidence;
  StoreWriter::Done done = OnLoop([finish, item](const Status& status) { finish(status, item); });
  if (item) {
    writer_->AddPendingEvidence(*item, std::move(write.record), std::move(done));
  } else {
    writer_->PutChannel(std::move(write.record), std::move(done));
  }
}

void Daemon::Impl::OnAnchored(const std::vector<chain::EvidenceBundle>& bundles) {
  if (!bundles.empty()) {
    const chain::EvidenceBundle& first = bundles.front();
    Log(LogLevel::kInfo, "anchored",
        {{"batch", first.batch_id}, {"leaves", static_cast<std::uint64_t>(bundles.size())},
         {"root", HexEncode(first.root)}, {"adapter", first.receipt.adapter},
         {"height", first.receipt.height}, {"tx", first.receipt.tx}});
  }
  for (const auto& bundle : bundles) {
    // A closing leaf is fetched with channel.rejections; it anchors no TSC.
    if (bundle.item.kind != chain::EvidenceKind::kTsc) continue;
    auto channel = channels_.find(bundle.item.channel_id);
    if (channel == channels_.end()) continue;
    channel->second.anchored_seq = std::max(channel->second.anchored_seq, bundle.item.seq);
    Publish(channel->second, wire::FrameBuilder(wire::MessageType::kEventAnchored)
                                 .Add("channel", bundle.item.channel_id)
                                 .Add("seq", bundle.item.seq)
                                 .Add("batch", bundle.batch_id)
                                 .Add("root", HexEncode(bundle.root))
                                 .Finish());
  }
}

Json Daemon::Impl::ChannelStateJson(const ChannelRuntime& channel) {
  const ChannelRecord& record = channel.record();
  const ChannelStateMachine::Head& acknowledged = channel.machine.acknowledged();
  Json state = Json::Object();
  state.Set("channel", record.channel_id);
  state.Set("state", channel.machine.closing() ? std::string("closing")
                                               : std::string(ChannelStateName(record.state)));
  state.Set("provider", record.provider);
  state.Set("consumer", record.consumer);
  state.Set("auditors", StringArray(record.auditors));
  Json tst = Json::Object();
  tst.Set("id", record.tst_id);
  tst.Set("version", static_cast<std::uint64_t>(record.tst_version));
  state.Set("tst", std::move(tst));
  state.Set("last_seq", acknowledged.seq);
  state.Set("last_hash", HexEncode(acknowledged.hash));
  state.Set("n", EffectiveN(record));
  state.Set("evidence_seq", acknowledged.evidence_seq);
  state.Set("anchored_seq", channel.anchored_seq);
  state.Set("members", static_cast<std::uint64_t>(channel.members.size()));
  if (auto recovering = recovery_->Find(record.channel_id)) state.Set("recovering", recovering->ToJson());
  if (channel.closing_record) {
    // Who closed it and why; the signed record itself comes with channel.rejections.
    Json closed_by = Json::Object();
    for (std::string_view member : {"party", "code", "text"}) {
      if (const Json* value = channel.closing_record->Find(member)) closed_by.Set(member, *value);
    }
    state.Set("closed_by", std::move(closed_by));
  }
  return state;
}

// ---------------------------------------------------------------------------------------------
// Control requests

void Daemon::Impl::HandleControl(std::vector<wire::ReceivedFrame> frames) {
  if (frames.size() != 2) return;
  Requester from{true, frames[0].data, 0};
  // The ZAP handler admits only admin keys to this socket; check again, cheaply, per request.
  if (!admission_->IsAdmin(frames[1].user_id)) return;
  auto message = wire::DecodeMessage(frames[1].data);
  if (!message.ok()) {
    CountRejection(message.error());
    from.request_id = wire::PeekRequestId(frames[1].data);
    return ReplyError(from, message.error());
  }
  from.request_id = message->id;
  switch (message->type) {
    case wire::MessageType::kPing:
      return Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Finish());
    case wire::MessageType::kControlOpen:
      if (draining_) return ReplyError(from, Error(ErrorCode::kUnavailable, "tccd is shutting down"));
      if (!store_guard_->ok())
        return ReplyError(
            from, Error(ErrorCode::kUnavailable, "the store cannot write; no channel is opened"));
      return OpenChannel(std::string(wire::StringMember(*message, "tic")), from);
    case wire::MessageType::kControlClose: {
      auto channel = channels_.find(wire::StringMember(*message, "channel"));
      if (auto refused = Refused(wire::StringMember(*message, "channel"))) return ReplyError(from, *refused);
      if (channel == channels_.end()) {
        return ReplyError(from, Error(ErrorCode::kNotFound, "no channel " + std::string(wire::StringMember(*message, "channel"))));
      }
      if (channel->second.record().state == ChannelState::kClosed) {
        return Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Add("channel", ChannelStateJson(channel->second)).Finish());
      }
      channel->second.close_requesters.push_back(from);
      Apply(channel->second, channel->second.machine.RequestClose(StoreStatus()));
      return;
    }
    case wire::MessageType::kControlPolicy:
      return ControlPolicy(from, *message);
    case wire::MessageType::kControlList: {
      Json list = Json::Array();
      for (const auto& [id, channel] : channels_) list.PushBack(ChannelStateJson(channel));
      return Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Add("channels", list).Finish());
    }
    case wire::MessageType::kControlHealth:
      return ControlHealth(from);
    case wire::MessageType::kControlRecover: {
      auto channel = channels_.find(wire::StringMember(*message, "channel"));
      if (channel == channels_.end()) {
        return ReplyError(from, Error(ErrorCode::kNotFound, "no channel " + std::string(wire::StringMember(*message, "channel"))));
      }
      return Recover(from, std::nullopt, channel->second, *message);
    }
    case wire::MessageType::kControlBackup:
      return ControlBackup(from, *message);
    case wire::MessageType::kChainRead:
    case wire::MessageType::kChainWrite:
      return chain_service_->Handle(from, *message, ChainAccess::kAdmin);
    default: {
      const Error error(ErrorCode::kInvalidArgument, std::string(wire::MessageTypeName(message->type)) + " is not a control request");
      CountRejection(error);
      return ReplyError(from, error);
    }
  }
}

Json Daemon::Impl::PolicyJson(const ChannelRuntime* channel) {
  return control::PolicyJson(anchor_->policy(), channel == nullptr ? nullptr : &channel->record());
}

void Daemon::Impl::ControlPolicy(const Requester& from, const wire::Message& message) {
  const Json* channel_member = message.body.Find("channel");
  if (channel_member != nullptr) {
    auto channel = channels_.find(channel_member->as_string());
    if (channel == channels_.end()) {
      return ReplyError(from, Error(ErrorCode::kNotFound, "no channel " + channel_member->as_string()));
    }
    Result<std::optional<std::uint64_t>> n = Error(ErrorCode::kInternal, "");
    n = control::ChannelPolicyChange(message, anchor_->policy().options());
    if (!n.ok()) return ReplyError(from, n.error());
    if (!store_guard_->ok()) {
      return ReplyError(from, Error(ErrorCode::kUnavailable, "the store cannot write; the policy is not changed"));
    }
    channel->second.machine.SetNOverride(*n);
    // Answered once stored (after the channel's in-flight commit, if any).
    channel->second.settings_requesters.push_back(from);
    PersistSettings(channel->second);
    Log(LogLevel::kInfo, "channel policy",
        {{"channel", channel->first}, {"n", EffectiveN(channel->second.record())}});
    return;
  }
  if (!store_guard_->ok()) {
    return ReplyError(from, Error(ErrorCode::kUnavailable, "the store cannot write; the policy is not changed"));
  }
  // Only this loop changes the options (the timer changes the factor), so reading them and
  // setting them apart loses no change.
  if (Status set = anchor_->SetPolicyOptions(
          control::GlobalPolicyChange(message, anchor_->policy().options()));
      !set.ok()) {
    return ReplyError(from, set.error());
  }
  control::MergePolicyChange(message, stored_policy_);
  Log(LogLevel::kInfo, "global policy", {{"policy", PolicyJson(nullptr)}});
  // Answered once stored, so that what the reply shows also holds after a restart.
  writer_->PutValue(std::string(control::kStoredPolicyKey), stored_policy_.Serialize(),
                    OnLoop([this, from](const Status& status) {
                      if (!status.ok()) {
                        OnStoreWriteFailed("store global policy", "", status.error());
                        return ReplyError(from, Error(ErrorCode::kUnavailable,
                                                      "the policy is in effect but not stored (it "
                                                      "reverts on restart): " + status.error().message()));
                      }
                      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                                      .Add("policy", PolicyJson(nullptr))
                                      .Finish());
                    }));
}

void Daemon::Impl::ControlHealth(const Requester& from) {
  control::HealthFacts facts;
  facts.did = did_;
  facts.listen = listen_endpoint_;
  facts.control = control_endpoint_;
  for (const auto& [id, channel] : channels_)
    facts.channels_open += channel.record().state == ChannelState::kOpen ? 1 : 0;
  facts.channels = channels_.size();
  facts.connections = peers_->admitted_count();
  facts.unauthenticated_connections = peers_->unauthenticated_count();
  facts.peer_queued_bytes = peers_->queued_bytes();
  facts.issued = issued_;
  facts.replayed = replayed_;
  facts.dropped_events = dropped_events_;
  facts.rejected = rejected_;
  facts.auth_ok = admission_->admitted();
  facts.auth_failures = admission_->failures();
  facts.anchoring = anchor_->stats();
  facts.policy = PolicyJson(nullptr);
  facts.store_ok = store_guard_->ok();
  facts.store_error = store_guard_->error();
  facts.store_read_error = store_read_error_;
  facts.refused_channels.insert(refused_.begin(), refused_.end());
  facts.backup_running = backup_running_;
  facts.store_failed_for_ms =
      static_cast<std::uint64_t>(store_guard_->failed_for(Clock::now()).count());
  const ChannelStore::WriteHealth store_health = store_guard_->write_health();
  facts.store_write_failures = store_health.write_failures;
  facts.store_reopens = store_health.reopens;
  const StoreWriter::Stats writer = writer_->stats();
  facts.group_commits = writer.group_commits;
  for (const RecoveringChannel& channel : recovery_->List()) facts.recovering.push_back(channel.ToJson());
  facts.commits = writer.commits;
  Async([this, from, health = control::HealthJson(facts)]() mutable -> Task {
    auto status = adapter_->Status();
    return [this, from, status = std::move(status), health = std::move(health)]() mutable {
      control::AddChainHealth(health, status, store_guard_->ok() && store_read_error_.empty());
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Add("health", health).Finish());
    };
  });
}

std::optional<Error> Daemon::Impl::Refused(std::string_view channel_id) const {
  auto refused = refused_.find(channel_id);
  if (refused == refused_.end()) return std::nullopt;
  return Error(ErrorCode::kUnavailable, "channel " + refused->first +
                                            " is refused: its stored records cannot be read (" +
                                            refused->second + "); restore the store from a backup");
}

void Daemon::Impl::ControlBackup(const Requester& from, const wire::Message& message) {
  if (backup_running_) {
    return ReplyError(from, Error(ErrorCode::kUnavailable, "a backup is already running"));
  }
  if (draining_) return ReplyError(from, Error(ErrorCode::kUnavailable, "tccd is shutting down"));
  backup_running_ = true;
  const std::string path(wire::StringMember(message, "path"));
  Log(LogLevel::kInfo, "backup started", {{"path", path}});
  Async([this, from, path]() -> Task {
    BackupOptions options;
    options.tcc_did = did_;
    options.progress = [path](std::uint64_t records) {
      Log(LogLevel::kInfo, "backup progress", {{"path", path}, {"records", records}});
    };
    auto result = BackupStore(*store_, path, options);
    return [this, from, path, result = std::move(result)] {
      backup_running_ = false;
      metrics_->Backup(result.ok(), result.ok() ? result->seconds : 0.0);
      if (!result.ok()) {
        Log(LogLevel::kError, "backup failed", {{"path", path}, {"error", result.error().ToString()}});
        return ReplyError(from, result.error());
      }
      Log(LogLevel::kInfo, "backup finished",
          {{"path", path},
           {"records", result->manifest.records},
           {"bytes", result->bytes},
           {"seconds", result->seconds}});
      Json backup = Json::Object();
      backup.Set("directory", result->directory);
      backup.Set("records", result->manifest.records);
      backup.Set("bytes", result->bytes);
      backup.Set("seconds", result->seconds);
      backup.Set("channels", static_cast<std::uint64_t>(result->manifest.channels.size()));
      // The answer stays one frame: a manifest of many channels is read from its file.
      Json manifest = result->manifest.ToJson();
      if (result->manifest.channels.size() > kMaxBackupChannelsAnswered) manifest.Erase("channels");
      backup.Set("manifest", std::move(manifest));
      Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Add("backup", backup).Finish());
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Recovery of a channel the start-up cross-check found behind or contradicted by the chain

void Daemon::Impl::Recover(const Requester& from, std::optional<Role> role, ChannelRuntime& channel,
                           const wire::Message& message) {
  const std::string channel_id = channel.record().channel_id;
  if (!recovery_->Find(channel_id)) {
    const Error error(ErrorCode::kConflict, "channel " + channel_id + " is not recovering");
    CountRejection(error);
    return ReplyError(from, error);
  }
  if (!store_guard_->ok()) {
    return ReplyError(from, Error(ErrorCode::kUnavailable, "the store cannot write; nothing is restored"));
  }
  const Json* tscs = message.body.Find("tscs");  // an array: the wire layer checked it
  const Json* finish = message.body.Find("finish");
  const bool finishing = !role && (finish == nullptr || finish->as_bool());
  auto work = [this, from, role, finishing, channel_id, tst = channel.tst, tscs = *tscs]() -> Task {
    // One restore at a time, each from the head as stored: two members presenting at once must
    // not both write TSCs after the same head.
    std::lock_guard restoring(restore_mutex_);
    Result<RecoveredTscs> recovered = Error(ErrorCode::kInternal, "not run");
    if (auto record = store_->GetChannel(channel_id); !record.ok()) {
      recovered = record.error();
    } else {
      recovered = VerifyRecoveredTscs(*store_, *record, *tst, *resolver_, did_, tscs.as_array());
    }
    if (recovered.ok() && !recovered->commits.empty()) {
      // The channel settles nothing while recovering, so no other write touches its head.
      if (Status committed = store_->CommitSettlements(recovered->commits); !committed.ok()) {
        recovered = committed.error().WithContext("restore TSCs");
      }
    }
    return [this, from, role, finishing, channel_id, recovered = std::move(recovered)]() mutable {
      OnRecovered(from, role, finishing, channel_id, std::move(recovered));
    };
  };
  if (role) return PeerAsync(from, true, std::move(work));
  Async(std::move(work));
}

void Daemon::Impl::OnRecovered(const Requester& from, std::optional<Role> role, bool finishing,
                               const std::string& channel_id, Result<RecoveredTscs> recovered) {
  auto live = channels_.find(channel_id);
  if (live == channels_.end()) return;
  ChannelRuntime& channel = live->second;
  if (!recovered.ok()) {
    CountRejection(recovered.error());
    if (recovered.error().code() == ErrorCode::kInternal || recovered.error().code() == ErrorCode::kUnavailable) {
      OnStoreWriteFailed("restore TSCs", channel_id, recovered.error());
    }
    return ReplyError(from, recovered.error());
  }
  if (!recovered->commits.empty()) {
    const SettlementCommit& last = recovered->commits.back();
    // Restores complete in any order; the head only moves forward.
    if (last.tsc.seq > channel.machine.acknowledged().seq) channel.machine.ReloadHead(last.channel);
    if (last.evidence) anchor_->Submit(*last.evidence);
    Log(LogLevel::kInfo, "channel TSCs restored",
        {{"channel", channel_id}, {"restored", static_cast<std::uint64_t>(recovered->commits.size())},
         {"last_seq", last.tsc.seq}, {"by", role ? std::string(RoleName(*role)) : std::string("operator")}});
  }
  if (!recovered->stopped.empty()) {
    Log(LogLevel::kWarning, "channel recovery: presented TSCs not taken",
        {{"channel", channel_id}, {"why", recovered->stopped}});
  }
  // An operator's word ends the state; parties end it once provider and consumer both presented,
  // since each holds every TSC it applied and the longest verified continuation won.
  bool ended = false;
  if (!role) {
    ended = finishing && recovered->stopped.empty();
  } else if (*role != Role::kAuditor) {
    const auto presented = recovery_->Presented(channel_id, std::string(RoleName(*role)));
    ended = presented.contains("provider") && presented.contains("consumer");
  }
  auto answer = [this, from, channel_id, restored = static_cast<std::uint64_t>(recovered->commits.size()),
                 stopped = recovered->stopped](bool still_recovering) {
    auto now = channels_.find(channel_id);
    if (now == channels_.end()) return;
    wire::FrameBuilder reply(wire::MessageType::kReply, from.request_id);
    reply.Add("channel", channel_id)
        .Add("restored", restored)
        .Add("last_seq", now->second.machine.acknowledged().seq)
        .Add("recovering", still_recovering);
    if (!stopped.empty()) reply.Add("not_taken", stopped);
    Reply(from, reply.Finish());
    Publish(now->second, wire::FrameBuilder(wire::MessageType::kEventChannel)
                              .Add("channel", channel_id)
                              .Add("state", ChannelStateJson(now->second))
                              .Finish());
  };
  if (!ended) return answer(true);
  const std::optional<RecoveringChannel> was = recovery_->Find(channel_id);
  recovery_->Remove(channel_id);
  writer_->PutValue(std::string(kRecoveryValueName), recovery_->Serialize(),
                    OnLoop([this, channel_id, was, answer](const Status& status) {
                      if (!status.ok()) {
                        // Still recovering after a restart; in memory it settles again now.
                        OnStoreWriteFailed("store recovery state", channel_id, status.error());
                      }
                      Log(LogLevel::kInfo, "channel recovered",
                          {{"channel", channel_id},
                           {"was_store_seq", was ? was->store_seq : 0},
                           {"last_seq", channels_.find(channel_id)->second.machine.acknowledged().seq}});
                      answer(false);
                    }));
}

// ---------------------------------------------------------------------------------------------

Result<std::unique_ptr<Daemon>> Daemon::Start(DaemonConfig config) {
  TCC_RETURN_IF_ERROR(FinishDaemonConfig(config));
  auto impl = std::make_unique<Impl>(std::move(config));
  // Starting threads can throw (std::system_error when the system has none left); no exception
  // leaves this library, and the half-started daemon is torn down by ~Impl.
  try {
    TCC_RETURN_IF_ERROR(impl->Start());
  } catch (const std::exception& exception) {
    return Error(ErrorCode::kResourceExhausted, std::string("start: ") + exception.what());
  }
  return std::unique_ptr<Daemon>(new Daemon(std::move(impl)));
}

Daemon::Daemon(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Daemon::~Daemon() { Stop(); }
const std::string& Daemon::did() const { return impl_->did_; }
const std::string& Daemon::listen_endpoint() const { return impl_->listen_endpoint_; }
const std::string& Daemon::control_endpoint() const { return impl_->control_endpoint_; }
const std::string& Daemon::metrics_address() const { return impl_->metrics_address_; }
const std::string& Daemon::vc_api_address() const { return impl_->vc_api_address_; }
const std::string& Daemon::admin_key_file() const { return impl_->admin_key_file_; }
void Daemon::Stop() { impl_->Stop(); }
Status Daemon::Wait() { return impl_->Wait(); }

}  // namespace tcc::controller
