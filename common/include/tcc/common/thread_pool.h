// ThreadPool: a fixed set of threads that run posted closures, first posted first started.
//
// The one pool of worker threads in the code base: tccd's workers (the CPU-heavy party work) and
// the VC API's credential work (off civetweb's small thread stacks) both run on one. Post() hands a
// closure over and returns at once; Run() hands one over and waits for its result. Stop() lets
// the threads finish everything queued, then joins them; the destructor stops. Closures posted
// after Stop() are never run, so the owner stops a pool only once nothing posts to it any more.
// Its threads have the platform's default stack size and carry the name the owner gives (see
// docs/design.md's thread table). Thread-safe, except that Stop() and the
// destructor must not run on one of the pool's own threads.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <future>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tcc/common/thread_safety.h"

namespace tcc {

class ThreadPool {
 public:
  using Task = std::function<void()>;

  // `threads` == 0: one per core (at least one). `thread_name`: at most 15 characters (longer is cut).
  ThreadPool(std::size_t threads, std::string thread_name);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  void Post(Task task);

  // Runs `work` on one of the pool's threads and returns its result once it has run.
  template <typename Work>
  auto Run(Work work) -> decltype(work()) {
    std::packaged_task<decltype(work())()> task(std::move(work));
    auto result = task.get_future();
    // The caller waits below, so the task may be borrowed rather than moved into the closure.
    Post([&task] { task(); });
    return result.get();
  }

  // Runs what is queued, then joins. Idempotent.
  void Stop();

  std::size_t queued() const;
  std::size_t size() const { return threads_.size(); }

 private:
  void Work();

  mutable Mutex mutex_;
  CondVar wake_;
  std::deque<Task> tasks_ TCC_GUARDED_BY(mutex_);
  bool stopping_ TCC_GUARDED_BY(mutex_) = false;
  const std::string thread_name_;
  std::vector<std::thread> threads_;  // last: its threads start with the members above in place
};

}  // namespace tcc
