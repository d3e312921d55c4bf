#include "tcc/common/thread_pool.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace tcc {
namespace {

TEST_CASE("ThreadPool runs every posted task on its own threads") {
  ThreadPool pool(3, "test-pool");
  CHECK(pool.size() == 3);
  std::mutex mutex;
  std::set<std::thread::id> ran_on;
  std::atomic<int> ran{0};
  for (int i = 0; i < 200; ++i) {
    pool.Post([&] {
      {
        std::lock_guard lock(mutex);
        ran_on.insert(std::this_thread::get_id());
      }
      ++ran;
    });
  }
  pool.Stop();  // runs what is queued, then joins
  CHECK(ran == 200);
  CHECK(ran_on.count(std::this_thread::get_id()) == 0);
  CHECK(ran_on.size() <= 3);
  pool.Stop();  // idempotent
}

TEST_CASE("ThreadPool with 0 threads has one per core") {
  ThreadPool pool(0, "test-pool");
  CHECK(pool.size() == std::max(1u, std::thread::hardware_concurrency()));
}

TEST_CASE("ThreadPool::Run waits for the result, computed on a pool thread") {
  ThreadPool pool(2, "test-pool");
  const std::thread::id caller = std::this_thread::get_id();
  CHECK(pool.Run([&] { return std::this_thread::get_id() != caller; }));
  CHECK(pool.Run([] { return std::string("answer"); }) == "answer");
  // An exception (a bug in the work) comes back to the caller instead of ending a pool thread.
  CHECK_THROWS_AS(pool.Run([]() -> int { throw std::runtime_error("bug"); }), std::runtime_error);
  CHECK(pool.Run([] { return 7; }) == 7);
}

TEST_CASE("ThreadPool queues what no thread is free for, first posted first started") {
  ThreadPool pool(1, "test-pool");
  std::mutex mutex;
  std::condition_variable changed;
  bool release = false;
  bool blocking = false;
  pool.Post([&] {
    std::unique_lock lock(mutex);
    blocking = true;
    changed.notify_all();
    changed.wait(lock, [&] { return release; });
  });
  {
    std::unique_lock lock(mutex);
    REQUIRE(changed.wait_for(lock, std::chrono::seconds(30), [&] { return blocking; }));
  }
  std::vector<int> order;
  for (int i = 0; i < 5; ++i) pool.Post([&order, i] { order.push_back(i); });
  CHECK(pool.queued() == 5);
  {
    std::lock_guard lock(mutex);
    release = true;
  }
  changed.notify_all();
  pool.Stop();
  CHECK(pool.queued() == 0);
  CHECK(order == std::vector<int>{0, 1, 2, 3, 4});
}

}  // namespace
}  // namespace tcc
