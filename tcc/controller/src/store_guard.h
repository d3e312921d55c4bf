// Internal: whether the daemon's store can write, and how the daemon gets it back when it cannot.
//
// The first failed write makes the failure sticky: nothing more is written or acknowledged until a
// probe writes again and the channels' heads are reloaded from the store (a write reported failed
// may have reached the disk). The guard keeps that state, counts the writes on their way to the
// store writer (InFlight tokens), says when to probe (failed, no probe running, no write on its
// way and no channel with a TSC in flight, so the heads cannot move under the reload), runs the
// probe's store reads (on a worker) and, once it succeeded, hands back what recovery reloads: the
// stored channel records, and the evidence a commit reported failed made durable that the anchor
// service has not seen.
//
// Owned by the daemon. Probe() runs on a worker and only reads the ChannelStore (thread-safe);
// everything else is loop thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "in_flight.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/result.h"
#include "channel_store.h"

namespace tcc::controller {

class StoreGuard {
 public:
  using Clock = std::chrono::steady_clock;

  explicit StoreGuard(ChannelStore& store) : store_(store) {}

  bool ok() const { return !failed_; }
  // Ok while the store writes; else the error settlements and changes are refused with.
  Status status() const;
  // The failure that made the store failed (empty while it writes).
  const std::string& error() const { return error_; }
  std::chrono::milliseconds failed_for(Clock::time_point now) const;

  // A write on its way to the store writer; release it once its outcome is back on the loop.
  InFlight::Carried BeginWrite() { return writes_.BeginCarried(); }
  std::size_t writes_pending() const { return writes_.count(); }
  // A write failed. Returns true if this made the store failed (the first failure).
  bool WriteFailed(const Error& error, Clock::time_point now);

  // Whether to start a probe now; `channels_quiet`: no channel has a TSC in flight.
  bool ShouldProbe(bool channels_quiet) const {
    return failed_ && !probe_in_flight_ && writes_.count() == 0 && channels_quiet;
  }
  void ProbeStarted() { probe_in_flight_ = true; }

  // What a successful probe read back.
  struct Recovery {
    std::vector<ChannelRecord> records;
    std::vector<chain::EvidenceItem> pending_evidence;
  };
  // On a worker: writes a probe, then reads the channel records and the pending evidence. While
  // the store failed nothing writes channel records, so what is read stays current until the loop
  // applies it.
  Result<Recovery> Probe() const;
  // On the loop, with the probe's outcome: on success the store writes again and the recovery is
  // returned for the daemon to apply; on failure the store stays failed, to be probed again.
  // `down` is set to how long the store was failed.
  Result<Recovery> ProbeFinished(Result<Recovery> probed, Clock::time_point now,
                                 std::chrono::milliseconds& down);

  // The pending evidence the anchor service has not seen: beyond the channel's acknowledged
  // evidence seq (`acknowledged_evidence` returns nullopt for a channel the daemon does not know).
  static std::vector<chain::EvidenceItem> EvidenceToResubmit(
      const std::vector<chain::EvidenceItem>& pending,
      const std::function<std::optional<std::uint64_t>(const std::string&)>& acknowledged_evidence);

  ChannelStore::WriteHealth write_health() const { return store_.write_health(); }

 private:
  ChannelStore& store_;
  InFlight writes_;
  bool failed_ = false;
  Clock::time_point failed_since_{};
  std::string error_;
  bool probe_in_flight_ = false;
};

}  // namespace tcc::controller
