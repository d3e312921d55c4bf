// Data Integrity proofs with the eddsa-jcs-2022 cryptosuite (W3C "Data Integrity EdDSA
// Cryptosuites v1.0", section 3.3).
//
// A proof signs SHA-256(JCS(proof config)) || SHA-256(JCS(document without "proof")) with Ed25519.
// A document may carry one proof (an object) or a proof set (an array); every proof in a set signs
// the same document independently, which is how the two parties jointly sign a settlement claim.
// Verifying a set canonicalizes the unsecured document (without "proof") once per distinct proof
// @context, never per proof, so a proof's cost does not grow with the size of its set; and a set
// larger than ProofVerifyOptions::max_proofs is refused before any proof is looked at.
// The functions below are stateless and thread-safe; the resolver passed to verification must be
// thread-safe itself if shared (all tcc::did resolvers are).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/sha256.h"
#include "tcc/common/time.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"

namespace tcc::vc {

inline constexpr std::string_view kProofType = "DataIntegrityProof";
inline constexpr std::string_view kCryptosuite = "eddsa-jcs-2022";
// TCC's documents carry one proof (credentials) or two (a settlement claim's parties); a few more
// leave room for other issuers' co-signatures.
inline constexpr std::size_t kDefaultMaxProofs = 8;

struct ProofOptions {
  std::string verification_method;  // DID URL of the signing key; must resolve to `key`
  std::string proof_purpose = "assertionMethod";
  std::string created;  // RFC 3339 text, signed as given; empty means now (whole seconds)
  std::optional<std::string> expires;
  std::optional<std::string> challenge;  // for authentication proofs
  std::optional<std::string> domain;
};

// The proof object for `document` (any "proof" member it has is not signed over).
Result<Json> CreateProof(const Json& document, const did::KeyPair& key, const ProofOptions& options);
// CreateProof for a caller that already has `unsecured_hash`, SHA-256(JCS(document without
// "proof")): an issuer that splices the proof into that text and hashes the two texts' common
// prefix once.
Result<Json> CreateProofOver(const Json& document, const Sha256Digest& unsecured_hash,
                             const did::KeyPair& key, const ProofOptions& options);
// Signs `document` and attaches the proof; an existing proof becomes a proof set.
Status AddProof(Json& document, const did::KeyPair& key, const ProofOptions& options);

struct VerifiedProof {
  std::string verification_method;
  std::string controller;  // the DID whose document authorizes the method
  std::string proof_purpose;
  Timestamp created;
};

struct ProofVerifyOptions {
  std::string expected_purpose = "assertionMethod";
  Timestamp now = NowSeconds();
  // `created` may lie this far in the future (clocks of different hosts disagree).
  std::chrono::seconds max_clock_skew{300};
  std::optional<std::string> expected_challenge;
  std::optional<std::string> expected_domain;
  // A document with more proofs fails at once: each proof costs a key resolution and a signature
  // check, and a megabyte of JSON holds thousands of them.
  std::size_t max_proofs = kDefaultMaxProofs;
  // The Ed25519 check; null is did::VerifySignature. tccd's settlement path passes a faster one
  // held to the same acceptance rules (tcc/controller/src/ed25519_verifier.h).
  bool (*verify_signature)(const did::PublicKey& public_key, ByteView message,
                           ByteView signature) = nullptr;
};

// Verifies every proof on `document`. Succeeds only if there is at least one proof, at most
// `max_proofs`, and all of them verify; otherwise the error says which proof failed and why.
Result<std::vector<VerifiedProof>> VerifyProofs(const Json& document, did::Resolver& resolver,
                                                const ProofVerifyOptions& options = {});

}  // namespace tcc::vc
