// AnchorPolicy: how many TSCs of a channel go by between two evidence leaves (N).
//
// Each channel's base N is its live override (control API) if set, else its TIC's settlement
// strategy N, else the configured default; the effective N is base N times the adaptive factor,
// clamped to [n_min, n_max].
//
// The adaptive rule (when enabled): after every anchor the policy looks at the chain's load,
//  - congested when the last anchor took longer than `target_latency`, or the unanchored backlog
//    (evidence items not yet anchored) exceeds `backlog_high`, or the adapter's own pending queue
//    exceeds `adapter_pending_high`: the factor doubles (multiplicative increase of N backs off
//    the chain quickly), up to the factor that puts every channel at n_max — at most once per
//    `target_latency`, because every attempt of one slow anchor reports congestion, and a
//    doubling needs that long to show in the next anchor;
//  - roomy when the latency is under half the target and the backlog under a quarter of its
//    limit: the factor drops by one (additive decrease of N returns to the base gently);
//  - otherwise it stays.
// The factor starts at 1, so with a healthy chain every channel runs at its base N.
//
// A plain value type, not thread-safe: the owner serializes updates (the anchor service does).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "tcc/common/result.h"

namespace tcc::controller {

struct AnchorPolicyOptions {
  std::uint64_t default_n = 10;
  std::uint64_t n_min = 1;
  std::uint64_t n_max = 10000;
  bool adaptive = false;
  std::chrono::milliseconds target_latency{2000};
  std::size_t backlog_high = 100000;
  std::size_t adapter_pending_high = 64;
};
// kInvalidArgument unless 1 <= n_min <= default_n <= n_max and the limits are positive.
Status ValidateAnchorPolicyOptions(const AnchorPolicyOptions& options);

struct ChainLoad {
  std::chrono::steady_clock::time_point observed_at{};  // when the load was read
  std::chrono::microseconds last_anchor_latency{0};
  std::size_t unanchored_backlog = 0;
  std::size_t adapter_pending = 0;
};

class AnchorPolicy {
 public:
  explicit AnchorPolicy(AnchorPolicyOptions options = {});

  const AnchorPolicyOptions& options() const { return options_; }
  // Replaces the bounds and switches (control API); the factor is kept but re-clamped.
  Status SetOptions(const AnchorPolicyOptions& options);

  // Feeds one observation (after each anchor); returns the new factor. Does nothing unless adaptive.
  std::uint64_t Observe(const ChainLoad& load);
  std::uint64_t factor() const { return factor_; }

  std::uint64_t BaseN(std::uint64_t strategy_n, std::optional<std::uint64_t> n_override) const;
  std::uint64_t EffectiveN(std::uint64_t strategy_n, std::optional<std::uint64_t> n_override) const;

 private:
  AnchorPolicyOptions options_;
  std::uint64_t factor_ = 1;
  std::optional<std::chrono::steady_clock::time_point> last_increase_;
};

}  // namespace tcc::controller
