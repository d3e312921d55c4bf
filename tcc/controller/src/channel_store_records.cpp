#include "channel_store_records.h"

#include <algorithm>
#include <utility>

#include "tcc/common/json_object_reader.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/dispute.h"

namespace tcc::controller::store_format {

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}

Error Corrupt(std::string_view key, std::string_view problem) {
  return Error(ErrorCode::kInternal,
               "channel store record " + DescribeKey(key) + " is corrupt: " + std::string(problem));
}

// IO errors are the disk's fault; corruption, or anything else LevelDB reports, is ours.
Error StoreError(const leveldb::Status& status, std::string_view doing) {
  return Error(status.IsIOError() ? ErrorCode::kIo : ErrorCode::kInternal,
               std::string(doing) + ": " + status.ToString());
}

// --- input checks (kInvalidArgument; nothing is written when one fails) ---

Status CheckChannelId(std::string_view channel_id, std::string_view what) {
  if (!IsLowerHexHash(channel_id)) {
    return Invalid(std::string(what) + " must be 64 lowercase hex digits (a TIC hash), not \"" +
                   std::string(channel_id.substr(0, 80)) + "\"");
  }
  return OkStatus();
}

Status CheckHash(std::string_view hex, std::string_view what) {
  if (!IsLowerHexHash(hex)) return Invalid(std::string(what) + " must be 64 lowercase hex digits");
  return OkStatus();
}

Status CheckSeq(std::uint64_t seq, std::string_view what) {
  if (seq < 1 || seq > kMaxSeq) {
    return Invalid(std::string(what) + " " + std::to_string(seq) + " is not in 1..2^53-1");
  }
  return OkStatus();
}

Status CheckName(std::string_view name) {
  Status valid = chain::ValidateId(name, "value name");
  if (!valid.ok()) return Invalid(valid.error().message());
  return OkStatus();
}

Status CheckItem(const chain::EvidenceItem& item) {
  TCC_RETURN_IF_ERROR(CheckChannelId(item.channel_id, "evidence item channel id"));
  if (item.kind != chain::EvidenceKind::kTsc && item.kind != chain::EvidenceKind::kClosing) {
    return Invalid("evidence item of an unknown kind");
  }
  // A channel closed before its first settlement has a closing record at seq 0.
  if (item.kind == chain::EvidenceKind::kClosing && item.seq == 0) return OkStatus();
  return CheckSeq(item.seq, "evidence item seq");
}

std::string ItemName(const chain::EvidenceItem& item) {
  if (item.kind == chain::EvidenceKind::kClosing) {
    return "the closing record (last seq " + std::to_string(item.seq) + ") of channel " +
           item.channel_id;
  }
  return "seq " + std::to_string(item.seq) + " of channel " + item.channel_id;
}

// The TSC text is stored and later sent on as is, without parsing: a cheap shape check catches
// a caller handing over something that is not a serialized object.
Status CheckTsc(const TscRecord& tsc) {
  TCC_RETURN_IF_ERROR(CheckChannelId(tsc.channel_id, "TSC channel id"));
  TCC_RETURN_IF_ERROR(CheckSeq(tsc.seq, "TSC seq"));
  TCC_RETURN_IF_ERROR(CheckHash(tsc.claim_hash, "TSC claim hash"));
  if (tsc.tsc.size() < 2 || tsc.tsc.front() != '{' || tsc.tsc.back() != '}') {
    return Invalid("TSC text must be a serialized JSON object");
  }
  if (tsc.tsc.size() > kMaxTscBytes) {
    return Invalid("TSC text is " + std::to_string(tsc.tsc.size()) + " bytes, over the limit of " +
                   std::to_string(kMaxTscBytes));
  }
  return OkStatus();
}

// A record that breaks the decoder's rules could not be read back, so it is never written
// (channel.h: the rules are the decoder's own; channel_store_test holds the round trip).
Result<std::string> EncodeChannel(const ChannelRecord& record) {
  Status valid = ValidateChannelRecord(record);
  if (!valid.ok()) return Invalid(valid.error().message());
  return ChannelRecordText(record);
}

// --- record codecs ---

std::string EncodeTscEntry(const TscRecord& tsc, std::uint64_t body) {
  std::string out(1, kTscFormatBody);
  out.reserve(kTscHeaderSize + 8);
  out.append(AsChars(tsc.tsc_hash));
  AppendHashBytes(out, tsc.claim_hash);
  AppendU64(out, body);
  return out;
}

