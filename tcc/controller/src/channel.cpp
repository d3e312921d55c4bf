#include "channel.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tcc/chain/types.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json_object_reader.h"
#include "tcc/common/sha256.h"

namespace tcc::controller {
namespace {

constexpr std::string_view kWhat = "channel record";

Error Shape(std::string problem) {
  return Error(ErrorCode::kInvalidArgument, std::string(kWhat) + ": " + std::move(problem));
}

// A channel record's members, read strictly (json_object_reader.h), with the hashes it holds.
class StrictObject : public JsonObjectReader {
 public:
  explicit StrictObject(const Json& json) : JsonObjectReader(json, std::string(kWhat)) {}

  Result<chain::Hash256> Digest(std::string_view key) {
    TCC_ASSIGN_OR_RETURN(std::string hex, LowerHex(key, 64));
    return Sha256DigestFromHex(hex);
  }
};

// An id in the chain's sense (printable ASCII, bounded), so a record can always be echoed into
// chain calls and logs.
Status CheckId(std::string_view id, std::string_view what) {
  Status valid = chain::ValidateId(id, what);
  if (!valid.ok()) return Shape(valid.error().message());
  return OkStatus();
}

// A member JSON carries as a number must stay within what a double holds exactly. Worded as
// JsonObjectReader words the same bound, so a record in memory and one read from disk that break
// it are refused alike.
Status CheckInteger(std::uint64_t value, std::string_view member, std::uint64_t min = 0,
                    std::uint64_t max = kMaxJsonInteger) {
  if (value >= min && value <= max) return OkStatus();
  return Shape("member \"" + std::string(member) + "\" must be an integer in " +
               std::to_string(min) + ".." + std::to_string(max));
}

}  // namespace

std::string_view ChannelStateName(ChannelState state) {
  switch (state) {
    case ChannelState::kOpen:
      return "open";
    case ChannelState::kClosed:
      return "closed";
  }
  return "unknown";
}

namespace {

// The record's members, in order, handed to `out` (a JSON text or a document): the one place the
// layout is written. Integers go as JSON numbers, which are doubles.
template <typename Out>
void EmitChannelRecord(const ChannelRecord& record, Out& out) {
  out.Text("channelId", record.channel_id);
  out.Text("provider", record.provider);
  out.Text("consumer", record.consumer);
  out.Texts("auditors", record.auditors);
  out.Text("tstId", record.tst_id);
  out.Number("tstVersion", record.tst_version);
  out.Number("strategyN", record.strategy_n);
  if (record.n_override) out.Number("nOverride", *record.n_override);
  if (record.amend_after_s) out.Number("amendAfterS", *record.amend_after_s);
  out.Text("state", ChannelStateName(record.state));
  out.Number("lastSeq", record.last_seq);
  out.Text("lastHash", HexEncode(record.last_hash));
  out.Number("evidenceSeq", record.evidence_seq);
  out.Number("openedMs", record.opened_ms);
  out.Number("closedMs", record.closed_ms);
}

// Compact JSON text, as Json::Serialize writes it, without building the document.
class RecordText {
 public:
  RecordText() { text_.reserve(512); }  // two did:key parties and no auditors: about 450 bytes
  void Text(std::string_view name, std::string_view value) {
    Name(name);
    AppendJsonString(text_, value);
  }
  void Texts(std::string_view name, const std::vector<std::string>& values) {
    Name(name);
    text_.push_back('[');
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (i > 0) text_.push_back(',');
      AppendJsonString(text_, values[i]);
    }
    text_.push_back(']');
  }
  void Number(std::string_view name, std::uint64_t value) {
    Name(name);
    AppendJsonNumber(text_, static_cast<double>(value));
  }
  std::string Finish() && {
    text_.push_back('}');
    return std::move(text_);
  }

 private:
  void Name(std::string_view name) {
    text_.push_back(text_.empty() ? '{' : ',');
    AppendJsonString(text_, name);
    text_.push_back(':');
  }
  std::string text_;
};

class RecordDocument {
 public:
  void Text(std::string_view name, std::string_view value) { json_.Set(name, std::string(value)); }
  void Texts(std::string_view name, const std::vector<std::string>& values) {
    Json array = Json::Array();
    for (const std::string& value : values) array.PushBack(value);
    json_.Set(name, std::move(array));
  }
  void Number(std::string_view name, std::uint64_t value) { json_.Set(name, value); }
  Json Finish() && { return std::move(json_); }

 private:
  Json json_ = Json::Object();
};

}  // namespace

Json ChannelRecordToJson(const ChannelRecord& record) {
  RecordDocument document;
  EmitChannelRecord(record, document);
  return std::move(document).Finish();
}

std::string ChannelRecordText(const ChannelRecord& record) {
  RecordText text;
  EmitChannelRecord(record, text);
  return std::move(text).Finish();
}

