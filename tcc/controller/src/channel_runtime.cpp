#include "channel_runtime.h"

#include <utility>

#include "control_api.h"
#include "negotiation.h"
#include "tcc/common/bytes.h"
#include "tcc/controller/log.h"

namespace tcc::controller {
namespace {

Json StringArray(const std::vector<std::string>& values) {
  Json array = Json::Array();
  for (const auto& value : values) array.PushBack(value);
  return array;
}

}  // namespace

std::uint64_t ChannelViews::EffectiveN(const ChannelRecord& record) const {
  return anchor_.EffectiveN(record.strategy_n, record.n_override);
}

Json ChannelViews::State(const ChannelRuntime& channel) const {
  const ChannelRecord& record = channel.record();
  const ChannelStateMachine::Head& acknowledged = channel.machine.acknowledged();
  Json state = Json::Object();
  state.Set("channel", record.channel_id);
  state.Set("state", channel.machine.closing() ? std::string("closing")
                                               : std::string(ChannelStateName(record.state)));
  state.Set("provider", record.provider);
  state.Set("consumer", record.consumer);
  state.Set("auditors", StringArray(record.auditors));
  Json tst = Json::Object();
  tst.Set("id", record.tst_id);
  tst.Set("version", static_cast<std::uint64_t>(record.tst_version));
  state.Set("tst", std::move(tst));
  state.Set("last_seq", acknowledged.seq);
  state.Set("last_hash", HexEncode(acknowledged.hash));
  state.Set("n", EffectiveN(record));
  state.Set("evidence_seq", acknowledged.evidence_seq);
  state.Set("anchored_seq", channel.anchored_seq);
  state.Set("members", static_cast<std::uint64_t>(channel.members.size()));
  if (auto recovering = recovery_.Find(record.channel_id))
    state.Set("recovering", recovering->ToJson());
  if (channel.closing_record) {
    // Who closed it and why; the signed record itself comes with channel.rejections.
    Json closed_by = Json::Object();
    for (std::string_view member : {"party", "code", "text"}) {
      if (const Json* value = channel.closing_record->Find(member)) closed_by.Set(member, *value);
    }
    state.Set("closed_by", std::move(closed_by));
  }
  return state;
}

Json ChannelViews::Policy(const ChannelRuntime* channel) const {
  return control::PolicyJson(anchor_.policy(), channel == nullptr ? nullptr : &channel->record());
}

Result<LoadedChannels> LoadChannels(ChannelStore& store, TemplateCache& templates) {
  LoadedChannels loaded;
  TCC_ASSIGN_OR_RETURN(auto records, store.ListChannels());
  StoreReadCheck read_check = CheckStoreReadable(store, records);
  if (!read_check.ok()) {
    loaded.store_read_error = read_check.store_error;
    if (!read_check.unreadable.empty()) store.TolerateUnreadablePending();
    Log(LogLevel::kError, "store has unreadable records; the channels they belong to are refused",
        {{"error", loaded.store_read_error},
         {"channels", static_cast<std::uint64_t>(read_check.unreadable.size())}});
  }
  for (auto& record : records) {
    if (auto unreadable = read_check.unreadable.find(record.channel_id);
        unreadable != read_check.unreadable.end()) {
      Log(LogLevel::kError, "channel refused: its records cannot be read",
          {{"channel", record.channel_id}, {"error", unreadable->second}});
      loaded.refused.emplace(record.channel_id, unreadable->second);
      continue;
    }
    auto tst = templates.Get(record.tst_id, record.tst_version);
    if (!tst.ok())
      return std::move(tst).error().WithContext("recover channel " + record.channel_id);
    if (record.last_seq > 0) {
      // The record and its head TSC are written in one batch; a mismatch is a damaged store.
      auto head = store.GetTsc(record.channel_id, record.last_seq);
      if (!head.ok() || head->tsc_hash != record.last_hash) {
        return Error(ErrorCode::kInternal, "store: channel " + record.channel_id + " names TSC " +
                                               std::to_string(record.last_seq) +
                                               " which is missing or differs");
      }
    }
    TCC_ASSIGN_OR_RETURN(std::uint64_t anchored, store.AnchoredSeq(record.channel_id));
    ChannelRuntime runtime(record);
    runtime.tst = std::move(tst).value();
    runtime.anchored_seq = anchored;
    TCC_RETURN_IF_ERROR(RecoverNegotiation(store, record, runtime.machine.negotiation()));
    if (record.state == ChannelState::kClosed) {
      TCC_ASSIGN_OR_RETURN(std::optional<std::string> closing,
                           store.GetClosingRecord(record.channel_id));
      if (closing) {
        auto parsed = Json::Parse(*closing);
        if (!parsed.ok())
          return std::move(parsed).error().WithContext("closing record of " + record.channel_id);
        // The record and the close are two ordered writes: a record left by a party's close that
        // a crash interrupted names another head than a later close, and is not this close's.
        const Json* last_seq = parsed->Find("last_seq");
        if (last_seq != nullptr && last_seq->is_number() &&
            last_seq->as_number() == static_cast<double>(record.last_seq)) {
          runtime.closing_record = std::move(parsed).value();
        }
      }
    }
    const std::string id = record.channel_id;
    loaded.channels.emplace(id, std::move(runtime));
  }
  return loaded;
}

}  // namespace tcc::controller
