#include "tcc/chain/chain_requests.h"

#include <algorithm>
#include <array>
#include <utility>

#include "tcc/chain/evidence.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json_object_reader.h"

namespace tcc::chain {
namespace {

struct OpSpec {
  ChainOp op;
  std::string_view name;
};

constexpr std::array<OpSpec, 12> kOps{{
    {ChainOp::kStatus, "status"},
    {ChainOp::kResolveDid, "resolve_did"},
    {ChainOp::kGetTemplate, "get_template"},
    {ChainOp::kListTemplates, "list_templates"},
    {ChainOp::kGetTic, "get_tic"},
    {ChainOp::kFindAnchor, "find_anchor"},
    {ChainOp::kFindAnchorByRoot, "find_anchor_by_root"},
    {ChainOp::kRegisterDid, "register_did"},
    {ChainOp::kUpdateDid, "update_did"},
    {ChainOp::kPublishTemplate, "publish_template"},
    {ChainOp::kRecordTic, "record_tic"},
    {ChainOp::kAnchor, "anchor"},
}};

// Strict reads of one object with the binary and hash forms of chain values.
class Reader : public JsonObjectReader {
 public:
  using JsonObjectReader::JsonObjectReader;

  Result<Bytes> HexBytes(std::string_view key) {
    TCC_ASSIGN_OR_RETURN(std::string hex, String(key));
    if (hex.size() % 2 != 0 || !IsLowerHex(hex, hex.size())) {
      return ShapeError("member \"" + std::string(key) + "\" must be lowercase hex");
    }
    return HexDecode(hex);
  }
  Result<Hash256> Hash(std::string_view key) {
    TCC_ASSIGN_OR_RETURN(std::string hex, LowerHex(key, 64));
    Bytes bytes = HexDecode(hex).value();
    Hash256 hash{};
    std::copy(bytes.begin(), bytes.end(), hash.begin());
    return hash;
  }
  Result<const Json*> Object(std::string_view key) { return Member(key, Json::Type::kObject); }
};

Result<Reader> Open(const Json& json, std::string what) {
  Reader reader(json, std::move(what));
  TCC_RETURN_IF_ERROR(reader.CheckIsObject());
  return reader;
}

// --- values ---

Json ToJson(const DidDocumentVersion& value) {
  Json json = Json::Object();
  json.Set("did", value.did);
  json.Set("version", value.version);
  json.Set("document", HexEncode(value.document));
  return json;
}
Result<DidDocumentVersion> DidFromJson(const Json& json) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(json, "DID document version"));
  DidDocumentVersion value;
  TCC_ASSIGN_OR_RETURN(value.did, reader.String("did"));
  TCC_ASSIGN_OR_RETURN(value.version, reader.Integer("version"));
  TCC_ASSIGN_OR_RETURN(value.document, reader.HexBytes("document"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  return value;
}

Json ToJson(const TemplateVersion& value) {
  Json json = Json::Object();
  json.Set("id", value.id);
  json.Set("version", value.version);
  json.Set("owner", value.owner_did);
  json.Set("content", HexEncode(value.content));
  json.Set("content_hash", HexEncode(value.content_hash));
  return json;
}
Result<TemplateVersion> TemplateFromJson(const Json& json) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(json, "template version"));
  TemplateVersion value;
  TCC_ASSIGN_OR_RETURN(value.id, reader.String("id"));
  TCC_ASSIGN_OR_RETURN(value.version, reader.Integer("version"));
  TCC_ASSIGN_OR_RETURN(value.owner_did, reader.String("owner"));
  TCC_ASSIGN_OR_RETURN(value.content, reader.HexBytes("content"));
  TCC_ASSIGN_OR_RETURN(value.content_hash, reader.Hash("content_hash"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  return value;
}

Json ToJson(const TicDocument& value) {
  Json json = Json::Object();
  json.Set("tic", value.tic_id);
  json.Set("tcc", value.tcc_did);
  json.Set("content", HexEncode(value.content));
  return json;
}
Result<TicDocument> TicFromJson(const Json& json) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(json, "TIC record"));
  TicDocument value;
  TCC_ASSIGN_OR_RETURN(value.tic_id, reader.String("tic"));
  TCC_ASSIGN_OR_RETURN(value.tcc_did, reader.String("tcc"));
  TCC_ASSIGN_OR_RETURN(value.content, reader.HexBytes("content"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  return value;
}

Json ToJson(const BatchAnchor& value) {
  Json json = Json::Object();
  json.Set("batch", value.batch_id);
  json.Set("root", HexEncode(value.root));
  json.Set("leaf_count", value.leaf_count);
  return json;
}
Result<BatchAnchor> AnchorFromJson(const Json& json) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(json, "batch anchor"));
  BatchAnchor value;
  TCC_ASSIGN_OR_RETURN(value.batch_id, reader.String("batch"));
  TCC_ASSIGN_OR_RETURN(value.root, reader.Hash("root"));
  TCC_ASSIGN_OR_RETURN(value.leaf_count, reader.Integer("leaf_count"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  return value;
}

template <typename T>
Json RecordedJson(const Recorded<T>& recorded) {
  Json json = Json::Object();
  json.Set("value", ToJson(recorded.value));
  json.Set("receipt", ChainReceiptToJson(recorded.receipt));
  return json;
}

template <typename T, typename Decode>
Result<Recorded<T>> RecordedFromJson(const Json& json, Decode decode) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(json, "chain record"));
  TCC_ASSIGN_OR_RETURN(const Json* value, reader.Object("value"));
  TCC_ASSIGN_OR_RETURN(const Json* receipt, reader.Object("receipt"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  Recorded<T> recorded;
  TCC_ASSIGN_OR_RETURN(recorded.value, decode(*value));
  TCC_ASSIGN_OR_RETURN(recorded.receipt, ChainReceiptFromJson(*receipt));
  return recorded;
}

template <typename T>
Result<Json> Rendered(Result<Recorded<T>> recorded) {
  if (!recorded.ok()) return std::move(recorded).error();
  return RecordedJson(*recorded);
}

Json StatusJson(const AdapterStatus& status) {
  Json json = Json::Object();
  json.Set("adapter", status.adapter);
  json.Set("height", status.height);
  json.Set("pending", static_cast<std::uint64_t>(status.pending));
  json.Set("last_anchor_latency_us",
           static_cast<std::uint64_t>(status.last_anchor_latency.count()));
  json.Set("anchors", status.anchors);
  return json;
}
Result<AdapterStatus> StatusFromJson(const Json& json) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(json, "chain status"));
  AdapterStatus status;
  TCC_ASSIGN_OR_RETURN(status.adapter, reader.String("adapter"));
  TCC_ASSIGN_OR_RETURN(status.height, reader.Integer("height"));
  TCC_ASSIGN_OR_RETURN(std::uint64_t pending, reader.Integer("pending"));
  status.pending = static_cast<std::size_t>(pending);
  TCC_ASSIGN_OR_RETURN(std::uint64_t latency, reader.Integer("last_anchor_latency_us"));
  status.last_anchor_latency = std::chrono::microseconds(latency);
  TCC_ASSIGN_OR_RETURN(status.anchors, reader.Integer("anchors"));
  TCC_RETURN_IF_ERROR(reader.Finish());
  if (status.adapter.empty() || status.adapter.size() > kMaxAdapterNameBytes) {
    return reader.ShapeError("adapter name must be 1.." + std::to_string(kMaxAdapterNameBytes) +
                             " bytes");
  }
  return status;
}

