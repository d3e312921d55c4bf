#include "tcc/chain/types.h"

#include <string>

namespace tcc::chain {
namespace {

Error Invalid(std::string_view what, std::string_view problem) {
  return Error(ErrorCode::kInvalidArgument, std::string(what) + " " + std::string(problem));
}

}  // namespace

Status ValidateId(std::string_view id, std::string_view what) {
  if (id.empty()) return Invalid(what, "is empty");
  if (id.size() > kMaxIdBytes) {
    return Invalid(what, "is " + std::to_string(id.size()) + " bytes, over the limit of " +
                             std::to_string(kMaxIdBytes));
  }
  for (std::size_t i = 0; i < id.size(); ++i) {
    auto c = static_cast<unsigned char>(id[i]);
    // Printable ASCII only: DIDs and URNs are ASCII, and it keeps 0x00 free as a key separator.
    if (c < 0x21 || c > 0x7e) {
      return Invalid(what, "has a byte 0x" + HexEncode(ByteView(&c, 1)) + " at offset " +
                               std::to_string(i) + " (printable ASCII only, no spaces)");
    }
  }
  return OkStatus();
}

Status ValidateDocument(ByteView document, std::string_view what) {
  if (document.empty()) return Invalid(what, "is empty");
  if (document.size() > kMaxDocumentBytes) {
    return Invalid(what, "is " + std::to_string(document.size()) + " bytes, over the limit of " +
                             std::to_string(kMaxDocumentBytes));
  }
  return OkStatus();
}

Status ValidateTemplateVersion(const TemplateVersion& version) {
  TCC_RETURN_IF_ERROR(ValidateId(version.id, "template id"));
  TCC_RETURN_IF_ERROR(ValidateId(version.owner_did, "template owner DID"));
  TCC_RETURN_IF_ERROR(ValidateDocument(version.content, "template content"));
  if (version.version == 0) return Invalid("template version", "must be at least 1");
  if (Sha256(version.content) != version.content_hash) {
    return Invalid("template content hash", "is not SHA-256 of the content");
  }
  return OkStatus();
}

Status ValidateTicDocument(const TicDocument& tic) {
  TCC_RETURN_IF_ERROR(ValidateId(tic.tic_id, "TIC id"));
  TCC_RETURN_IF_ERROR(ValidateId(tic.tcc_did, "TIC TCC DID"));
  return ValidateDocument(tic.content, "TIC content");
}

Status ValidateBatchAnchor(const BatchAnchor& anchor) {
  TCC_RETURN_IF_ERROR(ValidateId(anchor.batch_id, "batch id"));
  if (anchor.leaf_count == 0) return Invalid("anchor leaf count", "must be at least 1");
  return OkStatus();
}

Status ValidateReceipt(const ChainReceipt& receipt) {
  if (receipt.adapter.empty() || receipt.adapter.size() > kMaxAdapterNameBytes) {
    return Invalid("receipt adapter name", "must be 1.." + std::to_string(kMaxAdapterNameBytes) +
                                               " bytes");
  }
  TCC_RETURN_IF_ERROR(ValidateId(receipt.adapter, "receipt adapter name"));
  if (receipt.tx.size() > kMaxTransactionIdBytes) {
    return Invalid("receipt transaction id", "is over " +
                                                 std::to_string(kMaxTransactionIdBytes) + " bytes");
  }
  if (!receipt.tx.empty()) TCC_RETURN_IF_ERROR(ValidateId(receipt.tx, "receipt transaction id"));
  if (receipt.height == 0) return Invalid("receipt height", "must be at least 1");
  return OkStatus();
}

}  // namespace tcc::chain
