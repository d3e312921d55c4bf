// W3C Verifiable Credentials Data Model 2.0: shape checks, issuance and verification.
//
// IssueCredential() fills `issuer` from the key when absent, checks the VC 2.0 shape and adds an
// eddsa-jcs-2022 assertion proof by the issuer. VerifyCredential() checks the shape, the validity
// period, and that every proof verifies and was made with a verification method the issuer
// controls. Stateless and thread-safe (given a thread-safe resolver).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/sha256.h"
#include "tcc/common/time.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/data_integrity.h"

namespace tcc::vc {

inline constexpr std::string_view kCredentialsV2Context = "https://www.w3.org/ns/credentials/v2";

// VC 2.0 structure: @context (credentials v2 first), type with VerifiableCredential, issuer
// (URL or object with id), credentialSubject, optional id, validFrom/validUntil (date-time, in
// order), credentialSchema (objects with id and type). Proofs are not checked here.
Status CheckCredentialShape(const Json& credential);
// Whether the credential's `type` (a string or an array of strings) includes `type`.
bool HasCredentialType(const Json& credential, std::string_view type);
// The issuer's id, from a string or an object issuer.
Result<std::string> IssuerId(const Json& credential);

struct IssueOptions {
  std::string created;              // proof creation time; empty means now
  std::string verification_method;  // empty means the key's did:key method
};

Result<Json> IssueCredential(Json credential, const did::KeyPair& key, const IssueOptions& options = {});

// An issued credential as text: what canonicalizing IssueCredential's result gives, built by
// splicing the proof into the canonical text that was signed instead of canonicalizing twice.
struct CanonicalCredential {
  std::string text;     // JCS of the issued credential, proof included
  Sha256Digest digest;  // SHA-256(text), the credential's hash (CredentialDigest)
  // Where text holds the canonical value of credentialSubject: a joint claim's replay hash is
  // the SHA-256 of that span (see SubjectDigest).
  std::size_t subject_begin = 0;
  std::size_t subject_end = 0;
  Sha256Digest SubjectDigest() const;
};
Result<CanonicalCredential> IssueCanonicalCredential(Json credential, const did::KeyPair& key,
                                                     const IssueOptions& options = {});

struct CredentialVerifyOptions {
  Timestamp now = NowSeconds();
  std::chrono::seconds max_clock_skew{300};
  bool check_validity_period = true;
};

struct VerifiedCredential {
  std::string issuer;
  std::vector<VerifiedProof> proofs;
};

Result<VerifiedCredential> VerifyCredential(const Json& credential, did::Resolver& resolver,
                                            const CredentialVerifyOptions& options = {});

}  // namespace tcc::vc
