// Internal: a member's reads of its channel's history: channel.sync (the acknowledged TSCs after
// a seq, one frame at most) and evidence.get (the anchor bundle covering a TSC).
//
// Loop thread only; the store reads run on a worker through the host (counted against the
// member's connection as large requests). Borrows the host and the store, which outlive it.
#pragma once

#include "channel_runtime.h"
#include "channel_store.h"
#include "loop_host.h"
#include "requester.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

class ChannelReads {
 public:
  ChannelReads(LoopHost& host, ChannelStore& store) : host_(host), store_(store) {}

  void Sync(const Requester& from, const ChannelRuntime& channel, const wire::Message& message);
  void EvidenceGet(const Requester& from, const ChannelRuntime& channel,
                   const wire::Message& message);

 private:
  LoopHost& host_;
  ChannelStore& store_;
};

}  // namespace tcc::controller
