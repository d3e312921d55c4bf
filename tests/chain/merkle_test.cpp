#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "tcc/chain/merkle.h"
#include "tcc/common/sha256.h"

namespace tcc::chain {
namespace {

// RFC 9162 section 2.1.1 and 2.1.3.1 written out literally, as an independent reference.
std::size_t LargestPowerOfTwoBelow(std::size_t n) {
  std::size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash256 ReferenceHash(const std::vector<Bytes>& d, std::size_t begin, std::size_t end) {
  std::size_t n = end - begin;
  if (n == 0) return Sha256(ByteView());
  if (n == 1) {
    Bytes input{0x00};
    input.insert(input.end(), d[begin].begin(), d[begin].end());
    return Sha256(input);
  }
  std::size_t k = LargestPowerOfTwoBelow(n);
  Hash256 left = ReferenceHash(d, begin, begin + k);
  Hash256 right = ReferenceHash(d, begin + k, end);
  Bytes input{0x01};
  input.insert(input.end(), left.begin(), left.end());
  input.insert(input.end(), right.begin(), right.end());
  return Sha256(input);
}

std::vector<Hash256> ReferencePath(const std::vector<Bytes>& d, std::size_t m, std::size_t begin,
                                   std::size_t end) {
  std::size_t n = end - begin;
  if (n == 1) return {};
  std::size_t k = LargestPowerOfTwoBelow(n);
  std::vector<Hash256> path;
  if (m < k) {
    path = ReferencePath(d, m, begin, begin + k);
    path.push_back(ReferenceHash(d, begin + k, end));
  } else {
    path = ReferencePath(d, m - k, begin + k, end);
    path.push_back(ReferenceHash(d, begin, begin + k));
  }
  return path;
}

std::vector<Bytes> Leaves(std::size_t n) {
  std::vector<Bytes> leaves;
  for (std::size_t i = 0; i < n; ++i) {
    Bytes leaf(8 + i % 5, std::uint8_t(i));
    for (int b = 0; b < 8; ++b) leaf[b] = std::uint8_t(i >> (8 * b));
    leaves.push_back(leaf);
  }
  return leaves;
}

MerkleTree TreeOf(const std::vector<Bytes>& leaves) {
  std::vector<Hash256> hashes;
  for (const Bytes& leaf : leaves) hashes.push_back(MerkleLeafHash(leaf));
  return MerkleTree(std::move(hashes));
}

void CheckSize(std::size_t n, const std::vector<std::size_t>& reference_indices) {
  std::vector<Bytes> leaves = Leaves(n);
  MerkleTree tree = TreeOf(leaves);
  Hash256 expected_root = ReferenceHash(leaves, 0, n);
  REQUIRE(tree.root() == expected_root);
  std::vector<Hash256> leaf_hashes;
  for (std::size_t i = 0; i < n; ++i) leaf_hashes.push_back(tree.leaf_hash(i));
  REQUIRE(MerkleRoot(leaf_hashes) == expected_root);
  for (std::size_t i = 0; i < n; ++i) {
    auto path = tree.InclusionProof(i);
    REQUIRE(path.ok());
    Status verified = VerifyInclusion(tree.leaf_hash(i), i, n, *path, tree.root());
    REQUIRE_MESSAGE(verified.ok(), "size " << n << " index " << i);
  }
  for (std::size_t i : reference_indices) {
    if (i >= n) continue;
    REQUIRE_MESSAGE(tree.InclusionProof(i).value() == ReferencePath(leaves, i, 0, n),
                    "size " << n << " index " << i);
  }
}

TEST_CASE("Merkle roots and inclusion proofs match the RFC 9162 reference for sizes 1..300") {
  for (std::size_t n = 1; n <= 300; ++n) {
    CheckSize(n, {0, 1, n / 2, n - 2, n - 1});
  }
}

TEST_CASE("Merkle trees up to 10,000 leaves, including odd and power-of-two sizes") {
  std::mt19937_64 random(9162);
  std::vector<std::size_t> sizes = {511, 512, 513, 1023, 1024, 1025, 4095, 4097, 9999, 10000};
  for (int i = 0; i < 10; ++i) sizes.push_back(301 + random() % 9700);
  for (std::size_t n : sizes) {
    CheckSize(n, {0, n - 1, std::size_t(random() % n), std::size_t(random() % n)});
  }
}

TEST_CASE("empty tree root is SHA-256 of nothing and proofs outside the tree are refused") {
  MerkleTree empty({});
  CHECK(empty.root() == Sha256(ByteView()));
  CHECK(MerkleRoot({}) == Sha256(ByteView()));
  CHECK(empty.InclusionProof(0).error().code() == ErrorCode::kInvalidArgument);
  MerkleTree three = TreeOf(Leaves(3));
  CHECK(three.InclusionProof(3).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("tampered inclusion proofs are rejected") {
  for (std::size_t n : {2u, 3u, 7u, 8u, 100u, 257u}) {
    std::vector<Bytes> leaves = Leaves(n);
    MerkleTree tree = TreeOf(leaves);
    for (std::size_t i = 0; i < n; i += (n > 10 ? 13 : 1)) {
      std::vector<Hash256> path = tree.InclusionProof(i).value();
      const Hash256& leaf = tree.leaf_hash(i);
      REQUIRE(VerifyInclusion(leaf, i, n, path, tree.root()).ok());
      for (std::size_t step = 0; step < path.size(); ++step) {
        std::vector<Hash256> bad = path;
        bad[step][step % 32] ^= 0x01;
        CHECK(VerifyInclusion(leaf, i, n, bad, tree.root()).error().code() ==
              ErrorCode::kVerificationFailed);
      }
      Hash256 other_leaf = leaf;
      other_leaf[0] ^= 0x80;
      CHECK_FALSE(VerifyInclusion(other_leaf, i, n, path, tree.root()).ok());
      Hash256 other_root = tree.root();
      other_root[31] ^= 0x01;
      CHECK_FALSE(VerifyInclusion(leaf, i, n, path, other_root).ok());
      CHECK_FALSE(VerifyInclusion(leaf, (i + 1) % n, n, path, tree.root()).ok());
      CHECK_FALSE(VerifyInclusion(leaf, n, n, path, tree.root()).ok());
      CHECK_FALSE(VerifyInclusion(leaf, i, 0, path, tree.root()).ok());
      std::vector<Hash256> longer = path;
      longer.push_back(tree.root());
      CHECK_FALSE(VerifyInclusion(leaf, i, n, longer, tree.root()).ok());
      if (!path.empty()) {
        std::vector<Hash256> shorter(path.begin(), path.end() - 1);
        CHECK_FALSE(VerifyInclusion(leaf, i, n, shorter, tree.root()).ok());
      }
    }
  }
}

}  // namespace
}  // namespace tcc::chain
