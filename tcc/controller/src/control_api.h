// Internal: the control API's rules and answers (control.policy, control.health), apart from the
// socket they arrive on and the daemon state they read.
//
// The daemon dispatches control requests on its loop and hands these functions what they need:
// the anchor policy (under its mutex), a channel's record, a snapshot of its counters. They decide
// what a policy request may change and render the answers, so the control API's contract can be
// read, changed and tested in one place.
//
// Pure functions; no state, no I/O. The caller holds the anchor policy's mutex where one is passed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "anchor_policy.h"
#include "anchor_service.h"
#include "channel.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller::control {

// The policy answer: the global options and the adaptive factor, and for a channel its strategy N,
// override and effective N.
Json PolicyJson(const AnchorPolicy& policy, const ChannelRecord* channel);

// control.policy naming a channel: only n may be set per channel, within [n_min, n_max]. Returns
// the channel's new override.
Result<std::optional<std::uint64_t>> ChannelPolicyChange(const wire::Message& message,
                                                         const AnchorPolicyOptions& options);
// control.policy without a channel: the global options with the request's changes (the policy
// validates them when they are set).
AnchorPolicyOptions GlobalPolicyChange(const wire::Message& message, AnchorPolicyOptions options);

// Global policy changes outlive a restart: the members a control.policy request set (n, adaptive,
// n_min, n_max), merged over time into one object stored under kStoredPolicyKey, and applied over
// the configuration's policy at start (what the operator set live wins over the file).
inline constexpr std::string_view kStoredPolicyKey = "global_policy";
void MergePolicyChange(const wire::Message& message, Json& stored);
// The stored object, checked: only those members, each of its type. kParse naming the problem.
Result<Json> ReadStoredPolicy(std::string_view text);
AnchorPolicyOptions ApplyStoredPolicy(const Json& stored, AnchorPolicyOptions options);

// What control.health reports, gathered by the daemon on its loop.
struct HealthFacts {
  std::string did;
  std::string listen;
  std::string control;
  std::uint64_t channels_open = 0;
  std::uint64_t channels = 0;
  std::uint64_t connections = 0;
  std::uint64_t unauthenticated_connections = 0;
  std::uint64_t peer_queued_bytes = 0;
  std::uint64_t issued = 0;
  std::uint64_t replayed = 0;
  std::uint64_t dropped_events = 0;
  std::map<std::string, std::uint64_t> rejected;  // by error code
  std::uint64_t auth_ok = 0;
  std::map<std::string, std::uint64_t> auth_failures;  // by reason
  AnchorStats anchoring;
  Json policy;  // PolicyJson without a channel
  bool store_ok = true;
  std::string store_error;  // while the store cannot write
  std::uint64_t store_failed_for_ms = 0;
  // The start-up read check (store_check.h): empty while every record reads.
  std::string store_read_error;
  std::map<std::string, std::string> refused_channels;  // id -> LevelDB's error
  bool backup_running = false;
  std::uint64_t store_write_failures = 0;
  std::uint64_t store_reopens = 0;
  std::uint64_t group_commits = 0;
  std::uint64_t commits = 0;
  // RecoveringChannel::ToJson of each channel the start-up cross-check put in `recovering`.
  std::vector<Json> recovering;
};
// The health answer without the chain's part.
Json HealthJson(const HealthFacts& facts);
// Adds the chain's status (asked on a worker) and the overall status: "ok" only while both the
// chain answers and the store writes and reads (`store_ok`), and no channel is recovering
// ("recovering" then, unless degraded).
void AddChainHealth(Json& health, const Result<chain::AdapterStatus>& status, bool store_ok);

}  // namespace tcc::controller::control
