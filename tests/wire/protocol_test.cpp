#include "tcc/wire/protocol.h"

#include <doctest/doctest.h>

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/schema_validator.h"
#include "tcc/wire/dispute.h"
#include "test_util.h"

namespace tcc::wire {
namespace {

constexpr std::string_view kChannelId =
    "f36e9cb294810483eef06436b3a5be0b6efdd55394db6772112dceca7f92ea08";

// In declaration order, which is also the order of the schema's type enum.
constexpr std::array kAllTypes{
    MessageType::kAuthBegin,      MessageType::kAuthProve,      MessageType::kChannelState,
    MessageType::kSettlePropose,  MessageType::kSettleSubmit,   MessageType::kChannelSync,
    MessageType::kEvidenceGet,    MessageType::kSettleReject,   MessageType::kChannelRejections,
    MessageType::kChannelClose,   MessageType::kChannelRecover, MessageType::kChainRead,
    MessageType::kPing,           MessageType::kControlOpen,    MessageType::kControlClose,
    MessageType::kControlPolicy,  MessageType::kControlList,    MessageType::kControlHealth,
    MessageType::kControlRecover, MessageType::kControlBackup,  MessageType::kChainWrite,
    MessageType::kReply,          MessageType::kError,          MessageType::kEventTsc,
    MessageType::kEventProposal,  MessageType::kEventChannel,   MessageType::kEventAnchored,
    MessageType::kEventRejection,
};

std::string ExampleText(MessageType type) {
  std::string path = std::string(TCC_SCHEMAS_DIR) + "/examples/channel-messages/" +
                     std::string(MessageTypeName(type)) + ".json";
  auto text = ReadFile(path);
  REQUIRE_MESSAGE(text.ok(), path);
  return *text;
}

Json SchemaDocument() {
  auto text = ReadFile(std::string(TCC_SCHEMAS_DIR) + "/channel-messages.schema.json");
  REQUIRE(text.ok());
  auto schema = Json::Parse(*text);
  REQUIRE(schema.ok());
  return *schema;
}

// The schema does not dispatch on `type` itself (no oneOf over the messages), so a message is checked
// against the envelope (the root) and then against the definition its type names, as the schema's
// description tells readers to do.
class ProtocolSchema {
 public:
  ProtocolSchema() {
    Json document = SchemaDocument();
    auto root = vc::SchemaValidator::Compile(document);
    REQUIRE_MESSAGE(root.ok(), root.error().ToString());
    envelope_ = std::make_unique<vc::SchemaValidator>(*root);
    for (MessageType type : kAllTypes) {
      std::string name(MessageTypeName(type));
      Json selected = document;
      selected.Set("$ref", "#/$defs/" + name);
      auto compiled = vc::SchemaValidator::Compile(selected);
      REQUIRE_MESSAGE(compiled.ok(), name << ": " << compiled.error().ToString());
      by_type_.emplace(name, *compiled);
    }
  }

  bool Accepts(const Json& message) const {
    if (!envelope_->IsValid(message)) return false;
    return by_type_.at(message.Find("type")->as_string()).IsValid(message);
  }

  Status Check(const Json& message) const {
    TCC_RETURN_IF_ERROR(envelope_->Check(message));
    return by_type_.at(message.Find("type")->as_string()).Check(message);
  }

 private:
  std::unique_ptr<vc::SchemaValidator> envelope_;
  std::map<std::string, vc::SchemaValidator, std::less<>> by_type_;
};

const ProtocolSchema& Schema() {
  static const ProtocolSchema schema;
  return schema;
}

std::string Request(std::string_view type, std::string_view members = {}) {
  std::string frame = R"({"v":1,"type":")" + std::string(type) + R"(","id":1)";
  if (!members.empty()) frame += "," + std::string(members);
  return frame + "}";
}

// A request on the example channel with the given further members.
std::string OnChannel(std::string_view type, std::string_view members = {}) {
  std::string channel = R"("channel":")" + std::string(kChannelId) + "\"";
  return Request(type, members.empty() ? channel : channel + "," + std::string(members));
}

std::string Event(std::string_view type, std::string_view members) {
  return R"({"v":1,"type":")" + std::string(type) + R"(","channel":")" + std::string(kChannelId) +
         "\"," + std::string(members) + "}";
}

std::string Quoted(std::string_view text) { return "\"" + std::string(text) + "\""; }

