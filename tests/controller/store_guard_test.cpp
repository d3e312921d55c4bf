// StoreGuard alone, over a real ChannelStore in a temporary directory: the sticky failure, when a
// probe may run, what a probe reads back, the evidence recovery re-sends; and the InFlight tokens
// it counts writes with. (A store that really cannot write is the disk-full reliability test's.)
#include "store_guard.h"

#include <doctest/doctest.h>

#include <map>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "chain/chain_test_util.h"
#include "channel_state_machine.h"
#include "in_flight.h"
#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;
using namespace std::chrono_literals;

const std::string kChannelA(64, 'a');
const std::string kChannelB(64, 'b');

std::string HexHash(const std::string& text) { return HexEncode(Sha256(AsBytes(text))); }

std::unique_ptr<ChannelStore> OpenStore(const TempDir& dir) {
  auto store = ChannelStore::Open(dir.Sub("store"));
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().ToString()));
  return std::move(store).value();
}

ChannelRecord Record(const std::string& id) {
  ChannelRecord record;
  record.channel_id = id;
  record.provider = "did:key:provider";
  record.consumer = "did:key:consumer";
  record.tst_id = "tst";
  record.tst_version = 1;
  record.last_hash = Sha256DigestFromHex(id).value();
  return record;
}

TEST_CASE("in-flight tokens count until released, also when carried through copies") {
  InFlight counter;
  {
    InFlight::Token first = counter.Begin();
    CHECK(counter.count() == 1);
    InFlight::Token moved = std::move(first);
    CHECK_FALSE(first.held());
    CHECK(counter.count() == 1);
    moved.Release();
    CHECK(counter.count() == 0);
    moved.Release();  // once only
    CHECK(counter.count() == 0);
    InFlight::Token scoped = counter.Begin();
  }
  CHECK(counter.count() == 0);

  // A carried token: copies live on another thread; only the loop's Take releases it.
  InFlight::Carried carried = counter.BeginCarried();
  CHECK(counter.count() == 1);
  std::thread other([copy = carried] { (void)copy; });
  other.join();
  CHECK(counter.count() == 1);
  { InFlight::Token taken = carried.Take(); }
  CHECK(counter.count() == 0);
  InFlight::Carried dropped = counter.BeginCarried();
  // Taking from an emptied holder again yields nothing to release.
  dropped.Take().Release();
  CHECK_FALSE(dropped.Take().held());
  CHECK(counter.count() == 0);
}

TEST_CASE("the first failed write makes the store failed until a probe succeeds") {
  TempDir dir;
  auto store = OpenStore(dir);
  StoreGuard guard(*store);
  const auto start = StoreGuard::Clock::now();
  CHECK(guard.ok());
  CHECK(guard.status().ok());
  CHECK_FALSE(guard.ShouldProbe(true));

  InFlight::Carried write = guard.BeginWrite();
  InFlight::Carried other = guard.BeginWrite();
  CHECK(guard.writes_pending() == 2);
  CHECK(guard.WriteFailed(Error(ErrorCode::kIo, "No space left on device"), start));
  CHECK_FALSE(guard.WriteFailed(Error(ErrorCode::kIo, "a later failure"), start + 5ms));
  CHECK_FALSE(guard.ok());
  REQUIRE_FALSE(guard.status().ok());
  CHECK(guard.status().error().code() == ErrorCode::kUnavailable);
  CHECK(guard.status().error().message().find("No space left on device") != std::string::npos);
  CHECK(guard.error() == "No space left on device");  // the first cause is kept
  CHECK(guard.failed_for(start + 250ms) == 250ms);

  // Not while writes are on their way or a channel has a TSC in flight: the heads could move.
  write.Take().Release();
  CHECK_FALSE(guard.ShouldProbe(true));
  other.Take().Release();
  CHECK_FALSE(guard.ShouldProbe(false));
  CHECK(guard.ShouldProbe(true));
  guard.ProbeStarted();
  CHECK_FALSE(guard.ShouldProbe(true));  // one probe at a time

  // A probe that failed leaves it failed, to be probed again.
  std::chrono::milliseconds down{};
  auto failed = guard.ProbeFinished(Error(ErrorCode::kUnavailable, "store cannot write: disk full"),
                                    start + 1s, down);
  CHECK_FALSE(failed.ok());
  CHECK(down == 1s);
  CHECK_FALSE(guard.ok());
  CHECK(guard.ShouldProbe(true));

  guard.ProbeStarted();
  auto probed = guard.Probe();  // the real store writes: the probe succeeds
  REQUIRE(probed.ok());
  auto recovered = guard.ProbeFinished(std::move(probed), start + 2s, down);
  REQUIRE(recovered.ok());
  CHECK(down == 2s);
  CHECK(guard.ok());
  CHECK(guard.status().ok());
  CHECK(guard.error().empty());
  CHECK_FALSE(guard.ShouldProbe(true));
  // Failing again starts a new failure with its own cause.
  CHECK(guard.WriteFailed(Error(ErrorCode::kIo, "EIO"), start + 3s));
  CHECK(guard.error() == "EIO");
}

