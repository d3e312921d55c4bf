// DaemonMetrics: tccd's Prometheus metrics (prometheus-cpp, pull exposer on --metrics ADDR:PORT).
//
// Names follow Prometheus conventions: `tcc_` prefix, base units (seconds, bytes), `_total` for
// counters, and only bounded label sets (a reason, a stage, an error kind) — never a channel id or
// a DID. The daemon calls the typed methods below; nothing else in TCC sees prometheus-cpp.
//
// Hot path: the per-settlement calls (SettlementDurable, SettlementPublished, TscIssued, Rejected,
// StageDone, StageTook) update pre-created series, without allocation. prometheus-cpp's histogram
// takes a mutex per observation, so tccd makes them all on its loop thread (the workers hand their
// stage times back with their result): uncontended, they cost far below 2% of a settlement.
// Thread-safe: every method may be called from any thread.
// Owns the exposer; destroying it stops serving.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "tcc/common/result.h"

namespace tcc::controller {

class DaemonMetrics {
 public:
  // Serves /metrics on `listen_address` ("127.0.0.1:9464"; port 0 picks a free one) when not
  // empty; otherwise metrics are kept but not served. kUnavailable if the address cannot be bound.
  static Result<std::unique_ptr<DaemonMetrics>> Create(const std::string& listen_address,
                                                       std::string_view tcc_did, std::string_view chain_adapter);
  ~DaemonMetrics();
  DaemonMetrics(const DaemonMetrics&) = delete;
  DaemonMetrics& operator=(const DaemonMetrics&) = delete;

  // "ADDR:PORT" actually bound, empty when not serving.
  std::string bound_address() const;

  // Settlements.
  void TscIssued();
  // Submit-to-durable and submit-to-published seconds of one issued TSC.
  void SettlementDurable(double seconds);
  void SettlementPublished(double seconds);
  // A refused submission or request; `reason` is an ErrorCodeName (bounded set).
  void Rejected(std::string_view reason);
  void Replayed();  // an idempotent resubmission answered with the stored TSC
  // A consumer's rejection of a proposal, stored; `code` is a ReasonCodeName (bounded set).
  void BillRejected(std::string_view code);
  // A channel closed at a party's request, by ReasonCodeName.
  void ClosedByParty(std::string_view code);
  void SetPipelineDepth(std::int64_t submissions);  // verifying, issuing or waiting to be stored
  // Work for a worker that the idle loop ran itself (LoopHost::AsyncOrOnLoop).
  void RanOnLoop();

  // Where a settlement's time goes, one series of tcc_settlement_stage_seconds per stage:
  //  kQueueWait  from the submission's arrival to a worker (or the idle loop) taking it up
  //              (behind the channel's previous claim, then in the worker pool's queue);
  //  kVerify     TST validation and both parties' proofs;
  //  kIssue      signing the TSC, its canonical text, its hash and the claim hash (the replay key,
  //              taken from the claim's text inside the TSC's);
  //  kCommit     from the hand-off to the store writer to the loop learning the TSC is durable
  //              (writer queue, group commit with its sync, the hop back to the loop);
  //  kPublish    the reply to the submitter and the event to the channel's parties.
  // Every submission that reached a stage is counted there, refused ones included.
  enum class Stage { kQueueWait, kVerify, kIssue, kCommit, kPublish };
  using TimePoint = std::chrono::steady_clock::time_point;
  // Observes now - `since` in `stage`'s series and returns now, the start of the next stage.
  TimePoint StageDone(Stage stage, TimePoint since);
  // Observes to - from: a stage timed on another thread and observed here.
  void StageTook(Stage stage, TimePoint from, TimePoint to);

  // Channels and admission.
  void ChannelOpened();
  void ChannelClosed();
  void SetChannelsOpen(std::int64_t channels);
  // Party connections admitted to a channel, and those not (yet) admitted.
  void SetConnections(std::int64_t admitted, std::int64_t unauthenticated);
  // A party connection tccd ended, by reason (slow_reader, per_source_limit,
  // unauthenticated_timeout, unauthenticated_evicted, idle).
  void PeerDisconnected(std::string_view reason);
  // Bytes handed to the transport for parties that the kernel has not taken yet.
  void SetPeerQueuedBytes(std::int64_t bytes);
  void AuthSucceeded();
  void AuthFailed(std::string_view reason);  // bounded set: Admission's reasons (admission.h)
  void SetDidCache(std::uint64_t hits, std::uint64_t misses);  // cumulative, from CachingResolver

  // Store.
  void StoreWrite(double seconds, std::uint64_t tscs);  // one group commit
  // Whether settlements are accepted (0 while a failed store write is not yet recovered from), and
  // the store's cumulative failed or refused writes, reopens and synced writes
  // (ChannelStore::write_health).
  void SetStoreHealth(bool writable, std::uint64_t write_failures, std::uint64_t reopens,
                      std::uint64_t syncs);
  // The start-up read check (store_check.h): whether every record read, and the channels refused
  // because theirs did not.
  void SetStoreReadable(bool readable, std::int64_t refused_channels);
  // A control.backup finished (ok or failed) and how long a successful one took.
  void Backup(bool ok, double seconds);

  // Anchoring and chain.
  void SetUnanchored(std::int64_t evidence_items);
  void AnchorBatch(std::uint64_t leaves, double latency_seconds);
  void AdapterError(std::string_view kind);  // an ErrorCodeName
  void SetEffectiveN(std::int64_t default_n, std::int64_t factor);
  // The operator's bounds [n_min, n_max] of every channel's N (live-changeable by control.policy),
  // exported so that alerts can compare the effective N with the configured maximum.
  void SetNBounds(std::int64_t n_min, std::int64_t n_max);
  void SetChainHeight(std::uint64_t height);
  // Channels the start-up cross-check found behind or contradicted by the chain (counted once
  // each), and those still recovering.
  void ChannelsRecoveringFound(std::uint64_t channels);
  void SetChannelsRecovering(std::int64_t channels);

  // VC-API over HTTP: each request by endpoint (verify, issue, evidence, identity, other) and each
  // refusal by its ErrorCodeName.
  void VcApiRequest(std::string_view endpoint);
  void VcApiRejected(std::string_view reason);

 private:
  class Impl;
  explicit DaemonMetrics(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcc::controller
