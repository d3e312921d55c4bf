#include "tcc/wire/dispute.h"

#include "tcc/common/json_object_reader.h"
#include "tcc/common/time.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/data_integrity.h"
#include "tcc/vc/transaction.h"

namespace tcc::wire {
namespace {

constexpr std::string_view kRejectionType = "SettlementRejection";
constexpr std::string_view kCloseRequestType = "ChannelCloseRequest";
constexpr std::string_view kClosingType = "ChannelClosing";

Error Invalid(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::move(message));
}
Error Failed(std::string message) {
  return Error(ErrorCode::kVerificationFailed, std::move(message));
}

Status CheckReason(const Reason& reason) {
  if (reason.text.size() > kMaxReasonTextBytes) {
    return Invalid("a reason's text is at most " + std::to_string(kMaxReasonTextBytes) + " bytes");
  }
  return OkStatus();
}

void SetReason(Json& document, const Reason& reason) {
  document.Set("code", ReasonCodeName(reason.code));
  document.Set("text", reason.text);
}

Result<Reason> ReadReason(JsonObjectReader& reader) {
  TCC_ASSIGN_OR_RETURN(std::string code_name, reader.String("code"));
  auto code = ReasonCodeFromName(code_name);
  if (!code)
    return reader.ShapeError("member \"code\" must be wrong_amount, wrong_usage, price or other");
  TCC_ASSIGN_OR_RETURN(std::string text, reader.String("text"));
  Reason reason{*code, std::move(text)};
  Status bounded = CheckReason(reason);
  if (!bounded.ok()) return reader.ShapeError(bounded.error().message());
  return reason;
}

Status ReadType(JsonObjectReader& reader, std::string_view expected) {
  TCC_ASSIGN_OR_RETURN(std::string type, reader.String("type"));
  if (type != expected)
    return reader.ShapeError("member \"type\" must be " + std::string(expected));
  return OkStatus();
}

Result<std::string> ReadDid(JsonObjectReader& reader, std::string_view key) {
  TCC_ASSIGN_OR_RETURN(std::string did, reader.String(key));
  if (did.empty() || did.size() > 256)
    return reader.ShapeError("member \"" + std::string(key) + "\" must be a DID");
  return did;
}

// The members a party's signed document always has: type, channel, the signing party's DID (under
// `party_member`), the reason and the proof. The caller reads its own members, then Finish().
Status ReadPartyDocument(JsonObjectReader& reader, std::string_view type,
                         std::string_view party_member, std::string& channel, std::string& party,
                         Reason& reason) {
  TCC_RETURN_IF_ERROR(reader.CheckIsObject());
  TCC_RETURN_IF_ERROR(ReadType(reader, type));
  TCC_ASSIGN_OR_RETURN(channel, reader.LowerHex("channel"));
  TCC_ASSIGN_OR_RETURN(party, ReadDid(reader, party_member));
  TCC_ASSIGN_OR_RETURN(reason, ReadReason(reader));
  TCC_RETURN_IF_ERROR(reader.Member("proof", Json::Type::kObject));
  return OkStatus();
}

vc::ProofOptions SignerOptions(const did::KeyPair& key, const std::string& created) {
  return vc::ProofOptions{.verification_method = did::DidKeyVerificationMethod(key.public_key()),
                          .created = created};
}

// One proof, by `signer`, verifying.
Status VerifySignedBy(const Json& document, const std::string& signer, did::Resolver& resolver,
                      std::string_view what) {
  const Json* proof = document.Find("proof");
  if (proof == nullptr || !proof->is_object())
    return Failed(std::string(what) + " carries exactly one proof");
  auto verified = vc::VerifyProofs(document, resolver);
  if (!verified.ok()) return std::move(verified).error().WithContext(what);
  if (verified->front().controller != signer) {
    return Failed(std::string(what) + " is not signed by " + signer);
  }
  return OkStatus();
}

}  // namespace

std::string_view ReasonCodeName(ReasonCode code) {
  switch (code) {
    case ReasonCode::kWrongAmount:
      return "wrong_amount";
    case ReasonCode::kWrongUsage:
      return "wrong_usage";
    case ReasonCode::kPrice:
      return "price";
    case ReasonCode::kOther:
      return "other";
  }
  return "other";
}

std::optional<ReasonCode> ReasonCodeFromName(std::string_view name) {
  for (ReasonCode code : kAllReasonCodes) {
    if (ReasonCodeName(code) == name) return code;
  }
  return std::nullopt;
}

Result<std::string> ProposalHash(const Json& proposal) { return vc::CredentialHash(proposal); }

Result<std::string> ContentHash(const Json& claim) {
  Json content = claim;
  content.Erase("proof");
  return vc::CredentialHash(content);
}

Result<Json> MakeRejection(const Json& proposal, const Reason& reason,
                           const did::KeyPair& consumer_key, const std::string& created) {
  TCC_RETURN_IF_ERROR(CheckReason(reason));
  TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(proposal));
  TCC_ASSIGN_OR_RETURN(std::string_view consumer, proposal.GetString("consumer"));
  const std::string signer = did::DidKeyFromPublicKey(consumer_key.public_key());
  if (consumer != signer) {
    return Error(ErrorCode::kPermissionDenied, "the signing key (" + signer +
                                                   ") is not the proposal's consumer (" +
                                                   std::string(consumer) + ")");
  }
  TCC_ASSIGN_OR_RETURN(std::string hash, ProposalHash(proposal));
  Json document = Json::Object();
  document.Set("type", kRejectionType);
  document.Set("channel", link.channel);
  document.Set("seq", link.seq);
  document.Set("proposal_hash", hash);
  document.Set("consumer", signer);
  SetReason(document, reason);
  TCC_RETURN_IF_ERROR(vc::AddProof(document, consumer_key, SignerOptions(consumer_key, created)));
  return document;
}

