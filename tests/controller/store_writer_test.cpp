// StoreWriter's group commit over a real ChannelStore: a group waits for settlements being
// verified (up to its width and linger time) and is written at once when nothing is.
//
// "Not written yet" is checked only while the writer is held by a linger time far longer than
// the test (60 s), so no check depends on how fast the machine is.
#include "store_writer.h"

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "chain/chain_test_util.h"
#include "store_records_test_util.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;
using namespace testing;
using namespace std::chrono_literals;

// Counts completed ops; Await blocks until `count` have completed (all of them successfully).
class Completions {
 public:
  StoreWriter::Done Track() {
    return [this](const Status& status) {
      std::lock_guard lock(mutex_);
      if (!status.ok()) failures_.push_back(status.error().ToString());
      ++done_;
      changed_.notify_all();
    };
  }
  // A commit's completion, which gets the commit back: kept for the test to inspect.
  StoreWriter::CommitDone TrackCommit() {
    return [this, done = Track()](const Status& status, SettlementCommit commit) {
      {
        std::lock_guard lock(mutex_);
        returned_.push_back(std::move(commit));
      }
      done(status);
    };
  }
  std::vector<SettlementCommit> returned() {
    std::lock_guard lock(mutex_);
    return returned_;
  }
  void Await(std::size_t count) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return done_ >= count; });
    REQUIRE_MESSAGE(failures_.empty(), failures_.front());
  }
  std::size_t done() {
    std::lock_guard lock(mutex_);
    return done_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t done_ = 0;
  std::vector<std::string> failures_;
  std::vector<SettlementCommit> returned_;
};

std::string Channel(int i) { return std::string(63, 'a') + static_cast<char>('a' + i); }

// Every commit so far went out in one group, and that group waited.
void CheckOneLingeredGroup(const StoreWriter& writer, std::size_t commits) {
  const StoreWriter::Stats stats = writer.stats();
  CHECK(stats.group_commits == 1);
  CHECK(stats.commits == commits);
  CHECK(stats.lingered_groups == 1);
}

struct Fixture {
  TempDir dir;
  std::unique_ptr<ChannelStore> store = Ok(ChannelStore::Open(dir.Sub("store")));
  Completions completions;
};

TEST_CASE("a group waits for settlements being verified until it is as wide as the policy") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 4, .linger = 60s});
  writer.SettlementsVerifying(+5);
  for (int i = 0; i < 3; ++i) writer.Commit(CommitOf(Channel(i), 1), f.completions.TrackCommit());
  std::this_thread::sleep_for(50ms);
  CHECK(f.completions.done() == 0);  // held: 3 of 4, and settlements are still being verified
  writer.Commit(CommitOf(Channel(3), 1), f.completions.TrackCommit());
  f.completions.Await(4);
  CheckOneLingeredGroup(writer, 4);
  for (int i = 0; i < 4; ++i) CHECK(Ok(f.store->GetTsc(Channel(i), 1)).seq == 1);
}

TEST_CASE("a lingering group is written once nothing more is being verified") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 64, .linger = 60s});
  writer.SettlementsVerifying(+2);
  writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
  writer.SettlementsVerifying(-1);
  writer.Commit(CommitOf(Channel(1), 1), f.completions.TrackCommit());
  std::this_thread::sleep_for(50ms);
  CHECK(f.completions.done() == 0);
  writer.SettlementsVerifying(-1);  // the last one came back without a commit (it failed)
  f.completions.Await(2);
  CHECK(writer.stats().group_commits == 1);
}

TEST_CASE("a commit that leaves verification counts itself out as it is queued") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 64, .linger = 60s});
  writer.SettlementsVerifying(+2);
  writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit(), /*leaves_verification=*/true);
  std::this_thread::sleep_for(50ms);
  CHECK(f.completions.done() == 0);  // the other settlement is still being verified
  writer.Commit(CommitOf(Channel(1), 1), f.completions.TrackCommit(), /*leaves_verification=*/true);
  f.completions.Await(2);  // nothing is left: written without waiting out the linger time
  CHECK(writer.stats().group_commits == 1);
  // The count cannot go below zero: a commit that leaves it with none counted is written at once.
  writer.Commit(CommitOf(Channel(2), 1), f.completions.TrackCommit(), /*leaves_verification=*/true);
  f.completions.Await(3);
  writer.SettlementsVerifying(+1);
  writer.Commit(CommitOf(Channel(3), 1), f.completions.TrackCommit(), /*leaves_verification=*/true);
  f.completions.Await(4);
}

