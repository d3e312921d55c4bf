#include "tcc/controller/daemon.h"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "admission.h"
#include "chain_crosscheck.h"
#include "chain_watch.h"
#include "channel_lifecycle.h"
#include "channel_reads.h"
#include "channel_runtime.h"
#include "channel_store.h"
#include "connection_table.h"
#include "control_api.h"
#include "control_service.h"
#include "daemon_keys.h"
#include "dispute_handler.h"
#include "dispute_host.h"
#include "in_flight.h"
#include "loop_host.h"
#include "metrics.h"
#include "party_connections.h"
#include "party_requests.h"
#include "recovery_requests.h"
#include "requester.h"
#include "settlement_pipeline.h"
#include "store_check.h"
#include "store_evidence_source.h"
#include "store_guard.h"
#include "store_recovery.h"
#include "store_writer.h"
#include "tcc/chain/factory.h"
#include "tcc/common/file.h"
#include "tcc/common/thread_name.h"
#include "tcc/common/thread_safety.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/controller/log.h"
#include "tcc/did/key_pair.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"
#include "template_cache.h"
#include "vc_api_start.h"
#include "work_queue.h"

// The daemon's wiring: it starts the parts (admission, channel table, settlement pipeline, channel
// lifecycle, reads, recovery, control and party requests, dispute handler, store writer and guard,
// anchor service, workers, VC-API), owns the sockets and the loop thread that serves them, lends
// the parts the loop (LoopHost), and stops them in order.

namespace tcc::controller {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr char kPartyMonitorEndpoint[] = "inproc://tcc.party.monitor";
constexpr std::size_t kMaxReceivesPerWake = 512;

}  // namespace

class Daemon::Impl final : private LoopHost {
 public:
  explicit Impl(DaemonConfig config) : config_(std::move(config)) {}
  ~Impl() override {
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
  void MakeParts();
  Status BindSockets();

  // --- the loop (I/O thread) ---
  void RunLoop();
  void HandleZap();
  void HandleParty(std::vector<wire::ReceivedFrame> frames);
  void HandleControl(std::vector<wire::ReceivedFrame> frames);
  void Sweep();
  // Runs or hands out the work AsyncOrOnLoop deferred, before the loop sleeps again.
  void RunDeferred();
  void BeginDrain();
  bool Drained() const;
  void FinishDrain();

  // LoopHost: what the parts borrow of the loop.
  void Reply(const Requester& to, std::string frame) override;
  void ReplyError(const Requester& to, const Error& error) override;
  void CountRejection(const Error& error) override {
    ++rejected_[std::string(ErrorCodeName(error.code()))];
    metrics_->Rejected(ErrorCodeName(error.code()));
  }
  std::size_t Publish(ChannelRuntime& channel, std::string_view frame,
                      std::optional<Role> only = std::nullopt,
                      const Requester* answered = nullptr) override;
  void Async(std::function<Task()> work) override;
  void AsyncOrOnLoop(std::function<Task()> work) override { deferred_.push_back(std::move(work)); }
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work) override;
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override;
  Status StoreStatus() const override { return store_guard_->status(); }
  void OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                          const Error& error) override;
  Connection* LiveConnection(const Requester& from) override;
  bool draining() const override { return draining_; }

  void OnForgetting(const Connection& connection);
  void UpdateGauges();
  control::HealthFacts HealthFacts();

  DaemonConfig config_;
  // Worker tasks and store writes whose completion has not run on the loop (a drain waits for
  // them), and the store's state. Before loop_: completions still queued at destruction hold their
  // tokens, released when loop_ is destroyed.
  InFlight outstanding_;
  // The worker tasks among them: none out means no worker has the loop's work.
  InFlight on_workers_;
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
  // The global policy members set through control.policy, as stored (control_api.h); handed to
  // the control service at start.
  Json stored_policy_ = Json::Object();
  std::unique_ptr<AnchorService> anchor_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<WorkerPool> workers_;

  std::shared_ptr<wire::ZmqContext> zmq_;
  std::optional<wire::ZmqSocket> zap_;
  std::optional<wire::ZmqSocket> control_;

  // Loop-thread state.
  ChannelTable channels_;
  std::unique_ptr<PartyConnections> parties_;  // the party socket, its monitor and peers
  bool draining_ = false;
  Clock::time_point drain_deadline_;
  Clock::time_point next_sweep_;
  std::map<std::string, std::uint64_t> rejected_;
  // AsyncOrOnLoop's work, run or handed to the workers at the end of the loop pass that made it.
  std::vector<std::function<Task()>> deferred_;
  std::vector<std::function<Task()>> deferred_running_;  // kept: its storage is reused
  // The start-up read check (store_check.h): the store-wide read error, and the channels refused
  // because their records cannot be read (id -> LevelDB's error). Set before the loop starts.
  std::string store_read_error_;
  RefusedChannels refused_;

  // The parts (loop thread), made once the services they borrow exist; each borrows the loop
  // through LoopHost and depends only on the parts made before it.
  std::unique_ptr<ChannelViews> views_;
  std::unique_ptr<ChannelLifecycle> lifecycle_;
  std::unique_ptr<SettlementPipeline> pipeline_;
  std::unique_ptr<ChannelReads> reads_;
  std::unique_ptr<RecoveryRequests> recoveries_;
  std::unique_ptr<StoreRecovery> store_recovery_;
  std::unique_ptr<LoopDisputeHost> dispute_host_;
  std::unique_ptr<DisputeHandler> disputes_;
  std::unique_ptr<ChainService> chain_service_;
  std::unique_ptr<ControlService> control_service_;
  std::unique_ptr<PartyRequests> party_requests_;

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
  TCC_ASSIGN_OR_RETURN(DaemonKeys keys,
                       LoadDaemonKeys(config_.key_file, config_.admin_dids, config_.data_dir));
  did_ = std::move(keys.did);
  admin_key_file_ = std::move(keys.admin_key_file);
  curve_ = wire::CurveKeyPair::FromDidKey(keys.key);
  key_.emplace(std::move(keys.key));
  admission_ = std::make_unique<Admission>(
      did_, std::move(keys.admin_curve_keys),
      Admission::Options{config_.limits.auth_rate_per_source, config_.limits.challenge_ttl},
      [this](std::string_view reason) { metrics_->AuthFailed(reason); });
  return OkStatus();
}

