// Internal: what the daemon's loop lends the parts that serve requests (settlement pipeline,
// channel lifecycle, reads, recovery, control and party requests): answering a requester,
// publishing to a channel's members, running work on a worker and coming back to the loop, and
// the store's state. The wiring (daemon_loop.cpp) implements it over its sockets, connection table,
// worker pool and store guard; a part sees this interface, never the daemon.
//
// Loop thread only: every method is called on the daemon's loop thread, and the closures a part
// hands to Async/PeerAsync run their first half on a worker (touching only thread-safe parts: the
// resolver, the store, the adapter) and the Task they return back on the loop.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "connection_table.h"
#include "requester.h"
#include "store_writer.h"
#include "tcc/common/result.h"
#include "work_queue.h"

namespace tcc::controller {

struct ChannelRuntime;

class LoopHost {
 public:
  virtual ~LoopHost() = default;

  virtual void Reply(const Requester& to, std::string frame) = 0;
  virtual void ReplyError(const Requester& to, const Error& error) = 0;
  // Counts a refused request (by error code) in the daemon's health and metrics.
  virtual void CountRejection(const Error& error) = 0;
  // Sends `frame` to the channel's admitted members (only those in `only`'s role, if given),
  // except the connection `answered` asked over (it has the same content in its reply); returns
  // how many got it.
  virtual std::size_t Publish(ChannelRuntime& channel, std::string_view frame,
                              std::optional<Role> only = std::nullopt,
                              const Requester* answered = nullptr) = 0;

  // Runs `work` on a worker; the closure it returns runs back on the loop. Counted as work in
  // flight, which a drain waits for.
  virtual void Async(std::function<Task()> work) = 0;
  // As Async, for work that does no I/O (verifying and issuing a settlement among did:key
  // parties): when the loop pass that asked for it made no other such work and no worker has the
  // loop's work, the loop runs it itself before it sleeps again. Below saturation that spares the
  // work a worker's cold wake-up and the loop a second one for the result; under load it goes to
  // the workers as Async's does. Not for work that may block: the loop serves every socket.
  virtual void AsyncOrOnLoop(std::function<Task()> work) { Async(std::move(work)); }
  // The same for a party's request, counted against its connection's requests in flight
  // (`large`: its answer may be up to a frame, e.g. channel.sync).
  virtual void PeerAsync(const Requester& from, bool large, std::function<Task()> work) = 0;
  // Wraps a store write's completion so that it runs on the loop with the write's outcome; until
  // then the write counts as work in flight and as a store write on its way.
  virtual StoreWriter::Done OnLoop(std::function<void(const Status&)> done) = 0;

  // Ok while the store writes; else the error settlements and writes are refused with.
  virtual Status StoreStatus() const = 0;
  // Logs a failed write and makes the store's failure sticky (store_guard.h).
  virtual void OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                                  const Error& error) = 0;
  // The party connection `from` asked over, with the socket's events applied first; nullptr once
  // it is gone (its routing id may now be another peer's).
  virtual Connection* LiveConnection(const Requester& from) = 0;
  // True once tccd is stopping: new work is refused.
  virtual bool draining() const = 0;
};

}  // namespace tcc::controller
