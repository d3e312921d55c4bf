// Disputes in a channel: the signed documents with which a party refuses a bill or asks to close,
// and the closing record tccd signs. Both sides build and check them here (the SDK signs, tccd
// verifies and stores), so there is one definition of each document.
//
// A rejection is a small JSON document signed by the consumer with an eddsa-jcs-2022 Data
// Integrity proof (vc/data_integrity.h), verifiable offline by anyone who resolves the consumer's
// DID:
//
//   {"type":"SettlementRejection", "channel":<id>, "seq":N, "proposal_hash":<hex 64>,
//    "consumer":<DID>, "code":"price", "text":"...", "proof":{...}}
//
// `proposal_hash` is ProposalHash of the proposal refused: the SHA-256 of the JCS form of the
// provider-signed claim (claim plus its single proof). A close request has the same shape with
// type "ChannelCloseRequest", the requesting `party` and no seq or proposal. The closing record is
// issued by the TCC: {"type":"ChannelClosing", channel, party, code, text, last_seq, last_hash,
// closed (RFC 3339), request (the party's signed request), proof (the TCC's)}.
//
// All functions are stateless and thread-safe (given a thread-safe resolver).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/sha256.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"

namespace tcc::wire {

enum class ReasonCode { kWrongAmount, kWrongUsage, kPrice, kOther };
std::string_view ReasonCodeName(
    ReasonCode code);  // "wrong_amount", "wrong_usage", "price", "other"
std::optional<ReasonCode> ReasonCodeFromName(std::string_view name);
inline constexpr ReasonCode kAllReasonCodes[] = {ReasonCode::kWrongAmount, ReasonCode::kWrongUsage,
                                                 ReasonCode::kPrice, ReasonCode::kOther};

// Free text is for people and bounded so that a stored dispute cannot grow without limit.
inline constexpr std::size_t kMaxReasonTextBytes = 1024;

struct Reason {
  ReasonCode code = ReasonCode::kOther;
  std::string text;
};

// SHA-256 (hex) of the JCS form of a provider's proposal (the claim with the provider's proof).
Result<std::string> ProposalHash(const Json& proposal);
// SHA-256 (hex) of the JCS form of a claim without its proof(s): the bill itself, the same for a
// proposal, the joint claim co-signed from it and the same claim signed again.
Result<std::string> ContentHash(const Json& claim);

struct Rejection {
  std::string channel;
  std::uint64_t seq = 0;
  std::string proposal_hash;
  std::string consumer;
  Reason reason;
};

// The consumer refuses `proposal` (its key must be the proposal's consumer). `created` as in
// vc::ProofOptions (empty: now).
Result<Json> MakeRejection(const Json& proposal, const Reason& reason,
                           const did::KeyPair& consumer_key, const std::string& created = {});
// Reads a rejection's members (strictly: an unknown member is refused) without checking its proof.
Result<Rejection> ReadRejection(const Json& document);
// ReadRejection plus the proof: exactly one, by the named consumer, verifying.
Result<Rejection> VerifyRejection(const Json& document, did::Resolver& resolver);

struct CloseRequest {
  std::string channel;
  std::string party;
  Reason reason;
};

Result<Json> MakeCloseRequest(const std::string& channel_id, const Reason& reason,
                              const did::KeyPair& party_key, const std::string& created = {});
Result<CloseRequest> ReadCloseRequest(const Json& document);
Result<CloseRequest> VerifyCloseRequest(const Json& document, did::Resolver& resolver);

// The TCC's closing record for a channel closed at a party's request.
Result<Json> MakeClosingRecord(const Json& request, std::uint64_t last_seq,
                               const std::string& last_hash, const did::KeyPair& tcc_key);
// Checks the TCC's proof (issuer = `tcc_did`) and the party's request inside.
Result<CloseRequest> VerifyClosingRecord(const Json& record, const std::string& tcc_did,
                                         did::Resolver& resolver);

// What the closing record's evidence leaf commits (chain/evidence.h, kind "closing"): the channel,
// its last seq as the record names it, and the record's hash, SHA-256 of the JCS form of the
// whole record (vc::CredentialDigest), the TCC's proof included, so any change to the signed record
// changes the leaf. Reads the members without checking the proof (VerifyClosingRecord does that).
struct ClosingSubject {
  std::string channel;
  std::uint64_t last_seq = 0;
  Sha256Digest record_hash{};
};
Result<ClosingSubject> ReadClosingSubject(const Json& record);

}  // namespace tcc::wire