TEST_CASE("with nothing being verified a commit is written at once") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 64, .linger = 60s});
  writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
  f.completions.Await(1);
  CHECK(writer.stats().lingered_groups == 0);
}

TEST_CASE("with an idle linger a group with nothing being verified waits for more commits") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr,
                     GroupCommitPolicy{.width = 3, .linger = 60s, .idle_linger = 60s});
  writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
  writer.Commit(CommitOf(Channel(1), 1), f.completions.TrackCommit());
  std::this_thread::sleep_for(50ms);
  CHECK(f.completions.done() == 0);  // held: 2 of 3, nothing being verified, the idle linger
  // A count that rises and falls back to zero does not end an idle group's wait.
  writer.SettlementsVerifying(+1);
  writer.SettlementsVerifying(-1);
  std::this_thread::sleep_for(50ms);
  CHECK(f.completions.done() == 0);
  writer.Commit(CommitOf(Channel(2), 1), f.completions.TrackCommit());
  f.completions.Await(3);
  CheckOneLingeredGroup(writer, 3);
}

TEST_CASE("the idle linger bounds an idle group's wait; Stop ends it") {
  Fixture f;
  {
    StoreWriter writer(*f.store, nullptr,
                       GroupCommitPolicy{.width = 64, .linger = 60s, .idle_linger = 20ms});
    writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
    f.completions.Await(1);  // written after 20 ms, though the 60 s linger is not over
    CHECK(writer.stats().lingered_groups == 1);
  }
  StoreWriter writer(*f.store, nullptr,
                     GroupCommitPolicy{.width = 64, .linger = 60s, .idle_linger = 60s});
  writer.Commit(CommitOf(Channel(1), 1), f.completions.TrackCommit());
  writer.Stop();
  CHECK(f.completions.done() == 2);
}

TEST_CASE("another write ends the wait, and order holds") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 64, .linger = 60s});
  writer.SettlementsVerifying(+1);
  writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
  ChannelRecord settings = CommitOf(Channel(0), 1).channel;
  settings.strategy_n = 20;
  writer.PutChannel(settings, f.completions.Track());
  f.completions.Await(2);
  CHECK(Ok(f.store->GetChannel(Channel(0))).strategy_n == 20);  // written after the commit
}

TEST_CASE("the linger time bounds the wait") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 64, .linger = 20ms});
  writer.SettlementsVerifying(+1);  // never comes back
  writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
  f.completions.Await(1);
  CHECK(writer.stats().lingered_groups == 1);
}

TEST_CASE("width 0 never waits, and Stop writes a lingering group") {
  Fixture f;
  {
    StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 0, .linger = 60s});
    writer.SettlementsVerifying(+1);
    writer.Commit(CommitOf(Channel(0), 1), f.completions.TrackCommit());
    f.completions.Await(1);
    CHECK(writer.stats().lingered_groups == 0);
  }
  StoreWriter writer(*f.store, nullptr, GroupCommitPolicy{.width = 64, .linger = 60s});
  writer.SettlementsVerifying(+1);
  writer.Commit(CommitOf(Channel(1), 1), f.completions.TrackCommit());
  writer.Stop();
  CHECK(f.completions.done() == 2);
  CHECK(Ok(f.store->GetTsc(Channel(1), 1)).seq == 1);
}

TEST_CASE("a commit's completion gets the commit back, written or refused") {
  Fixture f;
  StoreWriter writer(*f.store, nullptr);
  const SettlementCommit sent = CommitOf(Channel(0), 1, /*evidence=*/true);
  writer.Commit(sent, f.completions.TrackCommit());
  f.completions.Await(1);
  // The same seq again is refused (a stored TSC is never overwritten); the commit still comes back.
  std::vector<std::string> refusals;
  writer.Commit(sent, [&, done = f.completions.Track()](const Status& status,
                                                        SettlementCommit returned) {
    refusals.push_back(status.ok() ? "written" : std::string(ErrorCodeName(status.error().code())));
    CHECK(returned.tsc == sent.tsc);
    done(OkStatus());
  });
  f.completions.Await(2);
  CHECK(refusals == std::vector<std::string>{"already_exists"});
  const std::vector<SettlementCommit> returned = f.completions.returned();
  REQUIRE(returned.size() == 1);
  CHECK(returned[0].tsc == sent.tsc);
  CHECK(returned[0].channel == sent.channel);
  REQUIRE(returned[0].evidence.has_value());
  CHECK(returned[0].evidence->tsc_hash == sent.evidence->tsc_hash);
}

}  // namespace
}  // namespace tcc::controller
