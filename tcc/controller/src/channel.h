// The records the controller keeps per settlement channel and per issued TSC.
//
// A channel exists for one recorded TIC; its id is the TIC's hash (vc::CredentialHash), which is
// also the TIC's id on chain. ChannelRecord is the durable state the daemon recovers on restart:
// who may join, which TST governs its claims, the anchoring settings, and the head of its hash
// chain (last_seq, last_hash), which is written in the same atomic batch as the TSC it names.
// How far a channel is anchored is not part of the record: the anchoring side owns that
// (ChannelStore::AnchoredSeq), so the two writers never overwrite each other's fields.
// TscRecord is one issued TSC as stored. Both are plain values; the JSON codecs are pure functions
// that reject (kInvalidArgument / kParse) anything malformed, since store bytes are re-validated
// on every read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/chain/types.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::controller {

enum class ChannelState { kOpen, kClosed };

// The longest amend timeout a TIC may name (a year): a bound that keeps the millisecond arithmetic
// far from overflowing.
inline constexpr std::uint64_t kMaxAmendAfterSeconds = 366ull * 24 * 3600;
std::string_view ChannelStateName(ChannelState state);  // "open" / "closed"

struct ChannelRecord {
  std::string channel_id;  // the TIC's hash, lowercase hex
  std::string provider;    // DIDs named by the TIC
  std::string consumer;
  std::vector<std::string> auditors;  // read-only members (TIC claim `auditors`, optional)
  std::string tst_id;
  std::uint32_t tst_version = 0;
  std::uint64_t strategy_n = 0;          // the TIC's settlement strategy N (0: none given)
  std::optional<std::uint64_t> n_override;  // set live through the control API
  // The TIC's settlement.amend_after_s: how long a proposal stands unsigned before the provider may
  // amend it without a rejection (nullopt: only after a rejection; negotiation.h).
  std::optional<std::uint64_t> amend_after_s;
  ChannelState state = ChannelState::kOpen;
  std::uint64_t last_seq = 0;   // 0 before the first TSC
  chain::Hash256 last_hash{};   // hash of TSC last_seq; the channel id's while last_seq == 0
  std::uint64_t evidence_seq = 0;  // the last seq whose evidence leaf went to the batcher
  std::uint64_t opened_ms = 0;     // Unix ms
  std::uint64_t closed_ms = 0;     // 0 while open

  friend bool operator==(const ChannelRecord&, const ChannelRecord&) = default;
};

// The record's compact JSON text, written without building a document (the store writes a
// channel's record with every TSC it commits), and the same as a document.
std::string ChannelRecordText(const ChannelRecord& record);
Json ChannelRecordToJson(const ChannelRecord& record);
// Reads the members with their JSON types, then applies ValidateChannelRecord.
Result<ChannelRecord> ChannelRecordFromJson(const Json& json);
// The rules a record keeps beyond its members' types (kInvalidArgument): ids printable and
// bounded, integers a JSON number holds exactly, the hash chain starting at the channel id,
// evidence not beyond the head, closedMs 0 while open. ChannelRecordToJson writes every member
// ChannelRecordFromJson reads, so a record passing these rules reads back as itself: the store
// checks a record with this before writing it instead of decoding what it encoded.
Status ValidateChannelRecord(const ChannelRecord& record);

struct TscRecord {
  std::string channel_id;
  std::uint64_t seq = 0;
  chain::Hash256 tsc_hash{};  // vc::CredentialDigest of the TSC
  std::string claim_hash;  // SHA-256 hex of the JCS form of the joint claim: the replay key
  std::string tsc;         // the TSC as serialized JSON text

  friend bool operator==(const TscRecord&, const TscRecord&) = default;
};

}  // namespace tcc::controller
