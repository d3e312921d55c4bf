#include "tcc/vcapi/credential_service.h"

#include <algorithm>
#include <set>

#include "tcc/common/bytes.h"
#include "tcc/common/json_object_reader.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/transaction.h"
#include "tcc/vcapi/tsc_evidence.h"

namespace tcc::vcapi {
namespace {

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }
Error Failed(std::string message) { return Error(ErrorCode::kVerificationFailed, std::move(message)); }

// Whatever is wrong with a credential makes it fail verification; only an unreachable dependency
// or a bug is something else (the client may retry those).
Error AsVerificationFailure(const Error& error, std::string_view context = {}) {
  if (error.code() == ErrorCode::kUnavailable || error.code() == ErrorCode::kInternal) {
    return context.empty() ? error : error.WithContext(context);
  }
  std::string message = context.empty() ? error.message() : std::string(context) + ": " + error.message();
  return Failed(std::move(message));
}

// The checks a verify request may name. All but "evidence" always run; naming them is harmless.
const std::set<std::string, std::less<>>& KnownChecks() {
  static const std::set<std::string, std::less<>> checks = {"proof", "issuer", "validityPeriod", "template",
                                                            "jointProof", "evidence"};
  return checks;
}

Status CheckMembers(const Json& object, std::string_view what, std::initializer_list<std::string_view> allowed) {
  for (const auto& [name, value] : object.as_object()) {
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
      return Invalid(std::string(what) + " has an unknown member \"" + name + "\"");
    }
  }
  return OkStatus();
}

Result<VerifyOptions> ReadVerifyOptions(const Json* options) {
  VerifyOptions read;
  if (options == nullptr) return read;
  if (!options->is_object()) return Invalid("options must be an object");
  TCC_RETURN_IF_ERROR(CheckMembers(*options, "options", {"checks"}));
  const Json* checks = options->Find("checks");
  if (checks == nullptr) return read;
  if (!checks->is_array()) return Invalid("options.checks must be an array of check names");
  for (const Json& check : checks->as_array()) {
    if (!check.is_string() || !KnownChecks().contains(check.as_string())) {
      return Invalid("options.checks: unknown check " + (check.is_string() ? "\"" + check.as_string() + "\"" : check.Serialize()) +
                     " (known: proof, issuer, validityPeriod, template, jointProof, evidence)");
    }
    if (check.as_string() == "evidence") read.check_evidence = true;
  }
  return read;
}

// TICs and TSCs carry a trade's authority: a verifier that recognises the type checks the template
// and, for a TSC, the parties' joint proof, but a generic one sees only a valid proof. The endpoint
// issues neither, so a token holder cannot mint one.
Status RefuseTradeCredential(const Json& credential) {
  const std::optional<std::string_view> kind = vc::TradeCredentialKind(credential);
  if (!kind) return OkStatus();
  if (*kind == vc::kTemplateSchemaType) {
    return Invalid("this endpoint does not issue credentials that name a " + std::string(*kind) +
                   " (TICs and TSCs)");
  }
  return Invalid("this endpoint does not issue " + std::string(*kind) +
                 "s: they come only from a trade's parties and the TCC's settlement pipeline");
}

Json Strings(const std::vector<std::string>& values) {
  Json array = Json::Array();
  for (const auto& value : values) array.PushBack(value);
  return array;
}

}  // namespace

CredentialService::CredentialService(Parts parts)
    : parts_(std::move(parts)),
      issuer_did_(parts_.issuer_key ? did::DidKeyFromPublicKey(parts_.issuer_key->public_key())
                                    : std::string()) {}