TEST_CASE("protocol: type names round trip and classify") {
  int requests = 0;
  int events = 0;
  for (MessageType type : kAllTypes) {
    CHECK(MessageTypeFromName(MessageTypeName(type)) == type);
    requests += IsRequest(type);
    events += IsEvent(type);
    CHECK_FALSE((IsRequest(type) && IsEvent(type)));
  }
  CHECK(requests == 21);
  CHECK(events == 5);
  CHECK(MessageTypeName(MessageType::kSettleSubmit) == "settle.submit");
  CHECK(MessageTypeName(MessageType::kEventAnchored) == "event.anchored");
  CHECK_FALSE(IsRequest(MessageType::kReply));
  CHECK_FALSE(IsRequest(MessageType::kError));
  CHECK_FALSE(MessageTypeFromName("Ping").has_value());
  CHECK_FALSE(MessageTypeFromName("").has_value());
}

TEST_CASE("protocol: the schema names every type and has a definition for each") {
  Json document = SchemaDocument();
  const Json* names = document.Find("properties")->Find("type")->Find("enum");
  REQUIRE(names != nullptr);
  REQUIRE(names->as_array().size() == kAllTypes.size());
  for (std::size_t i = 0; i < kAllTypes.size(); ++i) {
    std::string name(MessageTypeName(kAllTypes[i]));
    CHECK(names->as_array()[i] == Json(name));
    CHECK(document.Find("$defs")->Contains(name));
  }
}

TEST_CASE("protocol: every example decodes to its type and matches the schema") {
  for (MessageType type : kAllTypes) {
    CAPTURE(MessageTypeName(type));
    std::string text = ExampleText(type);
    auto message = DecodeMessage(text);
    REQUIRE_MESSAGE(message.ok(), message.error().ToString());
    CHECK(message->type == type);
    CHECK((message->id == 0) == IsEvent(type));
    Status valid = Schema().Check(message->body);
    CHECK_MESSAGE(valid.ok(), (valid.ok() ? std::string() : valid.error().ToString()));
  }
}

TEST_CASE("protocol: FrameBuilder output decodes back to the same message") {
  for (MessageType type : kAllTypes) {
    CAPTURE(MessageTypeName(type));
    Message example = DecodeMessage(ExampleText(type)).value();
    FrameBuilder builder(type, example.id);
    for (const auto& [name, value] : example.body.as_object()) {
      if (name != "v" && name != "type" && name != "id") builder.Add(name, value);
    }
    std::string frame = std::move(builder).Finish();
    auto decoded = DecodeMessage(frame);
    REQUIRE_MESSAGE(decoded.ok(), decoded.error().ToString());
    CHECK(decoded->type == type);
    CHECK(decoded->id == example.id);
    CHECK(decoded->body == example.body);
    CHECK(frame == example.body.Serialize());
  }
}

TEST_CASE("protocol: FrameBuilder writes the envelope, members in order, and raw JSON") {
  CHECK(FrameBuilder(MessageType::kPing, 7).Finish() == R"({"v":1,"type":"ping","id":7})");
  CHECK(FrameBuilder(MessageType::kReply, 9007199254740991).Finish() ==
        R"({"v":1,"type":"reply","id":9007199254740991})");

  std::string tsc = R"({"issuer":"did:key:z6Mk","seq":3})";
  FrameBuilder event(MessageType::kEventTsc);
  event.Add("channel", kChannelId).Add("seq", 3).AddRaw("tsc", tsc);
  std::string frame = std::move(event).Finish();
  CHECK(frame == R"({"v":1,"type":"event.tsc","channel":")" + std::string(kChannelId) +
                     R"(","seq":3,"tsc":{"issuer":"did:key:z6Mk","seq":3}})");
  auto decoded = DecodeMessage(frame);
  REQUIRE(decoded.ok());
  CHECK(decoded->id == 0);
  CHECK(ObjectMember(*decoded, "tsc") == Json::Parse(tsc).value());
  CHECK(UintMember(*decoded, "seq") == 3);

  FrameBuilder text(MessageType::kError, 2);
  text.Add("code", "conflict").Add("message", "quote \" backslash \\ newline \n tab \t é");
  auto error = DecodeMessage(std::move(text).Finish());
  REQUIRE(error.ok());
  CHECK(StringMember(*error, "message") == "quote \" backslash \\ newline \n tab \t é");
}