Result<Json> Serve(ChainAdapter& adapter, ChainOp op, Reader& args) {
  switch (op) {
    case ChainOp::kStatus: {
      TCC_RETURN_IF_ERROR(args.Finish());
      TCC_ASSIGN_OR_RETURN(AdapterStatus status, adapter.Status());
      return StatusJson(status);
    }
    case ChainOp::kResolveDid: {
      TCC_ASSIGN_OR_RETURN(std::string did, args.String("did"));
      TCC_ASSIGN_OR_RETURN(std::optional<std::uint64_t> version,
                           args.OptionalInteger("version", 1));
      TCC_RETURN_IF_ERROR(args.Finish());
      return Rendered(adapter.ResolveDid(did, version));
    }
    case ChainOp::kGetTemplate: {
      TCC_ASSIGN_OR_RETURN(std::string id, args.String("id"));
      TCC_ASSIGN_OR_RETURN(std::optional<std::uint64_t> version,
                           args.OptionalInteger("version", 1));
      TCC_RETURN_IF_ERROR(args.Finish());
      return Rendered(adapter.GetTemplate(id, version));
    }
    case ChainOp::kListTemplates: {
      TCC_ASSIGN_OR_RETURN(const Json* id, args.Member("id", Json::Type::kString, false));
      TCC_RETURN_IF_ERROR(args.Finish());
      TCC_ASSIGN_OR_RETURN(auto versions, adapter.ListTemplates(id == nullptr ? std::string_view()
                                                                              : id->as_string()));
      Json list = Json::Array();
      for (const auto& version : versions) list.PushBack(RecordedJson(version));
      Json result = Json::Object();
      result.Set("templates", std::move(list));
      return result;
    }
    case ChainOp::kGetTic: {
      TCC_ASSIGN_OR_RETURN(std::string tic, args.String("tic"));
      TCC_RETURN_IF_ERROR(args.Finish());
      return Rendered(adapter.GetTic(tic));
    }
    case ChainOp::kFindAnchor: {
      TCC_ASSIGN_OR_RETURN(std::string batch, args.String("batch"));
      TCC_RETURN_IF_ERROR(args.Finish());
      return Rendered(adapter.FindAnchor(batch));
    }
    case ChainOp::kFindAnchorByRoot: {
      TCC_ASSIGN_OR_RETURN(Hash256 root, args.Hash("root"));
      TCC_RETURN_IF_ERROR(args.Finish());
      return Rendered(adapter.FindAnchorByRoot(root));
    }
    case ChainOp::kRegisterDid:
    case ChainOp::kUpdateDid: {
      TCC_ASSIGN_OR_RETURN(std::string did, args.String("did"));
      TCC_ASSIGN_OR_RETURN(Bytes document, args.HexBytes("document"));
      TCC_RETURN_IF_ERROR(args.Finish());
      return Rendered(op == ChainOp::kRegisterDid ? adapter.RegisterDid(did, document)
                                                  : adapter.UpdateDid(did, document));
    }
    case ChainOp::kPublishTemplate: {
      TCC_ASSIGN_OR_RETURN(const Json* value, args.Object("template"));
      TCC_RETURN_IF_ERROR(args.Finish());
      TCC_ASSIGN_OR_RETURN(TemplateVersion version, TemplateFromJson(*value));
      return Rendered(adapter.PublishTemplate(version));
    }
    case ChainOp::kRecordTic: {
      TCC_ASSIGN_OR_RETURN(const Json* value, args.Object("tic"));
      TCC_RETURN_IF_ERROR(args.Finish());
      TCC_ASSIGN_OR_RETURN(TicDocument tic, TicFromJson(*value));
      return Rendered(adapter.RecordTic(tic));
    }
    case ChainOp::kAnchor: {
      TCC_ASSIGN_OR_RETURN(const Json* value, args.Object("anchor"));
      TCC_RETURN_IF_ERROR(args.Finish());
      TCC_ASSIGN_OR_RETURN(BatchAnchor anchor, AnchorFromJson(*value));
      return Rendered(adapter.Anchor(anchor));
    }
  }
  return Error(ErrorCode::kInternal, "unhandled chain request");
}

