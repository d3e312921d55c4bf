#include "tcc/chain/ledger_format.h"

#include <string>

#include "tcc/chain/codec.h"
#include "tcc/chain/merkle.h"

namespace tcc::chain::ledger {
namespace {

constexpr std::string_view kBlockMagic = "TCCB";
constexpr std::size_t kHeaderSize = 4 + 1 + 8 + 32 + 8 + 4 + 32;

enum class EntryKind : std::uint8_t { kDid = 1, kTemplate = 2, kTic = 3, kAnchor = 4 };

void AppendU64(std::string& key, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) key.push_back(char(value >> shift));
}

std::string PrefixedId(char tag, std::string_view id) {
  std::string key(1, tag);
  key.append(id);
  return key;
}

// Ids cannot contain 0x00 (ValidateId), so "id \0 version" never collides across ids.
std::string VersionKey(char tag, std::string_view id, std::uint64_t version) {
  std::string key = PrefixedId(tag, id);
  key.push_back('\0');
  AppendU64(key, version);
  return key;
}

Result<std::string> DecodeId(ByteReader& reader, std::string_view field) {
  TCC_ASSIGN_OR_RETURN(std::string id, reader.SizedString(field, kMaxIdBytes));
  Status valid = ValidateId(id, field);
  if (!valid.ok()) return Error(ErrorCode::kParse, valid.error().message());
  return id;
}

Result<Bytes> DecodeDocument(ByteReader& reader, std::string_view field) {
  TCC_ASSIGN_OR_RETURN(ByteView raw, reader.Sized(field, kMaxDocumentBytes));
  if (raw.empty()) return Error(ErrorCode::kParse, std::string(field) + " is empty");
  return Bytes(raw.begin(), raw.end());
}

Result<std::uint64_t> DecodePositive(ByteReader& reader, std::string_view field) {
  TCC_ASSIGN_OR_RETURN(std::uint64_t value, reader.U64(field));
  if (value == 0) return Error(ErrorCode::kParse, std::string(field) + " is 0");
  return value;
}

struct EntryEncoder {
  ByteWriter& out;
  void operator()(const DidDocumentVersion& did) const {
    out.U8(std::uint8_t(EntryKind::kDid)).Sized(did.did).U64(did.version).Sized(did.document);
  }
  void operator()(const TemplateVersion& version) const {
    out.U8(std::uint8_t(EntryKind::kTemplate))
        .Sized(version.id)
        .U64(version.version)
        .Sized(version.owner_did)
        .Raw(version.content_hash)
        .Sized(version.content);
  }
  void operator()(const TicDocument& tic) const {
    out.U8(std::uint8_t(EntryKind::kTic)).Sized(tic.tic_id).Sized(tic.tcc_did).Sized(tic.content);
  }
  void operator()(const BatchAnchor& anchor) const {
    out.U8(std::uint8_t(EntryKind::kAnchor))
        .Sized(anchor.batch_id)
        .Raw(anchor.root)
        .U64(anchor.leaf_count);
  }
};

Result<Entry> DecodeEntryBody(EntryKind kind, ByteReader& in) {
  switch (kind) {
    case EntryKind::kDid: {
      DidDocumentVersion did;
      TCC_ASSIGN_OR_RETURN(did.did, DecodeId(in, "DID"));
      TCC_ASSIGN_OR_RETURN(did.version, DecodePositive(in, "DID version"));
      TCC_ASSIGN_OR_RETURN(did.document, DecodeDocument(in, "DID document"));
      return Entry(std::move(did));
    }
    case EntryKind::kTemplate: {
      TemplateVersion version;
      TCC_ASSIGN_OR_RETURN(version.id, DecodeId(in, "template id"));
      TCC_ASSIGN_OR_RETURN(version.version, DecodePositive(in, "template version"));
      TCC_ASSIGN_OR_RETURN(version.owner_did, DecodeId(in, "template owner DID"));
      TCC_ASSIGN_OR_RETURN(version.content_hash, in.Hash("template content hash"));
      TCC_ASSIGN_OR_RETURN(version.content, DecodeDocument(in, "template content"));
      if (Sha256(version.content) != version.content_hash) {
        return Error(ErrorCode::kParse, "template content hash is not SHA-256 of the content");
      }
      return Entry(std::move(version));
    }
    case EntryKind::kTic: {
      TicDocument tic;
      TCC_ASSIGN_OR_RETURN(tic.tic_id, DecodeId(in, "TIC id"));
      TCC_ASSIGN_OR_RETURN(tic.tcc_did, DecodeId(in, "TIC TCC DID"));
      TCC_ASSIGN_OR_RETURN(tic.content, DecodeDocument(in, "TIC content"));
      return Entry(std::move(tic));
    }
    case EntryKind::kAnchor: {
      BatchAnchor anchor;
      TCC_ASSIGN_OR_RETURN(anchor.batch_id, DecodeId(in, "batch id"));
      TCC_ASSIGN_OR_RETURN(anchor.root, in.Hash("anchor root"));
      TCC_ASSIGN_OR_RETURN(anchor.leaf_count, DecodePositive(in, "anchor leaf count"));
      return Entry(std::move(anchor));
    }
  }
  return Error(ErrorCode::kParse, "unknown entry kind " + std::to_string(int(kind)));
}

}  // namespace

