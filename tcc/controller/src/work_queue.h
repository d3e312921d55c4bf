// Internal: the two queues the daemon's threads hand work through.
//
// WorkerPool (the common ThreadPool) runs closures on a fixed set of threads (the CPU-heavy work:
// signature checks, issuing, store reads). LoopQueue carries closures back to the I/O thread,
// which owns all channel and connection state and every socket; it wakes that thread's poll
// through an eventfd, so the loop sleeps in one poll over sockets and the queue together.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <cassert>
#include <cstdint>
#include <deque>
#include <functional>
#include <utility>

#include "tcc/common/thread_pool.h"
#include "tcc/common/thread_safety.h"

namespace tcc::controller {

using Task = std::function<void()>;

// The daemon's workers: the common pool (tcc/common/thread_pool.h).
using WorkerPool = ThreadPool;

class LoopQueue {
 public:
  LoopQueue() : fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~LoopQueue() {
    if (fd_ >= 0) close(fd_);
  }
  LoopQueue(const LoopQueue&) = delete;
  LoopQueue& operator=(const LoopQueue&) = delete;

  bool valid() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  void Post(Task task) {
    bool wake;
    {
      MutexLock lock(mutex_);
      tasks_.push_back(std::move(task));
      wake = !signalled_;
      signalled_ = true;
    }
    // One wake-up per drain: the loop takes everything queued when it wakes, so a task posted
    // while an earlier wake-up is still unread rides on that one. Testing for an empty queue
    // instead would write again for every task posted between a drain and the next wake-up.
    if (wake) {
      const std::uint64_t one = 1;
      [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof one);
    }
  }

  // Called by the loop thread when fd() is readable: the queued tasks move into `out`, which
  // must be empty. The loop keeps `out` from one drain to the next, since a std::deque allocates
  // whenever one is made; the two deques' storage swaps back and forth.
  void DrainInto(std::deque<Task>& out) {
    assert(out.empty());
    // The wake-up is consumed before the flag is cleared: a task posted in between is taken by
    // the swap below, and one posted after the swap finds the flag clear and writes again.
    std::uint64_t count;
    [[maybe_unused]] ssize_t read_bytes = read(fd_, &count, sizeof count);
    MutexLock lock(mutex_);
    tasks_.swap(out);
    signalled_ = false;
  }

 private:
  int fd_;
  Mutex mutex_;
  std::deque<Task> tasks_ TCC_GUARDED_BY(mutex_);
  bool signalled_ TCC_GUARDED_BY(mutex_) = false;  // a wake-up written and not yet read
};

}  // namespace tcc::controller