// The client half: each call is one request; answers are checked like any peer input.
class RequestAdapter final : public ChainAdapter {
 public:
  RequestAdapter(std::string name, ChainCall call)
      : name_(std::move(name)), call_(std::move(call)) {}

  std::string_view name() const override { return name_; }

  Result<Recorded<DidDocumentVersion>> RegisterDid(std::string_view did,
                                                   ByteView document) override {
    return WriteDid(ChainOp::kRegisterDid, did, document);
  }
  Result<Recorded<DidDocumentVersion>> UpdateDid(std::string_view did, ByteView document) override {
    return WriteDid(ChainOp::kUpdateDid, did, document);
  }
  Result<Recorded<DidDocumentVersion>> ResolveDid(std::string_view did,
                                                  std::optional<std::uint64_t> version) override {
    Json args = Json::Object();
    args.Set("did", std::string(did));
    if (version) args.Set("version", *version);
    return Call<DidDocumentVersion>(ChainOp::kResolveDid, std::move(args), DidFromJson);
  }
  Result<Recorded<TemplateVersion>> PublishTemplate(const TemplateVersion& version) override {
    Json args = Json::Object();
    args.Set("template", ToJson(version));
    return Call<TemplateVersion>(ChainOp::kPublishTemplate, std::move(args), TemplateFromJson);
  }
  Result<Recorded<TemplateVersion>> GetTemplate(std::string_view id,
                                                std::optional<std::uint64_t> version) override {
    Json args = Json::Object();
    args.Set("id", std::string(id));
    if (version) args.Set("version", *version);
    return Call<TemplateVersion>(ChainOp::kGetTemplate, std::move(args), TemplateFromJson);
  }
  Result<std::vector<Recorded<TemplateVersion>>> ListTemplates(std::string_view id) override {
    Json args = Json::Object();
    if (!id.empty()) args.Set("id", std::string(id));
    TCC_ASSIGN_OR_RETURN(Json result, call_(ChainOp::kListTemplates, std::move(args)));
    TCC_ASSIGN_OR_RETURN(Reader reader, Open(result, "template list"));
    TCC_ASSIGN_OR_RETURN(const Json* list, reader.Member("templates", Json::Type::kArray));
    TCC_RETURN_IF_ERROR(reader.Finish());
    std::vector<Recorded<TemplateVersion>> versions;
    for (const Json& entry : list->as_array()) {
      TCC_ASSIGN_OR_RETURN(auto version,
                           RecordedFromJson<TemplateVersion>(entry, TemplateFromJson));
      versions.push_back(std::move(version));
    }
    return versions;
  }
  Result<Recorded<TicDocument>> RecordTic(const TicDocument& tic) override {
    Json args = Json::Object();
    args.Set("tic", ToJson(tic));
    return Call<TicDocument>(ChainOp::kRecordTic, std::move(args), TicFromJson);
  }
  Result<Recorded<TicDocument>> GetTic(std::string_view tic_id) override {
    Json args = Json::Object();
    args.Set("tic", std::string(tic_id));
    return Call<TicDocument>(ChainOp::kGetTic, std::move(args), TicFromJson);
  }
  Result<EventPage> PollEvents(const EventQuery&) override {
    return Error(ErrorCode::kPermissionDenied, "chain events are not served through tccd");
  }
  Result<Recorded<BatchAnchor>> Anchor(const BatchAnchor& anchor) override {
    Json args = Json::Object();
    args.Set("anchor", ToJson(anchor));
    return Call<BatchAnchor>(ChainOp::kAnchor, std::move(args), AnchorFromJson);
  }
  Result<Recorded<BatchAnchor>> FindAnchor(std::string_view batch_id) override {
    Json args = Json::Object();
    args.Set("batch", std::string(batch_id));
    return Call<BatchAnchor>(ChainOp::kFindAnchor, std::move(args), AnchorFromJson);
  }
  Result<Recorded<BatchAnchor>> FindAnchorByRoot(const Hash256& root) override {
    Json args = Json::Object();
    args.Set("root", HexEncode(root));
    return Call<BatchAnchor>(ChainOp::kFindAnchorByRoot, std::move(args), AnchorFromJson);
  }
  Result<AdapterStatus> Status() override {
    TCC_ASSIGN_OR_RETURN(Json result, call_(ChainOp::kStatus, Json::Object()));
    return StatusFromJson(result);
  }

