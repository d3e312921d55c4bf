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
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace tcc::controller {

using Task = std::function<void()>;

class WorkerPool {
 public:
  explicit WorkerPool(std::size_t threads) {
    if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
    for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
  }
  ~WorkerPool() { Stop(); }

  void Post(Task task) {
    {
      std::lock_guard lock(mutex_);
      tasks_.push_back(std::move(task));
    }
    wake_.notify_one();
  }

  // Runs what is queued, then joins.
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  std::size_t queued() const {
    std::lock_guard lock(mutex_);
    return tasks_.size();
  }
  std::size_t size() const { return threads_.size(); }

 private:
  void Run() {
    while (true) {
      Task task;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [&] { return stopping_ || !tasks_.empty(); });
        if (tasks_.empty()) return;
        task = std::move(tasks_.front());
        tasks_.pop_front();
      }
      task();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  bool stopping_ = false;
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
      std::lock_guard lock(mutex_);
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
    std::lock_guard lock(mutex_);
    return std::exchange(tasks_, {});
  }

 private:
  int fd_;
  std::mutex mutex_;
  std::deque<Task> tasks_;
};

}  // namespace tcc::controller
