// ChannelStore: evidence waiting for a batch, batches, bundles and anchored seqs.
#include <leveldb/write_batch.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include "channel_store.h"
#include "channel_store_impl.h"

namespace tcc::controller {

using namespace store_format;

namespace {

// An item's identity in a batch: its channel, seq and kind (a channel's closing leaf shares the
// seq of its last TSC).
using ItemKey = std::tuple<std::string_view, std::uint64_t, chain::EvidenceKind>;
ItemKey KeyOf(const chain::EvidenceItem& item) { return {item.channel_id, item.seq, item.kind}; }

}  // namespace

Status ChannelStore::AddPendingEvidence(const chain::EvidenceItem& item,
                                        const ChannelRecord& channel) {
  TCC_RETURN_IF_ERROR(CheckItem(item));
  TCC_ASSIGN_OR_RETURN(std::string encoded, EncodeChannel(channel));
  if (item.channel_id != channel.channel_id) {
    return Invalid("evidence item and channel record name different channels");
  }
  if (item.seq > channel.last_seq) {
    return Invalid("evidence item " + ItemName(item) + " is beyond the channel's lastSeq " +
                   std::to_string(channel.last_seq));
  }
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(SeqKey(kPendingKind, item.channel_id, item.seq), AsSlice(AsChars(item.tsc_hash)));
  batch.Put(ChannelKey(channel.channel_id), encoded);
  Status written = access.Write(batch, "adding pending evidence " + ItemName(item));
  impl_->WroteChannel(channel.channel_id, channel.last_seq, written);
  return written;
}

Result<std::vector<chain::EvidenceItem>> ChannelStore::PendingEvidence() {
  std::vector<chain::EvidenceItem> items;
  const std::string prefix = KindPrefix(kPendingKind);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  bool decoded = true;  // false: a record read but did not decode, which is never tolerated
  Status scanned = Scan(handle.db(), prefix, prefix,
                        [&](std::string_view key, std::string_view value) -> Result<bool> {
                          auto item = DecodePending(key, value);
                          if (!item.ok()) {
                            decoded = false;
                            return std::move(item).error();
                          }
                          items.push_back(std::move(item).value());
                          return true;
                        });
  if (!scanned.ok() && !(decoded && tolerate_unreadable_pending_)) {
    return std::move(scanned).error();
  }
  // Closing leaves: the record is written before the channel's close, so a crash in between
  // leaves one for a channel that did not close (or closed later at another head); only the
  // record of the close the channel's record holds is anchored.
  const std::string closing_prefix = KindPrefix(kPendingClosingKind);
  TCC_RETURN_IF_ERROR(Scan(
      handle.db(), closing_prefix, closing_prefix,
      [&](std::string_view key, std::string_view value) -> Result<bool> {
        TCC_ASSIGN_OR_RETURN(chain::EvidenceItem item, DecodePendingClosing(key, value));
        const std::string channel_key = ChannelKey(item.channel_id);
        TCC_ASSIGN_OR_RETURN(std::optional<std::string> channel, Get(handle.db(), channel_key));
        if (!channel) return true;
        TCC_ASSIGN_OR_RETURN(ChannelRecord record, DecodeChannel(channel_key, *channel));
        if (record.state == ChannelState::kClosed && record.last_seq == item.seq) {
          items.push_back(std::move(item));
        }
        return true;
      }));
  return items;
}

Status ChannelStore::SaveBatch(const PendingBatch& batch) {
  Status id = chain::ValidateId(batch.batch_id, "batch id");
  if (!id.ok()) return Invalid(id.error().message());
  if (batch.items.empty()) return Invalid("batch " + batch.batch_id + " has no items");
  if (batch.items.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Invalid("batch " + batch.batch_id + " has too many items");
  }
  // One TSC has one hash: two different items for one seq would anchor conflicting evidence.
  std::map<ItemKey, const chain::Hash256*> seen;
  for (const chain::EvidenceItem& item : batch.items) {
    TCC_RETURN_IF_ERROR(CheckItem(item));
    auto [entry, fresh] = seen.emplace(KeyOf(item), &item.tsc_hash);
    if (!fresh && *entry->second != item.tsc_hash) {
      return Invalid("batch " + batch.batch_id + " holds two different items for " +
                     ItemName(item));
    }
  }
  const std::string key = NameKey(kBatchKind, batch.batch_id);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  // Saving the same batch again is harmless (a retry); reusing its id for other items is a bug
  // that would lose the first batch's items.
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> existing, Get(access.db(), key));
  if (existing) {
    TCC_ASSIGN_OR_RETURN(PendingBatch saved, DecodeBatch(key, *existing));
    if (saved.items != batch.items) {
      return Error(ErrorCode::kAlreadyExists,
                   "batch " + batch.batch_id + " is already saved with other items");
    }
  }
  leveldb::WriteBatch write;
  write.Put(key, EncodeBatch(batch.items));
  for (const chain::EvidenceItem& item : batch.items) write.Delete(PendingKey(item));
  return access.Write(write, "saving batch " + batch.batch_id);
}

