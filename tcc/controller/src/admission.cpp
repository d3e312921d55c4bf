#include "admission.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "tcc/controller/log.h"
#include "tcc/did/did_key.h"
#include "tcc/did/document.h"

namespace tcc::controller {

bool TokenBucket::Take(double rate, SteadyClock::time_point now) {
  const double burst = rate * 2;
  if (!started_) {
    tokens_ = burst;
    started_ = true;
  } else {
    tokens_ = std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - last_).count());
  }
  last_ = now;
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

Admission::Admission(std::string tcc_did, std::set<std::string> admin_curve_keys, Options options,
                     FailureObserver on_failure)
    : tcc_did_(std::move(tcc_did)),
      admin_curve_keys_(admin_curve_keys.begin(), admin_curve_keys.end()),
      options_(options),
      on_failure_(std::move(on_failure)) {}

void Admission::Count(std::string reason, std::string_view did, std::string_view detail) {
  if (on_failure_) on_failure_(reason);
  // A party polling for a channel not opened yet and a source over its rate are expected or a
  // flood: counted always, logged only at debug so that they cannot fill the log.
  const bool quiet = reason == "unknown_channel" || reason == "rate_limited";
  Log(quiet ? LogLevel::kDebug : LogLevel::kWarning, "authentication refused",
      {{"reason", reason}, {"did", std::string(did)}, {"error", std::string(detail)}});
  ++failures_[std::move(reason)];
}

Error Admission::Fail(Error error, std::string reason, std::string_view did) {
  Count(std::move(reason), did, error.message());
  return error;
}

Admission::ZapReply Admission::Zap(const std::vector<std::string_view>& frames) {
  ZapReply reply{"400", "refused", ""};
  if (frames.size() >= 7 && frames[0] == "1.0" && frames[5] == "CURVE" && frames[6].size() == 32) {
    const std::string key_hex = HexEncode(AsBytes(frames[6]));
    if (frames[2] == kPartyDomain) {
      // Any CURVE client may connect; channel admission is the DID challenge-response.
      reply = {"200", "OK", key_hex};
    } else if (frames[2] == kControlDomain && IsAdmin(key_hex)) {
      reply = {"200", "OK", key_hex};
    } else {
      Count("control_key_not_admin");
      // The key as DID documents name it (the X25519 keyAgreement key `tcc did show` prints).
      did::X25519PublicKey refused{};
      std::memcpy(refused.data(), frames[6].data(), refused.size());
      Log(LogLevel::kWarning, "control connection refused",
          {{"address", frames[3]}, {"key_agreement", did::X25519Multibase(refused)}});
    }
  }
  return reply;
}

Result<Admission::Begun> Admission::Begin(std::string_view peer_address,
                                          const std::string& channel_id,
                                          const ChannelRecord* record, const std::string& party_did,
                                          SteadyClock::time_point now, std::uint64_t now_ms) {
  if (!buckets_[std::string(peer_address)].Take(options_.auth_rate_per_source, now)) {
    return Fail(
        Error(ErrorCode::kResourceExhausted, "too many authentication attempts from this address"),
        "rate_limited");
  }
  if (record == nullptr) {
    return Fail(Error(ErrorCode::kNotFound, "no channel " + channel_id + " at this TCC"),
                "unknown_channel", party_did);
  }
  std::optional<Role> role;
  if (party_did == record->provider) {
    role = Role::kProvider;
  } else if (party_did == record->consumer) {
    role = Role::kConsumer;
  } else if (std::find(record->auditors.begin(), record->auditors.end(), party_did) !=
             record->auditors.end()) {
    role = Role::kAuditor;
  }
  if (!role) {
    return Fail(Error(ErrorCode::kPermissionDenied,
                      party_did + " is not a member of channel " + channel_id),
                "not_a_member", party_did);
  }
  did::Challenge challenge{{channel_id, tcc_did_, party_did,
                            now_ms + static_cast<std::uint64_t>(options_.challenge_ttl.count())},
                           did::NewChallengeNonce()};
  return Begun{std::move(challenge), *role};
}

Result<Bytes> Admission::Seal(const did::Challenge& challenge, did::Resolver& resolver) {
  TCC_ASSIGN_OR_RETURN(did::DidDocument document, resolver.Resolve(challenge.binding.party_did));
  TCC_ASSIGN_OR_RETURN(auto key, document.KeyAgreementKey());
  return did::SealChallenge(challenge, key);
}

Result<PendingChallenge> Admission::Sealed(const did::Challenge& challenge, Role role,
                                           const Result<Bytes>& sealed,
                                           SteadyClock::time_point now) {
  if (!sealed.ok()) {
    return Fail(sealed.error().WithContext("resolve " + challenge.binding.party_did),
                sealed.error().code() == ErrorCode::kNotFound ? "unknown_did" : "unresolvable_did",
                challenge.binding.party_did);
  }
  return PendingChallenge{challenge, role, now + options_.challenge_ttl};
}

Result<Admission::Proof> Admission::Prove(Connection& connection, const std::string& channel_id,
                                          std::string_view nonce_hex,
                                          std::string_view signature_hex,
                                          SteadyClock::time_point now) {
  auto pending = connection.challenges.find(channel_id);
  if (pending == connection.challenges.end()) {
    return Fail(Error(ErrorCode::kPermissionDenied,
                      "no challenge pending for channel " + channel_id + " on this connection"),
                "no_challenge");
  }
  // Single use: whatever the answer, this challenge is spent.
  PendingChallenge challenge = std::move(pending->second);
  connection.challenges.erase(pending);
  if (now > challenge.expires) {
    return Fail(
        Error(ErrorCode::kPermissionDenied, "the challenge expired; start again with auth.begin"),
        "expired", challenge.challenge.binding.party_did);
  }
  auto nonce = HexDecode(nonce_hex);
  if (!nonce.ok() || !ConstantTimeEqual(*nonce, challenge.challenge.nonce)) {
    return Fail(Error(ErrorCode::kVerificationFailed, "the nonce does not match the challenge"),
                "wrong_nonce", challenge.challenge.binding.party_did);
  }
  auto signature = HexDecode(signature_hex);
  if (!signature.ok()) return Fail(signature.error(), "bad_signature", challenge.challenge.binding.party_did);
  return Proof{std::move(challenge), std::move(signature).value()};
}

Status Admission::Verify(const Proof& proof, did::Resolver& resolver) {
  const did::Challenge& challenge = proof.challenge.challenge;
  TCC_ASSIGN_OR_RETURN(did::DidDocument document, resolver.Resolve(challenge.binding.party_did));
  for (const auto& method : document.authentication) {
    auto key = document.Ed25519KeyFor(method, did::Relationship::kAuthentication);
    if (key.ok() && did::VerifyChallengeResponse(challenge, *key, proof.signature))
      return OkStatus();
  }
  return Error(
      ErrorCode::kVerificationFailed,
      "the signature does not verify with an authentication key of " + challenge.binding.party_did);
}

void Admission::Sweep() {
  if (buckets_.size() > 100000) buckets_.clear();
}

}  // namespace tcc::controller
