#include "tcc/chain/merkle.h"

#include <cstring>
#include <string>
#include <utility>

#include "tcc/common/sha256.h"

namespace tcc::chain {

Hash256 MerkleLeafHash(ByteView leaf) {
  thread_local Sha256Hasher hasher;
  static constexpr std::uint8_t kLeafPrefix[1] = {0x00};
  hasher.Update(ByteView(kLeafPrefix, 1)).Update(leaf);
  return hasher.Finish();
}

Hash256 MerkleNodeHash(const Hash256& left, const Hash256& right) {
  std::uint8_t buffer[1 + 2 * 32];
  buffer[0] = 0x01;
  std::memcpy(buffer + 1, left.data(), 32);
  std::memcpy(buffer + 33, right.data(), 32);
  return Sha256(ByteView(buffer, sizeof(buffer)));
}

Hash256 MerkleRoot(std::span<const Hash256> leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256(ByteView());
  // Same level-by-level reduction as MerkleTree, in one scratch buffer.
  std::vector<Hash256> level(leaf_hashes.begin(), leaf_hashes.end());
  while (level.size() > 1) {
    std::size_t out = 0;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      level[out++] = MerkleNodeHash(level[i], level[i + 1]);
    }
    if (level.size() % 2 == 1) level[out++] = level.back();
    level.resize(out);
  }
  return level.front();
}

MerkleTree::MerkleTree(std::vector<Hash256> leaf_hashes) {
  levels_.push_back(std::move(leaf_hashes));
  if (levels_.front().empty()) {
    root_ = Sha256(ByteView());
    return;
  }
  while (levels_.back().size() > 1) {
    const std::vector<Hash256>& below = levels_.back();
    std::vector<Hash256> above;
    above.reserve((below.size() + 1) / 2);
    for (std::size_t i = 0; i + 1 < below.size(); i += 2) {
      above.push_back(MerkleNodeHash(below[i], below[i + 1]));
    }
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
  root_ = levels_.back().front();
}

Result<std::vector<Hash256>> MerkleTree::InclusionProof(std::uint64_t index) const {
  if (index >= size()) {
    return Error(ErrorCode::kInvalidArgument, "leaf index " + std::to_string(index) +
                                                  " is outside a tree of " +
                                                  std::to_string(size()) + " leaves");
  }
  std::vector<Hash256> path;
  std::size_t position = index;
  for (std::size_t level = 0; level + 1 < levels_.size(); ++level) {
    const std::vector<Hash256>& nodes = levels_[level];
    std::size_t sibling = position ^ 1;
    if (sibling < nodes.size()) path.push_back(nodes[sibling]);
    position >>= 1;
  }
  return path;
}

Result<Hash256> RootFromInclusionProof(const Hash256& leaf_hash, std::uint64_t index,
                                       std::uint64_t tree_size, std::span<const Hash256> path) {
  if (index >= tree_size) {
    return Error(ErrorCode::kVerificationFailed,
                 "leaf index " + std::to_string(index) + " is not below tree size " +
                     std::to_string(tree_size));
  }
  // RFC 9162 section 2.1.3.2, step by step.
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Hash256 r = leaf_hash;
  for (const Hash256& p : path) {
    if (sn == 0) {
      return Error(ErrorCode::kVerificationFailed, "inclusion path is longer than the tree allows");
    }
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return Error(ErrorCode::kVerificationFailed, "inclusion path is shorter than the tree needs");
  }
  return r;
}

Status VerifyInclusion(const Hash256& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                       std::span<const Hash256> path, const Hash256& root) {
  TCC_ASSIGN_OR_RETURN(Hash256 computed, RootFromInclusionProof(leaf_hash, index, tree_size, path));
  if (computed != root) {
    return Error(ErrorCode::kVerificationFailed,
                 "inclusion path leads to root " + HexEncode(computed) + ", not " + HexEncode(root));
  }
  return OkStatus();
}

}  // namespace tcc::chain