Result<std::vector<PendingBatch>> ChannelStore::UnfinishedBatches() {
  std::vector<PendingBatch> batches;
  const std::string prefix = KindPrefix(kBatchKind);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_RETURN_IF_ERROR(Scan(handle.db(), prefix, prefix,
                           [&](std::string_view key, std::string_view value) -> Result<bool> {
                             TCC_ASSIGN_OR_RETURN(PendingBatch batch, DecodeBatch(key, value));
                             batches.push_back(std::move(batch));
                             return true;
                           }));
  return batches;
}

Status ChannelStore::CompleteBatch(std::string_view batch_id,
                                   std::span<const chain::EvidenceBundle> bundles) {
  Status id = chain::ValidateId(batch_id, "batch id");
  if (!id.ok()) return Invalid(id.error().message());
  const std::string batch_key = NameKey(kBatchKind, batch_id);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> saved, Get(access.db(), batch_key));
  if (!saved) return Error(ErrorCode::kNotFound, "no unfinished batch " + std::string(batch_id));
  TCC_ASSIGN_OR_RETURN(PendingBatch batch, DecodeBatch(batch_key, *saved));

  // Batches can hold thousands of items: look them up by (channel, seq), not by scanning.
  std::map<ItemKey, const chain::Hash256*> members;
  for (const chain::EvidenceItem& item : batch.items) members.emplace(KeyOf(item), &item.tsc_hash);
  std::set<ItemKey> uncovered;
  for (const auto& [member, hash] : members) uncovered.insert(member);
  std::map<std::string_view, std::uint64_t> highest;  // per channel, in this batch
  leveldb::WriteBatch write;
  for (const chain::EvidenceBundle& bundle : bundles) {
    const chain::EvidenceItem& item = bundle.item;
    if (bundle.batch_id != batch_id) {
      return Invalid("the bundle of " + ItemName(item) + " names batch " +
                     bundle.batch_id.substr(0, 80) + ", not " + std::string(batch_id));
    }
    auto member = members.find(KeyOf(item));
    if (member == members.end() || *member->second != item.tsc_hash) {
      return Invalid("evidence item " + ItemName(item) + " is not in batch " +
                     std::string(batch_id));
    }
    // Checking that the bundle reads back keeps GetBundle from ever failing on it.
    std::string encoded = chain::SerializeEvidenceBundle(bundle);
    Result<chain::EvidenceBundle> check = chain::ParseEvidenceBundle(encoded);
    if (!check.ok()) {
      return Invalid("the bundle of " + ItemName(item) +
                     " is malformed: " + check.error().message());
    }
    uncovered.erase(KeyOf(item));
    // A closing leaf anchors the record, not a TSC: the anchored seq stays the last TSC's.
    if (item.kind == chain::EvidenceKind::kTsc) {
      std::uint64_t& top = highest[item.channel_id];
      top = std::max(top, item.seq);
    }
    write.Put(BundleKey(item), encoded);
  }
  if (!uncovered.empty()) {
    const auto& [channel_id, seq, kind] = *uncovered.begin();
    return Invalid("batch " + std::string(batch_id) + " has no bundle for " +
                   ItemName(chain::EvidenceItem{std::string(channel_id), seq, {}, kind}) + " (" +
                   std::to_string(uncovered.size()) + " items uncovered)");
  }
  for (const auto& [channel_id, seq] : highest) {
    const std::string key = AnchoredKey(channel_id);
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> current, Get(access.db(), key));
    std::uint64_t anchored = 0;
    if (current) {
      TCC_ASSIGN_OR_RETURN(anchored, DecodeU64(key, *current));
    }
    // Batches can complete out of order; the anchored seq only ever moves forward.
    if (seq > anchored) write.Put(key, U64Value(seq));
  }
  write.Delete(batch_key);
  return access.Write(write, "completing batch " + std::string(batch_id));
}

