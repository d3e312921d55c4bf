#include "store_guard.h"

#include <utility>

#include "tcc/controller/log.h"

namespace tcc::controller {

Status StoreGuard::status() const {
  if (!failed_) return OkStatus();
  return Error(ErrorCode::kUnavailable, "the store cannot write (" + error_ +
                                            "); settlements are not accepted until it recovers");
}

std::chrono::milliseconds StoreGuard::failed_for(Clock::time_point now) const {
  if (!failed_) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(now - failed_since_);
}

bool StoreGuard::WriteFailed(const Error& error, Clock::time_point now) {
  if (failed_) return false;
  failed_ = true;
  failed_since_ = now;
  error_ = error.message();
  Log(LogLevel::kError, "store cannot write; settlements stop until it recovers",
      {{"error", error.ToString()}});
  return true;
}

Result<StoreGuard::Recovery> StoreGuard::Probe() const {
  TCC_RETURN_IF_ERROR(store_.Probe());
  Recovery recovery;
  TCC_ASSIGN_OR_RETURN(recovery.records, store_.ListChannels());
  TCC_ASSIGN_OR_RETURN(recovery.pending_evidence, store_.PendingEvidence());
  return recovery;
}

Result<StoreGuard::Recovery> StoreGuard::ProbeFinished(Result<Recovery> probed,
                                                       Clock::time_point now,
                                                       std::chrono::milliseconds& down) {
  probe_in_flight_ = false;
  down = failed_for(now);
  if (!probed.ok()) return probed;
  failed_ = false;
  error_.clear();
  return probed;
}

std::vector<chain::EvidenceItem> StoreGuard::EvidenceToResubmit(
    const std::vector<chain::EvidenceItem>& pending,
    const std::function<std::optional<std::uint64_t>(const std::string&)>& acknowledged_evidence) {
  // Evidence beyond a channel's last acknowledged evidence seq became durable in a commit reported
  // as failed; the anchor service has never seen it.
  std::vector<chain::EvidenceItem> resubmit;
  for (const auto& item : pending) {
    const std::optional<std::uint64_t> acknowledged = acknowledged_evidence(item.channel_id);
    if (!acknowledged || item.seq <= *acknowledged) continue;
    resubmit.push_back(item);
  }
  return resubmit;
}

}  // namespace tcc::controller
