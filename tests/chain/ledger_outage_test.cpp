// The embedded ledger on a disk that fills up: writes are refused at once as unavailable, the
// ledger reopens its database once there is room again, and a write reported as failed can be
// retried. Runs in a private mount namespace (tests/reliability/run_in_mount_namespace.sh) on a
// small tmpfs.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "chain/chain_test_util.h"
#include "reliability/scratch_volume.h"
#include "tcc/chain/local_ledger.h"

namespace tcc::chain {
namespace {

using testing::HashOf;
using testing::TempDir;
using tcc::testing::ScratchVolume;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

BatchAnchor AnchorNumber(int number) {
  const std::string id = "outage-" + std::to_string(number);
  return BatchAnchor{id, HashOf("root of " + id), 1};
}

std::unique_ptr<LocalLedger> OpenLedger(const std::string& path) {
  auto ledger = LocalLedger::Open({.path = path});
  REQUIRE_MESSAGE(ledger.ok(), (ledger.ok() ? "" : ledger.error().ToString()));
  return std::move(ledger).value();
}

TEST_CASE("LocalLedger: a full disk refuses writes as unavailable; the ledger reopens once there is room") {
  TempDir dir;
  auto volume = ScratchVolume::Mount(dir.Sub("volume"), 8u << 20);
  REQUIRE_MESSAGE(volume.ok(), (volume.ok() ? "" : volume.error().ToString()));
  const std::string path = volume->Sub("ledger");
  auto ledger = OpenLedger(path);
  REQUIRE(ledger->Anchor(AnchorNumber(0)).ok());

  REQUIRE(volume->Fill().ok());
  // The pages LevelDB's log already has take a few more anchors; then a commit fails.
  int failed_number = -1;
  Error failure(ErrorCode::kInternal, "no write failed");
  for (int number = 1; number < 5000 && failed_number < 0; ++number) {
    auto anchored = ledger->Anchor(AnchorNumber(number));
    if (!anchored.ok()) {
      failed_number = number;
      failure = anchored.error();
    }
  }
  REQUIRE_MESSAGE(failed_number > 0, "the ledger never noticed the full disk");
  CHECK(failure.code() == ErrorCode::kUnavailable);
  CHECK(failure.message().find("ledger cannot write") != std::string::npos);
  MESSAGE("first failed write: anchor " << failed_number << ": " << failure.ToString());

  // From then on writes are refused at once, and the status says why.
  const auto start = Clock::now();
  auto refused = ledger->Anchor(AnchorNumber(failed_number + 1));
  CHECK(Clock::now() - start < milliseconds(200));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
  auto status = ledger->Status();
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::kUnavailable);
  // Reads go on from the old handle: a reopen, which would close it, waits until the logs fit on
  // the disk again (the free-space check of storage::Database), however often it is due.
  std::this_thread::sleep_for(milliseconds(350));
  refused = ledger->Anchor(AnchorNumber(failed_number + 1));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message().find("must be free to reopen") != std::string::npos);
  auto read = ledger->FindAnchor(AnchorNumber(0).batch_id);
  REQUIRE_MESSAGE(read.ok(), (read.ok() ? "" : read.error().ToString()));
  CHECK(read->value.batch_id == AnchorNumber(0).batch_id);

  // A ledger opened while its disk is full starts unavailable instead of failing to open.
  ledger.reset();
  ledger = OpenLedger(path);
  refused = ledger->Anchor(AnchorNumber(failed_number));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
  read = ledger->FindAnchor(AnchorNumber(0).batch_id);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().code() == ErrorCode::kUnavailable);
  CHECK(read.error().message().find("ledger cannot read") != std::string::npos);

  REQUIRE(volume->Free().ok());
  // Without a handle, reads try the reopen too: the ledger reads again without any write.
  const auto freed = Clock::now();
  while (!read.ok() && Clock::now() - freed < milliseconds(5000)) {
    std::this_thread::sleep_for(milliseconds(50));
    read = ledger->FindAnchor(AnchorNumber(0).batch_id);
  }
  REQUIRE_MESSAGE(read.ok(), (read.ok() ? "" : read.error().ToString()));
  CHECK(read->value.batch_id == AnchorNumber(0).batch_id);
  // Within a few reopen intervals the ledger writes again. The write that failed is retried under
  // its own id: whether or not it reached the disk, it lands once.
  Result<Recorded<BatchAnchor>> retried = Error(ErrorCode::kUnavailable, "not tried");
  while (Clock::now() - freed < milliseconds(5000)) {
    retried = ledger->Anchor(AnchorNumber(failed_number));
    if (retried.ok()) break;
    std::this_thread::sleep_for(milliseconds(50));
  }
  REQUIRE_MESSAGE(retried.ok(), (retried.ok() ? "" : retried.error().ToString()));
  MESSAGE("writing again " << std::chrono::duration_cast<milliseconds>(Clock::now() - freed).count()
                           << " ms after the space came back");
  auto again = ledger->Anchor(AnchorNumber(failed_number));
  REQUIRE(again.ok());
  CHECK(again->receipt.height == retried->receipt.height);
  REQUIRE(ledger->Anchor(AnchorNumber(failed_number + 1)).ok());
  for (int number = 0; number <= failed_number + 1; ++number) {
    CHECK(ledger->FindAnchor(AnchorNumber(number).batch_id).ok());
  }
  auto report = ledger->Verify();
  REQUIRE_MESSAGE(report.ok(), (report.ok() ? "" : report.error().ToString()));
  CHECK(report->problem_count == 0);
  status = ledger->Status();
  REQUIRE(status.ok());
  CHECK(status->height == report->blocks);
}

}  // namespace
}  // namespace tcc::chain