Result<TscEntry> DecodeTscEntry(std::string_view key, std::string_view value) {
  if (!IsSeqKey(key)) return Corrupt(key, "malformed TSC key");
  const bool inline_text = !value.empty() && value[0] == kTscFormatInline;
  const bool body = !value.empty() && value[0] == kTscFormatBody;
  if ((!inline_text && !body) || (inline_text && value.size() < kTscHeaderSize + 2) ||
      (body && value.size() != kTscHeaderSize + 8)) {
    return Corrupt(key, "not a TSC record");
  }
  TscEntry entry;
  TscRecord& tsc = entry.tsc;
  tsc.channel_id = std::string(key.substr(2, kChannelIdSize));
  tsc.seq = ReadU64(key.substr(kChannelPrefixSize));
  tsc.tsc_hash = ToHash256(value.substr(1, kHashSize));
  tsc.claim_hash = HashHex(value.substr(1 + kHashSize, kHashSize));
  if (body) {
    entry.body = ReadU64(value.substr(kTscHeaderSize));
  } else {
    tsc.tsc = std::string(value.substr(kTscHeaderSize));
  }
  return entry;
}

Result<TscRecord> CheckStoredTsc(std::string_view key, TscRecord tsc) {
  Status valid = CheckTsc(tsc);
  if (!valid.ok()) return Corrupt(key, valid.error().message());
  // The stored hash is what was acknowledged and chained; text that no longer hashes to it was
  // altered on disk and is never served or used.
  Result<Json> document = Json::Parse(tsc.tsc);
  if (!document.ok()) return Corrupt(key, "TSC text is not JSON: " + document.error().message());
  Result<chain::Hash256> hash = vc::CredentialDigest(*document);
  if (!hash.ok() || *hash != tsc.tsc_hash) {
    return Corrupt(key, "TSC text does not hash to its stored hash " + HexEncode(tsc.tsc_hash) +
                            " (altered on disk)");
  }
  return tsc;
}

Result<ChannelRecord> DecodeChannel(std::string_view key, std::string_view value) {
  Result<Json> json = Json::Parse(value);
  if (!json.ok()) return Corrupt(key, json.error().message());
  Result<ChannelRecord> record = ChannelRecordFromJson(*json);
  if (!record.ok()) return Corrupt(key, record.error().message());
  if (key.substr(2) != record->channel_id) return Corrupt(key, "holds another channel's record");
  return std::move(record).value();
}

Result<std::uint64_t> DecodeU64(std::string_view key, std::string_view value) {
  if (value.size() != 8) {
    return Corrupt(key, "expected 8 bytes, found " + std::to_string(value.size()));
  }
  return ReadU64(value);
}

Result<chain::EvidenceItem> DecodePending(std::string_view key, std::string_view value) {
  if (!IsSeqKey(key)) return Corrupt(key, "malformed pending evidence key");
  if (value.size() != kHashSize) return Corrupt(key, "pending evidence is not a 32-byte hash");
  chain::EvidenceItem item{std::string(key.substr(2, kChannelIdSize)),
                           ReadU64(key.substr(kChannelPrefixSize)), ToHash256(value)};
  Status valid = CheckItem(item);
  if (!valid.ok()) return Corrupt(key, valid.error().message());
  return item;
}

std::string EncodeBatch(const std::vector<chain::EvidenceItem>& items) {
  // Batches of TSC leaves only keep the first format, which stores written before closing leaves
  // existed hold.
  const bool kinds = std::any_of(items.begin(), items.end(), [](const chain::EvidenceItem& item) {
    return item.kind != chain::EvidenceKind::kTsc;
  });
  std::string out(1, kinds ? kBatchFormatKinds : kBatchFormat);
  out.reserve(5 + items.size() * (kBatchItemSize + 1));
  const auto count = static_cast<std::uint32_t>(items.size());
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(char(count >> shift));
  for (const chain::EvidenceItem& item : items) {
    if (kinds) out.push_back(static_cast<char>(item.kind));
    AppendHashBytes(out, item.channel_id);
    AppendU64(out, item.seq);
    out.append(AsChars(item.tsc_hash));
  }
  return out;
}

Result<PendingBatch> DecodeBatch(std::string_view key, std::string_view value) {
  PendingBatch batch;
  batch.batch_id = std::string(key.substr(2));
  Status id = chain::ValidateId(batch.batch_id, "batch id");
  if (!id.ok()) return Corrupt(key, id.error().message());
  if (value.size() < 5 || (value[0] != kBatchFormat && value[0] != kBatchFormatKinds)) {
    return Corrupt(key, "not a batch record");
  }
  const bool kinds = value[0] == kBatchFormatKinds;
  const std::size_t item_size = kBatchItemSize + (kinds ? 1 : 0);
  std::uint32_t count = 0;
  for (std::size_t i = 1; i < 5; ++i) count = (count << 8) | static_cast<unsigned char>(value[i]);
  if (count == 0 || value.size() != 5 + std::size_t(count) * item_size) {
    return Corrupt(key, "batch item count does not match its size");
  }
  for (std::size_t start = 5; start < value.size(); start += item_size) {
    chain::EvidenceKind kind = chain::EvidenceKind::kTsc;
    std::size_t offset = start;
    if (kinds) {
      const auto byte = static_cast<unsigned char>(value[offset++]);
      if (byte > static_cast<unsigned char>(chain::EvidenceKind::kClosing)) {
        return Corrupt(key, "batch item of an unknown kind");
      }
      kind = static_cast<chain::EvidenceKind>(byte);
    }
    chain::EvidenceItem item{HashHex(value.substr(offset, kHashSize)),
                             ReadU64(value.substr(offset + kHashSize)),
                             ToHash256(value.substr(offset + kHashSize + 8, kHashSize)), kind};
    Status valid = CheckItem(item);
    if (!valid.ok()) return Corrupt(key, valid.error().message());
    batch.items.push_back(std::move(item));
  }
  return batch;
}

