// Internal: the start-up read check of the daemon's store. LevelDB verifies a table block's
// checksum only when the block is read, so a corrupt table file (flipped bytes in an .ldb) would
// otherwise surface only when a party's request reads the damaged records, long after tccd
// reported itself healthy. The check reads every record once (one snapshot, checksums verified,
// the block cache bypassed); only when that fails does it read each channel's records on their
// own, to name the channels the damage affects. The daemon refuses those channels with LevelDB's
// error and reports itself degraded; damage outside every channel's records (the TSC-hash index,
// named values) is reported for the store as a whole.
//
// Free function; run before the daemon's loop starts (it reads the whole store).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "channel.h"
#include "channel_store.h"
#include "tcc/common/result.h"

namespace tcc::controller {

struct StoreReadCheck {
  std::string store_error;                        // the whole-store read's error; empty: readable
  std::map<std::string, std::string> unreadable;  // channel id -> LevelDB's error for its records
  bool ok() const { return store_error.empty(); }
};

StoreReadCheck CheckStoreReadable(ChannelStore& store, const std::vector<ChannelRecord>& channels);

// The channels the check refused: id -> LevelDB's error for its records.
using RefusedChannels = std::map<std::string, std::string, std::less<>>;

// The refusal of `channel_id` (kUnavailable) if its stored records cannot be read.
std::optional<Error> Refusal(const RefusedChannels& refused, std::string_view channel_id);

}  // namespace tcc::controller