Bytes EncodeEntry(const Entry& entry) {
  ByteWriter out;
  std::visit(EntryEncoder{out}, entry);
  return out.Take();
}

Result<Entry> DecodeEntry(ByteView bytes) {
  ByteReader in(bytes);
  TCC_ASSIGN_OR_RETURN(std::uint8_t kind, in.U8("entry kind"));
  if (kind < std::uint8_t(EntryKind::kDid) || kind > std::uint8_t(EntryKind::kAnchor)) {
    return Error(ErrorCode::kParse, "unknown entry kind " + std::to_string(kind));
  }
  TCC_ASSIGN_OR_RETURN(Entry entry, DecodeEntryBody(EntryKind(kind), in));
  TCC_RETURN_IF_ERROR(in.ExpectEnd("entry"));
  return entry;
}

Bytes EncodeHeader(const BlockHeader& header) {
  ByteWriter out;
  out.Raw(kBlockMagic)
      .U8(kBlockFormat)
      .U64(header.height)
      .Raw(header.prev_hash)
      .U64(header.timestamp_ms)
      .U32(header.entry_count)
      .Raw(header.entries_root);
  return out.Take();
}

Hash256 BlockHash(const BlockHeader& header) { return Sha256(EncodeHeader(header)); }

Bytes EncodeBlock(const Block& block) {
  ByteWriter out;
  out.Raw(EncodeHeader(block.header));
  for (const Bytes& entry : block.entries) out.Sized(entry);
  return out.Take();
}

