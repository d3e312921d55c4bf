// Internal: the channel store's record codecs and input checks, over the key layout in
// channel_store_keys.h. Encoders take what the store was asked to write (checked first: a check
// that fails is kInvalidArgument and nothing is written); decoders re-validate what they read
// (kInternal naming the key: "channel store record <key> is corrupt: ..."). Free functions, no
// state: any thread.
#pragma once

#include <leveldb/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channel.h"
#include "channel_store.h"
#include "channel_store_keys.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/result.h"

namespace tcc::controller::store_format {

Error Invalid(std::string message);
Error Corrupt(std::string_view key, std::string_view problem);
// I/O errors are the disk's fault; corruption, or anything else LevelDB reports, is ours.
Error StoreError(const leveldb::Status& status, std::string_view doing);

// Input checks (kInvalidArgument).
Status CheckChannelId(std::string_view channel_id, std::string_view what = "channel id");
Status CheckHash(std::string_view hex, std::string_view what);
Status CheckSeq(std::uint64_t seq, std::string_view what = "seq");
Status CheckName(std::string_view name);
Status CheckItem(const chain::EvidenceItem& item);
// The TSC text is stored and later sent on as is, without parsing: a cheap shape check.
Status CheckTsc(const TscRecord& tsc);
std::string ItemName(const chain::EvidenceItem& item);

// Records.
Result<std::string> EncodeChannel(const ChannelRecord& record);  // kInvalidArgument
Result<ChannelRecord> DecodeChannel(std::string_view key, std::string_view value);
// A t/ record: the TSC's header and its text (stores from before O/) or where its text is.
struct TscEntry {
  TscRecord tsc;  // tsc.tsc is empty when `body` is set
  std::optional<std::uint64_t> body;
};
std::string EncodeTscEntry(const TscRecord& tsc, std::uint64_t body);  // on a TSC CheckTsc accepted
// The record's own checks; the text is checked by CheckStoredTsc once it is in the record.
Result<TscEntry> DecodeTscEntry(std::string_view key, std::string_view value);
// The TSC read from the store under `key`: its shape, and that its text still hashes to its
// stored hash.
Result<TscRecord> CheckStoredTsc(std::string_view key, TscRecord tsc);
Result<std::uint64_t> DecodeU64(std::string_view key, std::string_view value);
Result<TscLocation> DecodeTscLocation(std::string_view key, std::string_view value);
Result<chain::EvidenceItem> DecodePending(std::string_view key, std::string_view value);
Result<chain::EvidenceItem> DecodePendingClosing(std::string_view key, std::string_view value);
std::string EncodeBatch(const std::vector<chain::EvidenceItem>& items);  // on checked items
Result<PendingBatch> DecodeBatch(std::string_view key, std::string_view value);
Result<chain::EvidenceBundle> DecodeBundle(std::string_view key, std::string_view value);
std::string EncodeRejection(const RejectionRecord& rejection);  // on a checked record
Result<RejectionRecord> DecodeRejection(std::string_view key, std::string_view value);
std::string EncodeProposal(const ProposalMark& proposal);  // on a checked mark
Result<ProposalMark> DecodeProposal(std::string_view key, std::string_view channel_id,
                                    std::string_view value);

}  // namespace tcc::controller::store_format
