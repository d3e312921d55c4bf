#include "chain_watch.h"

#include <utility>

#include "tcc/common/thread_name.h"
#include "tcc/controller/log.h"

namespace tcc::controller {

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