 private:
  template <typename T, typename Decode>
  Result<Recorded<T>> Call(ChainOp op, Json args, Decode decode) {
    TCC_ASSIGN_OR_RETURN(Json result, call_(op, std::move(args)));
    auto recorded = RecordedFromJson<T>(result, decode);
    if (!recorded.ok()) return std::move(recorded).error().WithContext("tccd's answer");
    return recorded;
  }
  Result<Recorded<DidDocumentVersion>> WriteDid(ChainOp op, std::string_view did,
                                                ByteView document) {
    Json args = Json::Object();
    args.Set("did", std::string(did));
    args.Set("document", HexEncode(document));
    return Call<DidDocumentVersion>(op, std::move(args), DidFromJson);
  }

  std::string name_;
  ChainCall call_;
};

}  // namespace

std::string_view ChainOpName(ChainOp op) {
  for (const OpSpec& spec : kOps) {
    if (spec.op == op) return spec.name;
  }
  return "?";
}

std::optional<ChainOp> ChainOpFromName(std::string_view name) {
  for (const OpSpec& spec : kOps) {
    if (spec.name == name) return spec.op;
  }
  return std::nullopt;
}

bool IsChainWrite(ChainOp op) { return op >= ChainOp::kRegisterDid; }

Result<Json> ServeChainRequest(ChainAdapter& adapter, ChainOp op, const Json& args,
                               std::size_t max_result_bytes) {
  TCC_ASSIGN_OR_RETURN(Reader reader, Open(args, std::string(ChainOpName(op)) + " arguments"));
  TCC_ASSIGN_OR_RETURN(Json result, Serve(adapter, op, reader));
  const std::size_t size = result.Serialize().size();
  if (size > max_result_bytes) {
    return Error(ErrorCode::kResourceExhausted,
                 std::string(ChainOpName(op)) + " answer is " + std::to_string(size) +
                     " bytes, over the " + std::to_string(max_result_bytes) +
                     " a reply may carry; read this record on the chain directly");
  }
  return result;
}

std::unique_ptr<ChainAdapter> MakeRequestAdapter(std::string name, ChainCall call) {
  return std::make_unique<RequestAdapter>(std::move(name), std::move(call));
}

}  // namespace tcc::chain