TEST_CASE("protocol: error frames carry the code and message both ways") {
  CHECK(EncodeError(9, Error(ErrorCode::kNotFound, "no such channel")) ==
        R"({"v":1,"type":"error","id":9,"code":"not_found","message":"no such channel"})");
  for (ErrorCode code :
       {ErrorCode::kInvalidArgument, ErrorCode::kParse, ErrorCode::kNotFound,
        ErrorCode::kAlreadyExists, ErrorCode::kPermissionDenied, ErrorCode::kVerificationFailed,
        ErrorCode::kConflict, ErrorCode::kUnavailable, ErrorCode::kResourceExhausted,
        ErrorCode::kIo, ErrorCode::kInternal}) {
    CAPTURE(ErrorCodeName(code));
    CHECK(ErrorCodeFromName(ErrorCodeName(code)) == code);
    auto decoded = DecodeMessage(EncodeError(41, Error(code, "why it failed")));
    REQUIRE(decoded.ok());
    CHECK(decoded->type == MessageType::kError);
    CHECK(decoded->id == 41);
    Error error = ErrorFromMessage(*decoded);
    CHECK(error.code() == code);
    CHECK(error.message() == "why it failed");
  }
  CHECK_FALSE(ErrorCodeFromName("kNotFound").has_value());
  CHECK_FALSE(ErrorCodeFromName("unknown").has_value());

  auto unknown = DecodeMessage(R"({"v":1,"type":"error","id":3,"code":"teapot","message":"short"})");
  REQUIRE(unknown.ok());
  Error error = ErrorFromMessage(*unknown);
  CHECK(error.code() == ErrorCode::kInvalidArgument);
  CHECK(error.message().find("teapot") != std::string::npos);
  CHECK(error.message().find("short") != std::string::npos);

  // A message holding bytes that are not UTF-8 (a path, a peer's garbage) still makes a frame.
  auto garbled = DecodeMessage(EncodeError(5, Error(ErrorCode::kIo, "open /tmp/\xff\xc0\xaf\xed\xa0\x80x")));
  REQUIRE_MESSAGE(garbled.ok(), garbled.error().ToString());
  CHECK(StringMember(*garbled, "message") ==
        "open /tmp/\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
}

TEST_CASE("protocol: member accessors read checked members") {
  Message sync = DecodeMessage(OnChannel("channel.sync", R"("after":12,"limit":1000)")).value();
  CHECK(StringMember(sync, "channel") == kChannelId);
  CHECK(UintMember(sync, "after") == 12);
  CHECK(OptionalUint(sync, "limit") == 1000u);
  CHECK(sync.id == 1);
  Message sync_default = DecodeMessage(OnChannel("channel.sync", R"("after":0)")).value();
  CHECK_FALSE(OptionalUint(sync_default, "limit").has_value());

  Message policy = DecodeMessage(Request("control.policy", R"("adaptive":false,"n_max":9)")).value();
  CHECK(OptionalBool(policy, "adaptive") == false);
  CHECK(OptionalUint(policy, "n_max") == 9u);
  CHECK_FALSE(OptionalUint(policy, "n").has_value());
  CHECK_FALSE(OptionalBool(policy, "missing").has_value());

  Message submit = DecodeMessage(OnChannel("settle.submit", R"("claim":{"seq":4})")).value();
  CHECK(ObjectMember(submit, "claim") == Json::Parse(R"({"seq":4})").value());

  Message biggest = DecodeMessage(R"({"v":1,"type":"ping","id":9007199254740991})").value();
  CHECK(biggest.id == 9007199254740991u);
  // 1.0 and 1e0 are the same JSON number as 1.
  CHECK(DecodeMessage(R"({"v":1.0,"type":"ping","id":2e0})")->id == 2);
}

struct Rejection {
  std::string frame;
  ErrorCode code;
  std::string message_part;  // what the error message must name
};

void CheckRejections(const std::vector<Rejection>& cases) {
  for (const Rejection& c : cases) {
    CAPTURE(c.frame);
    auto decoded = DecodeMessage(c.frame);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code() == c.code);
    CHECK_MESSAGE(decoded.error().message().find(c.message_part) != std::string::npos,
                  decoded.error().message());
  }
}

