// Internal: the daemon's side of a store that cannot write (store_guard.h keeps the state and
// runs the probe). A failed write is logged and makes the failure sticky; the sweep probes once
// the guard says so (no write on its way, no channel with a TSC in flight); a probe that wrote
// again reloads every channel's head from the store, hands the anchor service the evidence a
// commit reported failed made durable, and restarts what waited: settings not stored, closes,
// queued submissions (through the settlement pipeline).
//
// Loop thread only (the probe's store reads run on a worker through the host). Borrows the host,
// the channel table and the services in Parts, which outlive it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "anchor_service.h"
#include "channel_runtime.h"
#include "loop_host.h"
#include "metrics.h"
#include "settlement_pipeline.h"
#include "store_guard.h"

namespace tcc::controller {

class StoreRecovery {
 public:
  struct Parts {
    StoreGuard& guard;
    AnchorService& anchor;
    DaemonMetrics& metrics;
    SettlementPipeline& pipeline;
  };

  StoreRecovery(LoopHost& host, ChannelTable& channels, Parts parts)
      : host_(host), channels_(channels), parts_(parts) {}

  // A write of `what` (for `channel_id`, if any) failed.
  void WriteFailed(std::string_view what, const std::string& channel_id, const Error& error);
  // From the loop's sweep: probes the store if it failed and nothing can move the heads.
  void Sweep();
  // The store's health metrics.
  void ReportHealth();

 private:
  // Recovery reloads the channels' heads, which must not move under it.
  bool ChannelsQuiet() const;
  void Probe();
  void OnRecovered(const StoreGuard::Recovery& recovery, std::chrono::milliseconds down);

  LoopHost& host_;
  ChannelTable& channels_;
  Parts parts_;
};

}  // namespace tcc::controller
