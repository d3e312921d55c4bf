#include "chain_crosscheck.h"

#include <algorithm>
#include <set>
#include <utility>

#include "tcc/chain/evidence.h"
#include "tcc/common/bytes.h"
#include "tcc/controller/log.h"

namespace tcc::controller {
namespace {

// The anchor service's counter (anchor_service.cpp): batch ids are "<prefix>-<n>".
constexpr std::string_view kBatchCounter = "anchor.batch";

class CrossChecker {
 public:
  CrossChecker(ChannelStore& store, chain::ChainAdapter& chain, CrossCheckResult& result)
      : store_(store), chain_(chain), result_(result) {}

  Status CheckChannel(const ChannelRecord& channel) {
    TCC_ASSIGN_OR_RETURN(std::uint64_t anchored, store_.AnchoredSeq(channel.channel_id));
    std::uint64_t confirmed = 0;
    std::optional<std::string> contradiction;
    if (anchored > channel.last_seq) {
      contradiction = "the store records seq " + std::to_string(anchored) +
                      " as anchored but its head is seq " + std::to_string(channel.last_seq) +
                      " (its log lost TSCs)";
    }
    for (std::uint64_t seq = 1; seq <= std::min(anchored, channel.last_seq); ++seq) {
      auto bundle = store_.GetBundle(channel.channel_id, seq);
      if (!bundle.ok()) {
        if (bundle.error().code() == ErrorCode::kNotFound) continue;
        return std::move(bundle).error();
      }
      TCC_ASSIGN_OR_RETURN(TscRecord tsc, store_.GetTsc(channel.channel_id, seq));
      if (bundle->item.tsc_hash != tsc.tsc_hash) {
        contradiction.emplace("the chain anchors TSC " + HexEncode(bundle->item.tsc_hash) +
                              " as seq " + std::to_string(seq) + ", the store holds " +
                              HexEncode(tsc.tsc_hash));
        break;
      }
      TCC_ASSIGN_OR_RETURN(std::optional<std::string> problem, ConfirmOnChain(*bundle));
      if (problem) {
        contradiction = "seq " + std::to_string(seq) + ": " + *problem;
        break;
      }
      confirmed = seq;
    }
    if (!contradiction) {
      TCC_ASSIGN_OR_RETURN(contradiction, CheckClosing(channel));
    }
    result_.anchored_on_chain[channel.channel_id] = confirmed;
    if (contradiction) {
      result_.recovering.push_back(
          RecoveringChannel{channel.channel_id, channel.last_seq, confirmed, *contradiction});
    }
    return OkStatus();
  }

 private:
  // A closed channel's closing leaf, once anchored: its bundle commits the closing record the store
  // holds, and the chain holds its batch as for a TSC's bundle. nullopt when all is well.
  Result<std::optional<std::string>> CheckClosing(const ChannelRecord& channel) {
    if (channel.state != ChannelState::kClosed) return std::optional<std::string>();
    TCC_ASSIGN_OR_RETURN(std::optional<chain::EvidenceBundle> bundle,
                         store_.GetClosingBundle(channel.channel_id));
    if (!bundle) return std::optional<std::string>();
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> text,
                         store_.GetClosingRecord(channel.channel_id));
    if (!text)
      return std::optional<std::string>(
          "the closing leaf is anchored but the store holds no closing record");
    auto record = Json::Parse(*text);
    if (!record.ok())
      return std::optional<std::string>("the closing record does not parse: " +
                                        record.error().message());
    auto item = ClosingEvidenceItem(*record);
    // A record a later close replaced (same channel, another head) keeps its anchored leaf; only a
    // bundle of the record held is compared.
    if (!item.ok())
      return std::optional<std::string>("the closing record: " + item.error().message());
    if (!(item->seq == bundle->item.seq)) return std::optional<std::string>();
    if (item->tsc_hash != bundle->item.tsc_hash) {
      return std::optional<std::string>("the chain anchors closing record " +
                                        HexEncode(bundle->item.tsc_hash) + ", the store holds " +
                                        HexEncode(item->tsc_hash));
    }
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> problem, ConfirmOnChain(*bundle));
    if (problem) return std::optional<std::string>("the closing record: " + *problem);
    return std::optional<std::string>();
  }

