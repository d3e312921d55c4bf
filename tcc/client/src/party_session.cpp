#include "tcc/client/party_session.h"

#include <algorithm>
#include <thread>

#include "tcc/common/bytes.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/transaction.h"

namespace tcc::client {
namespace {

using Clock = std::chrono::steady_clock;

// A count in an answer from tccd (channel state, recovery): absent is 0, anything but a JSON integer is refused.
Result<std::uint64_t> CountOf(const Json& state, std::string_view name) {
  auto value = state.GetIntegerOr(name, 0);
  if (!value.ok()) return std::move(value).error().WithContext("answer from tccd");
  return value;
}

const Json& ClaimOf(const Json& tsc) {
  const Json* subject = tsc.Find("credentialSubject");
  static const Json kEmpty = Json::Object();
  return subject != nullptr && subject->is_object() ? *subject : kEmpty;
}

}  // namespace

PartySession::PartySession(PartySessionOptions options) : options_(std::move(options)) {
  if (!options_.resolver) options_.resolver = std::make_shared<did::DidKeyResolver>();
  did_ = options_.party_did.empty() ? did::DidKeyFromPublicKey(options_.key->public_key()) : options_.party_did;
}

Result<std::unique_ptr<PartySession>> PartySession::Join(PartySessionOptions options) {
  if (!options.key) return Error(ErrorCode::kInvalidArgument, "a party session needs the party's key");
  if (options.channel_id.empty()) return Error(ErrorCode::kInvalidArgument, "a party session needs a channel id");
  if (!options.tst) return Error(ErrorCode::kInvalidArgument, "a party session needs the channel's TST");
  std::unique_ptr<PartySession> session(new PartySession(std::move(options)));
  if (!session->options_.tsc_dir.empty()) {
    TCC_ASSIGN_OR_RETURN(TscJournal journal,
                         TscJournal::Open(session->options_.tsc_dir, session->options_.channel_id));
    session->journal_.emplace(std::move(journal));
  }
  // tccd opens a channel when it sees its TIC on chain, which may be a moment after the parties
  // start: a channel it does not know yet is waited for, an unreachable tccd is not.
  const auto deadline = Clock::now() + session->options_.open_wait;
  while (true) {
    Status joined = session->Connect();
    if (joined.ok()) return session;
    if (joined.error().code() != ErrorCode::kNotFound || Clock::now() > deadline || session->Cancelled()) {
      return std::move(joined).error().WithContext("join channel " + session->options_.channel_id);
    }
    std::this_thread::sleep_for(session->options_.retry_interval);
  }
}

Status PartySession::Connect() {
  // Parties connect with a fresh CURVE key each time; their identity is the DID, proven in Join.
  ConnectOptions connect{.endpoint = options_.connect.endpoint,
                         .tcc_did = options_.connect.tcc_did,
                         .timeout = options_.connect.timeout};
  TCC_ASSIGN_OR_RETURN(client_, ChannelClient::Connect(std::move(connect), options_.key, did_));
  TCC_ASSIGN_OR_RETURN(JoinResult joined, client_->Join(options_.channel_id));
  if (journal_ && joined.role != "auditor" && joined.state.Contains("recovering")) {
    TCC_ASSIGN_OR_RETURN(joined.state, PresentJournal(joined.state));
  }
  head_.role = joined.role;
  last_heard_ = Clock::now();
  if (joined_once_) {
    TCC_ASSIGN_OR_RETURN(std::uint64_t seq, CountOf(joined.state, "last_seq"));
    // A tccd that came back behind this session lost TSCs it acknowledged: following it would let
    // it issue a second, different TSC under a seq this party already holds. (Channel events may
    // lag the head; a join's state may not.)
    if (seq < head_.seq) return BehindParty(seq);
    Queue(SessionEventKind::kReconnected, seq, joined.state);
  }
  return AdoptState(joined.state);
}

Status PartySession::Reconnect() {
  const auto deadline = Clock::now() + options_.reconnect_for;
  while (true) {
    Status joined = Connect();
    if (joined.ok()) return OkStatus();
    // A refusal a retry cannot fix (no longer a member, a forged challenge) ends the session.
    const ErrorCode code = joined.error().code();
    const bool transient =
        code == ErrorCode::kUnavailable || code == ErrorCode::kNotFound || code == ErrorCode::kResourceExhausted;
    if (!transient || Clock::now() > deadline || Cancelled()) {
      return std::move(joined).error().WithContext("rejoin channel " + options_.channel_id);
    }
    std::this_thread::sleep_for(options_.retry_interval);
  }
}

template <typename Call>
auto PartySession::WithResume(Call request) -> decltype(request()) {
  while (true) {
    auto result = request();
    if (result.ok()) return result;
    bool lost = client_->connection().lost();
    if (!lost && result.error().code() == ErrorCode::kPermissionDenied) {
      // Refused: either this request is not allowed, or tccd restarted and forgot the admission.
      // Only the latter also refuses reading the channel's state.
      auto state = client_->State(options_.channel_id);
      lost = !state.ok() && (state.error().code() == ErrorCode::kPermissionDenied || client_->connection().lost());
    }
    if (!lost || Cancelled()) return result;
    TCC_RETURN_IF_ERROR(Reconnect());
  }
}

Result<Json> PartySession::PresentJournal(const Json& state) {
  // Small requests: a TSC is a few KB, a frame at most 256 KiB.
  constexpr std::size_t kPerRequest = 16;
  TCC_ASSIGN_OR_RETURN(std::uint64_t seq, CountOf(state, "last_seq"));
  while (true) {
    TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs, journal_->After(seq, kPerRequest));
    Json array = Json::Array();
    for (Json& tsc : tscs) array.PushBack(std::move(tsc));
    // Sent even when empty: tccd ends the state once provider and consumer have both presented.
    TCC_ASSIGN_OR_RETURN(Message answer,
                         client_->connection().Request(MessageType::kChannelRecover,
                                                       {{"channel", options_.channel_id}, {"tscs", array}}));
    TCC_ASSIGN_OR_RETURN(std::uint64_t restored, CountOf(answer.body, "restored"));
    TCC_ASSIGN_OR_RETURN(std::uint64_t last_seq, CountOf(answer.body, "last_seq"));
    if (restored == 0 || tscs.size() < kPerRequest || last_seq <= seq) break;
    seq = last_seq;
  }
  return client_->State(options_.channel_id);
}

