// Merkle trees as RFC 9162 (Certificate Transparency 2.0) section 2.1 defines them.
//
// Leaf hash = SHA-256(0x00 || leaf), node hash = SHA-256(0x01 || left || right); a tree of n > 1
// leaves splits at the largest power of two smaller than n. Inclusion proofs list sibling hashes
// from the leaf up to the root, and VerifyInclusion is the algorithm of RFC 9162 2.1.3.2.
//
// MerkleTree keeps every level, so it owns about two hashes per leaf and answers proofs in
// O(log n). It is immutable after construction: concurrent reads are safe. The free functions are
// pure and thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "tcc/chain/types.h"
#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc::chain {

Hash256 MerkleLeafHash(ByteView leaf);
Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right);

// Root over already-hashed leaves (MerkleLeafHash). The empty tree's root is SHA-256("").
Hash256 MerkleRoot(std::span<const Hash256> leaf_hashes);

class MerkleTree {
 public:
  explicit MerkleTree(std::vector<Hash256> leaf_hashes);

  std::uint64_t size() const { return levels_.front().size(); }
  const Hash256& root() const { return root_; }
  const Hash256& leaf_hash(std::size_t index) const { return levels_.front()[index]; }

  // Audit path for the leaf at `index`, leaf-side first. kInvalidArgument if index >= size().
  Result<std::vector<Hash256>> InclusionProof(std::uint64_t index) const;

 private:
  // levels_[0] holds the leaf hashes; an unpaired last node is carried up unchanged, which yields
  // exactly RFC 9162's split at the largest power of two.
  std::vector<std::vector<Hash256>> levels_;
  Hash256 root_{};
};

// The root that `path` proves for `leaf_hash` at `index` in a tree of `tree_size` leaves, or
// kVerificationFailed if the path cannot belong to such a tree (wrong length, index >= size).
Result<Hash256> RootFromInclusionProof(const Hash256& leaf_hash, std::uint64_t index,
                                       std::uint64_t tree_size, std::span<const Hash256> path);

// OK when `path` proves `leaf_hash` at `index` in the tree of `tree_size` leaves with `root`.
Status VerifyInclusion(const Hash256& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                       std::span<const Hash256> path, const Hash256& root);

}  // namespace tcc::chain
