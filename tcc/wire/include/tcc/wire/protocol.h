// The channel protocol (version 1): the messages parties, operators and tccd exchange over
// ZeroMQ. Each ZeroMQ message is one frame holding one JSON object:
//
//   {"v":1, "type":"settle.submit", "id":7, "channel":"<64 hex>", "claim":{...}}
//
// `v` is the protocol version, `type` one of MessageType, `id` a client-chosen request number
// (1..2^53-1) that the answer repeats; events carry no id. Every request gets exactly one answer:
// {"type":"reply","id":N, ...result members} or {"type":"error","id":N,"code":"<ErrorCodeName>",
// "message":"..."}. schemas/channel-messages.schema.json describes every message; the decoder
// enforces the same rules (the tests hold the two together).
//
// DecodeMessage is the only way a frame from the network becomes a Message: it checks the size
// limit, the JSON (depth-limited), the version, the type, the id, and the members each type
// requires (with their JSON types, hex lengths and integer ranges), so handlers may read a decoded
// message's members without re-checking them. It never crashes on any input (fuzzable) and
// returns kResourceExhausted (too large), kParse (not JSON) or kInvalidArgument (wrong shape).
//
// All functions are pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::wire {

inline constexpr int kProtocolVersion = 1;
// Large enough for a 4 KB claim proposal plus proofs many times over; small enough that a flood
// of maximal frames cannot exhaust memory.
inline constexpr std::size_t kMaxFrameBytes = 256 * 1024;
inline constexpr std::size_t kMaxJsonDepth = 32;

enum class MessageType {
  // party -> tccd (party socket)
  kAuthBegin,      // channel, did                   -> reply: sealed (hex), expires (Unix ms)
  kAuthProve,      // channel, nonce (hex 64), signature (hex 128) -> reply: role, state (object)
  kChannelState,   // channel                        -> reply: state (object)
  kSettlePropose,  // channel, proposal (object)     -> reply: {} ; relayed as event.proposal
  kSettleSubmit,   // channel, claim (object)        -> reply: seq, tsc (object)
  kChannelSync,    // channel, after (uint), [limit] -> reply: tscs (array), last_seq
  kEvidenceGet,    // channel, seq (uint >= 1)       -> reply: bundle (object), tscs (array)
  // Disputes (wire/dispute.h).
  kSettleReject,       // channel, rejection (object) -> reply: seq ; relayed as event.rejection
  kChannelRejections,  // channel, [from_seq]         -> reply: rejections (array), [closing (object)]
  kChannelClose,       // channel, request (object)   -> reply: closing (object), state (object)
  // A member of a recovering channel presents the TSCs after tccd's head from its journal.
  kChannelRecover,     // channel, tscs (array)       -> reply: restored, last_seq, recovering
  // The chain tccd holds (chain/chain_requests.h); on the party socket for channel members.
  kChainRead,      // op (name), args (object)      -> reply: result (object)
  kPing,           //                                -> reply: {}
  // operator / chain node -> tccd (control socket)
  kControlOpen,    // tic (id)                       -> reply: channel (object)
  kControlClose,   // channel                        -> reply: channel (object)
  kControlPolicy,  // [channel], [n], [adaptive], [n_min], [n_max] -> reply: policy (object)
  kControlList,    //                                -> reply: channels (array)
  kControlHealth,  //                                -> reply: health (object)
  kControlRecover, // channel, tscs (array), [finish] -> reply: restored, last_seq, recovering
  kControlBackup,  // path (absolute, on tccd's host)  -> reply: backup (object)
  kChainWrite,     // op (name), args (object)      -> reply: result (object)
  // tccd -> client
  kReply,          // id, any result members
  kError,          // id, code, message
  kEventTsc,       // channel, seq, tsc (object)
  kEventProposal,  // channel, from (DID), proposal (object)
  kEventChannel,   // channel, state (object)
  kEventAnchored,  // channel, seq, batch (id), root (hex 64)
  kEventRejection, // channel, seq, rejection (object)
};

std::string_view MessageTypeName(MessageType type);  // "auth.begin", ...
std::optional<MessageType> MessageTypeFromName(std::string_view name);
bool IsRequest(MessageType type);  // needs an id and gets one answer
bool IsEvent(MessageType type);

struct Message {
  MessageType type = MessageType::kPing;
  std::uint64_t id = 0;  // requests, replies and errors; 0 for events
  Json body;             // the whole decoded object, members checked per type
};

Result<Message> DecodeMessage(std::string_view frame);
// The id of a request DecodeMessage refused, when the frame is a JSON object with a valid id
// (0 otherwise), so the error can still be matched to its request.
std::uint64_t PeekRequestId(std::string_view frame);

// Typed reads of members DecodeMessage has checked (asserting, since a decoded message has them),
// and of optional members (nullopt when absent).
std::string_view StringMember(const Message& message, std::string_view name);
std::uint64_t UintMember(const Message& message, std::string_view name);
std::optional<std::uint64_t> OptionalUint(const Message& message, std::string_view name);
std::optional<bool> OptionalBool(const Message& message, std::string_view name);
const Json& ObjectMember(const Message& message, std::string_view name);

// The error an error frame carries (kInvalidArgument if the code name is unknown).
Error ErrorFromMessage(const Message& message);
std::optional<ErrorCode> ErrorCodeFromName(std::string_view name);

// Builds one frame. Members are appended in call order after v, type and id; AddRaw splices a
// JSON text that is already serialized (a stored TSC) without parsing it again, so the caller
// must pass valid JSON.
class FrameBuilder {
 public:
  explicit FrameBuilder(MessageType type, std::uint64_t id = 0);
  FrameBuilder& Add(std::string_view name, const Json& value);
  FrameBuilder& AddRaw(std::string_view name, std::string_view json_text);
  // Leaves the builder empty.
  std::string Finish();

 private:
  void AppendName(std::string_view name);

  std::string text_;
};

std::string EncodeError(std::uint64_t id, const Error& error);

}  // namespace tcc::wire
