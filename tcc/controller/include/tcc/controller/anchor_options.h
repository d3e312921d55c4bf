// The anchoring settings a Daemon takes in its DaemonConfig (daemon.h): how N is chosen
// (AnchorPolicyOptions; the rule itself is in the controller's anchor_policy.h) and how evidence
// batches are cut and retried (AnchorServiceOptions). They live apart from the policy and the
// service so that daemon.h, which an embedder includes, does not carry the daemon's internals.
// Plain values, copied freely; docs/design.md, "Adjustable and adaptive N".
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

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

struct AnchorServiceOptions {
  std::chrono::milliseconds interval{500};
  std::size_t max_batch = 65536;
  std::string batch_id_prefix = "tcc";  // unique per TCC: the daemon derives it from its DID
  std::chrono::milliseconds retry_min{100};
  std::chrono::milliseconds retry_max{10000};
};

}  // namespace tcc::controller
