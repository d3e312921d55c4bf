// Values that cross the chain-adapter boundary: what gets recorded on chain and the receipts the
// chain hands back.
//
// The adapter sees identifiers, hashes and opaque bytes only: a DID document, a template or a TIC
// is a byte string keyed by its id, never a parsed credential object (docs/design.md,
// "Allowed dependencies": `common <- chain`).
// Recorded<T> pairs a value with the receipt of the block that holds it. All types are plain
// values with no shared state; the Validate* functions are pure and thread-safe. Every adapter
// runs the same Validate* checks before it touches the chain, so bad input gets the same clear
// kInvalidArgument error whichever chain sits behind the interface.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"
#include "tcc/common/sha256.h"

namespace tcc::chain {

using Hash256 = Sha256Digest;

// Limits every adapter enforces, so a record accepted by one chain fits every other.
inline constexpr std::size_t kMaxIdBytes = 256;              // DIDs, template/TIC/batch ids
inline constexpr std::size_t kMaxDocumentBytes = 1u << 20;   // DID documents, templates, TICs
inline constexpr std::size_t kMaxAdapterNameBytes = 64;
inline constexpr std::size_t kMaxTransactionIdBytes = 256;

// Where and when a chain accepted a write. `tx` is adapter-specific: the entry hash (hex) for the
// embedded ledger, the 0x-prefixed transaction hash on an EVM chain.
struct ChainReceipt {
  std::string adapter;
  std::uint64_t height = 0;
  std::string tx;
  Hash256 block_hash{};
  std::uint64_t timestamp_ms = 0;  // block time, milliseconds since the Unix epoch

  friend bool operator==(const ChainReceipt&, const ChainReceipt&) = default;
};

// One version of a DID document. Version 1 is the registration; each update adds one.
struct DidDocumentVersion {
  std::string did;
  std::uint64_t version = 0;
  Bytes document;

  friend bool operator==(const DidDocumentVersion&, const DidDocumentVersion&) = default;
};

// One published version of a TIT or TST. `owner_did` is the DID the caller authenticated; the
// first version of an id fixes its owner. `content_hash` must be SHA-256(content): it lets the
// chain check that the bytes it stores are the bytes the publisher hashed.
struct TemplateVersion {
  std::string id;
  std::uint64_t version = 0;
  std::string owner_did;
  Bytes content;
  Hash256 content_hash{};

  friend bool operator==(const TemplateVersion&, const TemplateVersion&) = default;
};

// A recorded Transaction Initiation Credential, kept as bytes, with the DID of the TCC it names
// (the TCC that must open the channel).
struct TicDocument {
  std::string tic_id;
  std::string tcc_did;
  Bytes content;

  friend bool operator==(const TicDocument&, const TicDocument&) = default;
};

// One anchored evidence batch: the Merkle root over `leaf_count` evidence leaves.
struct BatchAnchor {
  std::string batch_id;
  Hash256 root{};
  std::uint64_t leaf_count = 0;

  friend bool operator==(const BatchAnchor&, const BatchAnchor&) = default;
};

template <typename T>
struct Recorded {
  T value;
  ChainReceipt receipt;

  friend bool operator==(const Recorded&, const Recorded&) = default;
};

// Identifiers (DIDs, template/TIC/batch ids): 1..kMaxIdBytes of printable ASCII, no spaces.
// `what` names the field in the error message.
Status ValidateId(std::string_view id, std::string_view what);
Status ValidateDocument(ByteView document, std::string_view what);
Status ValidateTemplateVersion(const TemplateVersion& version);
Status ValidateTicDocument(const TicDocument& tic);
Status ValidateBatchAnchor(const BatchAnchor& anchor);
Status ValidateReceipt(const ChainReceipt& receipt);

}  // namespace tcc::chain