TEST_CASE("protocol: envelope rules") {
  const ErrorCode invalid = ErrorCode::kInvalidArgument;
  CheckRejections({
      {"[]", invalid, "must be a JSON object"},
      {"\"ping\"", invalid, "must be a JSON object"},
      {"null", invalid, "must be a JSON object"},
      {R"({"type":"ping","id":1})", invalid, "member 'v' is required"},
      {R"({"v":2,"type":"ping","id":1})", invalid, "member 'v' must be 1"},
      {R"({"v":"1","type":"ping","id":1})", invalid, "member 'v' must be 1"},
      {R"({"v":1,"id":1})", invalid, "member 'type' is required"},
      {R"({"v":1,"type":7,"id":1})", invalid, "member 'type' must be a string"},
      {R"({"v":1,"type":"pong","id":1})", invalid, "unknown message type 'pong'"},
      {R"({"v":1,"type":"PING","id":1})", invalid, "unknown message type 'PING'"},
      {R"({"v":1,"type":"ping"})", invalid, "ping: member 'id' is required"},
      {R"({"v":1,"type":"ping","id":0})", invalid, "ping: member 'id' must be an integer"},
      {R"({"v":1,"type":"ping","id":-1})", invalid, "member 'id'"},
      {R"({"v":1,"type":"ping","id":1.5})", invalid, "member 'id'"},
      {R"({"v":1,"type":"ping","id":"1"})", invalid, "member 'id'"},
      {R"({"v":1,"type":"ping","id":9007199254740992})", invalid, "member 'id'"},
      {R"({"v":1,"type":"ping","id":1e300})", invalid, "member 'id'"},
      {R"({"v":1,"type":"reply"})", invalid, "reply: member 'id' is required"},
      {R"({"v":1,"type":"error","id":0,"code":"internal","message":"x"})", invalid,
       "error: member 'id' must be an integer"},
      {R"({"v":1,"type":"event.channel","id":1,"channel":")" + std::string(kChannelId) +
           R"(","state":{}})",
       invalid, "event.channel: member 'id' is not allowed"},
      {Request("ping", R"("x":1)"), invalid, "ping: unknown member 'x'"},
      {Request("control.list", R"("channel":")" + std::string(kChannelId) + "\""), invalid,
       "control.list: unknown member 'channel'"},
      {Request("error", R"("code":"internal","message":"x","detail":"y")"), invalid,
       "error: unknown member 'detail'"},
      {Event("event.channel", R"("state":{},"extra":true)"), invalid,
       "event.channel: unknown member 'extra'"},
  });
  // Replies carry whatever result members the request defines.
  auto reply = DecodeMessage(Request("reply", R"("anything":[1,2],"more":{"a":null})"));
  CHECK(reply.ok());
  CHECK(DecodeMessage(Request("reply")).ok());
  // `channel` in a reply is the id for party requests and the state object for control.open.
  CHECK(DecodeMessage(Request("reply", R"("channel":)" + Quoted(kChannelId) +
                                           R"(,"seq":3,"replayed":true,"tsc":{"seq":3})"))
            .ok());
  CHECK(DecodeMessage(Request("reply", R"("channel":{"status":"open"})")).ok());
}

