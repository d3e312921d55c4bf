// Internal: tccd serving its own chain adapter (chain.read, chain.write; docs/tccd.md "Chain
// requests"), so that while tccd holds the embedded ledger the CLI's chain commands and channel
// members still reach it.
//
// Who may do what is decided here, apart from the sockets: the control socket (admin keys only)
// reads and writes; on the party socket a connection admitted to at least one channel reads DIDs,
// templates, anchors and the adapter's status, and nothing else is served there. The adapter call
// itself (chain/chain_requests.h) runs on a worker: on the party socket counted against the
// connection's in-flight caps, on the control socket at most kMaxControlChainRequests at once.
//
// The service decides; the daemon owns the sockets, the workers and the loop and lends them
// through LoopHost (loop_host.h). Lives on the daemon's loop thread: Handle and every Host call run
// there; the work handed to a worker touches only the adapter, which is thread-safe. Shares the
// adapter.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "loop_host.h"
#include "requester.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/chain_requests.h"
#include "tcc/common/result.h"
#include "tcc/wire/protocol.h"
#include "work_queue.h"

namespace tcc::controller {

enum class ChainAccess {
  kAdmin,   // the control socket
  kMember,  // a party connection admitted to a channel
  kNone,    // a party connection admitted to none
};

// The op a chain.read / chain.write request names, if `access` allows it: kPermissionDenied for a
// write from a party, get_tic or list_templates from a party, or any request from a connection
// admitted to no channel, kInvalidArgument for an unknown op or a write op sent as chain.read.
Result<chain::ChainOp> CheckChainRequest(const wire::Message& message, ChainAccess access);

class ChainService {
 public:
  // Chain calls from the control socket on workers at once: they hold workers settlements need.
  static constexpr std::size_t kMaxControlChainRequests = 4;

  ChainService(LoopHost& host, std::shared_ptr<chain::ChainAdapter> adapter)
      : host_(host), adapter_(std::move(adapter)) {}

  // A chain.read or chain.write from `from` with `access`: refused and counted here, or run on a
  // worker and answered (reply with `result`, or the adapter's error). Writes are logged.
  void Handle(const Requester& from, const wire::Message& message, ChainAccess access);

 private:
  LoopHost& host_;
  std::shared_ptr<chain::ChainAdapter> adapter_;
  std::size_t control_in_flight_ = 0;
};

}  // namespace tcc::controller
