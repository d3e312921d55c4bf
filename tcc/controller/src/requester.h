// Internal: who asked the daemon something, so the answer can be routed back after asynchronous
// work, and the submission a settlement starts from.
//
// Plain values, copied freely; used by every part of the daemon on its loop thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "tcc/common/json.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {

using Clock = std::chrono::steady_clock;

// Wall-clock Unix milliseconds (challenge expiry, opened/closed times, dispute deadlines).
inline std::uint64_t UnixMillis() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// For a party, the very connection the request came over (an answer for a peer that has gone is
// dropped); for the control socket, the admin's routing id.
struct Requester {
  bool control = false;
  std::string routing_id;
  std::uint64_t request_id = 0;
  Clock::time_point received{};  // for the settlement latency metrics
  std::uint64_t generation = 0;  // of the party's transport connection
};

// A joint claim a party submitted for settlement, with the link it names (channel, seq, prev).
struct Submission {
  Requester requester;
  Json claim;
  vc::SettlementLink link;
};

}  // namespace tcc::controller