Result<chain::EvidenceBundle> ChannelStore::GetBundle(std::string_view channel_id,
                                                      std::uint64_t seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = SeqKey(kBundleKind, channel_id, seq);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) {
    return Error(ErrorCode::kNotFound, "no evidence bundle for seq " + std::to_string(seq) +
                                           " of channel " + std::string(channel_id));
  }
  return DecodeBundle(key, *value);
}

Result<std::optional<chain::EvidenceBundle>> ChannelStore::GetClosingBundle(
    std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = NameKey(kClosingBundleKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) return std::optional<chain::EvidenceBundle>();
  TCC_ASSIGN_OR_RETURN(chain::EvidenceBundle bundle, DecodeBundle(key, *value));
  return std::optional<chain::EvidenceBundle>(std::move(bundle));
}

Result<std::optional<std::uint64_t>> ChannelStore::AnchoredSeqCovering(std::string_view channel_id,
                                                                       std::uint64_t seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_RETURN_IF_ERROR(CheckSeq(seq));
  std::optional<std::uint64_t> covering;
  const std::string prefix = ChannelPrefix(kBundleKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_RETURN_IF_ERROR(Scan(handle.db(), prefix, SeqKey(kBundleKind, channel_id, seq),
                           [&](std::string_view key, std::string_view) -> Result<bool> {
                             if (!IsSeqKey(key)) return Corrupt(key, "malformed bundle key");
                             covering = ReadU64(key.substr(kChannelPrefixSize));
                             return false;
                           }));
  return covering;
}

Result<std::uint64_t> ChannelStore::AnchoredSeq(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = AnchoredKey(channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) return std::uint64_t{0};
  return DecodeU64(key, *value);
}

Status ChannelStore::ReplaceBundleReceipt(const chain::EvidenceBundle& bundle) {
  TCC_RETURN_IF_ERROR(CheckChannelId(bundle.item.channel_id));
  const std::string key = BundleKey(bundle.item);
  std::string encoded = chain::SerializeEvidenceBundle(bundle);
  Result<chain::EvidenceBundle> check = chain::ParseEvidenceBundle(encoded);
  if (!check.ok()) {
    return Invalid("the bundle of " + ItemName(bundle.item) + " is malformed: " + check.error().message());
  }
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> saved, Get(access.db(), key));
  if (!saved) return Error(ErrorCode::kNotFound, "no evidence bundle stored for " + ItemName(bundle.item));
  TCC_ASSIGN_OR_RETURN(chain::EvidenceBundle stored, DecodeBundle(key, *saved));
  chain::EvidenceBundle same = bundle;
  same.receipt = stored.receipt;
  if (!(same == stored)) {
    return Invalid("the new bundle of " + ItemName(bundle.item) + " differs from the stored one in more than its receipt");
  }
  leveldb::WriteBatch batch;
  batch.Put(key, encoded);
  return access.Write(batch, "replacing the receipt of the bundle of " + ItemName(bundle.item));
}

}  // namespace tcc::controller