Status PartySession::AdoptState(const Json& state) {
  TCC_ASSIGN_OR_RETURN(const std::uint64_t n, CountOf(state, "n"));
  TCC_ASSIGN_OR_RETURN(const std::uint64_t evidence_seq, CountOf(state, "evidence_seq"));
  TCC_ASSIGN_OR_RETURN(const std::uint64_t anchored_seq, CountOf(state, "anchored_seq"));
  TCC_ASSIGN_OR_RETURN(const std::uint64_t seq, CountOf(state, "last_seq"));
  head_.n = n;
  head_.evidence_seq = evidence_seq;
  head_.anchored_seq = std::max(head_.anchored_seq, anchored_seq);
  head_.provider = state.StringOr("provider", "");
  head_.consumer = state.StringOr("consumer", "");
  const std::string status = state.StringOr("state", "");
  head_.closed = status == "closed" || status == "closing";
  if (!joined_once_) {
    if (journal_) {
      TCC_RETURN_IF_ERROR(StartFromJournal(seq));
      joined_once_ = true;
      return CatchUp(seq);
    }
    // Without a journal the first state is taken as is: what came before this party's session is
    // the TCC's word, and every TSC after it is verified against this head.
    joined_once_ = true;
    head_.seq = seq;
    head_.hash = state.StringOr("last_hash", "");
    return OkStatus();
  }
  return CatchUp(seq);
}

