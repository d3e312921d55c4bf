// ChainWatchThread alone, over a real embedded ledger and a real channel store: it reports each TIC
// recorded for this TCC from its own thread, saves its cursor in the store, and a restart resumes
// after the events it handled instead of replaying them.
#include "chain_watch.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "daemon/daemon_test_util.h"

namespace tcc::controller {
namespace {

using namespace std::chrono_literals;
using tcc::testing::TempDir;
using tcc::testing::Trade;

class Tics {
 public:
  ChainWatcher::TicHandler Handler() {
    return [this](const std::string& tic_id) {
      std::lock_guard lock(mutex_);
      seen_.push_back(tic_id);
      changed_.notify_all();
    };
  }
  std::vector<std::string> Seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  // Waits (generously: the machine is busy) until `tic_id` was reported; returns all reported.
  std::vector<std::string> WaitFor(const std::string& tic_id) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 60s,
                      [&] { return std::find(seen_.begin(), seen_.end(), tic_id) != seen_.end(); });
    return seen_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> seen_;
};

TEST_CASE("TICs for this TCC are reported, and a restart resumes from the saved cursor") {
  TempDir dir;
  auto opened = chain::LocalLedger::Open({.path = dir.Sub("ledger")});
  REQUIRE(opened.ok());
  std::shared_ptr<chain::ChainAdapter> ledger(std::move(opened).value());
  auto opened_store = ChannelStore::Open(dir.Sub("store"));
  REQUIRE(opened_store.ok());
  std::unique_ptr<ChannelStore> store = std::move(opened_store).value();
  auto resolver = MakeChainResolver(ledger);

  Trade trade;
  trade.Record(ledger, 5);
  const std::string first = trade.channel_id;
  {
    Tics tics;
    ChainWatchThread watch(ledger, resolver, *store, trade.tcc_did(), 100ms, tics.Handler());
    watch.Start();
    CHECK(tics.WaitFor(first) == std::vector<std::string>{first});
    watch.Stop();
  }
  auto cursor = store->GetValue(std::string(ChainWatchThread::kCursorName));
  REQUIRE(cursor.ok());
  CHECK_FALSE(cursor->empty());

  trade.Record(ledger, 5);
  const std::string second = trade.channel_id;
  REQUIRE(second != first);
  Tics resumed;
  ChainWatchThread watch(ledger, resolver, *store, trade.tcc_did(), 100ms, resumed.Handler());
  watch.Start();
  // Only the new TIC: the first was handled before the cursor was saved.
  CHECK(resumed.WaitFor(second) == std::vector<std::string>{second});
  watch.Stop();

  const std::string read_through = *store->GetValue(std::string(ChainWatchThread::kCursorName));

  // A watcher for another TCC, from the start: it reads the same events and reports none.
  REQUIRE(store->PutValue(std::string(ChainWatchThread::kCursorName), "").ok());
  Tics other;
  ChainWatchThread elsewhere(ledger, resolver, *store, tcc::testing::DidOf(*trade.provider), 100ms,
                             other.Handler());
  elsewhere.Start();
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (*store->GetValue(std::string(ChainWatchThread::kCursorName)) != read_through &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
  }
  elsewhere.Stop();
  CHECK(*store->GetValue(std::string(ChainWatchThread::kCursorName)) == read_through);
  CHECK(other.Seen().empty());
}

}  // namespace
}  // namespace tcc::controller
