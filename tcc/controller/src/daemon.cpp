#include "daemon_impl.h"

// Daemon::Impl's set-up, parts, health facts and shutdown (daemon_impl.h).

namespace tcc::controller {
namespace {

constexpr char kZapEndpoint[] = "inproc://zeromq.zap.01";
constexpr char kPartyMonitorEndpoint[] = "inproc://tcc.party.monitor";

}  // namespace

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
  const wire::PollItem items[] = {{&*zap_, -1},
                                  {nullptr, loop_.fd()},
                                  {&parties_->socket(), -1},
                                  {&*control_, -1},
                                  {&parties_->monitor(), -1}};
  TCC_ASSIGN_OR_RETURN(wire::SocketPoller poller, wire::SocketPoller::Create(items));
  poller_.emplace(std::move(poller));
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
                        .linger = config_.store.group_commit_linger,
                        .idle_linger = config_.store.group_commit_idle_linger});
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
