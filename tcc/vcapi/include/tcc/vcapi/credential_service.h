// CredentialService: what the VC-API endpoint does, without the HTTP: verify a credential, issue
// one with the issuer key (never the TCC's settlement key; tccd refuses that), find a TSC's
// anchored evidence, and describe the TCC's identity. The HTTP server (server.h) only moves bytes
// and maps error codes to status codes; tests and benchmarks call the service directly to compare
// in-process and over-HTTP rates.
//
// Verification of any VC 2.0 credential: its shape, validity period (validFrom/validUntil, with
// clock skew), every eddsa-jcs-2022 proof, and that each proof's verification method belongs to the
// issuer (did:key locally, other DIDs through the resolver: on chain in tccd). A TIC is also
// checked against the TIT it names; a TSC against the TST it names (template reference and claim
// schema) and the parties' joint proof inside its claim (vc::VerifyTic / vc::VerifyTsc). When
// asked, a TSC's anchored evidence is checked too: the bundle this TCC stored for it, the hash
// chain from the TSC to the anchored leaf, the Merkle path, and the anchor on chain.
//
// Error codes (the server maps them to HTTP): kInvalidArgument / kParse for a malformed request,
// kVerificationFailed for a credential that does not verify, kNotFound for unknown evidence,
// kUnavailable when the chain or store cannot answer now, kInternal for bugs.
//
// Issuing refuses TICs and TSCs (by type, or by naming a TCC claim template), whatever the key:
// those credentials come only from a trade's parties and the TCC's settlement pipeline.
//
// Ownership: the service owns the issuer key and shares the resolver, chain adapter and evidence
// source. Thread-safe: every method may run on many threads at once (the parts it shares must be
// thread-safe, as every tcc resolver, adapter and store is).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/common/time.h"
#include "tcc/did/document.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/template.h"

namespace tcc::vcapi {

// A TSC this TCC issued, with the anchored evidence that commits to it.
struct StoredEvidence {
  std::string channel_id;
  std::uint64_t seq = 0;
  chain::EvidenceBundle bundle;  // the anchored leaf: this TSC's own, or a later TSC's of the channel
  std::vector<Json> links;       // the TSCs seq+1 .. bundle.item.seq (empty when the leaf is its own)
};

// The daemon's store, as far as the VC-API reads it. Implementations must be thread-safe and must
// not block on the daemon's writer for long (reads of a consistent store state).
class EvidenceSource {
 public:
  virtual ~EvidenceSource() = default;
  // `tsc_hash` is 64 lowercase hex digits (vc::CredentialHash). kNotFound when this TCC issued no
  // such TSC; nullopt while no anchored leaf commits to it yet.
  virtual Result<std::optional<StoredEvidence>> FindEvidence(std::string_view tsc_hash) = 0;
  // Whether the store takes writes now (GET /healthz); kUnavailable says why not.
  virtual Status Health() { return OkStatus(); }
};

// Looks a template version up (tccd's cached chain registry). Must be thread-safe; kNotFound when
// the version is not published.
using TemplateLookup =
    std::function<Result<std::shared_ptr<const vc::Template>>(const std::string& id, std::uint32_t version)>;

struct VerifyOptions {
  bool check_evidence = false;  // TSCs only: the anchored evidence, on chain
};

struct Verification {
  std::string kind;  // "TransactionSettlementCredential", "TransactionInitiationCredential" or "VerifiableCredential"
  std::string issuer;
  std::vector<std::string> checks;  // what was checked, in order
  Json evidence;                    // null unless checked: anchored seq, batch, root, height
};

class CredentialService {
 public:
  struct Parts {
    did::DidDocument identity;  // the TCC's DID document (GET /identity)
    std::optional<did::KeyPair> issuer_key;  // signs issued credentials; none: issuing is off
    std::shared_ptr<did::Resolver> resolver;
    TemplateLookup templates;
    std::shared_ptr<chain::ChainAdapter> chain;  // may be null: evidence checks are then kUnavailable
    std::shared_ptr<EvidenceSource> evidence;    // may be null: likewise
  };
  explicit CredentialService(Parts parts);

  // The issuer key's did:key; empty when issuing is off.
  const std::string& issuer_did() const { return issuer_did_; }

  // The credential-level operations.
  Result<Verification> VerifyCredential(const Json& credential, const VerifyOptions& options) const;
  // kPermissionDenied without an issuer key; kInvalidArgument for a TIC, a TSC or an invalid
  // credential.
  Result<Json> IssueCredential(Json credential) const;

  // The request bodies of the VC API, strictly read (unknown members are kInvalidArgument):
  // {"verifiableCredential": VC, "options": {"checks": [...]}} -> {"verified": true, "checks", ...}
  Result<Json> HandleVerify(const Json& request) const;
  // {"credential": {...}, "options": {}} -> {"verifiableCredential": VC}
  Result<Json> HandleIssue(const Json& request) const;
  // GET /evidence/{tsc-hash}: {"tscHash", "channel", "seq", "anchoredSeq", "bundle", "linkingCredentials"}.
  Result<Json> HandleEvidence(std::string_view tsc_hash) const;
  // GET /identity: the DID document.
  Json HandleIdentity() const;
  // GET /healthz: {"status": "ready"|"degraded", "reasons": [...], "checks": {"store", "chain"}},
  // drawn from the evidence source (the store takes writes) and the chain adapter (it answers).
  // `ready` is false when degraded. May block on the chain adapter's round trip.
  struct Health {
    bool ready = false;
    Json body;
  };
  Health HandleHealth() const;

 private:
  Result<Json> CheckEvidence(const Json& tsc) const;

  Parts parts_;
  std::string issuer_did_;
};

}  // namespace tcc::vcapi