TEST_CASE("protocol: member rules per type") {
  const ErrorCode invalid = ErrorCode::kInvalidArgument;
  const std::string hex64(64, 'a');
  const std::string hex128(128, 'b');
  auto channel_is = [](std::string_view value) {
    return Request("channel.state", R"("channel":)" + Quoted(value));
  };
  CheckRejections({
      // channel ids
      {Request("channel.state"), invalid, "channel.state: member 'channel' is required"},
      {channel_is(std::string(63, 'a')), invalid, "channel.state: member 'channel' must be a channel id"},
      {channel_is(std::string(65, 'a')), invalid, "member 'channel'"},
      {channel_is(std::string(64, 'A')), invalid, "member 'channel'"},
      {channel_is(std::string(63, 'a') + "g"), invalid, "member 'channel'"},
      {Request("channel.state", R"("channel":42)"), invalid, "member 'channel'"},
      // identifiers
      {OnChannel("auth.begin"), invalid, "auth.begin: member 'did' is required"},
      {OnChannel("auth.begin", R"("did":"")"), invalid, "auth.begin: member 'did' must be an identifier"},
      {OnChannel("auth.begin", R"("did":"did:key:a b")"), invalid, "member 'did'"},
      {OnChannel("auth.begin", R"("did":"did:key:\u00e9")"), invalid, "member 'did'"},
      {OnChannel("auth.begin", R"("did":"did:key:\u0001")"), invalid, "member 'did'"},
      {OnChannel("auth.begin", R"("did":)" + Quoted(std::string(257, 'd'))), invalid, "member 'did'"},
      {OnChannel("auth.begin", R"("did":["did:key:z6Mk"])"), invalid, "member 'did'"},
      {Request("control.open", R"("tic":"")"), invalid, "control.open: member 'tic'"},
      {Request("control.open"), invalid, "control.open: member 'tic' is required"},
      // fixed-length hex
      {OnChannel("auth.prove", R"("nonce":)" + Quoted(hex64)), invalid,
       "auth.prove: member 'signature' is required"},
      {OnChannel("auth.prove", R"("nonce":)" + Quoted(hex64.substr(1)) + R"(,"signature":)" +
                                   Quoted(hex128)),
       invalid, "auth.prove: member 'nonce' must be 64 lowercase hex characters"},
      {OnChannel("auth.prove", R"("nonce":)" + Quoted(std::string(64, 'F')) + R"(,"signature":)" +
                                   Quoted(hex128)),
       invalid, "member 'nonce'"},
      {OnChannel("auth.prove", R"("nonce":)" + Quoted(hex64) + R"(,"signature":)" +
                                   Quoted(hex128 + "00")),
       invalid, "auth.prove: member 'signature' must be 128 lowercase hex characters"},
      {Event("event.anchored", R"("seq":5,"batch":"b-1","root":)" + Quoted(hex64 + "a")), invalid,
       "event.anchored: member 'root'"},
      {Event("event.anchored", R"("seq":5,"root":)" + Quoted(hex64)), invalid,
       "event.anchored: member 'batch' is required"},
      // objects and arrays
      {OnChannel("settle.submit", R"("claim":[])"), invalid,
       "settle.submit: member 'claim' must be an object"},
      {OnChannel("settle.submit", R"("claim":"{}")"), invalid, "member 'claim' must be an object"},
      {OnChannel("settle.submit"), invalid, "settle.submit: member 'claim' is required"},
      {OnChannel("settle.propose", R"("proposal":null)"), invalid,
       "settle.propose: member 'proposal' must be an object"},
      {Event("event.tsc", R"("seq":1,"tsc":[])"), invalid, "event.tsc: member 'tsc' must be an object"},
      {Event("event.proposal", R"("proposal":{})"), invalid, "event.proposal: member 'from' is required"},
      {Request("reply", R"("tscs":{})"), invalid, "reply: member 'tscs' must be an array"},
      {Request("reply", R"("state":[])"), invalid, "reply: member 'state' must be an object"},
      {Request("reply", R"("closing_evidence":[])"), invalid,
       "reply: member 'closing_evidence' must be an object"},
      // unsigned integers and their ranges
      {OnChannel("channel.sync"), invalid, "channel.sync: member 'after' is required"},
      {OnChannel("channel.sync", R"("after":-1)"), invalid,
       "channel.sync: member 'after' must be an integer from 0 to 9007199254740991"},
      {OnChannel("channel.sync", R"("after":0.5)"), invalid, "member 'after'"},
      {OnChannel("channel.sync", R"("after":"3")"), invalid, "member 'after'"},
      {OnChannel("channel.sync", R"("after":0,"limit":0)"), invalid,
       "channel.sync: member 'limit' must be an integer from 1 to 1000"},
      {OnChannel("channel.sync", R"("after":0,"limit":1001)"), invalid, "member 'limit'"},
      {OnChannel("evidence.get", R"("seq":0)"), invalid,
       "evidence.get: member 'seq' must be an integer from 1 to"},
      {OnChannel("evidence.get", R"("seq":9007199254740992)"), invalid, "member 'seq'"},
      {Event("event.tsc", R"("seq":-3,"tsc":{})"), invalid, "event.tsc: member 'seq'"},
      {Request("reply", R"("expires":-1)"), invalid, "reply: member 'expires'"},
      {Request("reply", R"("last_seq":true)"), invalid, "reply: member 'last_seq'"},
      // control.policy
      {Request("control.policy"), invalid, "control.policy: needs at least one of the members 'n'"},
      {Request("control.policy", R"("channel":)" + Quoted(kChannelId)), invalid,
       "control.policy: needs at least one of"},
      {Request("control.policy", R"("n":0)"), invalid, "control.policy: member 'n' must be an integer from 1"},
      {Request("control.policy", R"("n_min":0)"), invalid, "member 'n_min'"},
      {Request("control.policy", R"("n_max":0)"), invalid, "member 'n_max'"},
      {Request("control.policy", R"("adaptive":"yes")"), invalid,
       "control.policy: member 'adaptive' must be a boolean"},
      {Request("control.policy", R"("n":4,"channel":"x")"), invalid, "member 'channel'"},
      // sealed hex
      {Request("reply", R"("sealed":"abc")"), invalid,
       "reply: member 'sealed' must be lowercase hex of even length"},
      {Request("reply", R"("sealed":"")"), invalid, "member 'sealed'"},
      {Request("reply", R"("sealed":"ABCD")"), invalid, "member 'sealed'"},
      {Request("reply", R"("sealed":)" + Quoted(std::string(4098, 'a'))), invalid, "member 'sealed'"},
      // error members
      {Request("error", R"("code":"not found","message":"x")"), invalid, "error: member 'code'"},
      {Request("error", R"("code":"not_found","message":7)"), invalid,
       "error: member 'message' must be a string"},
      {Request("error", R"("code":"not_found")"), invalid, "error: member 'message' is required"},
  });

  // The limits themselves are accepted.
  for (const std::string& frame : {
           OnChannel("auth.begin", R"("did":)" + Quoted(std::string(256, 'd'))),
           OnChannel("auth.begin", R"("did":"!~")"),
           OnChannel("channel.sync", R"("after":9007199254740991,"limit":1)"),
           OnChannel("channel.sync", R"("after":0,"limit":1000)"),
           OnChannel("evidence.get", R"("seq":1)"),
           Request("control.policy", R"("adaptive":false)"),
           Request("control.policy", R"("n":1)"),
           Request("control.policy", R"("n_min":1,"n_max":1)"),
           Request("reply", R"("sealed":)" + Quoted(std::string(4096, 'a'))),
           Request("reply", R"("sealed":"00")"),
           Request("error", R"("code":"not_found","message":"")"),
       }) {
    CAPTURE(frame);
    auto decoded = DecodeMessage(frame);
    CHECK_MESSAGE(decoded.ok(), (decoded.ok() ? std::string() : decoded.error().ToString()));
  }
}

