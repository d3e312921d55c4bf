#include "daemon_impl.h"

// Daemon::Impl on the loop thread: its pass and drain, framing requests, and what LoopHost lends
// the parts (daemon_impl.h).

namespace tcc::controller {
namespace {

constexpr std::size_t kMaxReceivesPerWake = 512;

}  // namespace

// ---------------------------------------------------------------------------------------------
// The loop

void Daemon::Impl::RunLoop() {
  std::vector<bool> ready;
  std::deque<Task> drained;
  next_sweep_ = Clock::now() + std::chrono::seconds(1);
  while (true) {
    if (stop_requested_ && !draining_) BeginDrain();
    if (draining_ && (Drained() || Clock::now() > drain_deadline_)) break;
    if (Status polled = poller_->Wait(std::chrono::milliseconds(200), ready); !polled.ok()) {
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
      // One drain covers the batch: every connection that can send in it was accepted before its
      // ZAP request, answered above or in an earlier pass (connection_table.h).
      if (socket_index == 2) parties_->ApplyEvents();
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

// ---------------------------------------------------------------------------------------------
// Requests: framed and decoded here, served by the parts (party_requests.h, control_service.h)

void Daemon::Impl::HandleParty(std::vector<wire::ReceivedFrame> frames) {
  // The parts a peer sent carry the metadata; a bare routing id cannot come from a DEALER.
  if (frames.size() < 2) return;
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

void Daemon::Impl::OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                                      const Error& error) {
  store_recovery_->WriteFailed(what, channel_id, error);
}

}  // namespace tcc::controller
