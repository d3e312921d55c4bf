// The embedded ledger's on-disk format: blocks, entries and LevelDB keys.
//
// It is public so the verifier, tools and fuzzers can read a ledger without opening it for
// writing. Everything here is a pure function over bytes and thread-safe; decoders never read out
// of bounds and report kParse naming the field.
//
// Block value (key "B" + u64be height):
//   "TCCB" u8 format=1 | u64 height | 32 prev_hash | u64 timestamp_ms | u32 entry_count |
//   32 entries_root | entry_count x (u32 size, entry bytes)
// Block hash = SHA-256 of the header (everything up to and including entries_root); entries_root is
// the RFC 9162 Merkle root over the entry byte strings, so an entry's transaction id is its
// RFC 9162 leaf hash. Heights start at 1; block 1's prev_hash is all zeros.
// Entry: u8 kind, then the kind's fields (strings and byte strings as u32 size + bytes).
// Other keys are indexes derived from the entries, written in the same atomic batch as the block;
// the verifier rebuilds them from the blocks and compares.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tcc/chain/types.h"
#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc::chain::ledger {

inline constexpr std::uint8_t kBlockFormat = 1;
inline constexpr std::size_t kMaxEntriesPerBlock = 65536;

using Entry = std::variant<DidDocumentVersion, TemplateVersion, TicDocument, BatchAnchor>;

struct BlockHeader {
  std::uint64_t height = 0;
  Hash256 prev_hash{};
  std::uint64_t timestamp_ms = 0;
  std::uint32_t entry_count = 0;
  Hash256 entries_root{};
};

struct Block {
  BlockHeader header;
  std::vector<Bytes> entries;  // encoded entries, in order
};

Bytes EncodeEntry(const Entry& entry);
// Strict: unknown kinds, oversize or malformed fields, invalid ids and trailing bytes are kParse.
Result<Entry> DecodeEntry(ByteView bytes);

Bytes EncodeHeader(const BlockHeader& header);
Hash256 BlockHash(const BlockHeader& header);
Bytes EncodeBlock(const Block& block);
// Checks the structure only (counts, sizes); hash links and entries_root are the verifier's job.
Result<Block> DecodeBlock(ByteView bytes);

// The transaction id of an entry: its RFC 9162 leaf hash.
Hash256 EntryHash(ByteView entry_bytes);

// Where an entry lives: block height and position in the block.
struct Location {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
  friend auto operator<=>(const Location&, const Location&) = default;
};
Bytes EncodeLocation(const Location& location);
Result<Location> DecodeLocation(ByteView bytes);

// LevelDB keys.
inline constexpr std::string_view kFormatKey = "Vformat";
inline constexpr std::string_view kFormatValue = "tcc-ledger-1";
inline constexpr std::string_view kHeadKey = "Hhead";  // u64 height + 32 block hash
std::string BlockKey(std::uint64_t height);
Result<std::uint64_t> ParseBlockKey(std::string_view key);
std::string DidVersionKey(std::string_view did, std::uint64_t version);  // -> Location
std::string DidVersionPrefix(std::string_view did);
std::string DidLatestKey(std::string_view did);                           // -> u64 version
std::string TemplateVersionKey(std::string_view id, std::uint64_t version);  // -> Location
std::string TemplateVersionPrefix(std::string_view id);  // empty id: all templates
std::string TemplateLatestKey(std::string_view id);       // -> u64 version
std::string TicKey(std::string_view tic_id);               // -> Location
std::string AnchorKey(std::string_view batch_id);          // -> Location
std::string AnchorRootKey(const Hash256& root);            // -> Location of the first anchor
std::string EventKey(const Location& location);            // -> empty; DID and TIC entries only
inline constexpr std::string_view kEventPrefix = "E";
// Every index key starts with one of these; the verifier checks them all.
inline constexpr std::string_view kIndexPrefixes = "DdTtCARE";

Bytes EncodeU64(std::uint64_t value);
Result<std::uint64_t> DecodeU64(ByteView bytes, std::string_view what);

}  // namespace tcc::chain::ledger