Status Daemon::Impl::OpenChainAndStore() {
  // A node that does not answer yet does not stop tccd (under systemd it may boot later): tccd
  // starts degraded, settles, queues evidence and opens the adapter once the node answers.
  bool deferred = false;
  auto adapter =
      chain::OpenChainAdapterOrDefer(config_.chain_uri, {}, std::chrono::seconds(1), &deferred);
  if (!adapter.ok())
    return std::move(adapter).error().WithContext("open chain " + config_.chain_uri);
  adapter_ = std::shared_ptr<chain::ChainAdapter>(std::move(adapter).value());
  if (deferred) {
    auto status = adapter_->Status();
    Log(LogLevel::kWarning, "chain unreachable at start; starting degraded",
        {{"chain", config_.chain_uri},
         {"error", status.ok() ? std::string() : status.error().message()}});
  }
  resolver_ = MakeChainResolver(adapter_);
  auto store = ChannelStore::Open(config_.data_dir + "/store");
  if (!store.ok()) return std::move(store).error().WithContext("open store");
  store_ = std::move(store).value();
  store_guard_ = std::make_unique<StoreGuard>(*store_);
  templates_ = std::make_unique<TemplateCache>(adapter_, *store_);
  return OkStatus();
}

Status Daemon::Impl::BindSockets() {
  TCC_ASSIGN_OR_RETURN(zmq_, wire::ZmqContext::Create(1));
  // The ZAP handler must be bound before any CURVE socket, or libzmq admits everyone.
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket zap, wire::ZmqSocket::Create(zmq_, wire::SocketType::kRep));
  TCC_RETURN_IF_ERROR(zap.Bind(kZapEndpoint));
  zap_.emplace(std::move(zap));

  auto make_server = [&](std::string_view domain) -> Result<wire::ZmqSocket> {
    TCC_ASSIGN_OR_RETURN(wire::ZmqSocket socket,
                         wire::ZmqSocket::Create(zmq_, wire::SocketType::kRouter));
    TCC_RETURN_IF_ERROR(socket.SetCurveServer(curve_, domain));
    TCC_RETURN_IF_ERROR(socket.SetRouterMandatory());
    // A peer that sends a frame over the limit is disconnected by libzmq before we see it.
    TCC_RETURN_IF_ERROR(socket.SetMaxMessageSize(static_cast<std::int64_t>(wire::kMaxFrameBytes)));
    TCC_RETURN_IF_ERROR(socket.SetHighWaterMarks(100000, 100000));
    TCC_RETURN_IF_ERROR(socket.SetHeartbeat(std::chrono::seconds(5), std::chrono::seconds(30)));
    TCC_RETURN_IF_ERROR(socket.SetHandshakeTimeout(std::chrono::seconds(10)));
    return socket;
  };
  auto bind = [](wire::ZmqSocket& socket, const std::string& endpoint,
                 std::string& bound) -> Status {
    TCC_RETURN_IF_ERROR(socket.Bind(endpoint));
    TCC_ASSIGN_OR_RETURN(bound, socket.LastEndpoint());
    return OkStatus();
  };
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket party, make_server(kPartyDomain));
  // Monitored before it is bound, so every accept is seen.
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket monitor, party.Monitor(kPartyMonitorEndpoint));
  TCC_RETURN_IF_ERROR(bind(party, config_.listen, listen_endpoint_));
  TCC_ASSIGN_OR_RETURN(wire::ZmqSocket control, make_server(kControlDomain));
  TCC_RETURN_IF_ERROR(bind(control, config_.control, control_endpoint_));
  control_.emplace(std::move(control));
  parties_ = std::make_unique<PartyConnections>(
      std::move(party), std::move(monitor),
      ConnectionLimits{
          .max_admitted = config_.limits.max_connections,
          .max_unauthenticated = config_.limits.max_unauthenticated_connections,
          .max_per_source = config_.limits.max_connections_per_source,
          .max_challenges_per_connection = config_.limits.max_challenges_per_connection,
          .unauthenticated_timeout = config_.limits.unauthenticated_timeout,
          .idle_timeout = config_.limits.idle_timeout,
          .max_queued_bytes_per_peer = config_.limits.max_queued_bytes_per_connection,
          .max_queued_bytes_total = config_.limits.max_queued_bytes_total},
      ConnectionTable::Hooks{
          .forgetting = [this](const Connection& connection) { OnForgetting(connection); },
          .disconnected = [this](std::string_view reason) { metrics_->PeerDisconnected(reason); }});
  return OkStatus();
}

