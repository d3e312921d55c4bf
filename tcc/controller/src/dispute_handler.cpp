#include "dispute_handler.h"

#include <chrono>
#include <utility>

#include "negotiation.h"
#include "tcc/controller/log.h"
#include "tcc/wire/transport.h"

namespace tcc::controller {
namespace {

// A dispute history answer stays well under the client's frame limit (as channel.sync's).
constexpr std::size_t kMaxRejectionsReplyBytes = wire::kMaxFrameBytes / 2;

std::uint64_t UnixMillis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace

void DisputeHandler::Refuse(const Requester& from, const Error& error) {
  host_.CountRejection(error);
  host_.ReplyError(from, error);
}

void DisputeHandler::ProviderProposal(const Requester& from, const std::string& channel_id,
                                      const vc::SettlementLink& link, const Json& proposal,
                                      std::function<void()> relay) {
  ChannelStateMachine* machine = host_.Machine(channel_id);
  if (machine == nullptr) return Refuse(from, Error(ErrorCode::kNotFound, "the channel is gone"));
  auto hash = wire::ProposalHash(proposal);
  auto content = wire::ContentHash(proposal);
  if (!hash.ok()) return host_.ReplyError(from, hash.error().WithContext("proposal"));
  if (!content.ok()) return host_.ReplyError(from, content.error().WithContext("proposal"));
  Negotiation& negotiation = machine->negotiation();
  const auto now = Negotiation::Clock::now();
  if (Status allowed = negotiation.CheckProposal(*content, now, machine->record().amend_after_s);
      !allowed.ok()) {
    return Refuse(from, allowed.error());
  }
  if (negotiation.IsLatest(*hash)) return relay();  // a re-send
  negotiation.Proposed(*hash, *content, now);
  // Relaying acknowledges nothing durable, so a store that cannot write does not stop it: the
  // mark then lives in memory only (a restart before recovery forgets it).
  if (!host_.StoreStatus().ok()) return relay();
  writer_.PutProposal({channel_id, link.seq, *hash, *content},
                      host_.OnLoop([this, channel_id, relay](const Status& status) {
                        if (!status.ok()) {
                          host_.OnStoreWriteFailed("store proposal", channel_id, status.error());
                        }
                        relay();
                      }));
}

void DisputeHandler::Reject(const Requester& from, Role role, const std::string& channel_id,
                            const wire::Message& message) {
  if (role != Role::kConsumer)
    return Refuse(from, Error(ErrorCode::kPermissionDenied, "only the consumer rejects proposals"));
  ChannelStateMachine* machine = host_.Machine(channel_id);
  if (machine == nullptr) return Refuse(from, Error(ErrorCode::kNotFound, "the channel is gone"));
  if (machine->ended()) {
    return Refuse(from, Error(ErrorCode::kConflict, "channel " + channel_id + " is closed"));
  }
  Json document = wire::ObjectMember(message, "rejection");
  auto read = wire::ReadRejection(document);
  if (!read.ok()) return Refuse(from, read.error());
  if (read->channel != channel_id) {
    return Refuse(
        from, Error(ErrorCode::kInvalidArgument, "the rejection names channel " + read->channel +
                                                     ", not the channel it was sent to"));
  }
  if (read->consumer != machine->record().consumer) {
    return Refuse(
        from, Error(ErrorCode::kPermissionDenied, "the rejection names " + read->consumer +
                                                      " as consumer; the channel's consumer is " +
                                                      machine->record().consumer));
  }
  host_.PeerAsync(
      from, false, [this, from, channel_id, document = std::move(document)]() mutable -> Task {
        auto verified = wire::VerifyRejection(document, resolver_);
        return [this, from, channel_id, verified = std::move(verified),
                document = std::move(document)]() mutable {
          OnRejectionVerified(from, channel_id, std::move(verified), std::move(document));
        };
      });
}

void DisputeHandler::OnRejectionVerified(const Requester& from, const std::string& channel_id,
                                         Result<wire::Rejection> rejection, Json document) {
  if (!rejection.ok()) return Refuse(from, rejection.error());
  ChannelStateMachine* machine = host_.Machine(channel_id);
  if (machine == nullptr) return Refuse(from, Error(ErrorCode::kNotFound, "the channel is gone"));
  // Checked here, on the loop, where nothing can settle the seq between the check and the record.
  if (machine->ended()) {
    return Refuse(from, Error(ErrorCode::kConflict, "channel " + channel_id + " is closed"));
  }
  const std::uint64_t next = machine->record().last_seq + 1;
  if (rejection->seq < next) {
    return Refuse(
        from, Error(ErrorCode::kConflict, "seq " + std::to_string(rejection->seq) +
                                              " is already issued; an issued settlement is final"));
  }
  if (rejection->seq > next) {
    return Refuse(from, Error(ErrorCode::kConflict, "seq " + std::to_string(rejection->seq) +
                                                        " is not the next seq of the channel (" +
                                                        std::to_string(next) + ")"));
  }
  if (machine->in_flight()) {
    return Refuse(
        from, Error(ErrorCode::kConflict, "a claim for seq " + std::to_string(next) +
                                              " is being issued; it cannot be rejected any more"));
  }
  Negotiation& negotiation = machine->negotiation();
  if (Status allowed = negotiation.CheckRejection(rejection->proposal_hash); !allowed.ok())
    return Refuse(from, allowed.error());
  if (Status store = host_.StoreStatus(); !store.ok()) return Refuse(from, store.error());
  // Recorded before it is durable, so that no claim made from it is issued meanwhile; a failed
  // write leaves it refused in memory (stricter, and the consumer is told to send it again).
  // A rejection sent again keeps the content hash recorded the first time.
  const std::string content = negotiation.IsLatest(rejection->proposal_hash)
                                  ? negotiation.proposed_content()
                                  : std::string();
  if (content.empty()) {
    // Rejected before and stored: answer again without a second record.
    host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                          .Add("channel", channel_id)
                          .Add("seq", next)
                          .Finish());
    return;
  }
  negotiation.Rejected(rejection->proposal_hash, content);
  RejectionRecord record{channel_id, next,         rejection->proposal_hash,
                         content,    UnixMillis(), std::move(document)};
  const std::string code(wire::ReasonCodeName(rejection->reason.code));
  const std::string event = wire::FrameBuilder(wire::MessageType::kEventRejection)
                                .Add("channel", channel_id)
                                .Add("seq", next)
                                .Add("rejection", record.document)
                                .Finish();
  writer_.PutRejection(std::move(record), host_.OnLoop([this, from, channel_id, next, code,
                                                        event](const Status& status) {
    if (!status.ok()) {
      host_.OnStoreWriteFailed("store rejection", channel_id, status.error());
      return host_.ReplyError(
          from, host_.StoreStatus().ok() ? status.error() : host_.StoreStatus().error());
    }
    metrics_.BillRejected(code);
    Log(LogLevel::kInfo, "proposal rejected",
        {{"channel", channel_id}, {"seq", next}, {"code", code}});
    host_.Publish(channel_id, event, Role::kProvider);
    host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                          .Add("channel", channel_id)
                          .Add("seq", next)
                          .Finish());
  }));
}

