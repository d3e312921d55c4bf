#include "store_recovery.h"

#include <algorithm>
#include <map>
#include <optional>

#include "tcc/controller/log.h"

namespace tcc::controller {

void StoreRecovery::WriteFailed(std::string_view what, const std::string& channel_id,
                                const Error& error) {
  Log(LogLevel::kError, "store write failed",
      {{"write", what}, {"channel", channel_id}, {"error", error.ToString()}});
  if (parts_.guard.WriteFailed(error, Clock::now())) ReportHealth();
}

void StoreRecovery::Sweep() {
  if (parts_.guard.ShouldProbe(ChannelsQuiet())) Probe();
}

void StoreRecovery::ReportHealth() {
  const ChannelStore::WriteHealth health = parts_.guard.write_health();
  parts_.metrics.SetStoreHealth(parts_.guard.ok(), health.write_failures, health.reopens,
                                health.syncs);
}

bool StoreRecovery::ChannelsQuiet() const {
  return std::none_of(channels_.begin(), channels_.end(),
                      [](const auto& entry) { return entry.second.machine.in_flight(); });
}

void StoreRecovery::Probe() {
  parts_.guard.ProbeStarted();
  host_.Async([this]() -> Task {
    auto probed = parts_.guard.Probe();
    return [this, probed = std::move(probed)]() mutable {
      std::chrono::milliseconds down{};
      auto recovery = parts_.guard.ProbeFinished(std::move(probed), Clock::now(), down);
      if (recovery.ok()) OnRecovered(*recovery, down);
    };
  });
}

void StoreRecovery::OnRecovered(const StoreGuard::Recovery& recovery,
                                std::chrono::milliseconds down) {
  const auto resubmit = StoreGuard::EvidenceToResubmit(
      recovery.pending_evidence,
      [this](const std::string& channel_id) -> std::optional<std::uint64_t> {
        auto channel = channels_.find(channel_id);
        if (channel == channels_.end()) return std::nullopt;
        return channel->second.machine.acknowledged().evidence_seq;
      });
  for (const auto& item : resubmit) parts_.anchor.Submit(item);
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
  ReportHealth();
  for (auto& [id, channel] : channels_) {
    if (channel.machine.settings_dirty()) parts_.pipeline.PersistSettings(channel);
    parts_.pipeline.Pump(channel);  // closes the channels whose close waited for the store
  }
}

}  // namespace tcc::controller
