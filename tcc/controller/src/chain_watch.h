// Internal: the daemon's chain watcher thread (with auto_open): follows the adapter's events with a
// ChainWatcher (chain_resolver.h), which drops updated DIDs from the resolver cache and reports
// each recorded TIC naming this TCC, and keeps the watcher's cursor in the channel store (value
// "chain.cursor") so a restart resumes where it stopped. A cursor the store could not take is saved
// again after the next poll; until then a restart only replays events, and opening a channel twice
// is harmless. An adapter error is logged and the poll retried after 500 ms.
//
// Owned by the daemon; shares the adapter and the resolver, borrows the store. The TIC handler runs
// on the watcher thread (the daemon posts it to its loop). RequestStop may be called from any
// thread; Start and Stop from the thread that owns the object.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "tcc/chain/chain_adapter.h"
#include "tcc/controller/chain_resolver.h"
#include "channel_store.h"

namespace tcc::controller {

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