Status ValidateChannelRecord(const ChannelRecord& record) {
  if (record.channel_id.size() != 64 || !IsLowerHex(record.channel_id)) {
    return Shape("member \"channelId\" must be 64 lowercase hex digits");
  }
  TCC_RETURN_IF_ERROR(CheckId(record.provider, "provider"));
  TCC_RETURN_IF_ERROR(CheckId(record.consumer, "consumer"));
  for (const std::string& auditor : record.auditors)
    TCC_RETURN_IF_ERROR(CheckId(auditor, "auditor"));
  TCC_RETURN_IF_ERROR(CheckId(record.tst_id, "tstId"));
  TCC_RETURN_IF_ERROR(CheckInteger(record.tst_version, "tstVersion", 1));
  TCC_RETURN_IF_ERROR(CheckInteger(record.strategy_n, "strategyN"));
  // An override of 0 would mean "never anchor", which no policy allows.
  if (record.n_override) TCC_RETURN_IF_ERROR(CheckInteger(*record.n_override, "nOverride", 1));
  if (record.amend_after_s) {
    TCC_RETURN_IF_ERROR(
        CheckInteger(*record.amend_after_s, "amendAfterS", 0, kMaxAmendAfterSeconds));
  }
  TCC_RETURN_IF_ERROR(CheckInteger(record.last_seq, "lastSeq"));
  TCC_RETURN_IF_ERROR(CheckInteger(record.evidence_seq, "evidenceSeq"));
  TCC_RETURN_IF_ERROR(CheckInteger(record.opened_ms, "openedMs"));
  TCC_RETURN_IF_ERROR(CheckInteger(record.closed_ms, "closedMs"));
  // The hash chain starts at the TIC: seq 1 names the channel id as its `prev`.
  if (record.last_seq == 0 && HexEncode(record.last_hash) != record.channel_id) {
    return Shape("lastHash must be the channel id while lastSeq is 0");
  }
  if (record.evidence_seq > record.last_seq) {
    return Shape("evidenceSeq " + std::to_string(record.evidence_seq) + " is beyond lastSeq " +
                 std::to_string(record.last_seq));
  }
  if (record.state == ChannelState::kOpen && record.closed_ms != 0) {
    return Shape("closedMs must be 0 while the channel is open");
  }
  return OkStatus();
}

Result<ChannelRecord> ChannelRecordFromJson(const Json& json) {
  if (!json.is_object()) {
    return Shape("must be an object, not " + std::string(JsonTypeName(json.type())));
  }
  StrictObject object(json);
  ChannelRecord record;
  TCC_ASSIGN_OR_RETURN(record.channel_id, object.LowerHex("channelId", 64));
  TCC_ASSIGN_OR_RETURN(record.provider, object.String("provider"));
  TCC_ASSIGN_OR_RETURN(record.consumer, object.String("consumer"));
  TCC_ASSIGN_OR_RETURN(const Json* auditors, object.Member("auditors", Json::Type::kArray));
  for (const Json& auditor : auditors->as_array()) {
    if (!auditor.is_string()) return Shape("member \"auditors\" must hold strings only");
    record.auditors.push_back(auditor.as_string());
  }
  TCC_ASSIGN_OR_RETURN(record.tst_id, object.String("tstId"));
  TCC_ASSIGN_OR_RETURN(std::uint64_t tst_version,
                       object.Integer("tstVersion", 1, std::numeric_limits<std::uint32_t>::max()));
  record.tst_version = static_cast<std::uint32_t>(tst_version);
  TCC_ASSIGN_OR_RETURN(record.strategy_n, object.Integer("strategyN"));
  TCC_ASSIGN_OR_RETURN(record.n_override, object.OptionalInteger("nOverride"));
  TCC_ASSIGN_OR_RETURN(record.amend_after_s, object.OptionalInteger("amendAfterS"));
  TCC_ASSIGN_OR_RETURN(std::string state, object.String("state"));
  if (state == ChannelStateName(ChannelState::kOpen)) {
    record.state = ChannelState::kOpen;
  } else if (state == ChannelStateName(ChannelState::kClosed)) {
    record.state = ChannelState::kClosed;
  } else {
    return Shape("member \"state\" must be \"open\" or \"closed\"");
  }
  TCC_ASSIGN_OR_RETURN(record.last_seq, object.Integer("lastSeq"));
  TCC_ASSIGN_OR_RETURN(record.last_hash, object.Digest("lastHash"));
  TCC_ASSIGN_OR_RETURN(record.evidence_seq, object.Integer("evidenceSeq"));
  TCC_ASSIGN_OR_RETURN(record.opened_ms, object.Integer("openedMs"));
  TCC_ASSIGN_OR_RETURN(record.closed_ms, object.Integer("closedMs"));
  TCC_RETURN_IF_ERROR(object.Finish());
  TCC_RETURN_IF_ERROR(ValidateChannelRecord(record));
  return record;
}

}  // namespace tcc::controller