Status Daemon::Impl::Start() {
  if (!loop_.valid())
    return Error(ErrorCode::kInternal, "eventfd: " + std::string(std::strerror(errno)));
  TCC_RETURN_IF_ERROR(tcc::EnsurePrivateDirectory(config_.data_dir, "data directory"));
  TCC_RETURN_IF_ERROR(LoadKeys());
  TCC_RETURN_IF_ERROR(OpenChainAndStore());
  TCC_ASSIGN_OR_RETURN(LoadedChannels loaded, LoadChannels(*store_, *templates_));
  channels_ = std::move(loaded.channels);
  refused_ = std::move(loaded.refused);
  store_read_error_ = std::move(loaded.store_read_error);

  AnchorServiceOptions anchoring = config_.anchoring;
  if (anchoring.batch_id_prefix == AnchorServiceOptions{}.batch_id_prefix)
    anchoring.batch_id_prefix = did_;
  // Before the anchor service draws batch ids: it would skip the ids that show the store behind.
  std::set<std::string, std::less<>> refused;
  for (const auto& [id, error] : refused_) refused.insert(id);
  TCC_ASSIGN_OR_RETURN(
      StartupCrossCheck cross_check,
      RunStartupCrossCheck(*store_, *adapter_, anchoring.batch_id_prefix, *recovery_, refused));
  for (const auto& [id, seq] : cross_check.anchored_on_chain) {
    if (auto channel = channels_.find(id); channel != channels_.end())
      channel->second.anchored_seq = seq;
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
    if (!read.ok())
      return std::move(read).error().WithContext("store " + config_.data_dir + "/store");
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
        loop_.Post([this, bundles] { lifecycle_->OnAnchored(bundles); });
      });
  anchor_->OnAdapterError([this](const Error& error) {
    metrics_->AdapterError(ErrorCodeName(error.code()));
    // One per failed anchor attempt: bounded by the anchor interval and the retry backoff.
    Log(LogLevel::kWarning, "chain adapter error",
        {{"kind", std::string(ErrorCodeName(error.code()))}, {"error", error.message()}});
  });
  TCC_RETURN_IF_ERROR(anchor_->Start());
  workers_ = std::make_unique<WorkerPool>(config_.workers, "tcc-worker");
  writer_ = std::make_unique<StoreWriter>(
      *store_, [this](double seconds, std::size_t tscs) { metrics_->StoreWrite(seconds, tscs); },
      GroupCommitPolicy{.width = config_.store.group_commit_width,
                        .linger = config_.store.group_commit_linger});
  TCC_RETURN_IF_ERROR(BindSockets());
  MakeParts();
  TCC_ASSIGN_OR_RETURN(
      vc_api_, StartVcApi(config_.vc_api, config_.vc_api_issuer_key_file,
                          VcApiParts{*key_, resolver_,
                                     [this](const std::string& id, std::uint32_t version) {
                                       return templates_->Get(id, version);
                                     },
                                     adapter_,
                                     std::make_shared<StoreEvidenceSource>(*store_, recovery_, 1000,
                                                                           store_read_error_),
                                     *metrics_}));
  if (vc_api_) vc_api_address_ = vc_api_->bound_address();

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
          loop_.Post([this, tic_id] { lifecycle_->Open(tic_id, std::nullopt); });
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
  const wire::PollItem items[] = {{&*zap_, -1},
                                  {nullptr, loop_.fd()},
                                  {&parties_->socket(), -1},
                                  {&*control_, -1},
                                  {&parties_->monitor(), -1}};
  auto poller = wire::SocketPoller::Create(items);
  std::vector<bool> ready;
  std::deque<Task> drained;
  next_sweep_ = Clock::now() + std::chrono::seconds(1);
  while (true) {
    if (stop_requested_ && !draining_) BeginDrain();
    if (draining_ && (Drained() || Clock::now() > drain_deadline_)) break;
    Status polled =
        poller.ok() ? poller->Wait(std::chrono::milliseconds(200), ready) : Status(poller.error());
    if (!polled.ok()) {
      Log(LogLevel::kError, "poll failed", {{"error", polled.error().ToString()}});
      MutexLock lock(state_mutex_);
      final_status_ = polled;
      break;
    }
    if (ready[0]) HandleZap();
    if (ready[4]) parties_->ApplyEvents();
    if (ready[1]) {
      loop_.DrainInto(drained);
      for (auto& task : drained) task();
      drained.clear();
    }
    for (int socket_index : {2, 3}) {
      if (!ready[static_cast<std::size_t>(socket_index)]) continue;
      wire::ZmqSocket& socket = socket_index == 2 ? parties_->socket() : *control_;
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
    RunDeferred();
  }
  FinishDrain();
}