TEST_CASE("protocol: frame size limit") {
  std::string prefix = R"({"v":1,"type":"reply","id":1,"pad":")";
  std::string suffix = "\"}";
  std::string at_limit = prefix + std::string(kMaxFrameBytes - prefix.size() - suffix.size(), 'x') + suffix;
  REQUIRE(at_limit.size() == kMaxFrameBytes);
  CHECK(DecodeMessage(at_limit).ok());

  std::string over = prefix + std::string(kMaxFrameBytes + 1 - prefix.size() - suffix.size(), 'x') + suffix;
  auto too_big = DecodeMessage(over);
  REQUIRE_FALSE(too_big.ok());
  CHECK(too_big.error().code() == ErrorCode::kResourceExhausted);
  CHECK(too_big.error().message().find(std::to_string(kMaxFrameBytes)) != std::string::npos);
  // The size is checked before anything is parsed.
  CHECK(DecodeMessage(std::string(kMaxFrameBytes + 1, '[')).error().code() ==
        ErrorCode::kResourceExhausted);
}

TEST_CASE("protocol: nesting beyond 32 levels is a parse error") {
  auto nested_claim = [](int levels) {
    // The frame and the claim are two levels; each wrapper adds one.
    std::string claim = "{}";
    for (int i = 0; i < levels - 2; ++i) claim = R"({"a":)" + claim + "}";
    return OnChannel("settle.submit", R"("claim":)" + claim);
  };
  CHECK(DecodeMessage(nested_claim(32)).ok());
  auto deep = DecodeMessage(nested_claim(33));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code() == ErrorCode::kParse);
  CHECK(DecodeMessage(nested_claim(500)).error().code() == ErrorCode::kParse);
  CHECK(DecodeMessage(std::string(100000, '[')).error().code() == ErrorCode::kParse);
}

TEST_CASE("protocol: malformed JSON and invalid UTF-8 are parse errors") {
  const std::string bad_bytes[] = {"\xff", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf8\x88\x80\x80\x80"};
  for (const std::string& bytes : bad_bytes) {
    std::string frame = Request("error", R"("code":"internal","message":")" + bytes + "\"");
    CAPTURE(frame);
    auto decoded = DecodeMessage(frame);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code() == ErrorCode::kParse);
  }
  std::string trailing_nul = R"({"v":1,"type":"ping","id":1})";
  trailing_nul.push_back('\0');
  for (const std::string& frame : {
           std::string(""), std::string("{"), std::string(R"({"v":1,})"),
           std::string(R"({"v":1,"type":"ping","id":1} x)"),
           std::string(R"({"v":1,"type":"ping","id":1,"id":2})"),
           std::string(R"({"v":1,"type":"error","id":1,"code":"x","message":"\ud800"})"),
           std::string(R"({"v":1,"type":"ping","id":1e999})"),
           trailing_nul,
       }) {
    CAPTURE(frame);
    auto decoded = DecodeMessage(frame);
    REQUIRE_FALSE(decoded.ok());
    CHECK(decoded.error().code() == ErrorCode::kParse);
  }
}

