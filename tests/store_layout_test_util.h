// The channel store's on-disk layout as docs/design.md's key table documents it, for tests that
// read or damage a store behind its back. Written from the documented layout rather than the
// store's internal key helpers, so a format change the documentation does not follow fails these
// tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tcc/storage/keys.h"

namespace tcc::testing::store_layout {

using storage::U64Value;  // u64be, the byte order that sorts numerically

// t/<channel>/<u64be seq>: a TSC's record.
inline std::string TscKey(std::string_view channel_id, std::uint64_t seq) {
  return "t/" + std::string(channel_id) + "/" + U64Value(seq);
}

// A format-2 t/ record: format byte (2), TSC hash (32 bytes), claim hash (32 bytes), then the
// u64be number of its text.
constexpr std::size_t kTscRecordHeader = 1 + 32 + 32;
constexpr std::size_t kTscRecordSize = kTscRecordHeader + 8;

// O/<u64be number>: where the text of a format-2 t/ record is.
inline std::string TscTextKey(std::string_view record) {
  return "O/" + std::string(record.substr(kTscRecordHeader));
}

}  // namespace tcc::testing::store_layout
