// Internal: a party's requests as tccd serves them, dispatched in Handle, the one place for the
// party request types: ping, authentication (auth.begin / auth.prove: admission.h decides, the
// connection table admits), channel.state, settle.propose (relayed to the counterpart; a
// provider's bill for the next seq goes through the dispute handler first), settle.submit (the
// settlement pipeline), channel.recover, channel.sync and evidence.get (channel reads), and the
// dispute requests (dispute_handler.h). A connection gets a bounded share of the workers: requests
// answered after work on a worker are refused past its limit of requests in flight.
//
// Loop thread only (sealing and verifying challenges run on a worker through the host, touching
// only the resolver). Borrows the host, the channel table, the views and everything in Parts,
// which outlive it.
#pragma once

#include <cstddef>

#include "admission.h"
#include "chain_crosscheck.h"
#include "chain_service.h"
#include "channel_reads.h"
#include "channel_runtime.h"
#include "connection_table.h"
#include "dispute_handler.h"
#include "loop_host.h"
#include "metrics.h"
#include "recovery_requests.h"
#include "requester.h"
#include "settlement_pipeline.h"
#include "store_check.h"
#include "tcc/did/resolver.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

class PartyRequests {
 public:
  struct Parts {
    ConnectionTable& peers;
    Admission& admission;
    did::Resolver& resolver;
    DaemonMetrics& metrics;
    SettlementPipeline& pipeline;
    ChannelReads& reads;
    RecoveryRequests& recoveries;
    DisputeHandler& disputes;
    ChainService& chain;
    const RecoveryBook& recovery;
    const RefusedChannels& refused;
    std::size_t max_requests_in_flight_per_connection;
  };

  PartyRequests(LoopHost& host, ChannelTable& channels, const ChannelViews& views, Parts parts)
      : host_(host), channels_(channels), views_(views), parts_(std::move(parts)) {}

  // A decoded request from `connection` (the one `from` names).
  void Handle(Connection& connection, const Requester& from, wire::Message message);

 private:
  void AuthBegin(Connection& connection, const Requester& from, const wire::Message& message);
  void AuthProve(Connection& connection, const Requester& from, const wire::Message& message);
  void Propose(const Requester& from, Role role, ChannelRuntime& channel,
               const wire::Message& message);
  void Refuse(const Requester& from, const Error& error);

  LoopHost& host_;
  ChannelTable& channels_;
  const ChannelViews& views_;
  Parts parts_;
};

}  // namespace tcc::controller
