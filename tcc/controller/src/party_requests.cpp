#include "party_requests.h"

#include <string>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/controller/log.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {
namespace {

// channel.sync and evidence.get answers in preparation per connection (each up to a frame).
constexpr std::size_t kMaxLargeRequestsInFlight = 4;

}  // namespace

void PartyRequests::Refuse(const Requester& from, const Error& error) {
  host_.CountRejection(error);
  host_.ReplyError(from, error);
}

void PartyRequests::Handle(Connection& connection, const Requester& from,
                           wire::Message message) {
  if (message.type == wire::MessageType::kChainWrite) {  // refused there, saying where it is served
    return parts_.chain.Handle(from, message, ChainAccess::kMember);
  }
  if (!wire::IsRequest(message.type) || message.type >= wire::MessageType::kControlOpen) {
    return Refuse(
        from, Error(ErrorCode::kInvalidArgument,
                    std::string(wire::MessageTypeName(message.type)) + " is not a party request"));
  }
  // Requests answered after work on a worker: a peer that does not wait for its answers gets a
  // bounded share of the workers and of the memory their answers take.
  const bool large = message.type == wire::MessageType::kChannelSync ||
                     message.type == wire::MessageType::kEvidenceGet ||
                     message.type == wire::MessageType::kChannelRejections ||
                     message.type == wire::MessageType::kChainRead;
  if (large || message.type == wire::MessageType::kAuthBegin ||
      message.type == wire::MessageType::kAuthProve ||
      message.type == wire::MessageType::kSettleReject ||
      message.type == wire::MessageType::kChannelClose) {
    if (connection.requests_in_flight >= parts_.max_requests_in_flight_per_connection ||
        (large && connection.large_requests_in_flight >= kMaxLargeRequestsInFlight)) {
      return Refuse(from, Error(ErrorCode::kResourceExhausted,
                                "too many requests in flight on this connection; wait for their "
                                "answers"));
    }
  }

  switch (message.type) {
    case wire::MessageType::kPing:
      return host_.Reply(from,
                         wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Finish());
    case wire::MessageType::kAuthBegin:
      return AuthBegin(connection, from, message);
    case wire::MessageType::kAuthProve:
      return AuthProve(connection, from, message);
    case wire::MessageType::kChainRead:
      return parts_.chain.Handle(
          from, message, connection.admitted.empty() ? ChainAccess::kNone : ChainAccess::kMember);
    default:
      break;
  }

  const std::string_view channel_id = wire::StringMember(message, "channel");
  auto admitted = connection.admitted.find(channel_id);
  auto channel = channels_.find(channel_id);
  if (admitted == connection.admitted.end() || channel == channels_.end()) {
    return Refuse(from,
                  Error(ErrorCode::kPermissionDenied,
                        "this connection is not admitted to channel " + std::string(channel_id) +
                            " (authenticate with auth.begin/auth.prove first)"));
  }
  const Role role = admitted->second;
  switch (message.type) {
    case wire::MessageType::kChannelState:
      return host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                                   .Add("state", views_.State(channel->second))
                                   .Finish());
    case wire::MessageType::kSettlePropose:
    case wire::MessageType::kSettleSubmit:
      if (auto recovering = parts_.recovery.Find(channel->first)) {
        return Refuse(from,
                      Error(ErrorCode::kUnavailable,
                            "channel " + channel->first + " is recovering (store seq " +
                                std::to_string(recovering->store_seq) + ", chain confirms seq " +
                                std::to_string(recovering->chain_seq) + "): " + recovering->reason +
                                "; it settles again once its members presented their TSCs "
                                "(channel.recover) or an operator ran `tcc channel recover`"));
      }
      if (message.type == wire::MessageType::kSettlePropose) {
        return Propose(from, role, channel->second, message);
      }
      return parts_.pipeline.Submit(from, role, channel->second, std::move(message));
    case wire::MessageType::kChannelRecover:
      return parts_.recoveries.Recover(from, role, channel->second, message);
    case wire::MessageType::kChannelSync:
      return parts_.reads.Sync(from, channel->second, message);
    case wire::MessageType::kEvidenceGet:
      return parts_.reads.EvidenceGet(from, channel->second, message);
    case wire::MessageType::kSettleReject:
      return parts_.disputes.Reject(from, role, channel->first, message);
    case wire::MessageType::kChannelRejections:
      return parts_.disputes.Rejections(from, channel->first, channel->second.closing_record,
                                        message);
    case wire::MessageType::kChannelClose:
      return parts_.disputes.Close(from, role, channel->first, message);
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Authentication (admission.h decides; the connection table admits)

void PartyRequests::AuthBegin(Connection& connection, const Requester& from,
                              const wire::Message& message) {
  const std::string channel_id(wire::StringMember(message, "channel"));
  if (auto refused = Refusal(parts_.refused, channel_id)) return Refuse(from, *refused);
  auto channel = channels_.find(channel_id);
  auto begun = parts_.admission.Begin(
      connection.peer_address, channel_id,
      channel == channels_.end() ? nullptr : &channel->second.record(),
      std::string(wire::StringMember(message, "did")), Clock::now(), UnixMillis());
  if (!begun.ok()) return host_.ReplyError(from, begun.error());
  host_.PeerAsync(from, false, [this, begun = std::move(begun).value(), from]() -> Task {
    Result<Bytes> sealed = Admission::Seal(begun.challenge, parts_.resolver);
    return [this, begun, from, sealed = std::move(sealed)] {
      auto pending = parts_.admission.Sealed(begun.challenge, begun.role, sealed, Clock::now());
      if (!pending.ok()) return host_.ReplyError(from, pending.error());
      Connection* live = host_.LiveConnection(from);
      if (live == nullptr) return;
      parts_.peers.AddChallenge(*live, begun.challenge.binding.channel_id,
                                std::move(pending).value());
      host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                            .Add("sealed", HexEncode(*sealed))
                            .Add("expires", begun.challenge.binding.expires_ms)
                            .Finish());
    };
  });
}

