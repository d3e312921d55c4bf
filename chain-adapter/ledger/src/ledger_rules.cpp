#include "ledger_rules.h"

#include <filesystem>
#include <string>

namespace tcc::chain::ledger {
namespace {

std::string AsString(const Bytes& bytes) { return std::string(AsChars(bytes)); }

Error Corrupt(std::string_view what) {
  return Error(ErrorCode::kInternal,
               "ledger index is inconsistent (" + std::string(what) + "); run the ledger verifier");
}

Result<std::optional<Location>> GetLocation(const LedgerView& view, const std::string& key) {
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, view.Get(key));
  if (!value) return std::optional<Location>();
  auto location = DecodeLocation(AsBytes(*value));
  if (!location.ok()) return Corrupt(location.error().message());
  return std::optional<Location>(location.value());
}

Result<std::optional<std::uint64_t>> GetVersion(const LedgerView& view, const std::string& key) {
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, view.Get(key));
  if (!value) return std::optional<std::uint64_t>();
  auto version = DecodeU64(AsBytes(*value), "latest version");
  if (!version.ok()) return Corrupt(version.error().message());
  return std::optional<std::uint64_t>(version.value());
}

template <typename T>
Result<T> LoadAs(const LedgerView& view, const std::optional<Location>& location) {
  if (!location) return Corrupt("a latest-version key has no version entry");
  TCC_ASSIGN_OR_RETURN(Entry entry, view.Load(*location));
  if (T* value = std::get_if<T>(&entry)) return std::move(*value);
  return Corrupt("an index key points at an entry of another kind");
}

Result<Decision> DecideDid(WriteKind kind, const DidDocumentVersion& request,
                           const LedgerView& view) {
  TCC_ASSIGN_OR_RETURN(std::optional<std::uint64_t> latest,
                       GetVersion(view, DidLatestKey(request.did)));
  if (kind == WriteKind::kRegisterDid) {
    if (latest) {
      TCC_ASSIGN_OR_RETURN(std::optional<Location> first,
                           GetLocation(view, DidVersionKey(request.did, 1)));
      TCC_ASSIGN_OR_RETURN(DidDocumentVersion registered,
                           LoadAs<DidDocumentVersion>(view, first));
      if (registered.document == request.document) return Decision{first, {}};
      return Error(ErrorCode::kAlreadyExists,
                   "DID " + request.did + " is already registered with another document");
    }
    return Decision{{}, DidDocumentVersion{request.did, 1, request.document}};
  }
  if (!latest) return Error(ErrorCode::kNotFound, "DID " + request.did + " is not registered");
  TCC_ASSIGN_OR_RETURN(std::optional<Location> current,
                       GetLocation(view, DidVersionKey(request.did, *latest)));
  TCC_ASSIGN_OR_RETURN(DidDocumentVersion current_version,
                       LoadAs<DidDocumentVersion>(view, current));
  // Updating to the document already current is the retry of an update that landed.
  if (current_version.document == request.document) return Decision{current, {}};
  return Decision{{}, DidDocumentVersion{request.did, *latest + 1, request.document}};
}

Result<Decision> DecideTemplate(const TemplateVersion& request, const LedgerView& view) {
  const std::string label = "template " + request.id;
  TCC_ASSIGN_OR_RETURN(std::optional<std::uint64_t> latest,
                       GetVersion(view, TemplateLatestKey(request.id)));
  if (!latest) return Decision{{}, request};
  TCC_ASSIGN_OR_RETURN(std::optional<Location> latest_location,
                       GetLocation(view, TemplateVersionKey(request.id, *latest)));
  TCC_ASSIGN_OR_RETURN(TemplateVersion newest, LoadAs<TemplateVersion>(view, latest_location));
  if (newest.owner_did != request.owner_did) {
    return Error(ErrorCode::kPermissionDenied,
                 label + " is owned by " + newest.owner_did + ", not " + request.owner_did);
  }
  TCC_ASSIGN_OR_RETURN(std::optional<Location> same,
                       GetLocation(view, TemplateVersionKey(request.id, request.version)));
  if (same) {
    TCC_ASSIGN_OR_RETURN(TemplateVersion published, LoadAs<TemplateVersion>(view, same));
    if (published == request) return Decision{same, {}};
    return Error(ErrorCode::kConflict, label + " version " + std::to_string(request.version) +
                                           " is already published with other content");
  }
  if (request.version <= *latest) {
    return Error(ErrorCode::kConflict, label + " version " + std::to_string(request.version) +
                                           " is not above the latest version " +
                                           std::to_string(*latest));
  }
  return Decision{{}, request};
}

