#include "anchor_policy.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>
#include <utility>

namespace tcc::controller {
namespace {

Error Invalid(const std::string& message) {
  return Error(ErrorCode::kInvalidArgument, "anchor policy: " + message);
}

// Base N is at least 1, so this factor already takes every channel to n_max; anything larger
// would only make the way back down longer. Without the adaptive policy
// there is no factor to speak of.
std::uint64_t MaxFactor(const AnchorPolicyOptions& options) {
  return options.adaptive ? std::max<std::uint64_t>(options.n_max, 1) : 1;
}

std::uint64_t SaturatingMultiply(std::uint64_t a, std::uint64_t b) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) {
    return std::numeric_limits<std::uint64_t>::max();
  }
  return a * b;
}

// The smallest power of two at least latency / target (rounded up); 1 at or under the target.
std::uint64_t LatencyFactor(std::chrono::microseconds latency, std::chrono::milliseconds target) {
  const auto target_micros = std::max<std::int64_t>(std::chrono::duration_cast<std::chrono::microseconds>(target).count(), 1);
  const auto ratio = static_cast<std::uint64_t>((latency.count() + target_micros - 1) / target_micros);
  std::uint64_t factor = 1;
  while (factor < ratio && factor < (std::uint64_t{1} << 62)) factor *= 2;
  return factor;
}

}  // namespace

Status ValidateAnchorPolicyOptions(const AnchorPolicyOptions& options) {
  if (options.n_min < 1) return Invalid("n_min must be at least 1");
  if (options.default_n < options.n_min || options.default_n > options.n_max) {
    return Invalid("default N " + std::to_string(options.default_n) + " is outside [n_min, n_max] = [" +
                   std::to_string(options.n_min) + ", " + std::to_string(options.n_max) + "]");
  }
  if (options.target_latency.count() <= 0) return Invalid("target_latency must be positive");
  if (options.backlog_high == 0) return Invalid("backlog_high must be positive");
  if (options.adapter_pending_high == 0) return Invalid("adapter_pending_high must be positive");
  return OkStatus();
}

AnchorPolicy::AnchorPolicy(AnchorPolicyOptions options) : options_(std::move(options)) {}

Status AnchorPolicy::SetOptions(const AnchorPolicyOptions& options) {
  TCC_RETURN_IF_ERROR(ValidateAnchorPolicyOptions(options));
  options_ = options;
  factor_ = std::clamp<std::uint64_t>(factor_, 1, MaxFactor(options_));
  return OkStatus();
}

std::uint64_t AnchorPolicy::Observe(const ChainLoad& load) {
  if (!options_.adaptive) return factor_;
  // A quarter of the limit, in integers: ceil(backlog_high / 4).
  const std::size_t quarter = options_.backlog_high / 4 + (options_.backlog_high % 4 != 0 ? 1 : 0);
  if (load.unanchored_backlog <= options_.backlog_high) backlog_at_increase_ = 0;
  const bool backlog_growing = load.unanchored_backlog > options_.backlog_high &&
                               load.unanchored_backlog >= backlog_at_increase_ + quarter;
  // A slow chain that keeps up needs N raised only as far as it is slow: up to the latency's
  // multiple of the target, rounded up to a power of two (an anchor at 4x the target allows 4x N).
  const bool slow_landing = load.slowest_landed && *load.slowest_landed > options_.target_latency &&
                            factor_ < LatencyFactor(*load.slowest_landed, options_.target_latency);
  const bool congested =
      backlog_growing || slow_landing || load.adapter_pending > options_.adapter_pending_high;
  // An interval without landings says nothing about speed: the latest landings still stand,
  // unless nothing waits at all, when the chain's speed does not matter (at a raised N leaves may
  // be far apart, and N must come down without them).
  if (load.slowest_landed) latest_landed_ = load.slowest_landed;
  const bool idle = load.unanchored_backlog == 0 && !load.slowest_landed;
  const bool fast = idle || !latest_landed_ || *latest_landed_ * 2 < options_.target_latency;
  const bool drained = load.unanchored_backlog < quarter && fast &&
                       load.oldest_attempt * 2 < options_.target_latency;
  if (congested) {
    factor_ = std::min(SaturatingMultiply(factor_, 2), MaxFactor(options_));
    if (load.unanchored_backlog > options_.backlog_high) backlog_at_increase_ = load.unanchored_backlog;
  } else if (drained) {
    factor_ = std::max<std::uint64_t>(factor_ / 2, 1);
  }
  return factor_;
}

std::uint64_t AnchorPolicy::BaseN(std::uint64_t strategy_n,
                                  std::optional<std::uint64_t> n_override) const {
  if (n_override.has_value()) return *n_override;
  // A TIC without a settlement strategy carries 0.
  if (strategy_n != 0) return strategy_n;
  return options_.default_n;
}

std::uint64_t AnchorPolicy::EffectiveN(std::uint64_t strategy_n,
                                       std::optional<std::uint64_t> n_override) const {
  const std::uint64_t scaled = SaturatingMultiply(BaseN(strategy_n, n_override), factor_);
  // Not std::clamp: options from the constructor are unvalidated and n_min > n_max must not be UB.
  return std::min(std::max(scaled, options_.n_min), options_.n_max);
}

}  // namespace tcc::controller