Error PartySession::BehindParty(std::uint64_t tccd_seq) const {
  return Error(ErrorCode::kConflict,
               "tccd's channel " + options_.channel_id + " is at seq " + std::to_string(tccd_seq) +
                   ", behind the TSCs this party applied (up to seq " + std::to_string(head_.seq) +
                   (journal_ ? ", kept in " + journal_->path() : std::string()) +
                   "): tccd lost settlements it acknowledged and must recover them before this "
                   "channel settles again");
}

Status PartySession::StartFromJournal(std::uint64_t tccd_seq) {
  TCC_ASSIGN_OR_RETURN(const std::uint64_t kept, journal_->LastSeq());
  if (kept == 0) {
    // Nothing kept yet: the journal starts at tccd's head, like a session without one.
    head_.seq = 0;
    head_.hash = options_.channel_id;
    return OkStatus();
  }
  TCC_ASSIGN_OR_RETURN(Json tsc, journal_->Get(kept));
  // Our own disk, but read back: the TSC must still verify (the TCC's proof, both parties').
  vc::TscVerifyOptions verify{.expected_issuer = options_.connect.tcc_did};
  verify.credential.check_validity_period = false;
  auto verified = vc::VerifyTsc(tsc, *options_.tst, *options_.resolver, verify);
  if (!verified.ok()) {
    return std::move(verified).error().WithContext("TSC " + std::to_string(kept) + " in " + journal_->path());
  }
  head_.seq = kept;
  TCC_ASSIGN_OR_RETURN(head_.hash, vc::CredentialHash(tsc));
  last_tsc_ = std::move(tsc);
  if (tccd_seq < kept) return BehindParty(tccd_seq);
  TCC_ASSIGN_OR_RETURN(std::vector<Json> at_kept, client_->Sync(options_.channel_id, kept - 1, 1));
  if (at_kept.empty()) {
    return Error(ErrorCode::kVerificationFailed, "tccd reports seq " + std::to_string(tccd_seq) +
                                                     " but returned no TSC " + std::to_string(kept));
  }
  TCC_ASSIGN_OR_RETURN(std::string tccd_hash, vc::CredentialHash(at_kept.front()));
  if (tccd_hash != head_.hash) {
    return Error(ErrorCode::kVerificationFailed,
                 "tccd's TSC " + std::to_string(kept) + " of channel " + options_.channel_id + " (hash " +
                     tccd_hash + ") differs from the one this party applied (hash " + head_.hash + ", in " +
                     journal_->path() + "): the channel forked");
  }
  return OkStatus();
}

Status PartySession::CatchUp(std::uint64_t target) {
  while (head_.seq < target) {
    TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs, client_->Sync(options_.channel_id, head_.seq, 100));
    if (tscs.empty()) {
      return Error(ErrorCode::kVerificationFailed, "tccd reports seq " + std::to_string(target) +
                                                       " but returned no TSC after " + std::to_string(head_.seq));
    }
    for (const Json& tsc : tscs) TCC_RETURN_IF_ERROR(Accept(tsc));
  }
  return OkStatus();
}

Status PartySession::Accept(const Json& tsc) {
  TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(ClaimOf(tsc)));
  if (link.seq <= head_.seq) return OkStatus();
  if (link.seq > head_.seq + 1) {
    TCC_RETURN_IF_ERROR(CatchUp(link.seq - 1));
    if (link.seq <= head_.seq) return OkStatus();
  }
  vc::TscVerifyOptions verify{.expected_issuer = options_.connect.tcc_did, .expected_prev = head_.hash};
  if (head_.hash.empty()) verify.expected_prev.reset();
  auto verified = vc::VerifyTsc(tsc, *options_.tst, *options_.resolver, verify);
  if (!verified.ok()) return std::move(verified).error().WithContext("TSC " + std::to_string(link.seq) + " from tccd");
  if (verified->channel != options_.channel_id) {
    return Error(ErrorCode::kVerificationFailed, "TSC " + std::to_string(link.seq) + " from tccd is for another channel");
  }
  TCC_ASSIGN_OR_RETURN(std::string hash, vc::CredentialHash(tsc));
  if (journal_) TCC_RETURN_IF_ERROR(journal_->Append(link.seq, tsc));
  head_.hash = std::move(hash);
  head_.seq = link.seq;
  last_tsc_ = tsc;
  Queue(SessionEventKind::kTsc, link.seq, tsc, head_.hash);
  return OkStatus();
}