  // nullopt when the chain holds the bundle's batch (re-anchored here if it was missing);
  // otherwise how the chain contradicts it. Adapter failures are errors.
  Result<std::optional<std::string>> ConfirmOnChain(chain::EvidenceBundle& bundle) {
    if (Status offline = chain::VerifyEvidenceBundle(bundle); !offline.ok()) {
      return std::optional<std::string>("its evidence bundle: " + offline.error().message());
    }
    auto known = batches_.find(bundle.batch_id);
    if (known == batches_.end()) {
      const chain::BatchAnchor wanted{bundle.batch_id, bundle.root, bundle.tree_size};
      auto found = chain_.FindAnchor(bundle.batch_id);
      if (!found.ok() && found.error().code() == ErrorCode::kNotFound) {
        // The store saw this batch land; a chain that lost it (an older ledger copy, lost
        // blocks) gets the same batch again under the same id.
        found = chain_.Anchor(wanted);
        if (found.ok()) ++result_.reanchored_batches;
      }
      if (!found.ok()) {
        if (found.error().code() == ErrorCode::kConflict) {
          known = batches_.emplace(bundle.batch_id, std::nullopt).first;
        } else {
          return std::move(found).error().WithContext("cross-check batch " + bundle.batch_id);
        }
      } else if (found->value != wanted) {
        known = batches_.emplace(bundle.batch_id, std::nullopt).first;
      } else {
        known = batches_.emplace(bundle.batch_id, std::move(found).value()).first;
      }
    }
    if (!known->second) {
      return std::optional<std::string>("the chain holds batch " + bundle.batch_id +
                                        " with another root or size than its evidence bundle");
    }
    if (bundle.receipt != known->second->receipt) {
      bundle.receipt = known->second->receipt;
      TCC_RETURN_IF_ERROR(store_.ReplaceBundleReceipt(bundle));
      ++result_.rewritten_bundles;
    }
    // The chain's part (anchor and block) is the same for every bundle of a batch: asked once.
    if (!confirmed_.insert(bundle.batch_id).second) return std::optional<std::string>();
    auto on_chain = chain::VerifyEvidenceBundleOnChain(bundle, chain_);
    if (!on_chain.ok()) {
      confirmed_.erase(bundle.batch_id);
      if (on_chain.error().code() == ErrorCode::kUnavailable) return std::move(on_chain).error();
      return std::optional<std::string>("its evidence bundle on chain: " +
                                        on_chain.error().message());
    }
    return std::optional<std::string>();
  }

  ChannelStore& store_;
  chain::ChainAdapter& chain_;
  CrossCheckResult& result_;
  // Batch id -> the chain's record (nullopt: the chain holds it with another root or size).
  std::map<std::string, std::optional<chain::Recorded<chain::BatchAnchor>>> batches_;
  std::set<std::string> confirmed_;  // batches whose anchor and block the chain confirmed
};

Result<std::vector<std::string>> UnknownBatches(ChannelStore& store, chain::ChainAdapter& chain,
                                                const std::string& prefix) {
  TCC_ASSIGN_OR_RETURN(std::uint64_t counter, store.PeekCounter(kBatchCounter));
  std::vector<std::string> unknown;
  for (std::uint64_t next = counter + 1; next <= counter + kMaxUnknownBatchProbes; ++next) {
    const std::string id = prefix + "-" + std::to_string(next);
    auto found = chain.FindAnchor(id);
    if (!found.ok()) {
      if (found.error().code() == ErrorCode::kNotFound) break;
      return std::move(found).error().WithContext("look for batch " + id);
    }
    unknown.push_back(id);
  }
  return unknown;
}

}  // namespace

Json RecoveringChannel::ToJson() const {
  Json json = Json::Object();
  json.Set("channel", channel_id);
  json.Set("store_seq", store_seq);
  json.Set("chain_seq", chain_seq);
  json.Set("reason", reason);
  return json;
}

Result<CrossCheckResult> CrossCheckWithChain(ChannelStore& store, chain::ChainAdapter& chain,
                                             const std::string& batch_id_prefix,
                                             const std::set<std::string, std::less<>>& refused) {
  CrossCheckResult result;
  TCC_ASSIGN_OR_RETURN(std::vector<ChannelRecord> channels, store.ListChannels());
  std::erase_if(channels, [&](const ChannelRecord& channel) { return refused.contains(channel.channel_id); });
  CrossChecker checker(store, chain, result);
  for (const ChannelRecord& channel : channels) TCC_RETURN_IF_ERROR(checker.CheckChannel(channel));
  TCC_ASSIGN_OR_RETURN(result.unknown_batches, UnknownBatches(store, chain, batch_id_prefix));
  if (!result.unknown_batches.empty()) {
    const std::string reason =
        "the chain holds " + std::to_string(result.unknown_batches.size()) +
        " batch(es) this store does not record (" + result.unknown_batches.front() +
        (result.unknown_batches.size() > 1 ? " .. " + result.unknown_batches.back() : "") +
        "): the store is behind the chain and TSCs after its head may be missing";
    for (const ChannelRecord& channel : channels) {
      if (channel.state != ChannelState::kOpen) continue;
      const bool listed = std::any_of(
          result.recovering.begin(), result.recovering.end(),
          [&](const RecoveringChannel& found) { return found.channel_id == channel.channel_id; });
      if (listed) continue;
      result.recovering.push_back(RecoveringChannel{channel.channel_id, channel.last_seq,
                                                    result.anchored_on_chain[channel.channel_id],
                                                    reason});
    }
  }
  return result;
}