Result<Decision> DecideTic(const TicDocument& request, const LedgerView& view) {
  TCC_ASSIGN_OR_RETURN(std::optional<Location> existing, GetLocation(view, TicKey(request.tic_id)));
  if (!existing) return Decision{{}, request};
  TCC_ASSIGN_OR_RETURN(TicDocument recorded, LoadAs<TicDocument>(view, existing));
  if (recorded == request) return Decision{existing, {}};
  return Error(ErrorCode::kConflict, "TIC " + request.tic_id + " is already recorded differently");
}

Result<Decision> DecideAnchor(const BatchAnchor& request, const LedgerView& view) {
  TCC_ASSIGN_OR_RETURN(std::optional<Location> existing,
                       GetLocation(view, AnchorKey(request.batch_id)));
  if (!existing) return Decision{{}, request};
  TCC_ASSIGN_OR_RETURN(BatchAnchor anchored, LoadAs<BatchAnchor>(view, existing));
  if (anchored == request) return Decision{existing, {}};
  return Error(ErrorCode::kConflict,
               "batch " + request.batch_id + " is already anchored with root " +
                   HexEncode(anchored.root) + " over " + std::to_string(anchored.leaf_count) +
                   " leaves");
}

}  // namespace

storage::DatabaseOptions DatabaseOptionsFor(const std::string& path, bool create_if_missing) {
  storage::DatabaseOptions options;
  options.path = path;
  options.name = "ledger";
  options.state_name = "ledger";
  options.create_if_missing = create_if_missing;
  options.corruption_code = ErrorCode::kVerificationFailed;
  options.check = [path, create_if_missing](leveldb::DB& db) {
    return CheckFormat(db, path, create_if_missing);
  };
  return options;
}

tcc::Status CheckFormat(leveldb::DB& db, const std::string& path, bool create_if_missing) {
  leveldb::Status status;
  std::string format;
  status = db.Get(leveldb::ReadOptions(), std::string(kFormatKey), &format);
  if (status.IsNotFound()) {
    std::unique_ptr<leveldb::Iterator> any(db.NewIterator(leveldb::ReadOptions()));
    any->SeekToFirst();
    if (any->Valid()) {
      return Error(ErrorCode::kInvalidArgument, path + " is a LevelDB store but not a TCC ledger");
    }
    if (!create_if_missing) return Error(ErrorCode::kNotFound, "no ledger at " + path);
    leveldb::WriteOptions sync;
    sync.sync = true;
    status = db.Put(sync, std::string(kFormatKey), std::string(kFormatValue));
    if (!status.ok()) return Error(ErrorCode::kIo, "initializing ledger: " + status.ToString());
  } else if (!status.ok()) {
    return Error(ErrorCode::kIo, "reading ledger format: " + status.ToString());
  } else if (format != kFormatValue) {
    return Error(ErrorCode::kInvalidArgument,
                 path + " has ledger format '" + format + "', expected " +
                     std::string(kFormatValue));
  }
  return OkStatus();
}

Result<Block> ReadBlock(leveldb::DB& db, const leveldb::ReadOptions& options,
                        std::uint64_t height) {
  std::string value;
  leveldb::Status status = db.Get(options, BlockKey(height), &value);
  if (status.IsNotFound()) {
    return Error(ErrorCode::kNotFound, "block " + std::to_string(height) + " is not stored");
  }
  if (!status.ok()) return Error(ErrorCode::kIo, "reading block: " + status.ToString());
  auto block = DecodeBlock(AsBytes(value));
  if (!block.ok()) {
    return std::move(block).error().WithContext("block " + std::to_string(height));
  }
  return block;
}