void PartySession::Queue(SessionEventKind kind, std::uint64_t seq, Json body, std::string hash) {
  ready_.push_back(SessionEvent{kind, seq, std::move(hash), std::move(body)});
}

Status PartySession::OnMessage(const Message& message) {
  switch (message.type) {
    case MessageType::kEventTsc:
      return Accept(wire::ObjectMember(message, "tsc"));
    case MessageType::kEventProposal: {
      // The counterparty wrote it and tccd relays it unread: a proposal without a valid seq could
      // never be co-signed, so it is refused here (Poll reports it; the session goes on).
      const Json& proposal = wire::ObjectMember(message, "proposal");
      auto link = vc::ReadSettlementLink(proposal);
      if (!link.ok()) return std::move(link).error().WithContext("proposal relayed by tccd");
      Queue(SessionEventKind::kProposal, link->seq, proposal);
      return OkStatus();
    }
    case MessageType::kEventAnchored: {
      const std::uint64_t seq = wire::UintMember(message, "seq");
      if (seq >= head_.anchored_seq || head_.anchored_root.empty()) {
        head_.anchored_seq = std::max(head_.anchored_seq, seq);
        head_.anchored_root = std::string(wire::StringMember(message, "root"));
        head_.anchored_batch = std::string(wire::StringMember(message, "batch"));
      }
      Queue(SessionEventKind::kAnchored, seq, message.body);
      return OkStatus();
    }
    case MessageType::kEventRejection: {
      const Json& rejection = wire::ObjectMember(message, "rejection");
      // tccd verified it; the provider checks it too before it amends anything.
      auto verified = wire::VerifyRejection(rejection, *options_.resolver);
      if (!verified.ok()) return std::move(verified).error().WithContext("rejection from tccd");
      if (verified->channel != options_.channel_id || verified->consumer != head_.consumer) {
        return Error(ErrorCode::kVerificationFailed,
                     "tccd relayed a rejection for another channel or by another party");
      }
      if (pending_seq_ == verified->seq && head_.role == "provider") {
        auto pending_hash = wire::ProposalHash(pending_);
        if (pending_hash.ok() && *pending_hash == verified->proposal_hash) pending_rejected_ = true;
      }
      QueueRejection(verified->seq, verified->proposal_hash, rejection);
      return OkStatus();
    }
    case MessageType::kEventChannel: {
      const Json& state = wire::ObjectMember(message, "state");
      TCC_RETURN_IF_ERROR(AdoptState(state));
      Queue(SessionEventKind::kChannel, head_.seq, state);
      return OkStatus();
    }
    default:
      return OkStatus();
  }
}

// Reads tccd's traffic for up to `wait` into ready_. A connection quiet for longer than the
// liveness interval is checked with a state request, which also finds a restarted tccd.
Status PartySession::Receive(std::chrono::milliseconds wait) {
  if (Clock::now() - last_heard_ > options_.liveness_interval) {
    last_heard_ = Clock::now();
    TCC_RETURN_IF_ERROR(Resync());
    if (!ready_.empty()) return OkStatus();
  }
  auto message = client_->NextEvent(wait);
  if (!message.ok()) return message.error();
  if (!*message) return OkStatus();
  last_heard_ = Clock::now();
  return OnMessage(**message);
}

Result<std::optional<SessionEvent>> PartySession::Poll(std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  while (ready_.empty()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || Cancelled()) return std::optional<SessionEvent>();
    TCC_RETURN_IF_ERROR(Receive(std::min(left, std::chrono::milliseconds(100))));
  }
  SessionEvent event = std::move(ready_.front());
  ready_.pop_front();
  for (const Handler& handler : handlers_) handler(event);
  return std::optional<SessionEvent>(std::move(event));
}

