#include "tcc/client/channel_client.h"

#include <chrono>

#include "tcc/common/bytes.h"
#include "tcc/did/challenge.h"
#include "tcc/did/did_key.h"
#include "tcc/wire/dispute.h"

namespace tcc::client {

using wire::ObjectMember;
using wire::StringMember;
using wire::UintMember;

Result<std::unique_ptr<ChannelClient>> ChannelClient::Connect(ConnectOptions options,
                                                              std::shared_ptr<const did::KeyPair> key,
                                                              std::string party_did) {
  if (party_did.empty()) party_did = did::DidKeyFromPublicKey(key->public_key());
  TCC_ASSIGN_OR_RETURN(auto connection, Connection::Open(std::move(options)));
  return std::unique_ptr<ChannelClient>(new ChannelClient(std::move(connection), std::move(key), std::move(party_did)));
}

Result<JoinResult> ChannelClient::Join(const std::string& channel_id) {
  TCC_ASSIGN_OR_RETURN(Message begun, connection_->Request(MessageType::kAuthBegin, {{"channel", channel_id}, {"did", did_}}));
  const Json* sealed_member = begun.body.Find("sealed");
  if (sealed_member == nullptr || !sealed_member->is_string()) {
    return Error(ErrorCode::kParse, "auth.begin answer carries no sealed challenge");
  }
  TCC_ASSIGN_OR_RETURN(Bytes sealed, HexDecode(sealed_member->as_string()));
  auto challenge = did::OpenChallenge(sealed, *key_);
  if (!challenge.ok()) return std::move(challenge).error().WithContext("open challenge");
  // Sign only a challenge bound to what this party meant to join: otherwise a relay could have
  // it answer a challenge for another channel or TCC.
  const did::ChallengeBinding& binding = challenge->binding;
  const auto now_ms = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                     std::chrono::system_clock::now().time_since_epoch())
                                                     .count());
  if (binding.channel_id != channel_id || binding.tcc_did != connection_->options().tcc_did ||
      binding.party_did != did_) {
    return Error(ErrorCode::kVerificationFailed, "the challenge is bound to another channel, TCC or party");
  }
  if (binding.expires_ms < now_ms) return Error(ErrorCode::kVerificationFailed, "the challenge has expired");
  const did::Signature signature = did::SignChallengeResponse(*challenge, *key_);
  TCC_ASSIGN_OR_RETURN(Message proved, connection_->Request(MessageType::kAuthProve,
                                                            {{"channel", channel_id},
                                                             {"nonce", HexEncode(challenge->nonce)},
                                                             {"signature", HexEncode(signature)}}));
  JoinResult result;
  if (const Json* role = proved.body.Find("role"); role != nullptr && role->is_string()) result.role = role->as_string();
  if (const Json* state = proved.body.Find("state"); state != nullptr) result.state = *state;
  return result;
}

Status ChannelClient::Propose(const std::string& channel_id, const Json& proposal) {
  TCC_ASSIGN_OR_RETURN(Message answer,
                       connection_->Request(MessageType::kSettlePropose, {{"channel", channel_id}, {"proposal", proposal}}));
  (void)answer;
  return OkStatus();
}

Result<IssuedTsc> ChannelClient::Submit(const std::string& channel_id, const Json& joint_claim) {
  TCC_ASSIGN_OR_RETURN(Message answer,
                       connection_->Request(MessageType::kSettleSubmit,
                                            {{"channel", channel_id}, {"claim", joint_claim}}));
  const Json* tsc = answer.body.Find("tsc");
  if (tsc == nullptr || !tsc->is_object())
    return Error(ErrorCode::kParse, "settle.submit answer lacks tsc");
  IssuedTsc issued;
  auto seq = answer.body.GetInteger("seq", 1);
  if (!seq.ok()) return std::move(seq).error().WithContext("settle.submit answer");
  issued.seq = *seq;
  issued.tsc = *tsc;
  if (const Json* replayed = answer.body.Find("replayed"); replayed != nullptr && replayed->is_bool()) {
    issued.replayed = replayed->as_bool();
  }
  return issued;
}

Result<Json> ChannelClient::State(const std::string& channel_id) {
  TCC_ASSIGN_OR_RETURN(Message answer, connection_->Request(MessageType::kChannelState, {{"channel", channel_id}}));
  const Json* state = answer.body.Find("state");
  if (state == nullptr || !state->is_object()) return Error(ErrorCode::kParse, "channel.state answer lacks state");
  return *state;
}

Result<std::vector<Json>> ChannelClient::Sync(const std::string& channel_id, std::uint64_t after, std::uint64_t limit) {
  TCC_ASSIGN_OR_RETURN(Message answer, connection_->Request(MessageType::kChannelSync,
                                                            {{"channel", channel_id}, {"after", after}, {"limit", limit}}));
  const Json* tscs = answer.body.Find("tscs");
  if (tscs == nullptr || !tscs->is_array()) return Error(ErrorCode::kParse, "channel.sync answer lacks tscs");
  return tscs->as_array();
}

