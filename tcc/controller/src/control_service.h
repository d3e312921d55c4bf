// Internal: the control socket's requests as tccd serves them to its admins: ping, control.open,
// control.close, control.policy (a channel's N or the global policy, answered once stored),
// control.list, control.health, control.recover and control.backup (one at a time). The request
// types are dispatched in Handle, the one place for them; opening, closing, settling and
// recovering are the other parts' (ChannelLifecycle, SettlementPipeline, RecoveryRequests), which
// this service only calls.
//
// Owns the global policy set live (stored under control::kStoredPolicyKey) and whether a backup
// runs. The health facts only the wiring knows (endpoints, connections, counters) come from the
// `facts` callback. Loop thread only (the backup and the adapter's status run on a worker through
// the host). Borrows everything in Parts, which outlives it.
#pragma once

#include <functional>
#include <string>

#include "anchor_service.h"
#include "chain_service.h"
#include "channel_lifecycle.h"
#include "channel_runtime.h"
#include "channel_store.h"
#include "control_api.h"
#include "loop_host.h"
#include "metrics.h"
#include "recovery_requests.h"
#include "requester.h"
#include "settlement_pipeline.h"
#include "store_check.h"
#include "store_writer.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/common/json.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

class ControlService {
 public:
  struct Parts {
    ChannelLifecycle& lifecycle;
    SettlementPipeline& pipeline;
    RecoveryRequests& recoveries;
    ChannelStore& store;  // backed up
    StoreWriter& writer;
    AnchorService& anchor;
    chain::ChainAdapter& adapter;
    ChainService& chain;  // chain.read and chain.write, with admin access
    DaemonMetrics& metrics;
    const std::string& tcc_did;
    const RefusedChannels& refused;
    // What only the wiring knows for control.health: endpoints, connections, counters, the
    // store's and the anchor service's state. The service adds the policy and the backup.
    std::function<control::HealthFacts()> facts;
  };

  // `stored_policy`: the global policy members set live, as restored at start.
  ControlService(LoopHost& host, ChannelTable& channels, const ChannelViews& views, Parts parts,
                 Json stored_policy)
      : host_(host),
        channels_(channels),
        views_(views),
        parts_(std::move(parts)),
        stored_policy_(std::move(stored_policy)) {}

  // An admin's decoded request.
  void Handle(const Requester& from, const wire::Message& message);

  bool backup_running() const { return backup_running_; }

 private:
  void Policy(const Requester& from, const wire::Message& message);
  void Health(const Requester& from);
  void Backup(const Requester& from, const wire::Message& message);

  LoopHost& host_;
  ChannelTable& channels_;
  const ChannelViews& views_;
  Parts parts_;
  Json stored_policy_;
  bool backup_running_ = false;
};

}  // namespace tcc::controller
