#include "tcc/wire/protocol.h"

#include <array>
#include <cassert>
#include <span>
#include <utility>

#include "tcc/common/bytes.h"

namespace tcc::wire {
namespace {

constexpr std::size_t kChannelIdLength = 64;
constexpr std::size_t kMaxIdentifierLength = 256;
// A sealed challenge is a few hundred bytes; 2 KiB of box leaves room for long DIDs.
constexpr std::size_t kMaxSealedHexLength = 4096;
// Bounds one channel.sync answer so a catching-up party cannot make tccd build a huge frame.
constexpr std::uint64_t kMaxSyncLimit = 1000;

enum class Direction { kRequest, kReply, kError, kEvent };

enum class MemberKind {
  kChannelId,   // 64 lowercase hex characters
  kIdentifier,  // DIDs, TIC and batch ids, error codes: 1..256 printable ASCII, no spaces
  kHex,         // lowercase hex of exactly hex_length characters
  kSealedHex,   // lowercase hex, even length, at most kMaxSealedHexLength
  kUint,        // integral JSON number in [min, max]
  kBool,
  kObject,
  kArray,
  kText,        // any string
};

struct MemberSpec {
  std::string_view name;
  MemberKind kind = MemberKind::kText;
  bool required = true;
  std::uint64_t min = 0;
  std::uint64_t max = kMaxJsonInteger;
  std::size_t hex_length = 0;
};

constexpr MemberSpec Required(std::string_view name, MemberKind kind) { return {name, kind}; }
constexpr MemberSpec Optional(std::string_view name, MemberKind kind) {
  return {name, kind, false};
}
constexpr MemberSpec Uint(std::string_view name, bool required, std::uint64_t min,
                          std::uint64_t max = kMaxJsonInteger) {
  return {name, MemberKind::kUint, required, min, max};
}
constexpr MemberSpec Hex(std::string_view name, std::size_t length) {
  return {name, MemberKind::kHex, true, 0, kMaxJsonInteger, length};
}

constexpr MemberSpec kChannel = Required("channel", MemberKind::kChannelId);

constexpr std::array kAuthBeginMembers{kChannel, Required("did", MemberKind::kIdentifier)};
constexpr std::array kAuthProveMembers{kChannel, Hex("nonce", 64), Hex("signature", 128)};
constexpr std::array kChannelOnlyMembers{kChannel};
constexpr std::array kSettleProposeMembers{kChannel, Required("proposal", MemberKind::kObject)};
constexpr std::array kSettleSubmitMembers{kChannel, Required("claim", MemberKind::kObject)};
constexpr std::array kChannelSyncMembers{kChannel, Uint("after", true, 0),
                                         Uint("limit", false, 1, kMaxSyncLimit)};
constexpr std::array kEvidenceGetMembers{kChannel, Uint("seq", true, 1)};
constexpr std::array kSettleRejectMembers{kChannel, Required("rejection", MemberKind::kObject)};
constexpr std::array kChannelRejectionsMembers{kChannel, Uint("from_seq", false, 1)};
constexpr std::array kChannelCloseMembers{kChannel, Required("request", MemberKind::kObject)};
constexpr std::array kRecoverMembers{kChannel, Required("tscs", MemberKind::kArray)};
constexpr std::array kControlRecoverMembers{kChannel, Required("tscs", MemberKind::kArray),
                                            Optional("finish", MemberKind::kBool)};
constexpr std::array kChainMembers{Required("op", MemberKind::kIdentifier),
                                   Required("args", MemberKind::kObject)};
constexpr std::array kControlOpenMembers{Required("tic", MemberKind::kIdentifier)};
constexpr std::array kControlPolicyMembers{
    Optional("channel", MemberKind::kChannelId), Uint("n", false, 1),
    Optional("adaptive", MemberKind::kBool), Uint("n_min", false, 1), Uint("n_max", false, 1)};
constexpr std::array kControlBackupMembers{Required("path", MemberKind::kText)};
constexpr std::array<std::string_view, 4> kPolicySettings{"n", "adaptive", "n_min", "n_max"};
// The result members the requests above answer with; checked when present so clients may read
// them without re-checking, while a reply may still carry members newer than this table.
// `channel` is not listed: party requests answer with the channel id, control.open and
// control.close with the channel's state object.
constexpr std::array kReplyMembers{
    Optional("sealed", MemberKind::kSealedHex), Uint("expires", false, 0),
    Optional("role", MemberKind::kIdentifier),  Optional("state", MemberKind::kObject),
    Uint("seq", false, 0),                      Optional("tsc", MemberKind::kObject),
    Optional("tscs", MemberKind::kArray),       Uint("last_seq", false, 0),
    Optional("bundle", MemberKind::kObject),    Optional("policy", MemberKind::kObject),
    Optional("channels", MemberKind::kArray),   Optional("health", MemberKind::kObject),
    Optional("rejections", MemberKind::kArray), Optional("closing", MemberKind::kObject),
    Uint("restored", false, 0),                 Optional("recovering", MemberKind::kBool),
    Optional("backup", MemberKind::kObject),    Optional("closing_evidence", MemberKind::kObject),
    Optional("result", MemberKind::kObject)};
constexpr std::array kErrorMembers{Required("code", MemberKind::kIdentifier),
                                   Required("message", MemberKind::kText)};
constexpr std::array kEventTscMembers{kChannel, Uint("seq", true, 0),
                                      Required("tsc", MemberKind::kObject)};
constexpr std::array kEventProposalMembers{kChannel, Required("from", MemberKind::kIdentifier),
                                           Required("proposal", MemberKind::kObject)};
constexpr std::array kEventChannelMembers{kChannel, Required("state", MemberKind::kObject)};
constexpr std::array kEventAnchoredMembers{kChannel, Uint("seq", true, 0),
                                           Required("batch", MemberKind::kIdentifier),
                                           Hex("root", 64)};
constexpr std::array kEventRejectionMembers{kChannel, Uint("seq", true, 1),
                                            Required("rejection", MemberKind::kObject)};

struct TypeSpec {
  MessageType type;
  std::string_view name;
  Direction direction;
  std::span<const MemberSpec> members;
  bool allows_unknown_members = false;
  std::span<const std::string_view> needs_one_of = {};
};

constexpr TypeSpec kTypes[] = {
    {MessageType::kAuthBegin, "auth.begin", Direction::kRequest, kAuthBeginMembers},
    {MessageType::kAuthProve, "auth.prove", Direction::kRequest, kAuthProveMembers},
    {MessageType::kChannelState, "channel.state", Direction::kRequest, kChannelOnlyMembers},
    {MessageType::kSettlePropose, "settle.propose", Direction::kRequest, kSettleProposeMembers},
    {MessageType::kSettleSubmit, "settle.submit", Direction::kRequest, kSettleSubmitMembers},
    {MessageType::kChannelSync, "channel.sync", Direction::kRequest, kChannelSyncMembers},
    {MessageType::kEvidenceGet, "evidence.get", Direction::kRequest, kEvidenceGetMembers},
    {MessageType::kSettleReject, "settle.reject", Direction::kRequest, kSettleRejectMembers},
    {MessageType::kChannelRejections, "channel.rejections", Direction::kRequest,
     kChannelRejectionsMembers},
    {MessageType::kChannelClose, "channel.close", Direction::kRequest, kChannelCloseMembers},
    {MessageType::kChannelRecover, "channel.recover", Direction::kRequest, kRecoverMembers},
    {MessageType::kChainRead, "chain.read", Direction::kRequest, kChainMembers},
    {MessageType::kPing, "ping", Direction::kRequest, {}},
    {MessageType::kControlOpen, "control.open", Direction::kRequest, kControlOpenMembers},
    {MessageType::kControlClose, "control.close", Direction::kRequest, kChannelOnlyMembers},
    {MessageType::kControlPolicy, "control.policy", Direction::kRequest, kControlPolicyMembers,
     false, kPolicySettings},
    {MessageType::kControlList, "control.list", Direction::kRequest, {}},
    {MessageType::kControlHealth, "control.health", Direction::kRequest, {}},
    {MessageType::kControlRecover, "control.recover", Direction::kRequest, kControlRecoverMembers},
    {MessageType::kControlBackup, "control.backup", Direction::kRequest, kControlBackupMembers},
    {MessageType::kChainWrite, "chain.write", Direction::kRequest, kChainMembers},
    {MessageType::kReply, "reply", Direction::kReply, kReplyMembers, true},
    {MessageType::kError, "error", Direction::kError, kErrorMembers},
    {MessageType::kEventTsc, "event.tsc", Direction::kEvent, kEventTscMembers},
    {MessageType::kEventProposal, "event.proposal", Direction::kEvent, kEventProposalMembers},
    {MessageType::kEventChannel, "event.channel", Direction::kEvent, kEventChannelMembers},
    {MessageType::kEventAnchored, "event.anchored", Direction::kEvent, kEventAnchoredMembers},
    {MessageType::kEventRejection, "event.rejection", Direction::kEvent, kEventRejectionMembers},
};

constexpr bool TableIndexedByType() {
  std::size_t index = 0;
  for (const TypeSpec& spec : kTypes) {
    if (static_cast<std::size_t>(spec.type) != index++) return false;
  }
  return index == static_cast<std::size_t>(MessageType::kEventRejection) + 1;
}
static_assert(TableIndexedByType(), "kTypes must list every MessageType in declaration order");

const TypeSpec& SpecOf(MessageType type) { return kTypes[static_cast<std::size_t>(type)]; }

constexpr std::array kErrorCodes{
    ErrorCode::kInvalidArgument, ErrorCode::kParse,      ErrorCode::kNotFound,
    ErrorCode::kAlreadyExists,   ErrorCode::kPermissionDenied,
    ErrorCode::kVerificationFailed,
    ErrorCode::kConflict,        ErrorCode::kUnavailable, ErrorCode::kResourceExhausted,
    ErrorCode::kIo,              ErrorCode::kInternal,
};

bool IsIdentifier(std::string_view text) {
  if (text.empty() || text.size() > kMaxIdentifierLength) return false;
  for (char c : text) {
    if (c < '!' || c > '~') return false;
  }
  return true;
}

std::optional<std::uint64_t> AsUint(const Json& value, std::uint64_t min, std::uint64_t max) {
  if (!value.is_number()) return std::nullopt;
  return JsonInteger(value.as_number(), min, max);
}

std::string Quote(std::string_view name) { return "'" + std::string(name) + "'"; }

Error ShapeError(std::string_view type_name, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, std::string(type_name) + ": " + std::string(what));
}

// The expectation a failed member check reports, phrased to finish "member 'x' must be ...".
std::string Expectation(const MemberSpec& spec) {
  switch (spec.kind) {
    case MemberKind::kChannelId: return "a channel id (64 lowercase hex characters)";
    case MemberKind::kIdentifier:
      return "an identifier (1 to 256 printable ASCII characters, no spaces)";
    case MemberKind::kHex: return std::to_string(spec.hex_length) + " lowercase hex characters";
    case MemberKind::kSealedHex:
      return "lowercase hex of even length, at most " + std::to_string(kMaxSealedHexLength) +
             " characters";
    case MemberKind::kUint:
      return "an integer from " + std::to_string(spec.min) + " to " + std::to_string(spec.max);
    case MemberKind::kBool: return "a boolean";
    case MemberKind::kObject: return "an object";
    case MemberKind::kArray: return "an array";
    case MemberKind::kText: return "a string";
  }
  return "valid";
}

bool MemberValid(const MemberSpec& spec, const Json& value) {
  switch (spec.kind) {
    case MemberKind::kChannelId:
      return value.is_string() && IsLowerHex(value.as_string(), kChannelIdLength);
    case MemberKind::kIdentifier: return value.is_string() && IsIdentifier(value.as_string());
    case MemberKind::kHex:
      return value.is_string() && IsLowerHex(value.as_string(), spec.hex_length);
    case MemberKind::kSealedHex: {
      if (!value.is_string()) return false;
      const std::string& text = value.as_string();
      return !text.empty() && text.size() % 2 == 0 && text.size() <= kMaxSealedHexLength &&
             IsLowerHex(text);
    }
    case MemberKind::kUint: return AsUint(value, spec.min, spec.max).has_value();
    case MemberKind::kBool: return value.is_bool();
    case MemberKind::kObject: return value.is_object();
    case MemberKind::kArray: return value.is_array();
    case MemberKind::kText: return value.is_string();
  }
  return false;
}

const MemberSpec* FindMember(const TypeSpec& spec, std::string_view name) {
  for (const MemberSpec& member : spec.members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

bool IsEnvelopeMember(std::string_view name) { return name == "v" || name == "type" || name == "id"; }

Status CheckMembers(const TypeSpec& spec, const Json& body) {
  for (const auto& [name, value] : body.as_object()) {
    if (IsEnvelopeMember(name)) continue;
    const MemberSpec* member = FindMember(spec, name);
    if (member == nullptr) {
      if (spec.allows_unknown_members) continue;
      return ShapeError(spec.name, "unknown member " + Quote(name));
    }
    if (!MemberValid(*member, value)) {
      return ShapeError(spec.name, "member " + Quote(name) + " must be " + Expectation(*member));
    }
  }
  for (const MemberSpec& member : spec.members) {
    if (member.required && !body.Contains(member.name)) {
      return ShapeError(spec.name, "member " + Quote(member.name) + " is required");
    }
  }
  if (!spec.needs_one_of.empty()) {
    bool any = false;
    for (std::string_view name : spec.needs_one_of) any = any || body.Contains(name);
    if (!any) {
      std::string names;
      for (std::string_view name : spec.needs_one_of) {
        names += names.empty() ? "" : ", ";
        names += Quote(name);
      }
      return ShapeError(spec.name, "needs at least one of the members " + names);
    }
  }
  return OkStatus();
}

// Error messages may quote arbitrary bytes (paths, peer input); a frame must stay valid UTF-8,
// so anything that is not well-formed UTF-8 becomes U+FFFD.
std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](std::size_t at) { return static_cast<unsigned char>(text[at]); };
    unsigned char lead = byte(i);
    std::size_t length = 0;
    std::uint32_t code_point = 0;
    if (lead < 0x80) {
      length = 1;
      code_point = lead;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1Fu;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0Fu;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07u;
    }
    bool valid = length != 0 && i + length <= text.size();
    for (std::size_t k = 1; valid && k < length; ++k) {
      valid = (byte(i + k) & 0xC0) == 0x80;
      code_point = (code_point << 6) | (byte(i + k) & 0x3Fu);
    }
    static constexpr std::uint32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
    valid = valid && code_point >= kMinForLength[length] && code_point <= 0x10FFFF &&
            !(code_point >= 0xD800 && code_point <= 0xDFFF);
    if (valid) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string_view MessageTypeName(MessageType type) { return SpecOf(type).name; }

std::optional<MessageType> MessageTypeFromName(std::string_view name) {
  for (const TypeSpec& spec : kTypes) {
    if (spec.name == name) return spec.type;
  }
  return std::nullopt;
}

bool IsRequest(MessageType type) { return SpecOf(type).direction == Direction::kRequest; }
bool IsEvent(MessageType type) { return SpecOf(type).direction == Direction::kEvent; }

Result<Message> DecodeMessage(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) {
    return Error(ErrorCode::kResourceExhausted,
                 "frame is " + std::to_string(frame.size()) + " bytes, at most " +
                     std::to_string(kMaxFrameBytes) + " allowed");
  }
  auto parsed = Json::Parse(frame, JsonLimits{kMaxFrameBytes, kMaxJsonDepth});
  if (!parsed.ok()) {
    // Too deep is as much "not a frame" as bad syntax; the size limit was checked above.
    return Error(ErrorCode::kParse, "frame: " + parsed.error().message());
  }
  Message message;
  message.body = std::move(parsed).value();
  const Json& body = message.body;
  if (!body.is_object()) {
    return ShapeError("frame", "must be a JSON object, not " +
                                   std::string(JsonTypeName(body.type())));
  }
  const Json* version = body.Find("v");
  if (version == nullptr) return ShapeError("frame", "member 'v' is required");
  if (!version->is_number() || version->as_number() != kProtocolVersion) {
    return ShapeError("frame", "member 'v' must be " + std::to_string(kProtocolVersion) +
                                   " (the protocol version)");
  }
  const Json* type_name = body.Find("type");
  if (type_name == nullptr) return ShapeError("frame", "member 'type' is required");
  if (!type_name->is_string()) return ShapeError("frame", "member 'type' must be a string");
  auto type = MessageTypeFromName(type_name->as_string());
  if (!type) {
    // Only printable names are echoed, so a hostile type cannot forge log lines.
    return ShapeError("frame", "member 'type' names an unknown message type" +
                                   (IsIdentifier(type_name->as_string())
                                        ? " " + Quote(type_name->as_string())
                                        : std::string()));
  }
  message.type = *type;
  const TypeSpec& spec = SpecOf(*type);
  const Json* id = body.Find("id");
  if (spec.direction == Direction::kEvent) {
    if (id != nullptr) return ShapeError(spec.name, "member 'id' is not allowed in an event");
  } else if (id == nullptr && *type == MessageType::kError) {
    // The answer to a frame that could not be decoded far enough to read its id.
  } else {
    if (id == nullptr) return ShapeError(spec.name, "member 'id' is required");
    auto value = AsUint(*id, 1, kMaxJsonInteger);
    if (!value) {
      return ShapeError(spec.name, "member 'id' must be an integer from 1 to " +
                                       std::to_string(kMaxJsonInteger));
    }
    message.id = *value;
  }
  TCC_RETURN_IF_ERROR(CheckMembers(spec, body));
  return message;
}

std::uint64_t PeekRequestId(std::string_view frame) {
  if (frame.size() > kMaxFrameBytes) return 0;
  auto json = Json::Parse(frame, JsonLimits{kMaxFrameBytes, kMaxJsonDepth});
  if (!json.ok() || !json->is_object()) return 0;
  const Json* id = json->Find("id");
  if (id == nullptr) return 0;
  return AsUint(*id, 1, kMaxJsonInteger).value_or(0);
}

std::string_view StringMember(const Message& message, std::string_view name) {
  const Json* value = message.body.Find(name);
  assert(value != nullptr && value->is_string());
  if (value == nullptr || !value->is_string()) return {};
  return value->as_string();
}

std::uint64_t UintMember(const Message& message, std::string_view name) {
  auto value = OptionalUint(message, name);
  assert(value.has_value());
  return value.value_or(0);
}

std::optional<std::uint64_t> OptionalUint(const Message& message, std::string_view name) {
  const Json* value = message.body.Find(name);
  if (value == nullptr) return std::nullopt;
  auto number = AsUint(*value, 0, kMaxJsonInteger);
  assert(number.has_value());
  return number;
}

std::optional<bool> OptionalBool(const Message& message, std::string_view name) {
  const Json* value = message.body.Find(name);
  if (value == nullptr) return std::nullopt;
  assert(value->is_bool());
  if (!value->is_bool()) return std::nullopt;
  return value->as_bool();
}

const Json& ObjectMember(const Message& message, std::string_view name) {
  static const Json kEmptyObject = Json::Object();
  const Json* value = message.body.Find(name);
  assert(value != nullptr && value->is_object());
  if (value == nullptr || !value->is_object()) return kEmptyObject;
  return *value;
}

Error ErrorFromMessage(const Message& message) {
  assert(message.type == MessageType::kError);
  std::string_view code_name = StringMember(message, "code");
  std::string text(StringMember(message, "message"));
  auto code = ErrorCodeFromName(code_name);
  if (!code) {
    return Error(ErrorCode::kInvalidArgument,
                 "peer answered with unknown error code " + Quote(code_name) + ": " + text);
  }
  return Error(*code, std::move(text));
}

std::optional<ErrorCode> ErrorCodeFromName(std::string_view name) {
  for (ErrorCode code : kErrorCodes) {
    if (ErrorCodeName(code) == name) return code;
  }
  return std::nullopt;
}

FrameBuilder::FrameBuilder(MessageType type, std::uint64_t id) {
  assert(id <= kMaxJsonInteger);
  text_ = "{\"v\":" + std::to_string(kProtocolVersion) + ",\"type\":";
  AppendJsonString(text_, MessageTypeName(type));
  if (id != 0) text_ += ",\"id\":" + std::to_string(id);
}

FrameBuilder& FrameBuilder::Add(std::string_view name, const Json& value) {
  AppendName(name);
  value.AppendTo(text_);
  return *this;
}

FrameBuilder& FrameBuilder::AddRaw(std::string_view name, std::string_view json_text) {
  // A TSC is most of its frame: room for it and the rest at once, not by doubling as it is copied.
  text_.reserve(text_.size() + name.size() + json_text.size() + 64);
  AppendName(name);
  text_ += json_text;
  return *this;
}

void FrameBuilder::AppendName(std::string_view name) {
  // The envelope members are written by the constructor; a second copy would be a duplicate key.
  assert(!IsEnvelopeMember(name));
  text_ += ',';
  AppendJsonString(text_, name);
  text_ += ':';
}

std::string FrameBuilder::Finish() {
  text_ += '}';
  return std::move(text_);
}

std::string EncodeError(std::uint64_t id, const Error& error) {
  FrameBuilder builder(MessageType::kError, id);
  builder.Add("code", ErrorCodeName(error.code())).Add("message", ValidUtf8(error.message()));
  return std::move(builder).Finish();
}

}  // namespace tcc::wire
