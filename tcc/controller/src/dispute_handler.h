// Internal: the dispute requests of a channel (wire/dispute.h, negotiation.h) as tccd serves them:
// a provider's proposal for the next seq (an amend is allowed only after a rejection or the TIC's
// timeout), a consumer's rejection (verified, stored, relayed to the provider, counted), the
// dispute record members and auditors fetch (rejections and the closing record), and a party's
// signed close request.
//
// The handler decides and records; the daemon owns the sockets, the channels and the loop, and
// lends them through Host, which the handler only calls back. The handler reads a channel's state
// machine (its head, what is in flight, the negotiation) and writes through the store writer; it
// knows nothing of the daemon's other parts, so the rules can be read and tested on their own.
//
// Lives on the daemon's loop thread: every method, and every Host call, runs there (the work a
// request hands to PeerAsync runs on a worker and touches only thread-safe parts: the resolver and
// the store). Borrows the host, writer, store, resolver and metrics, which outlive it.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "channel_state_machine.h"
#include "channel_store.h"
#include "connection_table.h"
#include "metrics.h"
#include "requester.h"
#include "store_writer.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/dispute.h"
#include "tcc/wire/protocol.h"
#include "work_queue.h"

namespace tcc::controller {

class DisputeHandler {
 public:
  // What the handler needs of the daemon. Called on the loop thread only.
  class Host {
   public:
    virtual ~Host() = default;
    // The channel's state machine; nullptr if the daemon has no such channel.
    virtual ChannelStateMachine* Machine(const std::string& channel_id) = 0;
    virtual void Reply(const Requester& to, std::string frame) = 0;
    virtual void ReplyError(const Requester& to, const Error& error) = 0;
    // Counts a refused request (by error code) in the daemon's health and metrics.
    virtual void CountRejection(const Error& error) = 0;
    // Runs `work` on a worker, counted against the requester's connection; the closure it returns
    // runs back on the loop (`large`: its answer may be up to a frame).
    virtual void PeerAsync(const Requester& from, bool large, std::function<Task()> work) = 0;
    // Ok while the store writes; else the error writes are refused with.
    virtual Status StoreStatus() const = 0;
    // Wraps a store write's completion so that it runs on the loop, counted as work in flight.
    virtual StoreWriter::Done OnLoop(std::function<void(const Status&)> done) = 0;
    virtual void OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                                    const Error& error) = 0;
    // Sends `frame` to the channel's admitted members in `role`; returns how many got it.
    virtual std::size_t Publish(const std::string& channel_id, std::string_view frame,
                                Role role) = 0;
    // A party's verified close request: close the channel (once the settlement in flight is done)
    // and answer `from` with the closing record.
    virtual void ClosePerParty(const std::string& channel_id, Json request,
                               const Requester& from) = 0;
  };

  DisputeHandler(Host& host, StoreWriter& writer, ChannelStore& store, did::Resolver& resolver,
                 DaemonMetrics& metrics)
      : host_(host), writer_(writer), store_(store), resolver_(resolver), metrics_(metrics) {}

  // The provider's proposal `proposal` for the channel's next seq (`link` read from it): a re-send
  // of the latest bill, a first bill, or an amend (after a rejection, or once the bill has stood
  // the TIC's settlement.amend_after_s). A new bill is marked in the store before `relay` runs; a
  // refused one is answered and counted here, and `relay` does not run.
  void ProviderProposal(const Requester& from, const std::string& channel_id,
                        const vc::SettlementLink& link, const Json& proposal,
                        std::function<void()> relay);
  // settle.reject, from a member in `role`.
  void Reject(const Requester& from, Role role, const std::string& channel_id,
              const wire::Message& message);
  // channel.rejections: the stored rejections from seq `from_seq` on, and `closing`, the channel's
  // closing record if a party closed it, with `closing_evidence`, the bundle of its closing leaf,
  // once that is anchored.
  void Rejections(const Requester& from, const std::string& channel_id, std::optional<Json> closing,
                  const wire::Message& message);
  // channel.close with a party's signed request, from a member in `role`.
  void Close(const Requester& from, Role role, const std::string& channel_id,
             const wire::Message& message);

 private:
  void OnRejectionVerified(const Requester& from, const std::string& channel_id,
                           Result<wire::Rejection> rejection, Json document);
  void Refuse(const Requester& from, const Error& error);

  Host& host_;
  StoreWriter& writer_;
  ChannelStore& store_;
  did::Resolver& resolver_;
  DaemonMetrics& metrics_;
};

}  // namespace tcc::controller
