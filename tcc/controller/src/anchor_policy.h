// AnchorPolicy: how many TSCs of a channel go by between two evidence leaves (N).
//
// Each channel's base N is its live override (control API) if set, else its TIC's settlement
// strategy N, else the configured default; the effective N is base N times the adaptive factor,
// clamped to [n_min, n_max].
//
// The adaptive rule (when enabled) is evaluated once per batcher interval, on the anchor
// service's own timer, so an outage is judged by how long it lasts and not by how often the
// batch is retried. Each evaluation sees the unanchored backlog (evidence items queued or in
// flight), the slowest anchor call that landed during the interval, how long the batch now on its
// way has been trying, and the adapter's own pending queue:
//  - congested when the backlog is over `backlog_high` and has grown by another quarter of
//    `backlog_high` since the factor last doubled, or an anchor that landed took longer than
//    `target_latency` and the factor is still under that anchor's multiple of the target
//    (rounded up to a power of two), or the adapter's pending queue is over
//    `adapter_pending_high`: the factor doubles, up to the factor that puts every channel at
//    n_max. Doubling N halves the rate at which evidence items arrive, so while the chain is away
//    each further doubling takes about twice as long to earn: N rises roughly in proportion to the
//    outage's length rather than racing to n_max, and a backlog that has stopped growing holds it.
//    A slow chain that keeps up raises N once per slow anchor that lands (not once per retry) and
//    only as far as it is slow: anchors at 4x the target allow 4x N; a backlog it cannot keep up
//    with raises N further;
//  - drained when the backlog is under a quarter of `backlog_high`, the anchors that landed most
//    recently (in the latest interval that had any) took less than half the target — or nothing
//    landed and nothing waits, when speed does not matter — and the batch on its way (if any) has
//    been trying for less than half the target: the factor halves. A raise of k doublings is
//    undone in k intervals, which is quick enough that N does not stay high long after the chain
//    has room again, and waits until the backlog has been anchored;
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
#include "tcc/controller/anchor_options.h"

namespace tcc::controller {

// kInvalidArgument unless 1 <= n_min <= default_n <= n_max and the limits are positive.
Status ValidateAnchorPolicyOptions(const AnchorPolicyOptions& options);

// The chain's load over one batcher interval.
struct ChainLoad {
  std::size_t unanchored_backlog = 0;  // evidence items queued or in flight at the end
  // The slowest anchor call that landed during the interval; empty when none landed.
  std::optional<std::chrono::microseconds> slowest_landed;
  // How long the batch now being anchored has been trying; zero when none is.
  std::chrono::microseconds oldest_attempt{0};
  std::size_t adapter_pending = 0;
};

class AnchorPolicy {
 public:
  explicit AnchorPolicy(AnchorPolicyOptions options = {});

  const AnchorPolicyOptions& options() const { return options_; }
  // Replaces the bounds and switches (control API); the factor is kept but re-clamped.
  Status SetOptions(const AnchorPolicyOptions& options);

  // Evaluates the rule over one interval's load; returns the new factor. Does nothing unless
  // adaptive.
  std::uint64_t Observe(const ChainLoad& load);
  std::uint64_t factor() const { return factor_; }

  std::uint64_t BaseN(std::uint64_t strategy_n, std::optional<std::uint64_t> n_override) const;
  std::uint64_t EffectiveN(std::uint64_t strategy_n, std::optional<std::uint64_t> n_override) const;

 private:
  AnchorPolicyOptions options_;
  std::uint64_t factor_ = 1;
  // The backlog when the factor last doubled while over backlog_high; 0 once it is back under.
  std::size_t backlog_at_increase_ = 0;
  // The slowest landing of the latest interval that had any.
  std::optional<std::chrono::microseconds> latest_landed_;
};

}  // namespace tcc::controller
