#include "store_evidence_source.h"

namespace tcc::controller {

Result<std::optional<vcapi::StoredEvidence>> StoreEvidenceSource::FindEvidence(std::string_view tsc_hash) {
  TCC_ASSIGN_OR_RETURN(std::optional<TscLocation> location, store_.FindTscByHash(tsc_hash));
  if (!location) return Error(ErrorCode::kNotFound, "no TSC " + std::string(tsc_hash) + " in the store");
  TCC_ASSIGN_OR_RETURN(std::optional<std::uint64_t> covering,
                       store_.AnchoredSeqCovering(location->channel_id, location->seq));
  if (!covering) return std::optional<vcapi::StoredEvidence>();
  vcapi::StoredEvidence evidence;
  evidence.channel_id = location->channel_id;
  evidence.seq = location->seq;
  TCC_ASSIGN_OR_RETURN(evidence.bundle, store_.GetBundle(location->channel_id, *covering));
  const std::uint64_t gap = *covering - location->seq;
  if (gap > max_links_) {
    return Error(ErrorCode::kResourceExhausted,
                 "TSC " + std::string(tsc_hash) + " is anchored through " + std::to_string(gap) +
                     " later TSCs, more than one answer carries (" + std::to_string(max_links_) +
                     "); fetch them with channel.sync and the bundle of seq " + std::to_string(*covering));
  }
  if (gap > 0) {
    TCC_ASSIGN_OR_RETURN(std::vector<TscRecord> links,
                         store_.ListTscs(location->channel_id, location->seq, static_cast<std::size_t>(gap)));
    if (links.size() != gap) {
      return Error(ErrorCode::kInternal, "store: channel " + location->channel_id + " lacks TSCs between seq " +
                                             std::to_string(location->seq) + " and its anchored seq " +
                                             std::to_string(*covering));
    }
    for (const TscRecord& link : links) {
      auto json = Json::Parse(link.tsc);
      if (!json.ok()) return Error(ErrorCode::kInternal, "store: TSC " + std::to_string(link.seq) + " is not JSON");
      evidence.links.push_back(std::move(json).value());
    }
  }
  return std::optional<vcapi::StoredEvidence>(std::move(evidence));
}

Status StoreEvidenceSource::Health() {
  if (!read_error_.empty()) {
    return Error(ErrorCode::kUnavailable,
                 "the channel store has records that cannot be read (" + read_error_ +
                     "); the channels they belong to are refused");
  }
  const ChannelStore::WriteHealth health = store_.write_health();
  if (health.writable && recovery_ != nullptr && recovery_->size() > 0) {
    std::string message = "recovering channel(s), not settling until restored:";
    std::size_t listed = 0;
    for (const RecoveringChannel& channel : recovery_->List()) {
      if (++listed > 10) {
        message += " and " + std::to_string(recovery_->size() - 10) + " more";
        break;
      }
      message += " " + channel.channel_id + " (store seq " + std::to_string(channel.store_seq) +
                 ", chain confirms seq " + std::to_string(channel.chain_seq) + ")";
    }
    return Error(ErrorCode::kUnavailable, message);
  }
  if (health.writable) return OkStatus();
  return Error(ErrorCode::kUnavailable, "the channel store's last write failed (" + health.cause +
                                            "; " + std::to_string(health.write_failures) +
                                            " failed writes so far); tccd retries by reopening it");
}

}  // namespace tcc::controller