// SplitMix64: a fixed generator, so a failing mutation is reproducible on every platform.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next() {
    std::uint64_t z = (state_ += 0x9E3779B97F4A7C15u);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9u;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBu;
    return z ^ (z >> 31);
  }
  std::size_t Below(std::size_t bound) { return static_cast<std::size_t>(Next() % bound); }

 private:
  std::uint64_t state_;
};

// Whether the decoder's verdict on a well-formed JSON frame agrees with the schema's. The one
// rule the schema does not state (it would need anyOf over required lists) is control.policy's
// "at least one of n, adaptive, n_min, n_max"; frames where only that decides are excluded.
bool Agrees(const Json& frame, bool decoded) {
  bool schema = Schema().Accepts(frame);
  if (schema == decoded) return true;
  const Json* type = frame.Find("type");
  bool is_policy = type != nullptr && type->is_string() && type->as_string() == "control.policy";
  bool no_setting = !frame.Contains("n") && !frame.Contains("adaptive") &&
                    !frame.Contains("n_min") && !frame.Contains("n_max");
  return schema && !decoded && is_policy && no_setting;
}

const JsonLimits kFrameLimits{kMaxFrameBytes, kMaxJsonDepth};

TEST_CASE("protocol: byte mutations of the examples never crash, and decoder and schema agree") {
  std::vector<std::string> examples;
  for (MessageType type : kAllTypes) examples.push_back(Json::Parse(ExampleText(type))->Serialize());
  // Characters that change JSON structure or the kind of a value, so mutations reach deep checks.
  constexpr std::string_view kInteresting = "{}[]\":,0123456789-.eE abcdefABCDEF\\u";
  Random random(20240601);
  int decoded_count = 0;
  int compared = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string frame = examples[random.Below(examples.size())];
    std::size_t edits = 1 + random.Below(3);
    for (std::size_t e = 0; e < edits && !frame.empty(); ++e) {
      std::size_t at = random.Below(frame.size());
      char byte = random.Below(2) == 0 ? kInteresting[random.Below(kInteresting.size())]
                                       : static_cast<char>(random.Below(256));
      switch (random.Below(5)) {
        case 0: frame[at] = static_cast<char>(frame[at] ^ (1 << random.Below(8))); break;
        case 1: frame[at] = byte; break;
        case 2: frame.insert(frame.begin() + static_cast<std::ptrdiff_t>(at), byte); break;
        case 3: frame.erase(at, 1 + random.Below(4)); break;
        default: frame.resize(at); break;
      }
    }
    CAPTURE(round);
    CAPTURE(frame);
    auto decoded = DecodeMessage(frame);
    if (decoded.ok()) {
      ++decoded_count;
      CHECK(decoded->body.is_object());
    } else {
      ErrorCode code = decoded.error().code();
      CHECK((code == ErrorCode::kParse || code == ErrorCode::kInvalidArgument));
      CHECK_FALSE(decoded.error().message().empty());
    }
    auto json = Json::Parse(frame, kFrameLimits);
    if (!json.ok()) {
      CHECK_FALSE(decoded.ok());
      continue;
    }
    ++compared;
    CHECK(Agrees(*json, decoded.ok()));
  }
  // The loop is only meaningful if mutations both survive and get rejected for their shape.
  CHECK(decoded_count > 500);
  CHECK(compared - decoded_count > 500);
  MESSAGE("byte mutations: " << decoded_count << " decoded, " << compared << " valid JSON");
}