Result<StartupCrossCheck> RunStartupCrossCheck(ChannelStore& store, chain::ChainAdapter& chain,
                                               const std::string& batch_id_prefix,
                                               RecoveryBook& book,
                                               const std::set<std::string, std::less<>>& refused) {
  TCC_RETURN_IF_ERROR(book.Load(store));
  StartupCrossCheck outcome;
  auto checked = CrossCheckWithChain(store, chain, batch_id_prefix, refused);
  if (!checked.ok()) {
    if (checked.error().code() != ErrorCode::kUnavailable) return std::move(checked).error();
    // A chain that does not answer at start (tccd starts degraded) cannot be compared with.
    Log(LogLevel::kWarning, "store not cross-checked against the chain",
        {{"error", checked.error().message()}});
    return outcome;
  }
  outcome.checked = true;
  outcome.anchored_on_chain = std::move(checked->anchored_on_chain);
  for (const RecoveringChannel& channel : checked->recovering) {
    if (!book.Add(channel)) continue;
    ++outcome.newly_recovering;
    Log(LogLevel::kError, "channel recovering",
        {{"channel", channel.channel_id},
         {"store_seq", channel.store_seq},
         {"chain_seq", channel.chain_seq},
         {"reason", channel.reason}});
  }
  if (outcome.newly_recovering > 0) {
    TCC_RETURN_IF_ERROR(store.PutValue(kRecoveryValueName, book.Serialize()));
  }
  Log(LogLevel::kInfo, "store cross-checked against the chain",
      {{"recovering", static_cast<std::uint64_t>(book.size())},
       {"unknown_batches", static_cast<std::uint64_t>(checked->unknown_batches.size())},
       {"reanchored_batches", checked->reanchored_batches},
       {"rewritten_bundles", checked->rewritten_bundles}});
  return outcome;
}

Status RecoveryBook::Load(ChannelStore& store) {
  auto value = store.GetValue(kRecoveryValueName);
  if (!value.ok()) {
    if (value.error().code() == ErrorCode::kNotFound) return OkStatus();
    return std::move(value).error();
  }
  TCC_ASSIGN_OR_RETURN(Json parsed, Json::Parse(*value));
  TCC_ASSIGN_OR_RETURN(const JsonArray* channels, parsed.GetArray("recovering"));
  std::lock_guard lock(mutex_);
  for (const Json& entry : *channels) {
    if (!entry.is_object())
      return Error(ErrorCode::kInvalidArgument, "stored recovery: not an object");
    RecoveringChannel channel;
    TCC_ASSIGN_OR_RETURN(std::string_view id, entry.GetString("channel"));
    channel.channel_id = std::string(id);
    TCC_ASSIGN_OR_RETURN(channel.store_seq, entry.GetInteger("store_seq"));
    TCC_ASSIGN_OR_RETURN(channel.chain_seq, entry.GetInteger("chain_seq"));
    TCC_ASSIGN_OR_RETURN(std::string_view reason, entry.GetString("reason"));
    channel.reason = std::string(reason);
    channels_.emplace(channel.channel_id, std::move(channel));
  }
  return OkStatus();
}

std::string RecoveryBook::Serialize() const {
  Json list = Json::Array();
  for (const RecoveringChannel& channel : List()) list.PushBack(channel.ToJson());
  Json value = Json::Object();
  value.Set("recovering", std::move(list));
  return value.Serialize();
}

bool RecoveryBook::Add(const RecoveringChannel& channel) {
  std::lock_guard lock(mutex_);
  return channels_.emplace(channel.channel_id, channel).second;
}

bool RecoveryBook::Remove(const std::string& channel_id) {
  std::lock_guard lock(mutex_);
  presented_.erase(channel_id);
  return channels_.erase(channel_id) > 0;
}

std::set<std::string> RecoveryBook::Presented(const std::string& channel_id,
                                              const std::string& role) {
  std::lock_guard lock(mutex_);
  std::set<std::string>& roles = presented_[channel_id];
  roles.insert(role);
  return roles;
}

std::optional<RecoveringChannel> RecoveryBook::Find(const std::string& channel_id) const {
  std::lock_guard lock(mutex_);
  auto found = channels_.find(channel_id);
  if (found == channels_.end()) return std::nullopt;
  return found->second;
}

std::vector<RecoveringChannel> RecoveryBook::List() const {
  std::lock_guard lock(mutex_);
  std::vector<RecoveringChannel> list;
  for (const auto& [id, channel] : channels_) list.push_back(channel);
  return list;
}

std::size_t RecoveryBook::size() const {
  std::lock_guard lock(mutex_);
  return channels_.size();
}

}  // namespace tcc::controller