Status PartySession::Run(const std::function<bool()>& until) {
  while (!head_.closed && !Cancelled() && !(until && until())) {
    TCC_ASSIGN_OR_RETURN(auto event, Poll(std::chrono::milliseconds(200)));
    (void)event;
  }
  // Hand out what arrived with the last message (the closing state, the final TSC).
  while (!ready_.empty()) {
    TCC_ASSIGN_OR_RETURN(auto event, Poll(std::chrono::milliseconds(0)));
    (void)event;
  }
  return OkStatus();
}

Status PartySession::Resync() {
  TCC_ASSIGN_OR_RETURN(Json state, WithResume([&] { return client_->State(options_.channel_id); }));
  return AdoptState(state);
}

Result<Json> PartySession::ProposeNext(Json claim) {
  const std::uint64_t seq = head_.seq + 1;
  // A refused amend (tccd: the bill was rejected already) leaves the rejected proposal amendable.
  std::optional<Json> amended_from;
  if (pending_seq_ == seq && pending_rejected_) amended_from = pending_;
  if (pending_seq_ != seq || pending_rejected_) {
    claim.Set("channel", options_.channel_id);
    claim.Set("seq", seq);
    claim.Set("prev", head_.hash);
    claim.Set("provider", head_.provider);
    claim.Set("consumer", head_.consumer);
    TCC_ASSIGN_OR_RETURN(pending_, vc::ProposeSettlement(*options_.tst, std::move(claim), *options_.key));
    pending_seq_ = seq;
    pending_rejected_ = false;
  }
  Status sent = WithResume([&]() -> Status {
    if (head_.seq >= seq) return OkStatus();  // issued while the connection was down
    return client_->Propose(options_.channel_id, pending_);
  });
  if (!sent.ok()) {
    if (amended_from && sent.error().code() == ErrorCode::kConflict) {
      pending_ = std::move(*amended_from);
      pending_rejected_ = true;
    } else if (sent.error().code() == ErrorCode::kConflict) {
      // The rejection may have come while this session was away (its event went to a connection
      // that is gone): the stored record says so, and makes the bill amendable.
      TCC_RETURN_IF_ERROR(LearnRejection(seq));
    }
    return std::move(sent).error();
  }
  return pending_;
}

Status PartySession::AwaitTsc(std::uint64_t seq, std::chrono::milliseconds wait) {
  const auto deadline = Clock::now() + wait;
  while (head_.seq < seq) {
    if (pending_rejected_ && pending_seq_ == seq) {
      // Nothing will be issued for the rejected bill; the caller amends it (the kRejection event,
      // with the consumer's reason, is handed out by Poll).
      return Error(ErrorCode::kConflict,
                   "the consumer rejected the proposal for seq " + std::to_string(seq));
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || Cancelled()) {
      // Events can be missed (a reconnect); tccd's state is the last word before giving up.
      TCC_RETURN_IF_ERROR(Resync());
      if (head_.seq >= seq) break;
      return Error(ErrorCode::kUnavailable, "TSC " + std::to_string(seq) + " was not issued within " +
                                                std::to_string(wait.count()) + " ms");
    }
    TCC_RETURN_IF_ERROR(Receive(std::min(left, std::chrono::milliseconds(100))));
  }
  return OkStatus();
}