Result<chain::EvidenceBundle> DecodeBundle(std::string_view key, std::string_view value) {
  Result<chain::EvidenceBundle> bundle = chain::ParseEvidenceBundle(value);
  if (!bundle.ok()) return Corrupt(key, bundle.error().message());
  if (BundleKey(bundle->item) != key) return Corrupt(key, "holds the bundle of another item");
  return std::move(bundle).value();
}

Result<chain::EvidenceItem> DecodePendingClosing(std::string_view key, std::string_view value) {
  if (key.size() != 2 + kChannelIdSize || !IsLowerHexHash(key.substr(2))) {
    return Corrupt(key, "malformed pending closing key");
  }
  if (value.size() != kPendingClosingSize) {
    return Corrupt(key, "pending closing evidence is not a seq and a 32-byte hash");
  }
  chain::EvidenceItem item{std::string(key.substr(2)), ReadU64(value.substr(0, 8)),
                           ToHash256(value.substr(8)), chain::EvidenceKind::kClosing};
  Status valid = CheckItem(item);
  if (!valid.ok()) return Corrupt(key, valid.error().message());
  return item;
}

Result<RejectionRecord> DecodeRejection(std::string_view key, std::string_view value) {
  const std::size_t key_size = kSeqKeySize + kHashSize;
  if (key.size() != key_size || !IsSeqKey(key.substr(0, kSeqKeySize)))
    return Corrupt(key, "malformed rejection key");
  auto json = Json::Parse(value);
  if (!json.ok()) return Corrupt(key, json.error().message());
  JsonObjectReader reader(*json, "rejection record");
  RejectionRecord record;
  Status read = reader.CheckIsObject();
  if (read.ok()) {
    auto content = reader.LowerHex("content_hash");
    auto received = reader.Integer("received_ms");
    auto document = reader.Member("rejection", Json::Type::kObject);
    if (!content.ok())
      read = content.error();
    else if (!received.ok())
      read = received.error();
    else if (!document.ok())
      read = document.error();
    else if (read = reader.Finish(); read.ok()) {
      record.content_hash = *content;
      record.received_ms = *received;
      record.document = **document;
    }
  }
  if (!read.ok()) return Corrupt(key, read.error().message());
  auto rejection = wire::ReadRejection(record.document);
  if (!rejection.ok()) return Corrupt(key, rejection.error().message());
  record.channel_id = std::string(key.substr(2, kChannelIdSize));
  record.seq = ReadU64(key.substr(kChannelPrefixSize, 8));
  record.proposal_hash = HashHex(key.substr(kSeqKeySize));
  if (rejection->channel != record.channel_id || rejection->seq != record.seq ||
      rejection->proposal_hash != record.proposal_hash) {
    return Corrupt(key, "the rejection names another channel, seq or proposal than its key");
  }
  return record;
}

std::string EncodeRejection(const RejectionRecord& rejection) {
  Json value = Json::Object();
  value.Set("content_hash", rejection.content_hash);
  value.Set("received_ms", rejection.received_ms);
  value.Set("rejection", rejection.document);
  return value.Serialize();
}

std::string EncodeProposal(const ProposalMark& proposal) {
  std::string value = U64Value(proposal.seq);
  AppendHashBytes(value, proposal.proposal_hash);
  AppendHashBytes(value, proposal.content_hash);
  return value;
}

Result<ProposalMark> DecodeProposal(std::string_view key, std::string_view channel_id,
                                    std::string_view value) {
  if (value.size() != 8 + 2 * kHashSize) return Corrupt(key, "not a seq and two hashes");
  ProposalMark mark{std::string(channel_id), ReadU64(value), HashHex(value.substr(8, kHashSize)),
                    HashHex(value.substr(8 + kHashSize))};
  if (!CheckSeq(mark.seq).ok()) {
    return Corrupt(key, "seq " + std::to_string(mark.seq) + " is out of range");
  }
  return mark;
}

Result<TscLocation> DecodeTscLocation(std::string_view key, std::string_view value) {
  if (value.size() != kHashSize + 8) return Corrupt(key, "not a channel and a seq");
  TscLocation location{HashHex(value.substr(0, kHashSize)), ReadU64(value.substr(kHashSize))};
  if (!CheckSeq(location.seq).ok()) {
    return Corrupt(key, "seq " + std::to_string(location.seq) + " is out of range");
  }
  return location;
}

}  // namespace tcc::controller::store_format
