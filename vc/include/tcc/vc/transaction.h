// The credentials of a trade: TIC (Transaction Initiation Credential) and TSC (Transaction
// Settlement Credential), built on templates (tcc/vc/template.h) and eddsa-jcs-2022 proofs.
//
// TIC: the consumer applies with a claim per the provider's TIT; the provider checks it and issues
// the TIC (issuer = provider DID, credentialSchema = the TIT id, version and content hash). The
// TIC's hash (SHA-256 of its JCS form, hex) is the channel id.
//
// TSC: each period the provider proposes a settlement claim per the TST, carrying `channel`,
// `seq` and `prev` (the hash of the previous TSC of the channel, or of the TIC for seq 1), and signs
// it; the consumer checks and co-signs it, so the claim carries a proof set of two (C_proof). The
// TCC verifies the joint claim and issues the TSC (issuer = TCC DID, credentialSchema = the TST,
// credentialSubject = the joint claim, its own proof on top).
//
// All functions are stateless and thread-safe (given a thread-safe resolver).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/sha256.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/template.h"

namespace tcc::vc {

inline constexpr std::string_view kTicType = "TransactionInitiationCredential";
inline constexpr std::string_view kTscType = "TransactionSettlementCredential";
inline constexpr std::string_view kTemplateSchemaType = "TccClaimTemplate";
inline constexpr std::string_view kUndefinedTermsContext = "https://www.w3.org/ns/credentials/undefined-terms/v2";
// TICs and TSCs name their template in credentialSchema as {"id": "urn:tcc:template:<template id>",
// "type": "TccClaimTemplate", "name": "<template id>", "version", "contentHash"}: VC Data Model 2.0
// wants the id to be a URL. Credentials from before name the bare template id (no `name`); they
// are still read and verified.
inline constexpr std::string_view kTemplateUrnPrefix = "urn:tcc:template:";

// The template a TIC or TSC names in credentialSchema: {id, version}, the id without the URN prefix.
// kInvalidArgument when the credential names none, a URN's `name` is not its template id, or the
// version is not a positive 32-bit integer. Callers look the template
// up in their registry and then verify against it (VerifyTic / VerifyTsc check the content hash).
struct NamedTemplate {
  std::string id;
  std::uint32_t version = 0;
};
Result<NamedTemplate> ReadNamedTemplate(const Json& credential);

// Whether a credential presents itself as a TIC or TSC: kTicType or kTscType when its `type`
// names one, kTemplateSchemaType when only its credentialSchema names a TCC claim template;
// nullopt otherwise. Such a credential means what its type says only after VerifyTic / VerifyTsc
// (template, joint proof): a verifier that checks proofs alone must refuse it, and an issuer other
// than the trade's parties and TCC must not sign one.
std::optional<std::string_view> TradeCredentialKind(const Json& credential);

// Lowercase hex SHA-256 of the credential's JCS form: a TIC's hash is its channel id, a TSC's
// hash is what the next TSC's `prev` names and what evidence commits to.
Result<std::string> CredentialHash(const Json& credential);
// The same hash as a digest (CredentialHash is its hex), for evidence and the chain.
Result<Sha256Digest> CredentialDigest(const Json& credential);

// --- TIC ---

// The consumer's application: an unsigned credential whose subject is `claim`, checked against
// the TIT, naming the provider (claim.provider) as issuer.
Result<Json> ApplyForTic(const Template& tit, Json claim, std::string valid_from = {});
// The provider issues an application: re-checks it against the TIT, and that the key is the
// claim's provider. `created` as in IssueOptions.
Result<Json> IssueTic(Json application, const Template& tit, const did::KeyPair& provider_key,
                      const std::string& created = {});

struct VerifiedTic {
  std::string channel_id;  // CredentialHash of the TIC
  std::string provider;
  std::string consumer;
  std::string tst_id;  // from claim.tst (its id, without the urn:tcc:template: prefix), when the TIT names one
  std::uint32_t tst_version = 0;
};
Result<VerifiedTic> VerifyTic(const Json& tic, const Template& tit, did::Resolver& resolver,
                              const CredentialVerifyOptions& options = {});

// --- TSC ---

// The provider's proposal: `claim` with channel, seq and prev set, checked against the TST, signed
// by the provider key (which must be claim.provider).
Result<Json> ProposeSettlement(const Template& tst, Json claim, const did::KeyPair& provider_key,
                               const std::string& created = {});
// The consumer co-signs a proposal after checking it against the TST and the provider's proof; the
// key must be claim.consumer.
Result<Json> CosignSettlement(const Template& tst, Json proposal, const did::KeyPair& consumer_key,
                              did::Resolver& resolver, const std::string& created = {});

struct SettlementLink {
  std::string channel;
  std::uint64_t seq = 0;
  std::string prev;
};
// The claim's channel/seq/prev (type-checked; seq a positive integer).
Result<SettlementLink> ReadSettlementLink(const Json& claim);

// Checks a joint claim: valid per the TST (ignoring its proof member), exactly two proofs, by the
// claim's provider and consumer, both verifying.
Status VerifyJointClaim(const Json& claim, const Template& tst, did::Resolver& resolver,
                        const ProofVerifyOptions& options = {});

// The TCC issues a verified joint claim as a TSC. The caller has run VerifyJointClaim and the
// channel's sequence/hash-chain checks.
Result<Json> IssueTsc(Json joint_claim, const Template& tst, const did::KeyPair& tcc_key,
                      const std::string& created = {});
// IssueTsc as stored and sent: the TSC's canonical text and hash, and (SubjectDigest) the hash
// of the joint claim's canonical form, computed from the same text.
Result<CanonicalCredential> IssueCanonicalTsc(Json joint_claim, const Template& tst,
                                              const did::KeyPair& tcc_key,
                                              const std::string& created = {});

struct TscVerifyOptions {
  CredentialVerifyOptions credential;
  std::optional<std::string> expected_issuer;  // the TCC's DID
  std::optional<std::string> expected_prev;    // hash of the previous TSC (or the TIC)
};
// Both levels: the TCC's proof over the credential and the parties' joint proof over the claim,
// the TST (schema reference and claim validity), and, when given, the issuer and the hash link.
Result<SettlementLink> VerifyTsc(const Json& tsc, const Template& tst, did::Resolver& resolver,
                                 const TscVerifyOptions& options = {});

}  // namespace tcc::vc
