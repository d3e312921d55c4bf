// ChannelClient: a party's side of a TCC channel (docs/design.md, "Flow", steps 4-7).
//
// Join runs the DID challenge-response: it opens the sealed challenge with the party's key, checks
// that it is bound to the channel, the TCC and the party it expects and has not expired, and
// answers with a signature over the transcript. After that the party can propose (relayed to the
// counterpart as an event), submit a co-signed claim and get the issued TSC back, read the
// channel's state, sync TSCs it missed, and fetch evidence bundles. In a dispute the consumer sends
// a signed rejection, either party a signed close request, and any member fetches the stored
// rejections (wire/dispute.h builds the documents). Events (event.tsc, event.proposal,
// event.rejection, event.channel, event.anchored) are read with NextEvent.
//
// Ownership: owns its Connection and shares the party key. Thread safety: none (one per thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tcc/chain/evidence.h"
#include "tcc/client/connection.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"

namespace tcc::client {

struct JoinResult {
  std::string role;  // provider, consumer or auditor
  Json state;        // the channel state (last_seq, last_hash, n, anchored_seq, ...)
};

struct IssuedTsc {
  std::uint64_t seq = 0;
  Json tsc;
  bool replayed = false;  // the TCC had issued it already for the same claim
};

struct EvidenceReply {
  std::uint64_t anchored_seq = 0;  // the anchored TSC that commits the asked one
  chain::EvidenceBundle bundle;
};

// A channel's dispute record as tccd stores it.
struct DisputeRecord {
  std::vector<Json> rejections;  // each {received_ms, rejection}, ascending by seq
  std::optional<Json> closing;   // the TCC-signed closing record, when a party closed the channel
  // The evidence bundle of the closing record's own leaf (kind kClosing), once tccd anchored it
  // with the channel's last TSC.
  std::optional<chain::EvidenceBundle> closing_evidence;
};

// Checks a closing record with its evidence bundle, offline: the TCC's proof (issuer `tcc_did`)
// and the party's request inside (wire::VerifyClosingRecord), that the bundle is a closing leaf
// committing this very record (channel, last seq, the record's hash) and that its Merkle path
// leads to its root. The chain part is chain::VerifyEvidenceBundleOnChain. kVerificationFailed
// (or the record's read error) says which check failed.
Status VerifyClosingEvidence(const Json& record, const chain::EvidenceBundle& bundle,
                             const std::string& tcc_did, did::Resolver& resolver);

// Checks a dispute record tccd returned for `channel_id`, offline: every rejection's consumer
// proof and channel, the closing record's TCC proof and, when present, its evidence bundle
// (VerifyClosingEvidence). kParse for a record missing a document, else the failed check's error.
Status VerifyDisputeRecord(const DisputeRecord& record, const std::string& channel_id,
                           const std::string& tcc_did, did::Resolver& resolver);

class ChannelClient {
 public:
  // `party_did` defaults to the did:key of `key`.
  static Result<std::unique_ptr<ChannelClient>> Connect(ConnectOptions options,
                                                        std::shared_ptr<const did::KeyPair> key,
                                                        std::string party_did = {});

  const std::string& did() const { return did_; }

  Result<JoinResult> Join(const std::string& channel_id);
  Status Propose(const std::string& channel_id, const Json& proposal);
  Result<IssuedTsc> Submit(const std::string& channel_id, const Json& joint_claim);
  Result<Json> State(const std::string& channel_id);
  // TSCs with seq > after, ascending (one page; repeat with the last seq for more).
  Result<std::vector<Json>> Sync(const std::string& channel_id, std::uint64_t after, std::uint64_t limit = 100);
  Result<EvidenceReply> GetEvidence(const std::string& channel_id, std::uint64_t seq);
  // Sends a signed rejection (wire::MakeRejection); returns the seq it was recorded for.
  Result<std::uint64_t> Reject(const std::string& channel_id, const Json& rejection);
  // Sends a signed close request (wire::MakeCloseRequest); returns the closing record.
  Result<Json> Close(const std::string& channel_id, const Json& request);
  // The rejections with seq >= from_seq (one page) and the closing record, if any.
  Result<DisputeRecord> Disputes(const std::string& channel_id, std::uint64_t from_seq = 1);
  Result<std::optional<Message>> NextEvent(std::chrono::milliseconds wait) { return connection_->NextEvent(wait); }

  Connection& connection() { return *connection_; }

 private:
  ChannelClient(std::unique_ptr<Connection> connection, std::shared_ptr<const did::KeyPair> key, std::string did)
      : connection_(std::move(connection)), key_(std::move(key)), did_(std::move(did)) {}

  std::unique_ptr<Connection> connection_;
  std::shared_ptr<const did::KeyPair> key_;
  std::string did_;
};

}  // namespace tcc::client
