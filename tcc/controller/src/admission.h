// Internal: who may talk to the daemon, and how a party's connection is admitted to a channel.
//
// Two gates. The ZAP handler (ZeroMQ's authentication protocol) decides per CURVE handshake: any
// CURVE client may connect to the party socket, only the admins' keys to the control socket. Then
// a party connection is admitted to a channel by DID challenge-response: auth.begin names the
// channel and the party's DID, which must be the channel's provider, consumer or an auditor; the
// daemon seals a challenge to the DID's key-agreement key (only the DID's holder can open it);
// auth.prove returns the nonce and a signature with one of the DID's authentication keys. A
// challenge is single use and expires; auth.begin is rate limited per source address. Admission
// also counts successes and failures by reason (for health and metrics).
//
// The DID resolution and the crypto (Seal, Verify) run on a worker and touch only the resolver;
// everything else belongs to the daemon's loop thread. Admission keeps no connection state of its
// own: challenges and admissions live in the ConnectionTable entry they belong to.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connection_table.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "channel.h"
#include "tcc/did/challenge.h"
#include "tcc/did/resolver.h"

namespace tcc::controller {

inline constexpr std::string_view kPartyDomain = "tcc-party";
inline constexpr std::string_view kControlDomain = "tcc-control";

// Refills at `rate` per second up to a burst of twice that.
class TokenBucket {
 public:
  bool Take(double rate, SteadyClock::time_point now);

 private:
  bool started_ = false;
  double tokens_ = 0;
  SteadyClock::time_point last_;
};

class Admission {
 public:
  struct Options {
    double auth_rate_per_source = 200;  // auth.begin per second and source address
    std::chrono::milliseconds challenge_ttl{10000};
  };
  // Called with each failure's reason (for the metrics).
  using FailureObserver = std::function<void(std::string_view reason)>;

  Admission(std::string tcc_did, std::set<std::string> admin_curve_keys, Options options,
            FailureObserver on_failure);

  // --- ZAP ---
  struct ZapReply {
    std::string status;  // "200" or "400"
    std::string status_text;
    std::string user_id;  // the client's CURVE key (hex) when admitted
  };
  // A ZAP 1.0 request's frames: version, request id, domain, address, identity, mechanism,
  // credentials. A refused control connection is counted ("control_key_not_admin").
  ZapReply Zap(const std::vector<std::string_view>& frames);
  // The control socket re-checks each request's key (cheap) against the admins' keys.
  bool IsAdmin(std::string_view curve_key_hex) const {
    return admin_curve_keys_.contains(curve_key_hex);
  }

  // --- auth.begin (loop) ---
  // Each refusal below is counted under its reason before it is returned.
  struct Begun {
    did::Challenge challenge;
    Role role;
  };
  // `record` is the channel's (nullptr: no such channel); `now_ms` is Unix time.
  Result<Begun> Begin(std::string_view peer_address, const std::string& channel_id,
                      const ChannelRecord* record, const std::string& party_did,
                      SteadyClock::time_point now, std::uint64_t now_ms);
  // On a worker: the challenge sealed to the party DID's key-agreement key.
  static Result<Bytes> Seal(const did::Challenge& challenge, did::Resolver& resolver);
  // Back on the loop, with Seal's outcome: the challenge to remember on the connection, or the
  // error to answer with (counted).
  Result<PendingChallenge> Sealed(const did::Challenge& challenge, Role role,
                                  const Result<Bytes>& sealed, SteadyClock::time_point now);

  // --- auth.prove (loop, then a worker) ---
  struct Proof {
    PendingChallenge challenge;
    Bytes signature;
  };
  // Takes the connection's challenge for the channel (single use, whatever the outcome) and checks
  // it has not expired and the nonce matches.
  Result<Proof> Prove(Connection& connection, const std::string& channel_id,
                      std::string_view nonce_hex, std::string_view signature_hex,
                      SteadyClock::time_point now);
  // On a worker: whether the signature verifies with one of the DID's authentication keys.
  static Status Verify(const Proof& proof, did::Resolver& resolver);
  // Back on the loop: the connection was admitted, or refused for `reason`.
  void Admitted() { ++ok_; }
  void Refused(std::string_view reason, std::string_view did = {}, std::string_view detail = {}) {
    Count(std::string(reason), did, detail);
  }

  // --- health ---
  std::uint64_t admitted() const { return ok_; }
  const std::map<std::string, std::uint64_t>& failures() const { return failures_; }
  // Buckets refill within seconds; forgetting them all now and then bounds their memory.
  void Sweep();

 private:
  // Counts the refusal and logs it (warning; debug for the expected or flooding kinds) with the
  // DID when one was named.
  Error Fail(Error error, std::string reason, std::string_view did = {});
  void Count(std::string reason, std::string_view did = {}, std::string_view detail = {});

  std::string tcc_did_;
  std::set<std::string, std::less<>> admin_curve_keys_;
  Options options_;
  FailureObserver on_failure_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  std::uint64_t ok_ = 0;
  std::map<std::string, std::uint64_t> failures_;
};

}  // namespace tcc::controller
