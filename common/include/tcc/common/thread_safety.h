// Clang thread-safety annotations and the mutex they are checked against.
//
// The TCC_* macros expand to clang's capability attributes (and to nothing for other compilers);
// a clang build with -Wthread-safety (every clang build, cmake/TccModule.cmake) then proves at
// compile time that each TCC_GUARDED_BY member is touched only with its mutex held and each
// TCC_REQUIRES function is called with it. libstdc++'s std::mutex carries no annotations, so the
// annotated code uses tcc::Mutex, MutexLock (a scoped lock that may be released and taken again)
// and CondVar (a std::condition_variable waiting on a held Mutex) instead. They add nothing at run
// time over std::mutex and std::condition_variable.
//
// A condition variable's predicate lambda is analysed as a separate function that holds nothing,
// so annotated code waits in an explicit loop: `while (!ready_) cv_.Wait(mutex_);`.
//
// Thread safety: Mutex and CondVar are shared between threads; a MutexLock belongs to the thread
// that made it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define TCC_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define TCC_THREAD_ANNOTATION(x)
#endif

#define TCC_CAPABILITY(name) TCC_THREAD_ANNOTATION(capability(name))
#define TCC_SCOPED_CAPABILITY TCC_THREAD_ANNOTATION(scoped_lockable)
#define TCC_GUARDED_BY(mutex) TCC_THREAD_ANNOTATION(guarded_by(mutex))
#define TCC_PT_GUARDED_BY(mutex) TCC_THREAD_ANNOTATION(pt_guarded_by(mutex))
#define TCC_ACQUIRED_BEFORE(...) TCC_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#define TCC_ACQUIRED_AFTER(...) TCC_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#define TCC_REQUIRES(...) TCC_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define TCC_ACQUIRE(...) TCC_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define TCC_RELEASE(...) TCC_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define TCC_TRY_ACQUIRE(...) TCC_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#define TCC_EXCLUDES(...) TCC_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define TCC_ASSERT_CAPABILITY(x) TCC_THREAD_ANNOTATION(assert_capability(x))
#define TCC_RETURN_CAPABILITY(x) TCC_THREAD_ANNOTATION(lock_returned(x))
#define TCC_NO_THREAD_SAFETY_ANALYSIS TCC_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace tcc {

class TCC_CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() TCC_ACQUIRE() { mutex_.lock(); }
  void Unlock() TCC_RELEASE() { mutex_.unlock(); }
  bool TryLock() TCC_TRY_ACQUIRE(true) { return mutex_.try_lock(); }

 private:
  friend class CondVar;
  std::mutex mutex_;
};

// Holds `mutex` from construction to destruction; Unlock and Lock release and retake it in
// between (work done without the lock).
class TCC_SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) TCC_ACQUIRE(mutex) : mutex_(mutex) { mutex_.Lock(); }
  ~MutexLock() TCC_RELEASE() {
    if (held_) mutex_.Unlock();
  }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  void Unlock() TCC_RELEASE() {
    mutex_.Unlock();
    held_ = false;
  }
  void Lock() TCC_ACQUIRE() {
    mutex_.Lock();
    held_ = true;
  }

 private:
  Mutex& mutex_;
  bool held_ = true;
};

// std::condition_variable over a tcc::Mutex the caller holds (and holds again on return).
class CondVar {
 public:
  void NotifyOne() { cv_.notify_one(); }
  void NotifyAll() { cv_.notify_all(); }

  void Wait(Mutex& mutex) TCC_REQUIRES(mutex) {
    std::unique_lock<std::mutex> lock(mutex.mutex_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  // False once `deadline` has passed (the caller re-checks its condition either way).
  template <class Clock, class Duration>
  bool WaitUntil(Mutex& mutex, const std::chrono::time_point<Clock, Duration>& deadline)
      TCC_REQUIRES(mutex) {
    std::unique_lock<std::mutex> lock(mutex.mutex_, std::adopt_lock);
    const bool woken = cv_.wait_until(lock, deadline) == std::cv_status::no_timeout;
    lock.release();
    return woken;
  }
  template <class Rep, class Period>
  bool WaitFor(Mutex& mutex, const std::chrono::duration<Rep, Period>& timeout)
      TCC_REQUIRES(mutex) {
    return WaitUntil(mutex, std::chrono::steady_clock::now() + timeout);
  }

 private:
  std::condition_variable cv_;
};

}  // namespace tcc