TEST_CASE("protocol: member mutations of the examples: decoder and schema agree") {
  std::vector<Json> examples;
  std::vector<std::string> names{"v", "type", "id", "x"};
  for (MessageType type : kAllTypes) {
    examples.push_back(*Json::Parse(ExampleText(type)));
    for (const auto& [name, value] : examples.back().as_object()) names.push_back(name);
  }
  std::vector<Json> values{
      0, 1, -1, 1.5, 2, 1000, 1001, 9007199254740991.0, 9007199254740992.0, 1e300, -0.0,
      true, false, nullptr, "", "x", "has space", "did:key:z6MkfLUffTs9EDReuf9KaL7m8UZ6dFWaTL5Rwaox1FB7ZqJx",
      std::string(64, 'a'), std::string(64, 'A'), std::string(63, 'a'), std::string(65, 'a'),
      std::string(128, 'f'), std::string(127, 'f'), "abc", std::string(4096, 'c'),
      std::string(4098, 'c'), std::string(256, 'd'), std::string(257, 'd'), "caf\xc3\xa9",
      Json::Object(), Json::Array(), Json::Parse(R"({"a":1})").value(),
  };
  for (MessageType type : kAllTypes) values.emplace_back(MessageTypeName(type));

  Random random(7);
  int accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    Json frame = examples[random.Below(examples.size())];
    std::size_t edits = 1 + random.Below(2);
    for (std::size_t e = 0; e < edits; ++e) {
      const std::string& name = names[random.Below(names.size())];
      if (random.Below(3) == 0) {
        frame.Erase(name);
      } else {
        frame.Set(name, values[random.Below(values.size())]);
      }
    }
    std::string text = frame.Serialize();
    CAPTURE(text);
    auto decoded = DecodeMessage(text);
    accepted += decoded.ok();
    CHECK(Agrees(frame, decoded.ok()));
  }
  CHECK(accepted > 1000);
  CHECK(accepted < 19000);
  MESSAGE("member mutations: " << accepted << " of 20000 decoded");
}

TEST_CASE("protocol: an error answering an undecodable request carries no id") {
  const std::string frame = EncodeError(0, Error(ErrorCode::kParse, "not JSON"));
  CHECK(frame.find("\"id\"") == std::string::npos);
  auto decoded = DecodeMessage(frame);
  REQUIRE(decoded.ok());
  CHECK(decoded->type == MessageType::kError);
  CHECK(decoded->id == 0);
  CHECK(ErrorFromMessage(*decoded).code() == ErrorCode::kParse);
}

TEST_CASE("protocol: the id of a refused request can still be read for the error") {
  CHECK(PeekRequestId(R"({"v":1,"type":"control.policy","id":42})") == 42);
  CHECK_FALSE(DecodeMessage(R"({"v":1,"type":"control.policy","id":42})").ok());
  CHECK(PeekRequestId("not json") == 0);
  CHECK(PeekRequestId(R"({"id":-1})") == 0);
  CHECK(PeekRequestId(R"([1])") == 0);
}

// The dispute documents are checked by dispute.h, not by the frame decoder; the schema describes
// them in $defs, and the two must agree on what the code signs.
TEST_CASE("protocol: signed dispute documents match the schema's rejection and closeRequest") {
  Json document = SchemaDocument();
  // The definition alone (with the $defs it refers to), not under the frame envelope.
  auto validator_for = [&](const std::string& name) {
    Json selected = Json::Object();
    selected.Set("$schema", *document.Find("$schema"));
    selected.Set("$defs", *document.Find("$defs"));
    selected.Set("$ref", "#/$defs/" + name);
    auto compiled = vc::SchemaValidator::Compile(selected);
    REQUIRE_MESSAGE(compiled.ok(), name << ": " << compiled.error().ToString());
    return *compiled;
  };

  const did::KeyPair consumer = did::KeyPair::Generate();
  Json proposal = Json::Object();
  proposal.Set("channel", std::string(kChannelId));
  proposal.Set("seq", 4);
  proposal.Set("prev", std::string(kChannelId));
  proposal.Set("consumer", did::DidKeyFromPublicKey(consumer.public_key()));
  auto rejection = MakeRejection(proposal, {ReasonCode::kWrongUsage, "meter reset"}, consumer);
  REQUIRE(rejection.ok());
  const vc::SchemaValidator rejections = validator_for("rejection");
  CHECK_MESSAGE(rejections.Check(*rejection).ok(), rejection->Serialize());
  Json bad_code = *rejection;
  bad_code.Set("code", "too_expensive");
  CHECK_FALSE(rejections.IsValid(bad_code));
  CHECK_FALSE(ReadRejection(bad_code).ok());
  Json long_text = *rejection;
  long_text.Set("text", std::string(kMaxReasonTextBytes + 1, 'x'));
  CHECK_FALSE(rejections.IsValid(long_text));
  CHECK_FALSE(ReadRejection(long_text).ok());
  CHECK_FALSE(MakeRejection(proposal, {ReasonCode::kOther, std::string(kMaxReasonTextBytes + 1, 'x')}, consumer).ok());

  auto request = MakeCloseRequest(std::string(kChannelId), {ReasonCode::kPrice, "too dear"}, consumer);
  REQUIRE(request.ok());
  CHECK_MESSAGE(validator_for("closeRequest").Check(*request).ok(), request->Serialize());
  CHECK(ReadCloseRequest(*request).ok());
}

}  // namespace
}  // namespace tcc::wire