Result<EvidenceReply> ChannelClient::GetEvidence(const std::string& channel_id, std::uint64_t seq) {
  TCC_ASSIGN_OR_RETURN(Message answer,
                       connection_->Request(MessageType::kEvidenceGet, {{"channel", channel_id}, {"seq", seq}}));
  const Json* bundle = answer.body.Find("bundle");
  if (bundle == nullptr) return Error(ErrorCode::kParse, "evidence.get answer lacks bundle");
  EvidenceReply reply;
  auto anchored = answer.body.GetInteger("anchored_seq", 1);
  if (!anchored.ok()) return std::move(anchored).error().WithContext("evidence.get answer");
  reply.anchored_seq = *anchored;
  TCC_ASSIGN_OR_RETURN(reply.bundle, chain::EvidenceBundleFromJson(*bundle));
  return reply;
}

Result<std::uint64_t> ChannelClient::Reject(const std::string& channel_id, const Json& rejection) {
  TCC_ASSIGN_OR_RETURN(Message answer,
                       connection_->Request(MessageType::kSettleReject,
                                            {{"channel", channel_id}, {"rejection", rejection}}));
  auto seq = wire::OptionalUint(answer, "seq");
  if (!seq) return Error(ErrorCode::kParse, "settle.reject answer lacks seq");
  return *seq;
}

Result<Json> ChannelClient::Close(const std::string& channel_id, const Json& request) {
  TCC_ASSIGN_OR_RETURN(Message answer,
                       connection_->Request(MessageType::kChannelClose,
                                            {{"channel", channel_id}, {"request", request}}));
  const Json* closing = answer.body.Find("closing");
  if (closing == nullptr || !closing->is_object())
    return Error(ErrorCode::kParse, "channel.close answer lacks closing");
  return *closing;
}

Result<DisputeRecord> ChannelClient::Disputes(const std::string& channel_id,
                                              std::uint64_t from_seq) {
  TCC_ASSIGN_OR_RETURN(Message answer,
                       connection_->Request(MessageType::kChannelRejections,
                                            {{"channel", channel_id}, {"from_seq", from_seq}}));
  const Json* rejections = answer.body.Find("rejections");
  if (rejections == nullptr || !rejections->is_array()) {
    return Error(ErrorCode::kParse, "channel.rejections answer lacks rejections");
  }
  DisputeRecord record{rejections->as_array(), std::nullopt, std::nullopt};
  if (const Json* closing = answer.body.Find("closing");
      closing != nullptr && closing->is_object()) {
    record.closing = *closing;
  }
  if (const Json* evidence = answer.body.Find("closing_evidence"); evidence != nullptr) {
    auto bundle = chain::EvidenceBundleFromJson(*evidence);
    if (!bundle.ok())
      return std::move(bundle).error().WithContext("channel.rejections closing_evidence");
    record.closing_evidence = std::move(bundle).value();
  }
  return record;
}

Status VerifyDisputeRecord(const DisputeRecord& record, const std::string& channel_id,
                           const std::string& tcc_did, did::Resolver& resolver) {
  for (const Json& entry : record.rejections) {
    const Json* rejection = entry.Find("rejection");
    if (rejection == nullptr) {
      return Error(ErrorCode::kParse, "tccd returned a rejection without its document");
    }
    auto verified = wire::VerifyRejection(*rejection, resolver);
    if (!verified.ok()) return std::move(verified).error().WithContext("rejection from tccd");
    if (verified->channel != channel_id) {
      return Error(ErrorCode::kVerificationFailed, "tccd returned a rejection of another channel");
    }
  }
  if (record.closing_evidence) {
    if (!record.closing) {
      return Error(ErrorCode::kParse, "tccd returned closing evidence without the closing record");
    }
    // Checks the record's proof too.
    Status verified =
        VerifyClosingEvidence(*record.closing, *record.closing_evidence, tcc_did, resolver);
    if (!verified.ok()) return verified.error().WithContext("closing evidence from tccd");
  } else if (record.closing) {
    auto verified = wire::VerifyClosingRecord(*record.closing, tcc_did, resolver);
    if (!verified.ok()) return std::move(verified).error().WithContext("closing record from tccd");
  }
  return OkStatus();
}

Status VerifyClosingEvidence(const Json& record, const chain::EvidenceBundle& bundle,
                             const std::string& tcc_did, did::Resolver& resolver) {
  TCC_RETURN_IF_ERROR(wire::VerifyClosingRecord(record, tcc_did, resolver));
  TCC_ASSIGN_OR_RETURN(wire::ClosingSubject subject, wire::ReadClosingSubject(record));
  const chain::EvidenceItem expected{subject.channel, subject.last_seq, subject.record_hash,
                                     chain::EvidenceKind::kClosing};
  if (!(bundle.item == expected)) {
    return Error(ErrorCode::kVerificationFailed,
                 "the evidence bundle (" + std::string(chain::EvidenceKindName(bundle.item.kind)) +
                     " leaf of channel " + bundle.item.channel_id + " seq " +
                     std::to_string(bundle.item.seq) + ", hash " + HexEncode(bundle.item.tsc_hash) +
                     ") is not the closing leaf of this record (channel " + expected.channel_id +
                     " last seq " + std::to_string(expected.seq) + ", record hash " +
                     HexEncode(expected.tsc_hash) + ")");
  }
  return chain::VerifyEvidenceBundle(bundle);
}

}  // namespace tcc::client