void DisputeHandler::Rejections(const Requester& from, const std::string& channel_id,
                                std::optional<Json> closing, const wire::Message& message) {
  const std::uint64_t from_seq = wire::OptionalUint(message, "from_seq").value_or(1);
  host_.PeerAsync(from, true,
                  [this, from, channel_id, from_seq, closing = std::move(closing)]() -> Task {
                    auto rejections = store_.ListRejections(channel_id, from_seq);
                    // The closing leaf's bundle, once anchored, and only for the record held.
                    Result<std::optional<chain::EvidenceBundle>> evidence =
                        std::optional<chain::EvidenceBundle>();
                    if (closing) evidence = store_.GetClosingBundle(channel_id);
                    return [this, from, channel_id, closing, rejections = std::move(rejections),
                            evidence = std::move(evidence)] {
                      if (!rejections.ok()) return host_.ReplyError(from, rejections.error());
                      if (!evidence.ok()) return host_.ReplyError(from, evidence.error());
                      Json array = Json::Array();
                      std::size_t bytes = 0;
                      for (const auto& rejection : *rejections) {
                        Json entry = Json::Object();
                        entry.Set("received_ms", rejection.received_ms);
                        entry.Set("rejection", rejection.document);
                        // A long dispute history must still fit a frame: the answer stops early,
                        // and the caller asks again from the last seq it got.
                        bytes += entry.Serialize().size();
                        if (bytes > kMaxRejectionsReplyBytes && !array.as_array().empty()) break;
                        array.PushBack(std::move(entry));
                      }
                      wire::FrameBuilder reply(wire::MessageType::kReply, from.request_id);
                      reply.Add("channel", channel_id).Add("rejections", array);
                      if (closing) reply.Add("closing", *closing);
                      // Only the bundle of the record handed out (a record of an interrupted
                      // close that a later close replaced has its own leaf).
                      if (*evidence && closing) {
                        auto expected = ClosingEvidenceItem(*closing);
                        if (expected.ok() && (*evidence)->item == *expected)
                          reply.Add("closing_evidence", chain::EvidenceBundleToJson(**evidence));
                      }
                      host_.Reply(from, reply.Finish());
                    };
                  });
}

void DisputeHandler::Close(const Requester& from, Role role, const std::string& channel_id,
                           const wire::Message& message) {
  if (role == Role::kAuditor)
    return Refuse(from, Error(ErrorCode::kPermissionDenied, "auditors are read-only"));
  ChannelStateMachine* machine = host_.Machine(channel_id);
  if (machine == nullptr) return Refuse(from, Error(ErrorCode::kNotFound, "the channel is gone"));
  const Error closed(ErrorCode::kConflict, "channel " + channel_id + " is closed or closing");
  if (machine->ended()) return Refuse(from, closed);
  Json document = wire::ObjectMember(message, "request");
  auto read = wire::ReadCloseRequest(document);
  if (!read.ok()) return Refuse(from, read.error());
  const std::string& sender =
      role == Role::kProvider ? machine->record().provider : machine->record().consumer;
  if (read->channel != channel_id || read->party != sender) {
    return Refuse(from, Error(ErrorCode::kPermissionDenied,
                              "the close request must name this channel and " + sender));
  }
  host_.PeerAsync(
      from, false,
      [this, from, channel_id, closed, document = std::move(document)]() mutable -> Task {
        auto verified = wire::VerifyCloseRequest(document, resolver_);
        return [this, from, channel_id, closed, verified = std::move(verified),
                document = std::move(document)]() mutable {
          if (!verified.ok()) return Refuse(from, verified.error());
          ChannelStateMachine* now = host_.Machine(channel_id);
          if (now == nullptr || now->ended()) return Refuse(from, closed);
          host_.ClosePerParty(channel_id, std::move(document), from);
        };
      });
}

}  // namespace tcc::controller
