// Channel message decoding (tcc/wire/protocol.h): every frame a party, an operator or a
// peer could send. Properties: DecodeMessage never crashes and refuses only with the three codes
// it documents; a decoded message carries the members protocol.h lists for its type, readable
// with the typed accessors (which assert); decoding depends on the JSON tree, not its spelling
// (the compact re-serialization decodes to the same type and id); PeekRequestId agrees with the
// decoder; and an error frame quoting the input (any bytes) always decodes back as that error.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "fuzz_support.h"
#include "tcc/wire/protocol.h"

namespace {

using tcc::wire::Message;
using tcc::wire::MessageType;

// What protocol.h documents each type to carry (required members only).
struct Members {
  std::vector<std::string_view> strings;
  std::vector<std::string_view> uints;
  std::vector<std::string_view> objects;
};

Members RequiredMembers(MessageType type) {
  switch (type) {
    case MessageType::kAuthBegin: return {{"channel", "did"}, {}, {}};
    case MessageType::kAuthProve: return {{"channel", "nonce", "signature"}, {}, {}};
    case MessageType::kChannelState: return {{"channel"}, {}, {}};
    case MessageType::kSettlePropose: return {{"channel"}, {}, {"proposal"}};
    case MessageType::kSettleSubmit: return {{"channel"}, {}, {"claim"}};
    case MessageType::kChannelSync: return {{"channel"}, {"after"}, {}};
    case MessageType::kEvidenceGet: return {{"channel"}, {"seq"}, {}};
    case MessageType::kControlOpen: return {{"tic"}, {}, {}};
    case MessageType::kChainRead:
    case MessageType::kChainWrite: return {{"op"}, {}, {"args"}};
    case MessageType::kControlClose: return {{"channel"}, {}, {}};
    case MessageType::kError: return {{"code", "message"}, {}, {}};
    case MessageType::kEventTsc: return {{"channel"}, {"seq"}, {"tsc"}};
    case MessageType::kEventProposal: return {{"channel", "from"}, {}, {"proposal"}};
    case MessageType::kEventChannel: return {{"channel"}, {}, {"state"}};
    case MessageType::kEventAnchored: return {{"channel", "batch", "root"}, {"seq"}, {}};
    case MessageType::kSettleReject: return {{"channel"}, {}, {"rejection"}};
    case MessageType::kChannelRejections: return {{"channel"}, {}, {}};
    case MessageType::kChannelClose: return {{"channel"}, {}, {"request"}};
    case MessageType::kEventRejection: return {{"channel"}, {"seq"}, {"rejection"}};
    case MessageType::kChannelRecover: return {{"channel"}, {}, {}};
    case MessageType::kControlRecover: return {{"channel"}, {}, {}};
    default: return {};
  }
}

void CheckDecoded(const Message& message, std::string_view frame) {
  using namespace tcc;
  const Json* type_name = message.body.Find("type");
  fuzz::Require(type_name != nullptr && type_name->is_string() &&
                    wire::MessageTypeFromName(type_name->as_string()) == message.type,
                "decoded type differs from the frame's type member");
  if (wire::IsEvent(message.type)) {
    fuzz::Require(message.id == 0, "an event was decoded with an id");
  } else if (message.id != 0 || message.type != MessageType::kError) {
    fuzz::Require(message.id >= 1 && message.id <= tcc::kMaxJsonInteger, "id out of range");
    fuzz::Require(wire::PeekRequestId(frame) == message.id, "PeekRequestId disagrees");
  }
  const Members members = RequiredMembers(message.type);
  for (std::string_view name : members.strings) {
    const Json* value = message.body.Find(name);
    fuzz::Require(value != nullptr && value->is_string(), "decoded without string " + std::string(name));
    fuzz::Require(wire::StringMember(message, name) == value->as_string(), "StringMember");
  }
  for (std::string_view name : members.uints) (void)wire::UintMember(message, name);
  for (std::string_view name : members.objects) {
    fuzz::Require(wire::ObjectMember(message, name).is_object(), "ObjectMember");
  }
  if (message.type == MessageType::kChannelSync) (void)wire::OptionalUint(message, "limit");
  if (message.type == MessageType::kControlPolicy) {
    (void)wire::OptionalUint(message, "n");
    (void)wire::OptionalUint(message, "n_min");
    (void)wire::OptionalUint(message, "n_max");
    (void)wire::OptionalBool(message, "adaptive");
  }
  if (message.type == MessageType::kError) (void)wire::ErrorFromMessage(message);

  const std::string compact = message.body.Serialize();
  if (compact.size() <= wire::kMaxFrameBytes) {
    auto again = wire::DecodeMessage(compact);
    fuzz::Require(again.ok() && again->type == message.type && again->id == message.id,
                  "the compact form of a decoded frame does not decode the same");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc;
  const std::string_view frame = fuzz::AsText(data, size);
  auto decoded = wire::DecodeMessage(frame);
  if (decoded.ok()) {
    CheckDecoded(*decoded, frame);
  } else {
    const ErrorCode code = decoded.error().code();
    fuzz::Require(code == ErrorCode::kResourceExhausted || code == ErrorCode::kParse ||
                      code == ErrorCode::kInvalidArgument,
                  "DecodeMessage refused with an undocumented code: " + decoded.error().ToString());
  }

  // tccd answers a refused frame with an error quoting what went wrong; whatever the bytes, that
  // answer must be a well-formed error frame.
  const std::uint64_t id = wire::PeekRequestId(frame);
  const std::string answer = wire::EncodeError(
      id, decoded.ok() ? Error(ErrorCode::kInvalidArgument, std::string(frame)) : decoded.error());
  auto reread = wire::DecodeMessage(answer);
  if (answer.size() <= wire::kMaxFrameBytes) {
    fuzz::Require(reread.ok() && reread->type == MessageType::kError && reread->id == id,
                  "an error frame does not decode: " + (reread.ok() ? std::string() : reread.error().ToString()));
  }
  return 0;
}
