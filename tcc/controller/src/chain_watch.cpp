#include "chain_watch.h"

#include <utility>

#include "tcc/common/thread_name.h"
#include "tcc/controller/log.h"

namespace tcc::controller {

ChainWatcher::ChainWatcher(std::shared_ptr<chain::ChainAdapter> adapter,
                           std::shared_ptr<did::CachingResolver> cache, std::string cursor,
                           std::string tcc_did, TicHandler on_tic)
    : adapter_(std::move(adapter)),
      cache_(std::move(cache)),
      tcc_did_(std::move(tcc_did)),
      on_tic_(std::move(on_tic)),
      cursor_(std::move(cursor)) {}

Result<std::size_t> ChainWatcher::PollOnce(std::chrono::milliseconds wait) {
  MutexLock lock(mutex_);
  chain::EventQuery query;
  query.cursor = cursor_;
  query.filter.did_updated = true;
  query.filter.tic_recorded = !tcc_did_.empty() && on_tic_;
  if (query.filter.tic_recorded) query.filter.tcc_did = tcc_did_;
  query.wait = wait;
  auto page = adapter_->PollEvents(query);
  if (!page.ok()) return std::move(page).error().WithContext("poll chain events");
  std::size_t handled = 0;
  for (const auto& event : page->events) {
    if (event.kind == chain::ChainEventKind::kDidUpdated) {
      cache_->Invalidate(event.subject);
    } else if (query.filter.tic_recorded && event.tcc_did == tcc_did_) {
      on_tic_(event.subject);
    } else {
      continue;
    }
    ++handled;
  }
  cursor_ = std::move(page->next_cursor);
  return handled;
}

std::string ChainWatcher::cursor() const {
  MutexLock lock(mutex_);
  return cursor_;
}

ChainWatchThread::ChainWatchThread(std::shared_ptr<chain::ChainAdapter> adapter,
                                   std::shared_ptr<did::CachingResolver> resolver,
                                   ChannelStore& store, std::string tcc_did,
                                   std::chrono::milliseconds poll_wait,
                                   ChainWatcher::TicHandler on_tic)
    : adapter_(std::move(adapter)),
      resolver_(std::move(resolver)),
      store_(store),
      tcc_did_(std::move(tcc_did)),
      poll_wait_(poll_wait),
      on_tic_(std::move(on_tic)) {}

ChainWatchThread::~ChainWatchThread() { Stop(); }

void ChainWatchThread::Start() {
  thread_ = std::thread([this] {
    SetCurrentThreadName("tcc-chain-watch");
    Run();
  });
}

void ChainWatchThread::Stop() {
  RequestStop();
  if (thread_.joinable()) thread_.join();
}

void ChainWatchThread::Run() {
  std::string saved_cursor;
  if (auto saved = store_.GetValue(std::string(kCursorName)); saved.ok()) saved_cursor = *saved;
  ChainWatcher watcher(adapter_, resolver_, saved_cursor, tcc_did_, on_tic_);
  while (!stop_) {
    auto handled = watcher.PollOnce(poll_wait_);
    if (!handled.ok()) {
      Log(LogLevel::kWarning, "chain watcher", {{"error", handled.error().ToString()}});
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      continue;
    }
    if (watcher.cursor() != saved_cursor) {
      if (Status saved = store_.PutValue(std::string(kCursorName), watcher.cursor()); saved.ok()) {
        saved_cursor = watcher.cursor();
      } else {
        Log(LogLevel::kWarning, "save chain cursor", {{"error", saved.error().ToString()}});
      }
    }
  }
}

}  // namespace tcc::controller
