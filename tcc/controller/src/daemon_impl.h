// Internal: Daemon::Impl, the daemon's wiring. It starts the parts (admission, channel table,
// settlement pipeline, channel lifecycle, reads, recovery, control and party requests, dispute
// handler, store writer and guard, anchor service, workers, VC-API), owns the sockets and the loop
// thread that serves them, lends the parts the loop (LoopHost), and stops them in order.
//
// Defined in two files: daemon.cpp (set-up, the parts, health facts, shutdown) and
// daemon_loop.cpp (the loop thread's pass and drain, framing requests, and what LoopHost lends).
// Start, Stop and Wait are called from any thread; everything else runs on the loop thread.
#pragma once

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
#include "tcc/controller/daemon.h"
#include "tcc/controller/log.h"
#include "tcc/did/key_pair.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"
#include "template_cache.h"
#include "vc_api_start.h"
#include "work_queue.h"

namespace tcc::controller {

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
  // What the loop sleeps on, in this order: ZAP, the loop queue, party socket, control, monitor.
  std::optional<wire::SocketPoller> poller_;
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

}  // namespace tcc::controller