// A lone piece of work with every worker idle runs here: the loop would sleep otherwise, and a
// worker would wake cold for it and wake the loop again with its result. More than one (a burst,
// saturation), or any worker busy, and they go to the workers, which run them side by side.
void Daemon::Impl::RunDeferred() {
  while (!deferred_.empty()) {
    deferred_running_.swap(deferred_);
    if (deferred_running_.size() == 1 && on_workers_.count() == 0) {
      std::function<Task()> work = std::move(deferred_running_.front());
      deferred_running_.clear();
      metrics_->RanOnLoop();
      work()();  // its completion may defer more work: the loop goes round again
      continue;
    }
    for (auto& work : deferred_running_) Async(std::move(work));
    deferred_running_.clear();
  }
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
  if (store_guard_->ok() && outstanding_.count() == 0)
    final_items = lifecycle_->AnchorHeads(*store_);
  if (anchor_) {
    anchor_->Flush();
    anchor_->Stop(true);
    const AnchorStats stats = anchor_->stats();
    Log(LogLevel::kInfo, "stopped",
        {{"final_anchor_items", static_cast<std::uint64_t>(final_items)},
         {"unanchored_items",
          static_cast<std::uint64_t>(stats.queued_items + stats.in_flight_items)},
         {"issued", pipeline_->issued()}});
  }
  parties_->Close();
  control_.reset();
  zap_.reset();
  MutexLock lock(state_mutex_);
  stopped_ = true;
  stopped_cv_.NotifyAll();
}

