#include "store_check.h"

namespace tcc::controller {

StoreReadCheck CheckStoreReadable(ChannelStore& store, const std::vector<ChannelRecord>& channels) {
  StoreReadCheck check;
  Status whole =
      store.ScanSnapshot([](std::string_view, std::string_view) -> Result<bool> { return true; });
  if (whole.ok()) return check;
  check.store_error = whole.error().message();
  for (const ChannelRecord& channel : channels) {
    Status read = store.CheckChannelReadable(channel.channel_id);
    if (!read.ok()) check.unreadable.emplace(channel.channel_id, read.error().message());
  }
  return check;
}

}  // namespace tcc::controller

namespace tcc::controller {

std::optional<Error> Refusal(const RefusedChannels& refused, std::string_view channel_id) {
  auto found = refused.find(channel_id);
  if (found == refused.end()) return std::nullopt;
  return Error(ErrorCode::kUnavailable, "channel " + found->first +
                                            " is refused: its stored records cannot be read (" +
                                            found->second + "); restore the store from a backup");
}

}  // namespace tcc::controller
