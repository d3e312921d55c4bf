// Internal: the settlement pipeline. A party's settle.submit is admitted (auditor, closed,
// draining, the claim names this channel and its parties), handed to the channel's state machine,
// and the machine's effects are carried out as named stages:
//
//   Submit -> Issue (worker: verify the joint claim, sign the TSC) -> Commit (store writer: the
//   TSC and the head in one batch) -> Acknowledge (reply, publish event.tsc)
//
// with Replay (the same claim again: the stored TSC), Refuse, SubmitEvidence (to the anchor
// service), WriteSettings (the channel record after a policy change) and Close (handed to the
// channel lifecycle through the close hook) beside them. Each stage's completion goes back to the
// machine, which decides what happens next; the pipeline keeps no per-settlement state of its own.
//
// Loop thread only (the verify/sign half of Issue and the store read of Replay run on a worker
// through the host, touching only the resolver, the key and the store; an Issue that resolves only
// did:key DIDs may run on the idle loop instead, LoopHost::AsyncOrOnLoop). Borrows the host, the
// channel table, the views and the services in Parts, which outlive it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "anchor_service.h"
#include "channel_runtime.h"
#include "channel_state_machine.h"
#include "channel_store.h"
#include "loop_host.h"
#include "metrics.h"
#include "requester.h"
#include "store_writer.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

class SettlementPipeline {
 public:
  struct Parts {
    did::Resolver& resolver;
    const did::KeyPair& key;  // the TCC key, signing TSCs
    ChannelStore& store;      // read by Replay
    StoreWriter& writer;
    AnchorService& anchor;
    DaemonMetrics& metrics;
    std::size_t max_waiting_per_channel;
    // Carries out effect::Close (channel_lifecycle.h): the machine decided the channel closes now.
    std::function<void(ChannelRuntime&)> close;
  };

  SettlementPipeline(LoopHost& host, ChannelTable& channels, const ChannelViews& views, Parts parts)
      : host_(host), channels_(channels), views_(views), parts_(std::move(parts)) {}

  // settle.submit from a member in `role` (not a recovering channel: the dispatch refused that).
  // The claim is moved out of `message` (on the loop, a copy of a whole claim is not free).
  void Submit(const Requester& from, Role role, ChannelRuntime& channel, wire::Message message);
  // Carries out what the channel's state machine decided.
  void Apply(ChannelRuntime& channel, Effects effects);
  // Starts what waits in the channel (after the store recovered, say).
  void Pump(ChannelRuntime& channel);
  // Writes the channel's settings once nothing is in flight (a policy change).
  void PersistSettings(ChannelRuntime& channel);
  // Closes once the settlement in flight, if any, is done.
  void RequestClose(ChannelRuntime& channel);

  std::uint64_t issued() const { return issued_; }
  std::uint64_t replayed() const { return replayed_; }

 private:
  void Issue(ChannelRuntime& channel, Submission submission);
  void Replay(ChannelRuntime& channel, Submission submission);
  void Commit(ChannelRuntime& channel, effect::Commit commit);
  void Acknowledge(ChannelRuntime& channel, const effect::Acknowledge& acknowledged);
  void WriteSettings(ChannelRuntime& channel);

  LoopHost& host_;
  ChannelTable& channels_;
  const ChannelViews& views_;
  Parts parts_;
  std::uint64_t issued_ = 0;
  std::uint64_t replayed_ = 0;
};

}  // namespace tcc::controller