Result<Verification> CredentialService::VerifyCredential(const Json& credential, const VerifyOptions& options) const {
  if (!credential.is_object()) return Failed("the credential must be a JSON object");
  const bool is_tsc = vc::HasCredentialType(credential, vc::kTscType);
  const bool is_tic = !is_tsc && vc::HasCredentialType(credential, vc::kTicType);
  if (options.check_evidence && !is_tsc) {
    return Invalid("the evidence check applies to " + std::string(vc::kTscType) + "s only");
  }
  Verification result;
  result.checks = {"shape", "validityPeriod", "proof", "issuer"};
  const vc::CredentialVerifyOptions credential_options;  // now, default clock skew
  if (is_tsc || is_tic) {
    auto named = vc::ReadNamedTemplate(credential);
    if (!named.ok()) return AsVerificationFailure(named.error());
    auto found = parts_.templates(named->id, named->version);
    if (!found.ok()) {
      return AsVerificationFailure(found.error(), "template " + named->id + " version " + std::to_string(named->version));
    }
    const vc::Template& template_ = **found;
    if (is_tsc) {
      auto verified = vc::VerifyTsc(credential, template_, *parts_.resolver, {.credential = credential_options});
      if (!verified.ok()) return AsVerificationFailure(verified.error());
      result.kind = std::string(vc::kTscType);
      result.checks.insert(result.checks.end(), {"template", "jointProof"});
    } else {
      auto verified = vc::VerifyTic(credential, template_, *parts_.resolver, credential_options);
      if (!verified.ok()) return AsVerificationFailure(verified.error());
      result.kind = std::string(vc::kTicType);
      result.checks.push_back("template");
    }
    result.issuer = vc::IssuerId(credential).value();  // the shape check above read it
  } else {
    auto verified = vc::VerifyCredential(credential, *parts_.resolver, credential_options);
    if (!verified.ok()) return AsVerificationFailure(verified.error());
    result.kind = "VerifiableCredential";
    result.issuer = std::move(verified->issuer);
  }
  if (options.check_evidence) {
    TCC_ASSIGN_OR_RETURN(result.evidence, CheckEvidence(credential));
    result.checks.push_back("evidence");
  }
  return result;
}

Result<Json> CredentialService::CheckEvidence(const Json& tsc) const {
  if (parts_.evidence == nullptr || parts_.chain == nullptr) {
    return Error(ErrorCode::kUnavailable, "this endpoint has no evidence store or chain to check evidence against");
  }
  auto item = TscEvidenceItem(tsc);
  if (!item.ok()) return AsVerificationFailure(item.error());
  const std::string hash = HexEncode(item->tsc_hash);
  auto stored = parts_.evidence->FindEvidence(hash);
  if (!stored.ok()) {
    if (stored.error().code() == ErrorCode::kNotFound) return Failed("evidence: this TCC holds no TSC " + hash);
    return stored.error();
  }
  if (!stored->has_value()) return Failed("evidence: TSC " + hash + " is not anchored yet");
  const StoredEvidence& evidence = **stored;
  if (Status commits = CheckEvidenceCommits(*item, evidence.links, evidence.bundle); !commits.ok()) {
    return AsVerificationFailure(commits.error(), "evidence");
  }
  auto anchor = chain::VerifyEvidenceBundleOnChain(evidence.bundle, *parts_.chain);
  if (!anchor.ok()) return AsVerificationFailure(anchor.error(), "evidence");
  Json summary = Json::Object();
  summary.Set("anchoredSeq", evidence.bundle.item.seq);
  summary.Set("batch", evidence.bundle.batch_id);
  summary.Set("root", HexEncode(evidence.bundle.root));
  summary.Set("height", anchor->receipt.height);
  return summary;
}

Result<Json> CredentialService::IssueCredential(Json credential) const {
  if (!parts_.issuer_key) {
    return Error(ErrorCode::kPermissionDenied, "issuing is disabled: no issuer key is configured");
  }
  TCC_RETURN_IF_ERROR(RefuseTradeCredential(credential));
  return vc::IssueCredential(std::move(credential), *parts_.issuer_key);
}

Result<Json> CredentialService::HandleVerify(const Json& request) const {
  if (!request.is_object()) {
    return Invalid("the request body must be a JSON object {\"verifiableCredential\": ..., \"options\": ...}");
  }
  // A common mistake: posting the credential itself. Say what the wrapper is rather than naming the
  // credential's first member as unknown.
  if (request.Find("verifiableCredential") == nullptr &&
      (request.Find("@context") != nullptr || request.Find("proof") != nullptr ||
       request.Find("credentialSubject") != nullptr)) {
    return Invalid(
        "the body is a bare credential; POST /credentials/verify takes it wrapped: "
        "{\"verifiableCredential\": <the credential>, \"options\": {\"checks\": [...]}} (options "
        "optional)");
  }
  TCC_RETURN_IF_ERROR(CheckMembers(request, "the request", {"verifiableCredential", "options"}));
  const Json* credential = request.Find("verifiableCredential");
  if (credential == nullptr) return Invalid("the request has no verifiableCredential");
  TCC_ASSIGN_OR_RETURN(VerifyOptions options, ReadVerifyOptions(request.Find("options")));
  TCC_ASSIGN_OR_RETURN(Verification verified, VerifyCredential(*credential, options));
  Json response = Json::Object();
  response.Set("verified", true);
  response.Set("type", verified.kind);
  response.Set("issuer", verified.issuer);
  response.Set("checks", Strings(verified.checks));
  response.Set("warnings", Json::Array());
  response.Set("errors", Json::Array());
  if (!verified.evidence.is_null()) response.Set("evidence", std::move(verified.evidence));
  return response;
}

