// The channel store against its disk: records damaged or altered behind its back, and stores
// written in the previous format (TSC texts inline in their t/ records).
#include <doctest/doctest.h>
#include <leveldb/db.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "chain/chain_test_util.h"
#include "channel.h"
#include "channel_store.h"
#include "channel_store_test_util.h"
#include "tcc/common/bytes.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;
using namespace testing;

// --- corruption ---

TEST_CASE("Corrupt records are kInternal errors naming their key") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  {
    auto store = OpenStore(path);
    std::vector<SettlementCommit> commits = {CommitOf(kChannelA, 1), CommitOf(kChannelA, 2)};
    RequireOk(store->CommitSettlements(commits));
    RequireOk(store->PutChannel(NewChannel(kChannelB)));
  }
  WriteRaw(path, "c/" + kChannelB, "{\"channelId\":");
  WriteRaw(path, TscKey(kChannelA, 2), "garbage");
  WriteRaw(path, "p/" + kChannelA + "/" + U64Value(5), "short");
  WriteRaw(path, "e/" + kChannelA + "/" + U64Value(1), "{}");
  WriteRaw(path, "b/batch-9", std::string("\x01\x00\x00\x00\x02", 5));
  WriteRaw(path, "n/batch", "xyz");
  WriteRaw(path, "a/" + kChannelA, "1");
  // A record filed under one channel but holding another's.
  ChannelRecord wrong = NewChannel(kChannelA);
  WriteRaw(path, "c/" + kChannelC, ChannelRecordToJson(wrong).Serialize());

  auto store = OpenStore(path);
  CHECK(Ok(store->GetChannel(kChannelA)).last_seq == 2);
  CheckError(store->GetChannel(kChannelB), ErrorCode::kInternal, "c/" + kChannelB);
  CheckError(store->GetChannel(kChannelC), ErrorCode::kInternal, "another channel");
  CheckError(store->ListChannels(), ErrorCode::kInternal, "c/" + kChannelB);
  CHECK(Ok(store->GetTsc(kChannelA, 1)) == NewTsc(kChannelA, 1));
  CheckError(store->GetTsc(kChannelA, 2), ErrorCode::kInternal, "t/" + kChannelA + "/2");
  CheckError(store->ListTscs(kChannelA, 0, 10), ErrorCode::kInternal, "t/" + kChannelA + "/2");
  CHECK(Ok(store->ListTscs(kChannelA, 0, 1)).size() == 1);  // stops before the bad record
  CheckError(store->PendingEvidence(), ErrorCode::kInternal, "p/" + kChannelA + "/5");
  CheckError(store->GetBundle(kChannelA, 1), ErrorCode::kInternal, "e/" + kChannelA + "/1");
  CheckError(store->UnfinishedBatches(), ErrorCode::kInternal, "b/batch-9");
  CheckError(store->CompleteBatch("batch-9", {}), ErrorCode::kInternal, "b/batch-9");
  CheckError(store->NextCounter("batch"), ErrorCode::kInternal, "n/batch");
  CheckError(store->AnchoredSeq(kChannelA), ErrorCode::kInternal, "a/" + kChannelA);
}

// The value under `key`, read behind the store's back (the store must be closed).
std::string ReadRaw(const std::string& path, const std::string& key) {
  leveldb::DB* raw = nullptr;
  REQUIRE(leveldb::DB::Open(leveldb::Options(), path, &raw).ok());
  std::unique_ptr<leveldb::DB> db(raw);
  std::string value;
  REQUIRE(db->Get(leveldb::ReadOptions(), key, &value).ok());
  return value;
}

// Where a TSC's text is: the O/ key its t/ record names (format byte 2, TSC hash, claim hash, u64be
// body number).
std::string TextKey(const std::string& path, const std::string& channel_id, std::uint64_t seq) {
  const std::string record = ReadRaw(path, TscKey(channel_id, seq));
  REQUIRE(record.size() == kTscRecordSize);
  REQUIRE(record[0] == 2);
  return TscTextKey(record);
}

