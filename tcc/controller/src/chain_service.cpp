#include "chain_service.h"

#include <utility>

#include "tcc/controller/log.h"

namespace tcc::controller {
namespace {

// Room for the reply's envelope around the result within one frame.
constexpr std::size_t kReplyEnvelopeBytes = 1024;

struct ChainAnswer {
  std::string frame;
  std::string error;  // empty when the call succeeded
};

// Runs the checked request on `adapter` (on a worker: it blocks as long as the adapter's call).
ChainAnswer Serve(chain::ChainAdapter& adapter, chain::ChainOp op, const wire::Message& message) {
  auto result = chain::ServeChainRequest(adapter, op, wire::ObjectMember(message, "args"),
                                         wire::kMaxFrameBytes - kReplyEnvelopeBytes);
  if (!result.ok())
    return {wire::EncodeError(message.id, result.error()), result.error().ToString()};
  return {wire::FrameBuilder(wire::MessageType::kReply, message.id).Add("result", *result).Finish(),
          {}};
}

}  // namespace

Result<chain::ChainOp> CheckChainRequest(const wire::Message& message, ChainAccess access) {
  const bool write = message.type == wire::MessageType::kChainWrite;
  if (access == ChainAccess::kNone) {
    return Error(
        ErrorCode::kPermissionDenied,
        "chain requests on the party endpoint are for channel members; join a channel first "
        "(auth.begin/auth.prove)");
  }
  if (write && access != ChainAccess::kAdmin) {
    return Error(
        ErrorCode::kPermissionDenied,
        "chain.write is served on tccd's control endpoint only (an admin key); the party endpoint "
        "serves chain.read");
  }
  const std::string_view name = wire::StringMember(message, "op");
  const std::optional<chain::ChainOp> op = chain::ChainOpFromName(name);
  if (!op) {
    return Error(ErrorCode::kInvalidArgument,
                 "unknown chain op \"" + std::string(name.substr(0, 64)) + "\"");
  }
  if (chain::IsChainWrite(*op) && !write) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(name) + " is a write; send it as chain.write");
  }
  // A member of one channel reads what resolving parties and verifying evidence need: DIDs,
  // templates, anchors. Other channels' TICs (their claims) and the template catalogue stay with
  // the operator.
  if (access == ChainAccess::kMember &&
      (*op == chain::ChainOp::kGetTic || *op == chain::ChainOp::kListTemplates)) {
    return Error(ErrorCode::kPermissionDenied,
                 std::string(name) + " is served on tccd's control endpoint only (an admin key)");
  }
  return *op;
}

void ChainService::Handle(const Requester& from, const wire::Message& message, ChainAccess access) {
  Result<chain::ChainOp> op = CheckChainRequest(message, access);
  if (op.ok() && host_.Draining()) op = Error(ErrorCode::kUnavailable, "tccd is shutting down");
  if (op.ok() && from.control && control_in_flight_ >= kMaxControlChainRequests) {
    op = Error(ErrorCode::kResourceExhausted,
               "too many chain requests in flight; wait for their answers");
  }
  if (!op.ok()) {
    host_.CountRejection(op.error());
    return host_.ReplyError(from, op.error());
  }
  auto work = [this, from, op = *op, message, adapter = adapter_]() -> Task {
    ChainAnswer answer = Serve(*adapter, op, message);
    return [this, from, op, answer = std::move(answer)]() mutable {
      if (from.control) --control_in_flight_;
      if (chain::IsChainWrite(op)) {
        Log(answer.error.empty() ? LogLevel::kInfo : LogLevel::kWarning, "chain write",
            {{"op", std::string(chain::ChainOpName(op))}, {"error", answer.error}});
      }
      host_.Reply(from, std::move(answer.frame));
    };
  };
  if (!from.control) return host_.PeerAsync(from, /*large=*/true, std::move(work));
  ++control_in_flight_;
  host_.Async(std::move(work));
}

}  // namespace tcc::controller