Result<Entry> ReadEntry(leveldb::DB& db, const leveldb::ReadOptions& options,
                        const Location& location) {
  TCC_ASSIGN_OR_RETURN(Block block, ReadBlock(db, options, location.height));
  if (location.index >= block.entries.size()) {
    return Corrupt("an index key points past the end of block " +
                   std::to_string(location.height));
  }
  return DecodeEntry(block.entries[location.index]);
}

ChainReceipt MakeReceipt(const BlockHeader& header, const Bytes& entry_bytes) {
  return ChainReceipt{"local", header.height, HexEncode(EntryHash(entry_bytes)),
                      BlockHash(header), header.timestamp_ms};
}

Result<std::optional<std::string>> LedgerView::Get(const std::string& key) const {
  if (auto it = writes_.find(key); it != writes_.end()) return std::optional(it->second);
  if (!index_from_db_) return std::optional<std::string>();
  std::string value;
  leveldb::Status status = db_.Get(options_, key, &value);
  if (status.IsNotFound()) return std::optional<std::string>();
  if (!status.ok()) return Error(ErrorCode::kIo, "reading the ledger index: " + status.ToString());
  return std::optional(std::move(value));
}

Result<Entry> LedgerView::Load(const Location& location) const {
  if (auto it = fresh_.find(location); it != fresh_.end()) return it->second;
  return ReadEntry(db_, options_, location);
}

Result<Decision> Decide(WriteKind kind, const Entry& request, const LedgerView& view) {
  switch (kind) {
    case WriteKind::kRegisterDid:
    case WriteKind::kUpdateDid:
      return DecideDid(kind, std::get<DidDocumentVersion>(request), view);
    case WriteKind::kPublishTemplate:
      return DecideTemplate(std::get<TemplateVersion>(request), view);
    case WriteKind::kRecordTic:
      return DecideTic(std::get<TicDocument>(request), view);
    case WriteKind::kAnchor:
      return DecideAnchor(std::get<BatchAnchor>(request), view);
  }
  return Error(ErrorCode::kInternal, "unknown write kind");
}

Status IndexFresh(const Entry& entry, const Location& location, LedgerView& view) {
  std::string where = AsString(EncodeLocation(location));
  if (const auto* did = std::get_if<DidDocumentVersion>(&entry)) {
    view.Put(DidVersionKey(did->did, did->version), where);
    view.Put(DidLatestKey(did->did), AsString(EncodeU64(did->version)));
    view.Put(EventKey(location), "");
  } else if (const auto* version = std::get_if<TemplateVersion>(&entry)) {
    view.Put(TemplateVersionKey(version->id, version->version), where);
    view.Put(TemplateLatestKey(version->id), AsString(EncodeU64(version->version)));
  } else if (const auto* tic = std::get_if<TicDocument>(&entry)) {
    view.Put(TicKey(tic->tic_id), where);
    view.Put(EventKey(location), "");
  } else if (const auto* anchor = std::get_if<BatchAnchor>(&entry)) {
    // Read before any write so a failed read leaves the view unchanged.
    std::string root_key = AnchorRootKey(anchor->root);
    TCC_ASSIGN_OR_RETURN(std::optional<std::string> first_with_root, view.Get(root_key));
    view.Put(AnchorKey(anchor->batch_id), where);
    if (!first_with_root) view.Put(std::move(root_key), where);
  }
  return OkStatus();
}

WriteKind KindOf(const Entry& entry) {
  if (const auto* did = std::get_if<DidDocumentVersion>(&entry)) {
    return did->version == 1 ? WriteKind::kRegisterDid : WriteKind::kUpdateDid;
  }
  if (std::holds_alternative<TemplateVersion>(entry)) return WriteKind::kPublishTemplate;
  if (std::holds_alternative<TicDocument>(entry)) return WriteKind::kRecordTic;
  return WriteKind::kAnchor;
}

}  // namespace tcc::chain::ledger
