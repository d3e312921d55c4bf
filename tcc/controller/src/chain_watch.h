// Internal: the daemon's chain watcher. ChainWatcher follows the adapter's events from a cursor the
// caller may persist: it drops each updated DID from the resolver cache, so a document changed on
// chain is re-read on its next use instead of after the TTL, and hands every recorded TIC that
// names this TCC to a handler (tccd opens its channel); it serializes its own polls with a mutex,
// and the handler runs on the polling thread.
//
// ChainWatchThread is the thread (with auto_open) that polls a ChainWatcher and keeps its cursor in
// the channel store (value "chain.cursor") so a restart resumes where it stopped. A cursor the
// store could not take is saved again after the next poll; until then a restart only replays
// events, and opening a channel twice is harmless. An adapter error is logged and the poll retried
// after 500 ms.
//
// Owned by the daemon; shares the adapter and the resolver, borrows the store. The TIC handler runs
// on the watcher thread (the daemon posts it to its loop). RequestStop may be called from any
// thread; Start and Stop from the thread that owns the object.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "channel_store.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "tcc/common/thread_safety.h"
#include "tcc/did/resolver.h"

namespace tcc::controller {

class ChainWatcher {
 public:
  // Called with the id of each recorded TIC naming `tcc_did`.
  using TicHandler = std::function<void(const std::string& tic_id)>;

  // `cursor` is where to resume (a value of cursor() saved earlier); empty starts at the first
  // block, which only costs spurious invalidations and repeated (idempotent) channel opens.
  // Without a tcc_did (or handler) TIC events are not followed.
  ChainWatcher(std::shared_ptr<chain::ChainAdapter> adapter,
               std::shared_ptr<did::CachingResolver> cache, std::string cursor = {},
               std::string tcc_did = {}, TicHandler on_tic = {});

  // Reads one page of events after the cursor (waiting up to `wait` for a new block when there is
  // none), handles each and advances the cursor. Returns the number of events handled; on an
  // adapter error the cursor stays where it was, so the next poll retries the same events.
  Result<std::size_t> PollOnce(std::chrono::milliseconds wait = std::chrono::milliseconds(0));

  // The position after the last handled event, for the daemon to persist.
  std::string cursor() const;

 private:
  std::shared_ptr<chain::ChainAdapter> adapter_;
  std::shared_ptr<did::CachingResolver> cache_;
  std::string tcc_did_;
  TicHandler on_tic_;
  mutable Mutex mutex_;
  std::string cursor_ TCC_GUARDED_BY(mutex_);
};

class ChainWatchThread {
 public:
  static constexpr std::string_view kCursorName = "chain.cursor";

  ChainWatchThread(std::shared_ptr<chain::ChainAdapter> adapter,
                   std::shared_ptr<did::CachingResolver> resolver, ChannelStore& store,
                   std::string tcc_did, std::chrono::milliseconds poll_wait,
                   ChainWatcher::TicHandler on_tic);
  ~ChainWatchThread();
  ChainWatchThread(const ChainWatchThread&) = delete;
  ChainWatchThread& operator=(const ChainWatchThread&) = delete;

  void Start();
  // The thread ends after its current poll (at most poll_wait).
  void RequestStop() { stop_ = true; }
  // RequestStop, then joins the thread.
  void Stop();

 private:
  void Run();

  std::shared_ptr<chain::ChainAdapter> adapter_;
  std::shared_ptr<did::CachingResolver> resolver_;
  ChannelStore& store_;
  std::string tcc_did_;
  std::chrono::milliseconds poll_wait_;
  ChainWatcher::TicHandler on_tic_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace tcc::controller
