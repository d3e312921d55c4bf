// RFC 9162 Merkle trees and inclusion proofs (tcc/chain/merkle.h), driven by raw bytes.
//
// Input layout: byte 0 picks a tree size n in 1..128; the following bytes seed the leaves; an
// optional tail is decoded as a hostile proof (u64 index, u64 tree size, 32-byte hashes) and fed
// to the verifier. Properties: for every index of a tree, its proof verifies against the root,
// RootFromInclusionProof recomputes the root, and the proof fails for any other index or
// tree size, or with a sibling changed; MerkleRoot equals the tree's root; hostile proofs never
// crash and are accepted only when they really lead to the root.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "fuzz_support.h"
#include "tcc/chain/merkle.h"

namespace {

std::uint64_t ReadU64(const std::uint8_t* data) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | data[i];
  return value;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc;
  if (size < 2) return 0;
  const std::size_t leaf_count = std::size_t{data[0]} % 128 + 1;
  const std::size_t seed_bytes = std::min<std::size_t>(size - 1, 64);
  std::vector<chain::Hash256> leaves;
  leaves.reserve(leaf_count);
  for (std::size_t i = 0; i < leaf_count; ++i) {
    // Each leaf: the seed bytes plus its index, so leaves differ but depend on the input.
    std::vector<std::uint8_t> content(data + 1, data + 1 + seed_bytes);
    content.push_back(static_cast<std::uint8_t>(i));
    content.push_back(static_cast<std::uint8_t>(i >> 8));
    leaves.push_back(chain::MerkleLeafHash(content));
  }
  const chain::MerkleTree tree(leaves);
  fuzz::Require(tree.size() == leaf_count, "tree size");
  fuzz::Require(chain::MerkleRoot(leaves) == tree.root(), "MerkleRoot differs from MerkleTree");
  const std::uint64_t size64 = leaf_count;
  for (std::uint64_t index = 0; index < size64; ++index) {
    auto path = fuzz::Expect(tree.InclusionProof(index), "inclusion proof");
    fuzz::Require(chain::VerifyInclusion(leaves[index], index, size64, path, tree.root()).ok(),
                  "a tree's own proof does not verify");
    auto root = chain::RootFromInclusionProof(leaves[index], index, size64, path);
    fuzz::Require(root.ok() && *root == tree.root(), "RootFromInclusionProof differs");
    const std::uint64_t other = (index + 1 + data[1]) % size64;
    if (other != index) {
      fuzz::Require(!chain::VerifyInclusion(leaves[index], other, size64, path, tree.root()).ok(),
                    "a proof verifies at another index");
    }
    if (!path.empty()) {
      auto tampered = path;
      tampered[index % tampered.size()][data[1] % 32] ^= 0x01;
      fuzz::Require(!chain::VerifyInclusion(leaves[index], index, size64, tampered, tree.root()).ok(),
                    "a tampered proof verifies");
    }
  }
  fuzz::Require(!tree.InclusionProof(size64).ok(), "a proof for an index past the end");

  // A hostile proof from the rest of the input.
  const std::size_t tail = 1 + seed_bytes;
  if (size >= tail + 16) {
    const std::uint64_t index = ReadU64(data + tail);
    const std::uint64_t claimed_size = ReadU64(data + tail + 8);
    std::vector<chain::Hash256> path;
    for (std::size_t at = tail + 16; at + 32 <= size; at += 32) {
      chain::Hash256 hash;
      std::memcpy(hash.data(), data + at, 32);
      path.push_back(hash);
    }
    const chain::Hash256& leaf = leaves[index % leaf_count];
    auto root = chain::RootFromInclusionProof(leaf, index, claimed_size, path);
    const bool accepted = chain::VerifyInclusion(leaf, index, claimed_size, path, tree.root()).ok();
    fuzz::Require(!accepted || (root.ok() && *root == tree.root()), "a proof accepted for another root");
    if (accepted && claimed_size == size64 && index < size64) {
      fuzz::Require(path == fuzz::Expect(tree.InclusionProof(index), "proof"),
                    "two different proofs for one leaf of one tree");
    }
  }
  return 0;
}
