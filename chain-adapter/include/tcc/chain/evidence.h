// Evidence: the leaves TCC anchors for settlement credentials and channel closing records, the
// batches that anchor them, and the self-contained bundle that proves one leaf was anchored.
//
// Leaf = SHA-256(tag || 0x00 || u32be len || channel id || u64be seq || hash). A TSC leaf has the
// tag "tcc/evidence-leaf/v1" and commits TSC `seq` by its hash; a closing leaf has the tag
// "tcc/closing-leaf/v1" and commits the TCC-signed closing record of the channel (whose last TSC is
// `seq`) by the record's hash. The distinct tags keep the two kinds apart (a closing record can
// never pass for a TSC of the same seq), the fixed tags and the length prefix keep leaves from
// colliding with any other hash TCC makes, and RFC 9162's 0x00 leaf prefix (merkle.h) keeps them
// apart from tree nodes.
// An EvidenceBatchBuilder collects items (one thread at a time); Build() hands back an immutable
// EvidenceBatch (thread-safe to read) whose root is anchored through a ChainAdapter, and which
// produces an EvidenceBundle per item once the anchor receipt is known.
//
// Bundles travel as JSON (schemas/evidence-bundle.schema.json). The decoders are pure functions
// over text or a Json tree, strict about members, types, integer ranges and hex, and return
// kParse (not JSON) or kInvalidArgument (wrong shape) without ever crashing, so they can be fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/merkle.h"
#include "tcc/chain/types.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::chain {

inline constexpr std::string_view kEvidenceLeafTag = "tcc/evidence-leaf/v1";
inline constexpr std::string_view kClosingLeafTag = "tcc/closing-leaf/v1";
inline constexpr std::string_view kEvidenceBundleFormat = "tcc-evidence-bundle/1";
// A tree of up to 2^53 - 1 leaves (JSON-safe integers) has paths of at most 53 hashes.
inline constexpr std::size_t kMaxInclusionPath = 64;

// What a leaf commits: a TSC, or a channel's closing record.
enum class EvidenceKind : std::uint8_t { kTsc = 0, kClosing = 1 };
std::string_view EvidenceKindName(EvidenceKind kind);  // "tsc", "closing"

// What one leaf commits to. kTsc: the TSC with hash `tsc_hash` is number `seq` of channel
// `channel_id`. kClosing: `tsc_hash` is the hash of the closing record of channel `channel_id`
// whose last TSC is `seq` (the record's hash, not a TSC's; the name stays for the common case).
// A channel has at most one closing item, so (channel, seq, kind) names an item.
struct EvidenceItem {
  std::string channel_id;
  std::uint64_t seq = 0;
  Hash256 tsc_hash{};
  EvidenceKind kind = EvidenceKind::kTsc;

  friend bool operator==(const EvidenceItem&, const EvidenceItem&) = default;
};

// kInvalidArgument if the channel id is not a valid id (types.h).
Result<Hash256> EvidenceLeaf(const EvidenceItem& item);

struct EvidenceBundle {
  EvidenceItem item;
  Hash256 leaf{};
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<Hash256> path;  // RFC 9162 inclusion path, leaf side first
  Hash256 root{};
  std::string batch_id;
  ChainReceipt receipt;

  friend bool operator==(const EvidenceBundle&, const EvidenceBundle&) = default;
};

// A receipt's JSON form, as in a bundle: {adapter, height, [tx], blockHash, timeMs}; read strictly
// and checked with ValidateReceipt (tccd's chain requests send receipts in the same form).
Json ChainReceiptToJson(const ChainReceipt& receipt);
Result<ChainReceipt> ChainReceiptFromJson(const Json& json);

Json EvidenceBundleToJson(const EvidenceBundle& bundle);
Result<EvidenceBundle> EvidenceBundleFromJson(const Json& json);
// Text forms: compact JSON out; in, any JSON text up to 1 MiB.
std::string SerializeEvidenceBundle(const EvidenceBundle& bundle);
Result<EvidenceBundle> ParseEvidenceBundle(std::string_view text);

// Offline: the leaf is the item's leaf and the path leads from it to the root.
// kVerificationFailed says which check failed.
Status VerifyEvidenceBundle(const EvidenceBundle& bundle);
// Offline checks, then the chain: the batch is anchored with this root and tree size, in the block
// the receipt names. Returns the chain's anchor record.
Result<Recorded<BatchAnchor>> VerifyEvidenceBundleOnChain(const EvidenceBundle& bundle,
                                                          ChainAdapter& adapter);

class EvidenceBatch {
 public:
  const std::string& batch_id() const { return batch_id_; }
  const Hash256& root() const { return tree_.root(); }
  std::uint64_t size() const { return tree_.size(); }
  const std::vector<EvidenceItem>& items() const { return items_; }
  // What to pass to ChainAdapter::Anchor.
  BatchAnchor anchor() const { return BatchAnchor{batch_id_, root(), size()}; }
  // The bundle for items()[index], given the receipt Anchor returned.
  Result<EvidenceBundle> Bundle(std::size_t index, const ChainReceipt& receipt) const;

 private:
  friend class EvidenceBatchBuilder;
  EvidenceBatch(std::string batch_id, std::vector<EvidenceItem> items, std::vector<Hash256> leaves);

  std::string batch_id_;
  std::vector<EvidenceItem> items_;
  std::vector<Hash256> leaves_;
  MerkleTree tree_;
};

class EvidenceBatchBuilder {
 public:
  // Returns the item's index in the batch being built.
  Result<std::size_t> Add(EvidenceItem item);
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  // Builds the tree over everything added so far and leaves the builder empty. kInvalidArgument
  // for an invalid batch id or an empty builder (then nothing is consumed).
  Result<EvidenceBatch> Build(std::string batch_id);

 private:
  std::vector<EvidenceItem> items_;
  std::vector<Hash256> leaves_;
};

}  // namespace tcc::chain
