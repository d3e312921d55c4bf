// Internal: the two queues the daemon's threads hand work through.
//
// WorkerPool runs closures on a fixed set of threads (the CPU-heavy work: signature checks,
// issuing, store reads). LoopQueue carries closures back to the I/O thread, which owns all channel
// and connection state and every socket; it wakes that thread's poll through an eventfd, so the
// loop sleeps in one zmq_poll over sockets and the queue together.
#pragma once

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <utility>
#include <vector>

#include "tcc/common/thread_name.h"
#include "tcc/common/thread_safety.h"

namespace tcc::controller {

using Task = std::function<void()>;

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads) {
    if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] {
      SetCurrentThreadName("tcc-worker");
      Run();
    });
  }
  ~WorkerPool() { Stop(); }

  void Post(Task task) {
    {
      MutexLock lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.NotifyOne();
  }

  // Runs what is queued, then joins.
  void Stop() {
    {
      MutexLock lock(mutex_);
      stopping_ = true;
    }
    wake_.NotifyAll();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  std::size_t queued() const {
    MutexLock lock(mutex_);
    return tasks_.size();
  }
  std::size_t size() const { return threads_.size(); }

 private:
  void Run() {
    while (true) {
      Task task;
      {
        MutexLock lock(mutex_);
        while (!stopping_ && tasks_.empty()) wake_.Wait(mutex_);
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  mutable Mutex mutex_;
  CondVar wake_;
  std::deque<Task> tasks_ TCC_GUARDED_BY(mutex_);
  bool stopping_ TCC_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

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
    bool was_empty;
    {
      MutexLock lock(mutex_);
      was_empty = tasks_.empty();
      tasks_.push_back(std::move(task));
    }
    // One wake-up per batch: the loop drains everything queued when it wakes.
    if (was_empty) {
      const std::uint64_t one = 1;
      [[maybe_unused]] ssize_t written = write(fd_, &one, sizeof one);
    }
  }

  // Called by the loop thread when fd() is readable.
  std::deque<Task> Drain() {
    std::uint64_t count;
    [[maybe_unused]] ssize_t read_bytes = read(fd_, &count, sizeof count);
    MutexLock lock(mutex_);
    return std::exchange(tasks_, {});
  }

 private:
  int fd_;
  Mutex mutex_;
  std::deque<Task> tasks_ TCC_GUARDED_BY(mutex_);
};

}  // namespace tcc::controller