Result<Block> DecodeBlock(ByteView bytes) {
  ByteReader in(bytes);
  TCC_ASSIGN_OR_RETURN(ByteView magic, in.Raw(kBlockMagic.size(), "block magic"));
  if (AsChars(magic) != kBlockMagic) return Error(ErrorCode::kParse, "block magic is not TCCB");
  TCC_ASSIGN_OR_RETURN(std::uint8_t format, in.U8("block format"));
  if (format != kBlockFormat) {
    return Error(ErrorCode::kParse, "unsupported block format " + std::to_string(format));
  }
  Block block;
  BlockHeader& header = block.header;
  TCC_ASSIGN_OR_RETURN(header.height, DecodePositive(in, "block height"));
  TCC_ASSIGN_OR_RETURN(header.prev_hash, in.Hash("previous block hash"));
  TCC_ASSIGN_OR_RETURN(header.timestamp_ms, in.U64("block timestamp"));
  TCC_ASSIGN_OR_RETURN(header.entry_count, in.U32("block entry count"));
  TCC_ASSIGN_OR_RETURN(header.entries_root, in.Hash("block entries root"));
  if (header.entry_count == 0 || header.entry_count > kMaxEntriesPerBlock) {
    return Error(ErrorCode::kParse,
                 "block entry count " + std::to_string(header.entry_count) + " is outside 1.." +
                     std::to_string(kMaxEntriesPerBlock));
  }
  // Each entry needs at least its 4-byte size, which bounds the reservation by the input.
  if (in.remaining() / 4 < header.entry_count) {
    return Error(ErrorCode::kParse, "block is shorter than its entry count");
  }
  block.entries.reserve(header.entry_count);
  for (std::uint32_t i = 0; i < header.entry_count; ++i) {
    TCC_ASSIGN_OR_RETURN(ByteView entry, in.Sized("block entry", 2 * kMaxDocumentBytes));
    block.entries.emplace_back(entry.begin(), entry.end());
  }
  TCC_RETURN_IF_ERROR(in.ExpectEnd("block"));
  return block;
}

Hash256 EntryHash(ByteView entry_bytes) { return MerkleLeafHash(entry_bytes); }

Bytes EncodeLocation(const Location& location) {
  ByteWriter out;
  out.U64(location.height).U32(location.index);
  return out.Take();
}

Result<Location> DecodeLocation(ByteView bytes) {
  ByteReader in(bytes);
  Location location;
  TCC_ASSIGN_OR_RETURN(location.height, DecodePositive(in, "location height"));
  TCC_ASSIGN_OR_RETURN(location.index, in.U32("location index"));
  TCC_RETURN_IF_ERROR(in.ExpectEnd("location"));
  return location;
}

std::string BlockKey(std::uint64_t height) {
  std::string key = "B";
  AppendU64(key, height);
  return key;
}

Result<std::uint64_t> ParseBlockKey(std::string_view key) {
  if (key.size() != 9 || key[0] != 'B') return Error(ErrorCode::kParse, "not a block key");
  ByteReader in(AsBytes(key.substr(1)));
  return in.U64("block key height");
}

std::string DidVersionKey(std::string_view did, std::uint64_t version) {
  return VersionKey('D', did, version);
}
std::string DidVersionPrefix(std::string_view did) { return PrefixedId('D', did) + '\0'; }
std::string DidLatestKey(std::string_view did) { return PrefixedId('d', did); }
std::string TemplateVersionKey(std::string_view id, std::uint64_t version) {
  return VersionKey('T', id, version);
}
std::string TemplateVersionPrefix(std::string_view id) {
  return id.empty() ? std::string("T") : PrefixedId('T', id) + '\0';
}
std::string TemplateLatestKey(std::string_view id) { return PrefixedId('t', id); }
std::string TicKey(std::string_view tic_id) { return PrefixedId('C', tic_id); }
std::string AnchorKey(std::string_view batch_id) { return PrefixedId('A', batch_id); }
std::string AnchorRootKey(const Hash256& root) {
  return PrefixedId('R', AsChars(ByteView(root.data(), root.size())));
}
std::string EventKey(const Location& location) {
  std::string key(kEventPrefix);
  AppendU64(key, location.height);
  for (int shift = 24; shift >= 0; shift -= 8) key.push_back(char(location.index >> shift));
  return key;
}

Bytes EncodeU64(std::uint64_t value) {
  ByteWriter out;
  out.U64(value);
  return out.Take();
}

Result<std::uint64_t> DecodeU64(ByteView bytes, std::string_view what) {
  ByteReader in(bytes);
  TCC_ASSIGN_OR_RETURN(std::uint64_t value, in.U64(what));
  TCC_RETURN_IF_ERROR(in.ExpectEnd(what));
  return value;
}

}  // namespace tcc::chain::ledger