void Daemon::Impl::Async(std::function<Task()> work) {
  workers_->Post([this, token = outstanding_.BeginCarried(), on_worker = on_workers_.BeginCarried(),
                  work = std::move(work)] {
    Task done = work();
    loop_.Post([token, on_worker, done = std::move(done)] {
      token.Take().Release();
      on_worker.Take().Release();
      done();
    });
  });
}

StoreWriter::Done Daemon::Impl::OnLoop(std::function<void(const Status&)> done) {
  return [this, work = outstanding_.BeginCarried(), write = store_guard_->BeginWrite(),
          done = std::move(done)](const Status& status) mutable {
    // Each op's callback runs once: the completion (and what it holds, a TSC say) moves on.
    loop_.Post([work, write, done = std::move(done), status] {
      work.Take().Release();
      write.Take().Release();
      done(status);
    });
  };
}

void Daemon::Impl::PeerAsync(const Requester& from, bool large, std::function<Task()> work) {
  if (Connection* connection = parties_->table().Find({from.routing_id, from.generation})) {
    ++connection->requests_in_flight;
    if (large) ++connection->large_requests_in_flight;
  }
  Async([this, from, large, work = std::move(work)]() -> Task {
    Task done = work();
    return [this, from, large, done = std::move(done)] {
      if (Connection* connection = parties_->table().Find({from.routing_id, from.generation})) {
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
  parties_->Send(to, frame);
}

void Daemon::Impl::ReplyError(const Requester& to, const Error& error) {
  Reply(to, wire::EncodeError(to.request_id, error));
}

std::size_t Daemon::Impl::Publish(ChannelRuntime& channel, std::string_view frame,
                                  std::optional<Role> only, const Requester* answered) {
  return parties_->Publish(channel, frame, only, answered);
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
  metrics_->SetConnections(static_cast<std::int64_t>(parties_->table().admitted_count()),
                           static_cast<std::int64_t>(parties_->table().unauthenticated_count()));
  metrics_->SetPeerQueuedBytes(static_cast<std::int64_t>(parties_->table().queued_bytes()));
  metrics_->SetPipelineDepth(static_cast<std::int64_t>(outstanding_.count()));
  const did::CachingResolver::Stats cache = resolver_->stats();
  metrics_->SetDidCache(cache.hits, cache.misses);
  const AnchorStats anchoring = anchor_->stats();
  metrics_->SetUnanchored(
      static_cast<std::int64_t>(anchoring.queued_items + anchoring.in_flight_items));
  if (anchoring.last_height > 0) metrics_->SetChainHeight(anchoring.last_height);
  const AnchorPolicy policy = anchor_->policy();
  metrics_->SetEffectiveN(static_cast<std::int64_t>(policy.EffectiveN(0, std::nullopt)),
                          static_cast<std::int64_t>(policy.factor()));
  metrics_->SetNBounds(static_cast<std::int64_t>(policy.options().n_min),
                       static_cast<std::int64_t>(policy.options().n_max));
  store_recovery_->ReportHealth();
}

void Daemon::Impl::Sweep() {
  const auto now = Clock::now();
  next_sweep_ = now + std::chrono::seconds(1);
  parties_->ApplyEvents();
  parties_->table().Sweep(now);
  store_recovery_->Sweep();
  UpdateGauges();
  admission_->Sweep();
}

void Daemon::Impl::MakeParts() {
  LoopHost& host = *this;  // lent to the parts; they see nothing else of the daemon
  views_ = std::make_unique<ChannelViews>(*anchor_, *recovery_);
  lifecycle_ = std::make_unique<ChannelLifecycle>(
      host, channels_, *views_,
      ChannelLifecycle::Parts{*adapter_, *templates_, *resolver_, did_, *key_, *writer_, *anchor_,
                              *metrics_, refused_, config_.limits.max_channels});
  pipeline_ = std::make_unique<SettlementPipeline>(
      host, channels_, *views_,
      SettlementPipeline::Parts{*resolver_, *key_, *store_, *writer_, *anchor_, *metrics_,
                                config_.limits.max_waiting_per_channel,
                                [this](ChannelRuntime& channel) { lifecycle_->Close(channel); }});
  reads_ = std::make_unique<ChannelReads>(host, *store_);
  recoveries_ = std::make_unique<RecoveryRequests>(
      host, channels_, *views_,
      RecoveryRequests::Parts{*store_, *resolver_, did_, *recovery_, *writer_, *anchor_});
  store_recovery_ = std::make_unique<StoreRecovery>(
      host, channels_, StoreRecovery::Parts{*store_guard_, *anchor_, *metrics_, *pipeline_});
  dispute_host_ = std::make_unique<LoopDisputeHost>(host, channels_, *pipeline_);
  disputes_ =
      std::make_unique<DisputeHandler>(*dispute_host_, *writer_, *store_, *resolver_, *metrics_);
  chain_service_ = std::make_unique<ChainService>(host, adapter_);
  control_service_ = std::make_unique<ControlService>(
      host, channels_, *views_,
      ControlService::Parts{*lifecycle_, *pipeline_, *recoveries_, *store_, *writer_, *anchor_,
                            *adapter_, *chain_service_, *metrics_, did_, refused_, [this] { return HealthFacts(); }},
      std::move(stored_policy_));
  party_requests_ = std::make_unique<PartyRequests>(
      host, channels_, *views_,
      PartyRequests::Parts{parties_->table(), *admission_, *resolver_, *metrics_, *pipeline_,
                           *reads_, *recoveries_, *disputes_, *chain_service_, *recovery_, refused_,
                           config_.limits.max_requests_in_flight_per_connection});
}

// ---------------------------------------------------------------------------------------------
// Requests: framed and decoded here, served by the parts (party_requests.h, control_service.h)

void Daemon::Impl::HandleParty(std::vector<wire::ReceivedFrame> frames) {
  // The parts a peer sent carry the metadata; a bare routing id cannot come from a DEALER.
  if (frames.size() < 2) return;
  // Its accept (and any disconnect before it) is reported before its messages: see them first.
  parties_->ApplyEvents();
  const wire::ReceivedFrame& body = frames[1];
  Connection* connection =
      parties_->table().OnRequest(frames[0].data, body.source_fd, body.user_id, Clock::now());
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
  party_requests_->Handle(*connection, from, std::move(message).value());
}

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
  control_service_->Handle(from, *message);
}

Connection* Daemon::Impl::LiveConnection(const Requester& from) { return parties_->Live(from); }

control::HealthFacts Daemon::Impl::HealthFacts() {
  control::HealthFacts facts;
  facts.did = did_;
  facts.listen = listen_endpoint_;
  facts.control = control_endpoint_;
  for (const auto& [id, channel] : channels_)
    facts.channels_open += channel.record().state == ChannelState::kOpen ? 1 : 0;
  facts.channels = channels_.size();
  facts.connections = parties_->table().admitted_count();
  facts.unauthenticated_connections = parties_->table().unauthenticated_count();
  facts.peer_queued_bytes = parties_->table().queued_bytes();
  facts.issued = pipeline_->issued();
  facts.replayed = pipeline_->replayed();
  facts.dropped_events = parties_->dropped_events();
  facts.rejected = rejected_;
  facts.auth_ok = admission_->admitted();
  facts.auth_failures = admission_->failures();
  facts.anchoring = anchor_->stats();
  facts.store_ok = store_guard_->ok();
  facts.store_error = store_guard_->error();
  facts.store_read_error = store_read_error_;
  facts.refused_channels.insert(refused_.begin(), refused_.end());
  facts.store_failed_for_ms =
      static_cast<std::uint64_t>(store_guard_->failed_for(Clock::now()).count());
  const ChannelStore::WriteHealth store_health = store_guard_->write_health();
  facts.store_write_failures = store_health.write_failures;
  facts.store_reopens = store_health.reopens;
  const StoreWriter::Stats writer = writer_->stats();
  facts.group_commits = writer.group_commits;
  facts.commits = writer.commits;
  for (const RecoveringChannel& channel : recovery_->List())
    facts.recovering.push_back(channel.ToJson());
  return facts;
}

void Daemon::Impl::OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                                      const Error& error) {
  store_recovery_->WriteFailed(what, channel_id, error);
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
