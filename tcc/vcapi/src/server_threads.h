// The VC API server's own thread (internal to server.cpp): ReadDeadlines ends body reads that
// outlive their deadline. (The credential work runs on a common ThreadPool, see server.cpp.)
// Thread-safe; destroying it joins its thread.
#pragma once

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <unordered_map>

#include "tcc/common/thread_name.h"
#include "tcc/common/thread_safety.h"

namespace tcc::vcapi {

// Ends body reads that outlive their deadline by shutting the socket's read side down, so that a
// blocked mg_read returns at once. civetweb's mg_read waits until it has every byte asked for and
// applies its timeout only while none arrive: a client trickling a byte a second would hold a read,
// and a worker thread, for hours. A watched socket belongs to the worker that reads it until the
// watch ends (before civetweb may close it), so the shutdown never hits a reused descriptor.
class ReadDeadlines {
 public:
  ReadDeadlines()
      : thread_([this] {
          SetCurrentThreadName("tcc-vcapi-time");
          Run();
        }) {}
  ~ReadDeadlines() {
    {
      MutexLock lock(mutex_);
      stopping_ = true;
    }
    wake_.NotifyAll();
    thread_.join();
  }
  ReadDeadlines(const ReadDeadlines&) = delete;
  ReadDeadlines& operator=(const ReadDeadlines&) = delete;

  // Watches a socket (-1: nothing to watch) while it lives.
  class Watch {
   public:
    Watch(ReadDeadlines& deadlines, int socket, std::chrono::steady_clock::time_point deadline)
        : deadlines_(deadlines), id_(socket >= 0 ? deadlines.Add(socket, deadline) : 0) {}
    ~Watch() {
      if (id_ != 0) deadlines_.Remove(id_);
    }
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

   private:
    ReadDeadlines& deadlines_;
    std::uint64_t id_;
  };

 private:
  struct Watched {
    int socket;
    std::chrono::steady_clock::time_point deadline;
  };

  std::uint64_t Add(int socket, std::chrono::steady_clock::time_point deadline) {
    MutexLock lock(mutex_);
    const std::uint64_t id = ++last_id_;
    watched_.emplace(id, Watched{socket, deadline});
    // Most requests end long before their deadline: wake the thread only when it would sleep past
    // this one.
    if (deadline < next_wake_) wake_.NotifyAll();
    return id;
  }

  void Remove(std::uint64_t id) {
    MutexLock lock(mutex_);
    watched_.erase(id);
  }

  void Run() {
    MutexLock lock(mutex_);
    while (!stopping_) {
      const auto now = std::chrono::steady_clock::now();
      auto next = std::chrono::steady_clock::time_point::max();
      for (auto it = watched_.begin(); it != watched_.end();) {
        if (it->second.deadline <= now) {
          ::shutdown(it->second.socket, SHUT_RD);
          it = watched_.erase(it);
        } else {
          next = std::min(next, it->second.deadline);
          ++it;
        }
      }
      next_wake_ = next;
      if (next == std::chrono::steady_clock::time_point::max()) {
        wake_.Wait(mutex_);
      } else {
        wake_.WaitUntil(mutex_, next);
      }
    }
  }

  Mutex mutex_;
  CondVar wake_;
  // At most one per connection.
  std::unordered_map<std::uint64_t, Watched> watched_ TCC_GUARDED_BY(mutex_);
  std::uint64_t last_id_ TCC_GUARDED_BY(mutex_) = 0;
  std::chrono::steady_clock::time_point next_wake_ TCC_GUARDED_BY(mutex_) =
      std::chrono::steady_clock::time_point::min();
  bool stopping_ TCC_GUARDED_BY(mutex_) = false;
  std::thread thread_;  // last: it starts with the members above in place
};

}  // namespace tcc::vcapi
