#include "tcc/common/thread_pool.h"

#include <algorithm>

#include "tcc/common/thread_name.h"

namespace tcc {

ThreadPool::ThreadPool(std::size_t threads, std::string thread_name)
    : thread_name_(std::move(thread_name)) {
  if (threads == 0) threads = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() { Stop(); }

void ThreadPool::Post(Task task) {
  {
    MutexLock lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.NotifyOne();
}

void ThreadPool::Stop() {
  {
    MutexLock lock(mutex_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  for (std::thread& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

std::size_t ThreadPool::queued() const {
  MutexLock lock(mutex_);
  return tasks_.size();
}

void ThreadPool::Work() {
  SetCurrentThreadName(thread_name_);
  while (true) {
    Task task;
    {
      MutexLock lock(mutex_);
      while (!stopping_ && tasks_.empty()) wake_.Wait(mutex_);
      if (tasks_.empty()) return;  // stopping, and nothing left to run
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task();
  }
}

}  // namespace tcc