TEST_CASE("A TSC altered on disk with its stored hash kept is refused on every read") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  {
    auto store = OpenStore(path);
    std::vector<SettlementCommit> commits = {CommitOf(kChannelA, 1), CommitOf(kChannelA, 2),
                                             CommitOf(kChannelA, 3)};
    RequireOk(store->CommitSettlements(commits));
  }
  // Rewrite TSC 2's text (as an attacker changing a fee would); its record, with the stored TSC
  // hash, stays.
  const std::string text_key = TextKey(path, kChannelA, 2);
  REQUIRE(ReadRaw(path, text_key) == TscText(kChannelA, 2));
  WriteRaw(path, text_key, "{\"channel\":\"" + kChannelA + "\",\"seq\":2,\"pad\":\"y\"}");

  auto store = OpenStore(path);
  CHECK(Ok(store->GetTsc(kChannelA, 1)) == NewTsc(kChannelA, 1));
  CheckError(store->GetTsc(kChannelA, 2), ErrorCode::kInternal, "does not hash to its stored hash");
  CheckError(store->ListTscs(kChannelA, 1, 10), ErrorCode::kInternal, "t/" + kChannelA + "/2");
  CHECK(Ok(store->GetTsc(kChannelA, 3)) == NewTsc(kChannelA, 3));
  // Not JSON at all is refused the same way, and a text gone is named.
  store.reset();
  WriteRaw(path, text_key, "{not json}");
  store = OpenStore(path);
  CheckError(store->GetTsc(kChannelA, 2), ErrorCode::kInternal, "not JSON");
  store.reset();
  WriteRaw(path, text_key, std::nullopt);
  store = OpenStore(path);
  CheckError(store->GetTsc(kChannelA, 2), ErrorCode::kInternal, "is missing");
}

TEST_CASE("A store from before commit-ordered texts is upgraded: its inline TSCs stay readable") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  {
    auto store = OpenStore(path);
    RequireOk(store->PutChannel(NewChannel(kChannelA)));
  }
  // What the previous format wrote: the marker /1 and t/ records holding the text itself.
  WriteRaw(path, "!format", "tcc-channel-store/1");
  for (std::uint64_t seq : {1, 2}) {
    const TscRecord tsc = NewTsc(kChannelA, seq);
    std::string record(1, '\x01');
    record.append(reinterpret_cast<const char*>(tsc.tsc_hash.data()), tsc.tsc_hash.size());
    const Bytes claim = HexDecode(tsc.claim_hash).value();
    record.append(claim.begin(), claim.end());
    WriteRaw(path, TscKey(kChannelA, seq), record + tsc.tsc);
  }
  ChannelRecord head = NewChannel(kChannelA);
  head.last_seq = 2;
  head.last_hash = NewTsc(kChannelA, 2).tsc_hash;
  WriteRaw(path, "c/" + kChannelA, ChannelRecordToJson(head).Serialize());
  // An inline text altered on disk is refused as before.
  const std::string altered_key = TscKey(kChannelA, 2);
  std::string altered = ReadRaw(path, altered_key);
  altered.insert(altered.size() - 2, "y");  // "pad":"" becomes "pad":"y"
  WriteRaw(path, altered_key, altered);

  auto store = OpenStore(path);
  CHECK(Ok(store->GetTsc(kChannelA, 1)) == NewTsc(kChannelA, 1));
  CheckError(store->GetTsc(kChannelA, 2), ErrorCode::kInternal, "does not hash to its stored hash");
  RequireOk(store->CommitSettlements(std::vector<SettlementCommit>{CommitOf(kChannelA, 3)}));
  CHECK(Ok(store->GetTsc(kChannelA, 3)) == NewTsc(kChannelA, 3));
  store.reset();
  CHECK(ReadRaw(path, "!format") == "tcc-channel-store/2");
  CHECK(ReadRaw(path, TextKey(path, kChannelA, 3)) == TscText(kChannelA, 3));

  // A format this tccd does not know is refused whole.
  WriteRaw(path, "!format", "tcc-channel-store/3");
  CheckError(ChannelStore::Open(path), ErrorCode::kInvalidArgument, "unsupported format");
}

TEST_CASE("TSC text numbers rise across reopens and are never reused") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  {
    auto store = OpenStore(path);
    RequireOk(store->CommitSettlements(
        std::vector<SettlementCommit>{CommitOf(kChannelA, 1), CommitOf(kChannelB, 1)}));
  }
  {
    auto store = OpenStore(path);
    RequireOk(store->CommitSettlements(std::vector<SettlementCommit>{CommitOf(kChannelA, 2)}));
  }
  const std::string first = TextKey(path, kChannelA, 1), second = TextKey(path, kChannelB, 1),
                    third = TextKey(path, kChannelA, 2);
  CHECK(first < second);
  CHECK(second < third);
  auto store = OpenStore(path);
  CHECK(Ok(store->ListTscs(kChannelA, 0, 10)) ==
        std::vector<TscRecord>{NewTsc(kChannelA, 1), NewTsc(kChannelA, 2)});
}

}  // namespace
}  // namespace tcc::controller