Result<Rejection> ReadRejection(const Json& document) {
  JsonObjectReader reader(document, "rejection");
  Rejection rejection;
  TCC_RETURN_IF_ERROR(ReadPartyDocument(reader, kRejectionType, "consumer", rejection.channel,
                                        rejection.consumer, rejection.reason));
  TCC_ASSIGN_OR_RETURN(rejection.seq, reader.Integer("seq", 1));
  TCC_ASSIGN_OR_RETURN(rejection.proposal_hash, reader.LowerHex("proposal_hash"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  return rejection;
}

Result<Rejection> VerifyRejection(const Json& document, did::Resolver& resolver) {
  TCC_ASSIGN_OR_RETURN(Rejection rejection, ReadRejection(document));
  TCC_RETURN_IF_ERROR(VerifySignedBy(document, rejection.consumer, resolver, "rejection"));
  return rejection;
}

Result<Json> MakeCloseRequest(const std::string& channel_id, const Reason& reason,
                              const did::KeyPair& party_key, const std::string& created) {
  TCC_RETURN_IF_ERROR(CheckReason(reason));
  if (!IsLowerHex(channel_id, 64)) return Invalid("a channel id is 64 lowercase hex digits");
  Json document = Json::Object();
  document.Set("type", kCloseRequestType);
  document.Set("channel", channel_id);
  document.Set("party", did::DidKeyFromPublicKey(party_key.public_key()));
  SetReason(document, reason);
  TCC_RETURN_IF_ERROR(vc::AddProof(document, party_key, SignerOptions(party_key, created)));
  return document;
}

Result<CloseRequest> ReadCloseRequest(const Json& document) {
  JsonObjectReader reader(document, "close request");
  CloseRequest request;
  TCC_RETURN_IF_ERROR(ReadPartyDocument(reader, kCloseRequestType, "party", request.channel,
                                        request.party, request.reason));
  TCC_RETURN_IF_ERROR(reader.Finish());
  return request;
}

Result<CloseRequest> VerifyCloseRequest(const Json& document, did::Resolver& resolver) {
  TCC_ASSIGN_OR_RETURN(CloseRequest request, ReadCloseRequest(document));
  TCC_RETURN_IF_ERROR(VerifySignedBy(document, request.party, resolver, "close request"));
  return request;
}

Result<Json> MakeClosingRecord(const Json& request, std::uint64_t last_seq,
                               const std::string& last_hash, const did::KeyPair& tcc_key) {
  TCC_ASSIGN_OR_RETURN(CloseRequest read, ReadCloseRequest(request));
  Json record = Json::Object();
  record.Set("type", kClosingType);
  record.Set("issuer", did::DidKeyFromPublicKey(tcc_key.public_key()));
  record.Set("channel", read.channel);
  record.Set("party", read.party);
  SetReason(record, read.reason);
  record.Set("last_seq", last_seq);
  record.Set("last_hash", last_hash);
  record.Set("closed", FormatRfc3339(NowSeconds()));
  record.Set("request", request);
  TCC_RETURN_IF_ERROR(vc::AddProof(record, tcc_key, SignerOptions(tcc_key, {})));
  return record;
}

Result<CloseRequest> VerifyClosingRecord(const Json& record, const std::string& tcc_did,
                                         did::Resolver& resolver) {
  JsonObjectReader reader(record, "closing record");
  TCC_RETURN_IF_ERROR(reader.CheckIsObject());
  TCC_RETURN_IF_ERROR(ReadType(reader, kClosingType));
  TCC_ASSIGN_OR_RETURN(std::string issuer, ReadDid(reader, "issuer"));
  if (issuer != tcc_did)
    return Failed("the closing record is issued by " + issuer + ", not " + tcc_did);
  TCC_ASSIGN_OR_RETURN(std::string channel, reader.LowerHex("channel"));
  TCC_ASSIGN_OR_RETURN(std::string party, ReadDid(reader, "party"));
  TCC_ASSIGN_OR_RETURN(Reason reason, ReadReason(reader));
  TCC_RETURN_IF_ERROR(reader.Integer("last_seq"));
  TCC_RETURN_IF_ERROR(reader.LowerHex("last_hash"));
  TCC_RETURN_IF_ERROR(reader.String("closed"));
  TCC_ASSIGN_OR_RETURN(const Json* request, reader.Member("request", Json::Type::kObject));
  TCC_RETURN_IF_ERROR(reader.Member("proof", Json::Type::kObject));
  TCC_RETURN_IF_ERROR(reader.Finish());
  TCC_RETURN_IF_ERROR(VerifySignedBy(record, tcc_did, resolver, "closing record"));
  TCC_ASSIGN_OR_RETURN(CloseRequest inner, VerifyCloseRequest(*request, resolver));
  if (inner.channel != channel || inner.party != party || inner.reason.code != reason.code ||
      inner.reason.text != reason.text) {
    return Failed("the closing record does not match the request it carries");
  }
  return inner;
}

Result<ClosingSubject> ReadClosingSubject(const Json& record) {
  JsonObjectReader reader(record, "closing record");
  TCC_RETURN_IF_ERROR(reader.CheckIsObject());
  TCC_RETURN_IF_ERROR(ReadType(reader, kClosingType));
  ClosingSubject subject;
  TCC_ASSIGN_OR_RETURN(subject.channel, reader.LowerHex("channel"));
  TCC_ASSIGN_OR_RETURN(subject.last_seq, reader.Integer("last_seq"));
  TCC_ASSIGN_OR_RETURN(subject.record_hash, vc::CredentialDigest(record));
  return subject;
}

}  // namespace tcc::wire