Result<Json> CredentialService::HandleIssue(const Json& request) const {
  if (!request.is_object()) return Invalid("the request body must be a JSON object {\"credential\": ..., \"options\": ...}");
  TCC_RETURN_IF_ERROR(CheckMembers(request, "the request", {"credential", "options"}));
  const Json* credential = request.Find("credential");
  if (credential == nullptr) return Invalid("the request has no credential");
  if (const Json* options = request.Find("options"); options != nullptr) {
    if (!options->is_object()) return Invalid("options must be an object");
    TCC_RETURN_IF_ERROR(CheckMembers(*options, "options", {}));
  }
  TCC_ASSIGN_OR_RETURN(Json issued, IssueCredential(*credential));
  Json response = Json::Object();
  response.Set("verifiableCredential", std::move(issued));
  return response;
}

Result<Json> CredentialService::HandleEvidence(std::string_view tsc_hash) const {
  if (!IsLowerHex(tsc_hash, 64)) {
    // Not echoed: the path may hold any bytes, and answers must stay valid JSON (UTF-8).
    return Invalid("a TSC hash is 64 lowercase hex digits (tcc vc hash TSC.json); got " +
                   std::to_string(tsc_hash.size()) + " characters that are not");
  }
  if (parts_.evidence == nullptr) return Error(ErrorCode::kUnavailable, "this endpoint has no evidence store");
  auto stored = parts_.evidence->FindEvidence(tsc_hash);
  if (!stored.ok()) {
    if (stored.error().code() == ErrorCode::kNotFound) {
      return Error(ErrorCode::kNotFound, "this TCC issued no TSC with hash " + std::string(tsc_hash));
    }
    return stored.error();
  }
  if (!stored->has_value()) {
    return Error(ErrorCode::kNotFound, "TSC " + std::string(tsc_hash) + " is not anchored yet; ask again later");
  }
  const StoredEvidence& evidence = **stored;
  Json response = Json::Object();
  response.Set("tscHash", tsc_hash);
  response.Set("channel", evidence.channel_id);
  response.Set("seq", evidence.seq);
  response.Set("anchoredSeq", evidence.bundle.item.seq);
  response.Set("bundle", chain::EvidenceBundleToJson(evidence.bundle));
  response.Set("linkingCredentials", JsonArray(evidence.links.begin(), evidence.links.end()));
  return response;
}

Json CredentialService::HandleIdentity() const { return parts_.identity.ToJson(); }

CredentialService::Health CredentialService::HandleHealth() const {
  Json reasons = Json::Array();
  Json store = Json::Object();
  if (parts_.evidence == nullptr) {
    store.Set("ok", false);
    store.Set("error", "no store behind this endpoint");
  } else if (Status health = parts_.evidence->Health(); !health.ok()) {
    store.Set("ok", false);
    store.Set("error", health.error().message());
  } else {
    store.Set("ok", true);
  }
  Json chain = Json::Object();
  if (parts_.chain == nullptr) {
    chain.Set("ok", false);
    chain.Set("error", "no chain adapter behind this endpoint");
  } else if (auto status = parts_.chain->Status(); !status.ok()) {
    chain.Set("ok", false);
    chain.Set("error", status.error().message());
  } else {
    chain.Set("ok", true);
    chain.Set("adapter", status->adapter);
    chain.Set("height", status->height);
  }
  for (const auto& [name, check] : {std::pair<std::string_view, const Json*>{"store", &store}, {"chain", &chain}}) {
    if (!check->Find("ok")->as_bool()) reasons.PushBack(std::string(name) + ": " + check->Find("error")->as_string());
  }
  Health health;
  health.ready = reasons.as_array().empty();
  Json checks = Json::Object();
  checks.Set("store", std::move(store));
  checks.Set("chain", std::move(chain));
  health.body = Json::Object();
  health.body.Set("status", health.ready ? "ready" : "degraded");
  health.body.Set("reasons", std::move(reasons));
  health.body.Set("checks", std::move(checks));
  return health;
}

}  // namespace tcc::vcapi