Result<Json> PartySession::Cosign(const Json& proposal) {
  TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(proposal));
  if (link.channel != options_.channel_id) {
    return Error(ErrorCode::kVerificationFailed, "the proposal is for channel " + link.channel);
  }
  if (link.seq > head_.seq + 1) TCC_RETURN_IF_ERROR(CatchUp(link.seq - 1));  // TSCs missed meanwhile
  if (pending_seq_ == link.seq && link.seq == head_.seq + 1) return pending_;
  if (link.seq != head_.seq + 1) {
    return Error(ErrorCode::kConflict, "the proposal is for seq " + std::to_string(link.seq) + ", the channel is at seq " +
                                           std::to_string(head_.seq));
  }
  if (link.prev != head_.hash) {
    return Error(ErrorCode::kVerificationFailed,
                 "the proposal's prev " + link.prev + " is not the last TSC's hash " + head_.hash);
  }
  if (proposal.StringOr("provider", "") != head_.provider || proposal.StringOr("consumer", "") != head_.consumer) {
    return Error(ErrorCode::kVerificationFailed, "the proposal names other parties than the channel's");
  }
  TCC_ASSIGN_OR_RETURN(pending_, vc::CosignSettlement(*options_.tst, proposal, *options_.key, *options_.resolver));
  pending_seq_ = link.seq;
  return pending_;
}

Result<Json> PartySession::Submit(const Json& joint_claim) {
  TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(joint_claim));
  const auto deadline = Clock::now() + options_.reconnect_for;
  while (true) {
    if (head_.seq >= link.seq) {
      // Issued while the connection was down; the rejoin's catch-up applied it.
      if (head_.seq == link.seq) return last_tsc_;
      TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs, client_->Sync(options_.channel_id, link.seq - 1, 1));
      if (tscs.empty()) return Error(ErrorCode::kNotFound, "tccd has no TSC " + std::to_string(link.seq));
      return tscs.front();
    }
    auto issued = WithResume([&] { return client_->Submit(options_.channel_id, joint_claim); });
    if (issued.ok()) {
      TCC_RETURN_IF_ERROR(Accept(issued->tsc));
      return issued->tsc;
    }
    // tccd refusing for now (draining for a restart, its store unable to write) is waited out.
    if (issued.error().code() != ErrorCode::kUnavailable || client_->connection().lost() || Clock::now() > deadline ||
        Cancelled()) {
      return std::move(issued).error();
    }
    std::this_thread::sleep_for(options_.retry_interval);
    TCC_RETURN_IF_ERROR(Resync());
  }
}

Result<VerifiedEvidence> PartySession::FetchEvidence(std::uint64_t seq, chain::ChainAdapter* chain) {
  if (seq == 0) return Error(ErrorCode::kInvalidArgument, "evidence is for TSCs, whose seq starts at 1");
  TCC_ASSIGN_OR_RETURN(EvidenceReply reply, WithResume([&] { return client_->GetEvidence(options_.channel_id, seq); }));
  if (reply.anchored_seq < seq || reply.bundle.item.seq != reply.anchored_seq ||
      reply.bundle.item.channel_id != options_.channel_id) {
    return Error(ErrorCode::kVerificationFailed, "the evidence bundle is for another channel or seq");
  }
  TCC_RETURN_IF_ERROR(chain::VerifyEvidenceBundle(reply.bundle));
  // The TSCs from `seq` through the anchored one: each verifies and links to the one before, so
  // the anchored hash commits the asked TSC.
  VerifiedEvidence evidence{.seq = seq, .anchored_seq = reply.anchored_seq, .bundle = std::move(reply.bundle)};
  std::string prev;
  for (std::uint64_t after = seq - 1; after < evidence.anchored_seq;) {
    TCC_ASSIGN_OR_RETURN(std::vector<Json> tscs,
                         WithResume([&] { return client_->Sync(options_.channel_id, after, evidence.anchored_seq - after); }));
    if (tscs.empty()) return Error(ErrorCode::kNotFound, "tccd returned no TSC after " + std::to_string(after));
    for (Json& tsc : tscs) {
      vc::TscVerifyOptions verify{.expected_issuer = options_.connect.tcc_did};
      if (!prev.empty()) verify.expected_prev = prev;
      TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::VerifyTsc(tsc, *options_.tst, *options_.resolver, verify));
      if (link.seq != after + 1) return Error(ErrorCode::kVerificationFailed, "tccd synced TSCs out of order");
      TCC_ASSIGN_OR_RETURN(prev, vc::CredentialHash(tsc));
      after = link.seq;
      if (after == evidence.anchored_seq) evidence.anchored_tsc = std::move(tsc);
      if (after >= evidence.anchored_seq) break;
    }
  }
  if (HexEncode(evidence.bundle.item.tsc_hash) != prev) {
    return Error(ErrorCode::kVerificationFailed, "the evidence bundle commits another TSC than tccd's TSC " +
                                                     std::to_string(evidence.anchored_seq));
  }
  if (chain != nullptr) {
    auto anchored = chain::VerifyEvidenceBundleOnChain(evidence.bundle, *chain);
    if (!anchored.ok()) return std::move(anchored).error().WithContext("evidence on chain");
    evidence.checked_on_chain = true;
  }
  return evidence;
}

