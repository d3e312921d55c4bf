// What the channel store's tests share beside the records (store_records_test_util.h): channel
// ids whose ranges touch, result checks, opening a store, and raw LevelDB writes behind a closed
// store's back (the damage and the older formats the store must refuse or read).
#pragma once

#include <doctest/doctest.h>
#include <leveldb/db.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "channel_store.h"
#include "store_layout_test_util.h"
#include "store_records_test_util.h"
#include "tcc/common/result.h"

namespace tcc::controller::testing {

// kChannelB sorts right after kChannelA, so a scan that overruns A's range would show B's records.
inline const std::string kChannelA(64, 'a');
inline const std::string kChannelB = std::string(63, 'a') + "b";
inline const std::string kChannelC(64, 'c');

template <typename R>
void CheckError(const R& result, ErrorCode code) {
  REQUIRE_FALSE(result.ok());
  CHECK_MESSAGE(result.error().code() == code, result.error().ToString());
}

template <typename R>
void CheckError(const R& result, ErrorCode code, const std::string& fragment) {
  CheckError(result, code);
  CHECK_MESSAGE(result.error().message().find(fragment) != std::string::npos,
                std::string(result.error().message() + " lacks \"" + fragment + "\""));
}

inline std::unique_ptr<ChannelStore> OpenStore(const std::string& path,
                                               ChannelStoreOptions options = {}) {
  return Ok(ChannelStore::Open(path, options));
}

using ::tcc::testing::store_layout::kTscRecordSize;
using ::tcc::testing::store_layout::TscKey;
using ::tcc::testing::store_layout::TscTextKey;
using ::tcc::testing::store_layout::U64Value;

// Writes raw bytes under `key` (or deletes it, for nullopt) behind the store's back (the store must
// be closed).
inline void WriteRaw(const std::string& path, const std::string& key,
                     const std::optional<std::string>& value) {
  leveldb::Options options;
  leveldb::DB* raw = nullptr;
  leveldb::Status status = leveldb::DB::Open(options, path, &raw);
  REQUIRE_MESSAGE(status.ok(), status.ToString());
  std::unique_ptr<leveldb::DB> db(raw);
  leveldb::WriteOptions sync;
  sync.sync = true;
  REQUIRE((value ? db->Put(sync, key, *value) : db->Delete(sync, key)).ok());
}

}  // namespace tcc::controller::testing
