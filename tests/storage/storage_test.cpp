// storage::Database, the LevelDB wrapper of the channel store and the embedded ledger: how it
// opens (errors, the owner's check), and its one failure policy on a real full disk (a tmpfs
// ScratchVolume): the sticky latch, the rate-limited reopen that waits for free space while the
// old handle serves reads, and the health it reports. Runs through run_in_mount_namespace.sh.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "chain/chain_test_util.h"
#include "reliability/scratch_volume.h"
#include "tcc/storage/database.h"

namespace tcc::storage {
namespace {

using chain::testing::TempDir;
using std::chrono::milliseconds;

DatabaseOptions Options(const std::string& path, int* checks = nullptr) {
  DatabaseOptions options;
  options.path = path;
  options.name = "test store";
  options.state_name = "test store";
  if (checks != nullptr) {
    options.check = [checks](leveldb::DB&) -> Status {
      ++*checks;
      return OkStatus();
    };
  }
  return options;
}

std::unique_ptr<Database> OpenOrFail(DatabaseOptions options) {
  auto database = Database::Open(std::move(options));
  REQUIRE_MESSAGE(database.ok(), (database.ok() ? "" : database.error().ToString()));
  return std::move(database).value();
}

Status Put(Database& database, const std::string& key, const std::string& value) {
  TCC_ASSIGN_OR_RETURN(Database::Writer writer, database.BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(key, value);
  return writer.Write(batch, "writing " + key);
}

Result<std::string> GetValue(Database& database, const std::string& key) {
  TCC_ASSIGN_OR_RETURN(Database::Reader reader, database.BeginRead());
  std::string value;
  leveldb::Status status = reader.db().Get(leveldb::ReadOptions(), key, &value);
  if (!status.ok()) return Error(ErrorCode::kNotFound, status.ToString());
  return value;
}

TEST_CASE("Database::Open: names a missing or locked database, runs the owner's check") {
  TempDir dir;
  const std::string path = dir.Sub("db");

  DatabaseOptions missing = Options(path);
  missing.create_if_missing = false;
  auto absent = Database::Open(missing);
  REQUIRE_FALSE(absent.ok());
  CHECK(absent.error().code() == ErrorCode::kNotFound);
  CHECK(absent.error().message() == "no test store at " + path);
  CHECK_FALSE(std::filesystem::exists(path));  // an open that may not create leaves nothing

  int checks = 0;
  auto database = OpenOrFail(Options(path, &checks));
  CHECK(checks == 1);
  REQUIRE(Put(*database, "k", "v").ok());
  CHECK(GetValue(*database, "k").value() == "v");
  const Health health = database->health();
  CHECK(health.writable);
  CHECK(health.cause.empty());
  CHECK(health.write_failures == 0);
  CHECK(health.reopens == 0);
  CHECK(health.syncs == 1);
  {
    // Only synced writes count as syncs (tcc_store_syncs_total: fsyncs per settlement).
    auto writer = database->BeginWrite();
    REQUIRE(writer.ok());
    leveldb::WriteBatch batch;
    batch.Put("unsynced", "u");
    REQUIRE(writer->Write(batch, "writing unsynced", false).ok());
  }
  REQUIRE(Put(*database, "k2", "v2").ok());
  CHECK(database->health().syncs == 2);

  auto second = Database::Open(Options(path));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kUnavailable);
  CHECK(second.error().message().find("in use by another process") != std::string::npos);

  database.reset();
  DatabaseOptions refusing = Options(path);
  refusing.check = [](leveldb::DB&) -> Status {
    return Error(ErrorCode::kInvalidArgument, "not my format");
  };
  auto refused = Database::Open(refusing);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
  CHECK(refused.error().message() == "not my format");
  // The refused open closed its handle: the directory can be opened again.
  CHECK(GetValue(*OpenOrFail(Options(path)), "k").value() == "v");
}

TEST_CASE("Database: a failed write latches; a reopen waits for its interval and for free space") {
  TempDir dir;
  auto volume = tcc::testing::ScratchVolume::Mount(dir.Sub("volume"), 8u << 20);
  REQUIRE_MESSAGE(volume.ok(), (volume.ok() ? "" : volume.error().ToString()));
  const std::string path = volume->Sub("db");
  int checks = 0;
  auto database = OpenOrFail(Options(path, &checks));
  REQUIRE(Put(*database, "before", "1").ok());
  REQUIRE(volume->Fill().ok());

  // Larger than what is left of the log's last page: the append itself fails.
  Status failed = Put(*database, "large", std::string(512u << 10, 'x'));
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == ErrorCode::kIo);
  CHECK(failed.error().message().find("writing large") != std::string::npos);
  Health health = database->health();
  CHECK_FALSE(health.writable);
  CHECK_FALSE(health.cause.empty());
  CHECK(health.write_failures == 1);
  CHECK(health.syncs == 1);  // the failed write synced nothing

  // Latched: refused at once, before the interval without trying a reopen.
  auto refused = database->BeginWrite();
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kUnavailable);
  CHECK(refused.error().message() == "test store cannot write: " + health.cause);
  CHECK(database->WriteRefused().message() == refused.error().message());
  // Due, but the disk is full: the reopen waits, the old handle keeps serving reads.
  std::this_thread::sleep_for(milliseconds(350));
  Status still_full = database->Heal();
  REQUIRE_FALSE(still_full.ok());
  CHECK(still_full.error().code() == ErrorCode::kUnavailable);
  CHECK(still_full.error().message().find("must be free to reopen") != std::string::npos);
  CHECK(database->health().reopens == 0);
  CHECK(GetValue(*database, "before").value() == "1");

  REQUIRE(volume->Free().ok());
  // The last refusal started a new interval: no reopen before it ends, one after.
  CHECK_FALSE(database->Heal().ok());
  std::this_thread::sleep_for(milliseconds(350));
  Status healed = database->Heal();
  REQUIRE_MESSAGE(healed.ok(), (healed.ok() ? "" : healed.error().ToString()));
  health = database->health();
  CHECK(health.writable);
  CHECK(health.cause.empty());
  CHECK(health.reopens == 1);
  CHECK(health.write_failures == 4);  // the failed write and three refusals
  CHECK(checks == 2);                 // the owner's check ran again on the new handle
  REQUIRE(Put(*database, "after", "2").ok());
  CHECK(database->health().syncs == 2);
  CHECK(GetValue(*database, "before").value() == "1");
  CHECK(GetValue(*database, "after").value() == "2");
}

}  // namespace
}  // namespace tcc::storage