TEST_CASE("a probe reads back the stored heads and the pending evidence") {
  TempDir dir;
  auto store = OpenStore(dir);
  ChannelRecord a = Record(kChannelA);
  ChannelRecord b = Record(kChannelB);
  REQUIRE(store->PutChannel(a).ok());
  REQUIRE(store->PutChannel(b).ok());
  // Channel A's seq 1 committed with its evidence (as a commit reported failed may have been).
  SettlementCommit commit;
  commit.tsc.channel_id = kChannelA;
  commit.tsc.seq = 1;
  commit.tsc.tsc = "{\"seq\":1}";
  commit.tsc.tsc_hash = Sha256(commit.tsc.tsc);
  commit.tsc.claim_hash = HexHash("claim 1");
  commit.channel = a;
  commit.channel.last_seq = 1;
  commit.channel.last_hash = commit.tsc.tsc_hash;
  commit.channel.evidence_seq = 1;
  commit.evidence = EvidenceItemFor(kChannelA, 1, commit.tsc.tsc_hash);
  REQUIRE(store->CommitSettlements(std::span<const SettlementCommit>(&commit, 1)).ok());

  StoreGuard guard(*store);
  auto probed = guard.Probe();
  REQUIRE_MESSAGE(probed.ok(), (probed.ok() ? "" : probed.error().ToString()));
  std::map<std::string, ChannelRecord> heads;
  for (const auto& record : probed->records) heads.emplace(record.channel_id, record);
  REQUIRE(heads.size() == 2);
  CHECK(heads.at(kChannelA).last_seq == 1);
  CHECK(heads.at(kChannelA).last_hash == commit.tsc.tsc_hash);
  CHECK(heads.at(kChannelB).last_seq == 0);
  REQUIRE(probed->pending_evidence.size() == 1);
  CHECK(probed->pending_evidence[0] == *commit.evidence);

  // The machine of channel A acknowledged nothing yet: the reload moves its heads to the store's.
  ChannelStateMachine machine(a);
  CHECK(machine.ReloadHead(heads.at(kChannelA)) == 1);
  CHECK(machine.acknowledged().evidence_seq == 1);
}

TEST_CASE("recovery re-sends only the evidence the anchor service has not seen") {
  const chain::Hash256 hash = Sha256("tsc");
  const std::vector<chain::EvidenceItem> pending = {
      EvidenceItemFor(kChannelA, 4, hash), EvidenceItemFor(kChannelA, 8, hash),
      EvidenceItemFor(kChannelB, 2, hash), EvidenceItemFor(std::string(64, 'c'), 1, hash)};
  const std::map<std::string, std::uint64_t> acknowledged = {{kChannelA, 4}, {kChannelB, 0}};
  auto resubmit = StoreGuard::EvidenceToResubmit(
      pending, [&](const std::string& channel) -> std::optional<std::uint64_t> {
        auto found = acknowledged.find(channel);
        if (found == acknowledged.end()) return std::nullopt;  // not a channel of this daemon
        return found->second;
      });
  REQUIRE(resubmit.size() == 2);
  CHECK(resubmit[0].channel_id == kChannelA);
  CHECK(resubmit[0].seq == 8);
  CHECK(resubmit[1].channel_id == kChannelB);
  CHECK(resubmit[1].seq == 2);
}

}  // namespace
}  // namespace tcc::controller
