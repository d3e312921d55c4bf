// Internal: the requests that bring a recovering channel back (chain_crosscheck.h: the start-up
// cross-check found its store behind or contradicted by the chain). A member's channel.recover
// presents the TSCs it holds; an operator's control.recover does the same and, unless told
// otherwise, ends the recovering state. The presented TSCs are verified against the stored head
// (channel_recovery.h) and committed on a worker, one restore at a time; back on the loop the
// channel's head moves forward, the last restored TSC's evidence goes to the anchor service, and
// the state ends once an operator said so or provider and consumer both presented theirs.
//
// Loop thread only, apart from the restore work on a worker, which takes restore_mutex_ and touches
// only the store, the resolver and the template. Borrows the host, the channel table, the views
// and the services in Parts, which outlive it.
#pragma once

#include <optional>
#include <string>

#include "anchor_service.h"
#include "chain_crosscheck.h"
#include "channel_recovery.h"
#include "channel_runtime.h"
#include "channel_store.h"
#include "connection_table.h"
#include "loop_host.h"
#include "requester.h"
#include "store_writer.h"
#include "tcc/common/thread_safety.h"
#include "tcc/did/resolver.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

class RecoveryRequests {
 public:
  struct Parts {
    ChannelStore& store;
    did::Resolver& resolver;
    const std::string& tcc_did;
    RecoveryBook& recovery;
    StoreWriter& writer;
    AnchorService& anchor;
  };

  RecoveryRequests(LoopHost& host, ChannelTable& channels, const ChannelViews& views, Parts parts)
      : host_(host), channels_(channels), views_(views), parts_(std::move(parts)) {}

  // A party's channel.recover (`role`) or an operator's control.recover (no role).
  void Recover(const Requester& from, std::optional<Role> role, ChannelRuntime& channel,
               const wire::Message& message);

 private:
  void OnRecovered(const Requester& from, std::optional<Role> role, bool finishing,
                   const std::string& channel_id, Result<RecoveredTscs> recovered);

  LoopHost& host_;
  ChannelTable& channels_;
  const ChannelViews& views_;
  Parts parts_;
  // Held by a worker restoring TSCs: two members presenting at once must not both write TSCs
  // after the same head.
  Mutex restore_mutex_;
};

}  // namespace tcc::controller