void PartySession::QueueRejection(std::uint64_t seq, const std::string& proposal_hash, const Json& rejection) {
  if (rejections_seen_seq_ != seq) {
    rejections_seen_seq_ = seq;
    rejections_seen_.clear();
  }
  if (rejections_seen_.insert(proposal_hash).second) Queue(SessionEventKind::kRejection, seq, rejection);
}

Status PartySession::LearnRejection(std::uint64_t seq) {
  TCC_ASSIGN_OR_RETURN(std::string pending_hash, wire::ProposalHash(pending_));
  TCC_ASSIGN_OR_RETURN(DisputeRecord record, FetchDisputes(seq));
  for (const Json& entry : record.rejections) {
    const Json& rejection = *entry.Find("rejection");  // FetchDisputes verified each
    auto read = wire::ReadRejection(rejection);
    if (!read.ok() || read->seq != seq || read->proposal_hash != pending_hash) continue;
    QueueRejection(seq, pending_hash, rejection);
    pending_rejected_ = true;
  }
  return OkStatus();
}

Result<Json> PartySession::Reject(const Json& proposal, const wire::Reason& reason) {
  TCC_ASSIGN_OR_RETURN(vc::SettlementLink link, vc::ReadSettlementLink(proposal));
  if (link.channel != options_.channel_id) {
    return Error(ErrorCode::kInvalidArgument, "the proposal is for channel " + link.channel);
  }
  if (pending_seq_ == link.seq && link.seq == head_.seq + 1) {
    return Error(ErrorCode::kConflict,
                 "seq " + std::to_string(link.seq) +
                     " was co-signed by this party; a co-signed claim is final");
  }
  TCC_ASSIGN_OR_RETURN(Json rejection, wire::MakeRejection(proposal, reason, *options_.key));
  TCC_RETURN_IF_ERROR(WithResume([&] { return client_->Reject(options_.channel_id, rejection); }));
  return rejection;
}

Result<Json> PartySession::Close(const wire::Reason& reason) {
  TCC_ASSIGN_OR_RETURN(Json request,
                       wire::MakeCloseRequest(options_.channel_id, reason, *options_.key));
  TCC_ASSIGN_OR_RETURN(Json closing,
                       WithResume([&] { return client_->Close(options_.channel_id, request); }));
  TCC_ASSIGN_OR_RETURN(
      wire::CloseRequest verified,
      wire::VerifyClosingRecord(closing, options_.connect.tcc_did, *options_.resolver));
  if (verified.channel != options_.channel_id || verified.party != did_) {
    return Error(ErrorCode::kVerificationFailed,
                 "the closing record is not for this close request");
  }
  head_.closed = true;
  return closing;
}

Result<DisputeRecord> PartySession::FetchDisputes(std::uint64_t from_seq) {
  TCC_ASSIGN_OR_RETURN(DisputeRecord record, WithResume([&] {
                         return client_->Disputes(options_.channel_id, from_seq);
                       }));
  TCC_RETURN_IF_ERROR(VerifyDisputeRecord(record, options_.channel_id, options_.connect.tcc_did,
                                          *options_.resolver));
  return record;
}

}  // namespace tcc::client
