#include "tcc/chain/evidence.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "tcc/chain/codec.h"
#include "tcc/common/json_object_reader.h"

namespace tcc::chain {
namespace {

Error Shape(std::string_view what, std::string problem) {
  return Error(ErrorCode::kInvalidArgument, std::string(what) + ": " + std::move(problem));
}

Result<Hash256> ParseHash(std::string_view hex, std::string_view what) {
  Result<Hash256> hash = Sha256DigestFromHex(hex);
  if (!hash.ok()) return Shape(what, "must be 64 lowercase hex digits (a SHA-256 hash)");
  return hash;
}

// A bundle's JSON objects: read strictly, with hashes decoded.
class StrictObject : public JsonObjectReader {
 public:
  using JsonObjectReader::JsonObjectReader;

  Result<Hash256> Hash(std::string_view key) {
    TCC_ASSIGN_OR_RETURN(std::string hex, String(key));
    return ParseHash(hex, what() + " member \"" + std::string(key) + "\"");
  }
};

// Ids in a bundle get the same rules as on chain, reported as shape errors of the bundle.
Status CheckId(std::string_view id, std::string_view what) {
  Status valid = ValidateId(id, what);
  if (!valid.ok()) return valid.error().WithContext("evidence bundle");
  return OkStatus();
}

Error Mismatch(std::string problem) {
  return Error(ErrorCode::kVerificationFailed, "evidence bundle: " + std::move(problem));
}

// The member that carries an item's hash: a closing bundle names it for what it is.
std::string_view HashMember(EvidenceKind kind) {
  return kind == EvidenceKind::kClosing ? "closingHash" : "tscHash";
}

}  // namespace

std::string_view EvidenceKindName(EvidenceKind kind) {
  return kind == EvidenceKind::kClosing ? "closing" : "tsc";
}

Result<Hash256> EvidenceLeaf(const EvidenceItem& item) {
  TCC_RETURN_IF_ERROR(ValidateId(item.channel_id, "channel id"));
  std::string_view tag;
  switch (item.kind) {
    case EvidenceKind::kTsc:
      tag = kEvidenceLeafTag;
      break;
    case EvidenceKind::kClosing:
      tag = kClosingLeafTag;
      break;
    default:
      return Error(ErrorCode::kInvalidArgument, "unknown evidence item kind");
  }
  ByteWriter out;
  out.Raw(tag).U8(0).Sized(item.channel_id).U64(item.seq).Raw(item.tsc_hash);
  return Sha256(out.bytes());
}

Json ChainReceiptToJson(const ChainReceipt& receipt) {
  Json json = Json::Object();
  json.Set("adapter", receipt.adapter);
  json.Set("height", receipt.height);
  if (!receipt.tx.empty()) json.Set("tx", receipt.tx);
  json.Set("blockHash", HexEncode(receipt.block_hash));
  json.Set("timeMs", receipt.timestamp_ms);
  return json;
}

Result<ChainReceipt> ChainReceiptFromJson(const Json& json) {
  StrictObject object(json, "evidence bundle receipt");
  TCC_RETURN_IF_ERROR(object.CheckIsObject());
  ChainReceipt receipt;
  TCC_ASSIGN_OR_RETURN(receipt.adapter, object.String("adapter"));
  TCC_ASSIGN_OR_RETURN(receipt.height, object.Integer("height"));
  TCC_ASSIGN_OR_RETURN(const Json* tx, object.Member("tx", Json::Type::kString, false));
  if (tx != nullptr) receipt.tx = tx->as_string();
  TCC_ASSIGN_OR_RETURN(receipt.block_hash, object.Hash("blockHash"));
  TCC_ASSIGN_OR_RETURN(receipt.timestamp_ms, object.Integer("timeMs"));
  TCC_RETURN_IF_ERROR(object.Finish());
  Status valid = ValidateReceipt(receipt);
  if (!valid.ok()) return valid.error().WithContext("evidence bundle");
  return receipt;
}

Json EvidenceBundleToJson(const EvidenceBundle& bundle) {
  Json path = Json::Array();
  for (const Hash256& hash : bundle.path) path.PushBack(HexEncode(hash));
  Json json = Json::Object();
  json.Set("format", kEvidenceBundleFormat);
  // TSC bundles keep the shape they always had: no "kind" member.
  if (bundle.item.kind != EvidenceKind::kTsc) json.Set("kind", EvidenceKindName(bundle.item.kind));
  json.Set("channelId", bundle.item.channel_id);
  json.Set("seq", bundle.item.seq);
  json.Set(HashMember(bundle.item.kind), HexEncode(bundle.item.tsc_hash));
  json.Set("leaf", HexEncode(bundle.leaf));
  json.Set("leafIndex", bundle.leaf_index);
  json.Set("treeSize", bundle.tree_size);
  json.Set("path", std::move(path));
  json.Set("root", HexEncode(bundle.root));
  json.Set("batchId", bundle.batch_id);
  json.Set("receipt", ChainReceiptToJson(bundle.receipt));
  return json;
}

Result<EvidenceBundle> EvidenceBundleFromJson(const Json& json) {
  StrictObject object(json, "evidence bundle");
  TCC_RETURN_IF_ERROR(object.CheckIsObject());
  TCC_ASSIGN_OR_RETURN(std::string format, object.String("format"));
  if (format != kEvidenceBundleFormat) {
    return Shape("evidence bundle", "format \"" + format.substr(0, 64) + "\" is not \"" +
                                        std::string(kEvidenceBundleFormat) + "\"");
  }
  EvidenceBundle bundle;
  TCC_ASSIGN_OR_RETURN(const Json* kind, object.Member("kind", Json::Type::kString, false));
  if (kind != nullptr) {
    if (kind->as_string() != EvidenceKindName(EvidenceKind::kClosing)) {
      return Shape("evidence bundle", "kind \"" + kind->as_string().substr(0, 64) +
                                          "\" is not \"closing\" (a TSC bundle has no kind)");
    }
    bundle.item.kind = EvidenceKind::kClosing;
  }
  TCC_ASSIGN_OR_RETURN(bundle.item.channel_id, object.String("channelId"));
  TCC_RETURN_IF_ERROR(CheckId(bundle.item.channel_id, "channel id"));
  TCC_ASSIGN_OR_RETURN(bundle.item.seq, object.Integer("seq"));
  TCC_ASSIGN_OR_RETURN(bundle.item.tsc_hash, object.Hash(HashMember(bundle.item.kind)));
  TCC_ASSIGN_OR_RETURN(bundle.leaf, object.Hash("leaf"));
  TCC_ASSIGN_OR_RETURN(bundle.leaf_index, object.Integer("leafIndex"));
  TCC_ASSIGN_OR_RETURN(bundle.tree_size, object.Integer("treeSize"));
  if (bundle.tree_size == 0 || bundle.leaf_index >= bundle.tree_size) {
    return Shape("evidence bundle", "leafIndex must be below treeSize, and treeSize at least 1");
  }
  TCC_ASSIGN_OR_RETURN(const Json* path, object.Member("path", Json::Type::kArray));
  if (path->as_array().size() > kMaxInclusionPath) {
    return Shape("evidence bundle", "path has more than " + std::to_string(kMaxInclusionPath) +
                                        " hashes");
  }
  for (std::size_t i = 0; i < path->as_array().size(); ++i) {
    const Json& step = path->as_array()[i];
    std::string what = "evidence bundle path[" + std::to_string(i) + "]";
    if (!step.is_string()) return Shape(what, "must be a string");
    TCC_ASSIGN_OR_RETURN(Hash256 hash, ParseHash(step.as_string(), what));
    bundle.path.push_back(hash);
  }
  TCC_ASSIGN_OR_RETURN(bundle.root, object.Hash("root"));
  TCC_ASSIGN_OR_RETURN(bundle.batch_id, object.String("batchId"));
  TCC_RETURN_IF_ERROR(CheckId(bundle.batch_id, "batch id"));
  TCC_ASSIGN_OR_RETURN(const Json* receipt, object.Member("receipt", Json::Type::kObject));
  TCC_ASSIGN_OR_RETURN(bundle.receipt, ChainReceiptFromJson(*receipt));
  TCC_RETURN_IF_ERROR(object.Finish());
  return bundle;
}

std::string SerializeEvidenceBundle(const EvidenceBundle& bundle) {
  return EvidenceBundleToJson(bundle).Serialize();
}

Result<EvidenceBundle> ParseEvidenceBundle(std::string_view text) {
  auto json = Json::Parse(text, JsonLimits{.max_bytes = 1u << 20, .max_depth = 8});
  if (!json.ok()) {
    Error error = std::move(json).error();
    return Error(ErrorCode::kParse, "evidence bundle is not valid JSON: " + error.message());
  }
  return EvidenceBundleFromJson(*json);
}

Status VerifyEvidenceBundle(const EvidenceBundle& bundle) {
  auto leaf = EvidenceLeaf(bundle.item);
  if (!leaf.ok()) return Mismatch(leaf.error().message());
  if (*leaf != bundle.leaf) {
    return Mismatch(bundle.item.kind == EvidenceKind::kClosing
                        ? "leaf is not the closing leaf of (channel id, seq, closing record hash)"
                        : "leaf is not the evidence leaf of (channel id, seq, TSC hash)");
  }
  Status included = VerifyInclusion(MerkleLeafHash(bundle.leaf), bundle.leaf_index,
                                    bundle.tree_size, bundle.path, bundle.root);
  if (!included.ok()) return Mismatch(included.error().message());
  return OkStatus();
}

Result<Recorded<BatchAnchor>> VerifyEvidenceBundleOnChain(const EvidenceBundle& bundle,
                                                          ChainAdapter& adapter) {
  TCC_RETURN_IF_ERROR(VerifyEvidenceBundle(bundle));
  auto anchored = adapter.FindAnchor(bundle.batch_id);
  if (!anchored.ok()) {
    if (anchored.error().code() == ErrorCode::kNotFound) {
      return Mismatch("batch " + bundle.batch_id + " is not anchored on " +
                      std::string(adapter.name()));
    }
    return std::move(anchored).error();
  }
  const BatchAnchor& anchor = anchored->value;
  if (anchor.root != bundle.root) {
    return Mismatch("batch " + bundle.batch_id + " is anchored with root " +
                    HexEncode(anchor.root) + ", not the bundle's root " +
                    HexEncode(bundle.root));
  }
  if (anchor.leaf_count != bundle.tree_size) {
    return Mismatch("batch " + bundle.batch_id + " is anchored over " +
                    std::to_string(anchor.leaf_count) + " leaves, not " +
                    std::to_string(bundle.tree_size));
  }
  const ChainReceipt& receipt = anchored->receipt;
  if (receipt.adapter != bundle.receipt.adapter || receipt.height != bundle.receipt.height ||
      receipt.block_hash != bundle.receipt.block_hash) {
    return Mismatch("the chain holds the anchor in block " + std::to_string(receipt.height) +
                    " (" + HexEncode(receipt.block_hash) + ") on " + receipt.adapter +
                    ", not where the bundle's receipt says");
  }
  return anchored;
}

EvidenceBatch::EvidenceBatch(std::string batch_id, std::vector<EvidenceItem> items,
                             std::vector<Hash256> leaves)
    : batch_id_(std::move(batch_id)),
      items_(std::move(items)),
      leaves_(std::move(leaves)),
      tree_([this] {
        std::vector<Hash256> leaf_hashes;
        leaf_hashes.reserve(leaves_.size());
        for (const Hash256& leaf : leaves_) leaf_hashes.push_back(MerkleLeafHash(leaf));
        return leaf_hashes;
      }()) {}

Result<EvidenceBundle> EvidenceBatch::Bundle(std::size_t index, const ChainReceipt& receipt) const {
  if (index >= items_.size()) {
    return Error(ErrorCode::kInvalidArgument, "item " + std::to_string(index) +
                                                  " is not in batch " + batch_id_ + " of " +
                                                  std::to_string(items_.size()));
  }
  TCC_RETURN_IF_ERROR(ValidateReceipt(receipt));
  EvidenceBundle bundle;
  bundle.item = items_[index];
  bundle.leaf = leaves_[index];
  bundle.leaf_index = index;
  bundle.tree_size = size();
  TCC_ASSIGN_OR_RETURN(bundle.path, tree_.InclusionProof(index));
  bundle.root = root();
  bundle.batch_id = batch_id_;
  bundle.receipt = receipt;
  return bundle;
}

Result<std::size_t> EvidenceBatchBuilder::Add(EvidenceItem item) {
  TCC_ASSIGN_OR_RETURN(Hash256 leaf, EvidenceLeaf(item));
  items_.push_back(std::move(item));
  leaves_.push_back(leaf);
  return items_.size() - 1;
}

Result<EvidenceBatch> EvidenceBatchBuilder::Build(std::string batch_id) {
  TCC_RETURN_IF_ERROR(ValidateId(batch_id, "batch id"));
  if (items_.empty()) return Error(ErrorCode::kInvalidArgument, "evidence batch is empty");
  EvidenceBatch batch(std::move(batch_id), std::move(items_), std::move(leaves_));
  items_.clear();
  leaves_.clear();
  return batch;
}

}  // namespace tcc::chain
