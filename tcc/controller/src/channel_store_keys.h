// Internal: the channel store's key layout and key helpers (the records' value codecs are in
// channel_store_records.h). Free functions, no state: any thread.
#pragma once

#include <leveldb/slice.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tcc/chain/evidence.h"
#include "tcc/chain/types.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/storage/database.h"
#include "tcc/storage/keys.h"

namespace tcc::controller::store_format {

using storage::AppendU64;
using storage::ReadU64;
using storage::U64Value;

// Key layout. Every key starts with a one-letter kind and '/', so each kind is one contiguous
// range. Channel ids are exactly 64 hex digits, so "<kind>/<channel id>/" is a fixed-width prefix
// and no channel's range can run into another's. Seqs are 8 bytes big-endian, so byte order is
// numeric order and range scans come out ascending.
//   !format                      -> kFormatValue (refuses to treat another LevelDB as a store);
//                                   kFormatValueInline on stores written before O/, rewritten
//                                   to kFormatValue when opened (their t/ records stay readable)
//   c/<channel>                  -> ChannelRecordToJson, compact text
//   t/<channel>/<u64be seq>      -> TSC: kTscFormatBody | tsc hash (32) | claim hash (32) |
//                                   u64be body number (the text is at O/<body number>); stores
//                                   written before O/ hold kTscFormatInline | tsc hash (32) |
//                                   claim hash (32) | TSC text
//   O/<u64be body number>        -> the TSC's text. Numbers rise with each commit and are never
//                                   reused, and 'O' sorts below every kind written per
//                                   settlement: new texts lie beyond all older ones in key
//                                   order, so LevelDB moves their tables down the levels
//                                   instead of merging them again and again with older ones
//                                   (compaction per TSC grows far less with the store,
//                                   docs/perf.md)
//   h/<channel>/<claim hash hex> -> u64be seq: the replay index of stores before format 2, no
//                                   longer written or read (a claim names its seq, and its t/
//                                   record holds its hash)
//   x/<tsc hash hex>             -> channel (32) | u64be seq (lookup by TSC hash; stores written
//                                   before the index existed are indexed once on open, then
//                                   !tsc-hash-index is set)
//   p/<channel>/<u64be seq>      -> tsc hash (32): evidence waiting for a batch
//   b/<batch id>                 -> kBatchFormat | u32be n | n items of
//                                   channel (32) | u64be seq | tsc hash (32); a batch that holds
//                                   a closing leaf: kBatchFormatKinds | u32be n | n items of
//                                   kind (1: 0 TSC, 1 closing) | channel | seq | hash
//   e/<channel>/<u64be seq>      -> SerializeEvidenceBundle
//   y/<channel>                  -> u64be last seq | closing record hash (32): the closing
//                                   leaf waiting for a batch (written with z/)
//   w/<channel>                  -> SerializeEvidenceBundle of the closing leaf (kind
//                                   "closing"); kept apart from e/ so that it never stands for
//                                   the last TSC's bundle nor moves a/
//   a/<channel>                  -> u64be highest anchored seq
//   v/<name>                     -> the value's bytes
//   n/<name>                     -> u64be counter (apart from v/ so PutValue cannot break one)
//   r/<channel>/<u64be seq><proposal hash (32)>
//                                -> {"content_hash":hex,"received_ms":N,"rejection":{...}}
//   q/<channel>                  -> u64be seq | proposal hash (32) | content hash (32): the
//                                   provider's latest proposal
//   z/<channel>                  -> the closing record (JSON text) of a channel a party closed
//   !probe                       -> "1", rewritten by Probe
constexpr std::string_view kFormatKey = "!format";
constexpr std::string_view kProbeKey = "!probe";
constexpr std::string_view kFormatValue = "tcc-channel-store/2";
constexpr std::string_view kFormatValueInline = "tcc-channel-store/1";
constexpr char kChannelKind = 'c';
constexpr char kTscKind = 't';
constexpr char kTscBodyKind = 'O';
constexpr char kClaimKind = 'h';
constexpr char kPendingKind = 'p';
constexpr char kBatchKind = 'b';
constexpr char kBundleKind = 'e';
constexpr char kAnchoredKind = 'a';
constexpr char kValueKind = 'v';
constexpr char kCounterKind = 'n';
constexpr char kTscHashKind = 'x';
constexpr char kRejectionKind = 'r';
constexpr char kProposalKind = 'q';
constexpr char kClosingKind = 'z';
constexpr char kPendingClosingKind = 'y';
constexpr char kClosingBundleKind = 'w';
constexpr std::string_view kTscHashIndexKey = "!tsc-hash-index";

constexpr std::size_t kChannelIdSize = 64;  // hex digits
constexpr std::size_t kHashSize = 32;       // bytes
constexpr std::size_t kChannelPrefixSize = 2 + kChannelIdSize + 1;
constexpr std::size_t kSeqKeySize = kChannelPrefixSize + 8;

constexpr char kTscFormatInline = 1;
constexpr char kTscFormatBody = 2;
constexpr std::size_t kTscHeaderSize = 1 + 2 * kHashSize;
constexpr std::size_t kTscBodyKeySize = 2 + 8;
constexpr char kBatchFormat = 1;
constexpr char kBatchFormatKinds = 2;
constexpr std::size_t kBatchItemSize = kHashSize + 8 + kHashSize;
constexpr std::size_t kPendingClosingSize = 8 + kHashSize;

// Seqs travel in JSON (TSCs, channel records, bundles), where integers stop at 2^53 - 1.
constexpr std::uint64_t kMaxSeq = kMaxJsonInteger;
constexpr std::size_t kMaxTscBytes = 1u << 20;
constexpr std::size_t kMaxValueBytes = 1u << 20;

inline std::string_view View(const leveldb::Slice& slice) { return {slice.data(), slice.size()}; }
inline leveldb::Slice AsSlice(std::string_view text) { return {text.data(), text.size()}; }

inline bool IsLowerHexHash(std::string_view text) { return IsLowerHex(text, 2 * kHashSize); }

// Only called on text IsLowerHexHash accepted, so decoding cannot fail.
inline void AppendHashBytes(std::string& out, std::string_view hex) {
  Bytes bytes = HexDecode(hex).value();
  out.append(AsChars(bytes));
}

inline std::string HashHex(std::string_view raw) { return HexEncode(AsBytes(raw)); }

inline chain::Hash256 ToHash256(std::string_view raw) {
  chain::Hash256 hash;
  std::copy(raw.begin(), raw.end(), hash.begin());
  return hash;
}

// --- keys ---

inline std::string KindPrefix(char kind) { return {kind, '/'}; }

inline std::string ChannelPrefix(char kind, std::string_view channel_id) {
  std::string key = KindPrefix(kind);
  key.append(channel_id);
  key.push_back('/');
  return key;
}

inline std::string SeqKey(char kind, std::string_view channel_id, std::uint64_t seq) {
  std::string key = ChannelPrefix(kind, channel_id);
  AppendU64(key, seq);
  return key;
}

inline std::string NameKey(char kind, std::string_view name) {
  std::string key = KindPrefix(kind);
  key.append(name);
  return key;
}

inline std::string ChannelKey(std::string_view channel_id) {
  return NameKey(kChannelKind, channel_id);
}
inline std::string AnchoredKey(std::string_view channel_id) {
  return NameKey(kAnchoredKind, channel_id);
}

inline std::string TscHashKey(std::string_view tsc_hash) { return NameKey(kTscHashKind, tsc_hash); }

inline std::string TscBodyKey(std::uint64_t body) {
  std::string key = KindPrefix(kTscBodyKind);
  AppendU64(key, body);
  return key;
}

inline bool IsTscBodyKey(std::string_view key) {
  return key.size() == kTscBodyKeySize && key[0] == kTscBodyKind && key[1] == '/';
}

inline std::string TscHashValue(std::string_view channel_id, std::uint64_t seq) {
  std::string value;
  AppendHashBytes(value, channel_id);
  AppendU64(value, seq);
  return value;
}

inline bool IsSeqKey(std::string_view key) {
  return key.size() == kSeqKeySize && key[1] == '/' && key[kChannelPrefixSize - 1] == '/' &&
         IsLowerHexHash(key.substr(2, kChannelIdSize));
}

// Keys as people can read them in error messages: seq keys and body keys end in the decimal
// number, any other non-printable byte is \xNN.
inline std::string DescribeKey(std::string_view key) {
  if (IsTscBodyKey(key))
    return std::string(key.substr(0, 2)) + std::to_string(ReadU64(key.substr(2)));
  if (IsSeqKey(key)) {
    return std::string(key.substr(0, kChannelPrefixSize)) +
           std::to_string(ReadU64(key.substr(kChannelPrefixSize)));
  }
  return storage::DescribeKey(key);
}

// Where an item waits for a batch and where its bundle is kept, by kind.
inline std::string PendingKey(const chain::EvidenceItem& item) {
  return item.kind == chain::EvidenceKind::kClosing
             ? NameKey(kPendingClosingKind, item.channel_id)
             : SeqKey(kPendingKind, item.channel_id, item.seq);
}
inline std::string BundleKey(const chain::EvidenceItem& item) {
  return item.kind == chain::EvidenceKind::kClosing
             ? NameKey(kClosingBundleKind, item.channel_id)
             : SeqKey(kBundleKind, item.channel_id, item.seq);
}

// The key of a consumer's rejection of a proposal: its seq key, then the proposal hash's bytes.
inline std::string RejectionKey(std::string_view channel_id, std::uint64_t seq,
                                std::string_view proposal_hash) {
  std::string key = SeqKey(kRejectionKind, channel_id, seq);
  AppendHashBytes(key, proposal_hash);
  return key;
}

}  // namespace tcc::controller::store_format
