#include "chain_service.h"

#include <utility>

namespace tcc::controller {
namespace {

// Room for the reply's envelope around the result within one frame.
constexpr std::size_t kReplyEnvelopeBytes = 1024;

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
  // A member of one channel reads what verifying its own evidence and parties needs: DIDs,
  // templates, anchors. Other channels' TICs (their claims) and the template catalogue stay with
  // the operator.
  if (access == ChainAccess::kMember &&
      (*op == chain::ChainOp::kGetTic || *op == chain::ChainOp::kListTemplates)) {
    return Error(ErrorCode::kPermissionDenied,
                 std::string(name) + " is served on tccd's control endpoint only (an admin key)");
  }
  return *op;
}

ChainAnswer ServeChain(chain::ChainAdapter& adapter, chain::ChainOp op,
                       const wire::Message& message) {
  auto result = chain::ServeChainRequest(adapter, op, wire::ObjectMember(message, "args"),
                                         wire::kMaxFrameBytes - kReplyEnvelopeBytes);
  if (!result.ok())
    return {wire::EncodeError(message.id, result.error()), result.error().ToString()};
  return {wire::FrameBuilder(wire::MessageType::kReply, message.id).Add("result", *result).Finish(),
          {}};
}

}  // namespace tcc::controller
