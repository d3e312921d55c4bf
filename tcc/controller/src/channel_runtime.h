// Internal: a channel as the daemon's loop holds it while tccd runs, the table of them, how they
// are shown to parties and operators, and how start-up loads them from the store.
//
// ChannelRuntime wraps the channel's state machine (heads, waiting submissions, closing, settings
// not stored yet) with what the loop adds around it: the governing template, how far the chain
// has anchored it, its admitted members and the requesters waiting for a stored change. The
// ChannelTable is owned by the daemon's wiring and lent by reference to the parts; it and every
// ChannelRuntime are loop thread only. ChannelViews reads the anchor service's policy (thread-safe)
// and the recovery book to describe a channel; it borrows both, which outlive it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "anchor_service.h"
#include "chain_crosscheck.h"
#include "channel_state_machine.h"
#include "channel_store.h"
#include "requester.h"
#include "store_check.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/vc/template.h"
#include "template_cache.h"

namespace tcc::controller {

struct ChannelRuntime {
  explicit ChannelRuntime(ChannelRecord stored) : machine(std::move(stored)) {}
  // The record with the pending head (handed to the store writer) and the current settings.
  const ChannelRecord& record() const { return machine.record(); }

  // Heads, waiting submissions, closing, settings not stored yet, the negotiation.
  ChannelStateMachine machine;
  std::shared_ptr<const vc::Template> tst;
  std::uint64_t anchored_seq = 0;
  std::vector<Requester> settings_requesters;  // answered once the change is stored
  std::vector<Requester> close_requesters;
  std::set<std::string> members;  // routing ids of admitted connections
  // A close a party asked for (its signed request), answered with the closing record once closed.
  std::optional<Json> close_request;
  std::vector<Requester> party_close_requesters;
  std::optional<Json> closing_record;  // the TCC-signed record of a close a party asked for
};

// By channel id; loop thread only.
using ChannelTable = std::map<std::string, ChannelRuntime, std::less<>>;

// How a channel is described: its N under the policy as it is now, its state (channel.state,
// control.list, events) and its policy (control.policy).
class ChannelViews {
 public:
  ChannelViews(const AnchorService& anchor, const RecoveryBook& recovery)
      : anchor_(anchor), recovery_(recovery) {}

  std::uint64_t EffectiveN(const ChannelRecord& record) const;
  Json State(const ChannelRuntime& channel) const;
  // The global policy, or a channel's (`channel` not null).
  Json Policy(const ChannelRuntime* channel) const;

 private:
  const AnchorService& anchor_;
  const RecoveryBook& recovery_;
};

// What start-up loads from the store: the channels, and those refused because their records
// cannot be read (store_check.h), with the store-wide read error.
struct LoadedChannels {
  ChannelTable channels;
  RefusedChannels refused;
  std::string store_read_error;  // empty while every record reads
};

// Reads every channel back (record, head TSC, negotiation, closing record) after the start-up read
// check; a channel whose head TSC is missing or differs is a damaged store (kInternal).
Result<LoadedChannels> LoadChannels(ChannelStore& store, TemplateCache& templates);

}  // namespace tcc::controller