void PartyRequests::AuthProve(Connection& connection, const Requester& from,
                              const wire::Message& message) {
  auto proof = parts_.admission.Prove(
      connection, std::string(wire::StringMember(message, "channel")),
      wire::StringMember(message, "nonce"), wire::StringMember(message, "signature"), Clock::now());
  if (!proof.ok()) return host_.ReplyError(from, proof.error());
  host_.PeerAsync(from, false, [this, proof = std::move(proof).value(), from]() -> Task {
    Status verified = Admission::Verify(proof, parts_.resolver);
    return [this, challenge = proof.challenge, verified, from] {
      if (!verified.ok()) {
        parts_.admission.Refused("bad_signature", challenge.challenge.binding.party_did,
                                 verified.error().message());
        host_.ReplyError(from, verified.error());
        return;
      }
      Connection* live = host_.LiveConnection(from);
      auto channel = channels_.find(challenge.challenge.binding.channel_id);
      if (live == nullptr) return;  // the connection that proved it is gone
      if (channel == channels_.end()) {
        host_.ReplyError(from, Error(ErrorCode::kNotFound, "the channel is gone"));
        return;
      }
      if (!parts_.peers.Admit(*live, channel->first, challenge.role)) {
        parts_.admission.Refused("connection_limit");
        host_.ReplyError(from, Error(ErrorCode::kResourceExhausted,
                                     "too many admitted connections at this TCC "
                                     "(limits.max_connections)"));
        return;
      }
      channel->second.members.insert(from.routing_id);
      parts_.admission.Admitted();
      parts_.metrics.AuthSucceeded();
      Log(LogLevel::kInfo, "admitted",
          {{"channel", channel->first},
           {"did", challenge.challenge.binding.party_did},
           {"role", RoleName(challenge.role)}});
      host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                            .Add("role", RoleName(challenge.role))
                            .Add("state", views_.State(channel->second))
                            .Finish());
    };
  });
}

// ---------------------------------------------------------------------------------------------
// settle.propose: relayed to the counterpart

void PartyRequests::Propose(const Requester& from, Role role, ChannelRuntime& channel,
                            const wire::Message& message) {
  if (role == Role::kAuditor) {
    return Refuse(from, Error(ErrorCode::kPermissionDenied, "auditors are read-only"));
  }
  const Role counterpart = role == Role::kProvider ? Role::kConsumer : Role::kProvider;
  const std::string& sender =
      role == Role::kProvider ? channel.record().provider : channel.record().consumer;
  const Json& proposal = wire::ObjectMember(message, "proposal");
  const std::string channel_id = channel.record().channel_id;
  auto relay = [this, from, counterpart,
                frame = wire::FrameBuilder(wire::MessageType::kEventProposal)
                            .Add("channel", channel_id)
                            .Add("from", sender)
                            .Add("proposal", proposal)
                            .Finish()](ChannelRuntime& to) {
    const std::size_t delivered = host_.Publish(to, frame, counterpart);
    if (delivered == 0) {
      return host_.ReplyError(
          from, Error(ErrorCode::kUnavailable, "the counterpart is not connected to the channel"));
    }
    host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                          .Add("delivered", static_cast<std::uint64_t>(delivered))
                          .Finish());
  };
  // A provider's proposal for the next seq is the one the negotiation is about (an amend is allowed
  // only after a rejection or the TIC's timeout): the dispute handler decides.
  auto link = vc::ReadSettlementLink(proposal);
  if (role != Role::kProvider || !link.ok() || link->channel != channel_id ||
      link->seq != channel.record().last_seq + 1) {
    return relay(channel);
  }
  parts_.disputes.ProviderProposal(from, channel_id, *link, proposal, [this, channel_id, relay] {
    relay(channels_.find(channel_id)->second);
  });
}

}  // namespace tcc::controller
