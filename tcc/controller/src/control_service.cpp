#include "control_service.h"

#include <cstddef>
#include <utility>

#include "store_backup_online.h"
#include "tcc/controller/log.h"

namespace tcc::controller {
namespace {

// control.backup answers with the manifest's channels up to this many (about 250 bytes each).
constexpr std::size_t kMaxBackupChannelsAnswered = 500;

}  // namespace

void ControlService::Handle(const Requester& from, const wire::Message& message) {
  const auto no_channel = [&] {
    return host_.ReplyError(
        from, Error(ErrorCode::kNotFound,
                    "no channel " + std::string(wire::StringMember(message, "channel"))));
  };
  switch (message.type) {
    case wire::MessageType::kPing:
      return host_.Reply(from,
                         wire::FrameBuilder(wire::MessageType::kReply, from.request_id).Finish());
    case wire::MessageType::kControlOpen:
      if (host_.draining())
        return host_.ReplyError(from, Error(ErrorCode::kUnavailable, "tccd is shutting down"));
      if (!host_.StoreStatus().ok())
        return host_.ReplyError(
            from, Error(ErrorCode::kUnavailable, "the store cannot write; no channel is opened"));
      return parts_.lifecycle.Open(std::string(wire::StringMember(message, "tic")), from);
    case wire::MessageType::kControlClose: {
      auto channel = channels_.find(wire::StringMember(message, "channel"));
      if (auto refused = Refusal(parts_.refused, wire::StringMember(message, "channel")))
        return host_.ReplyError(from, *refused);
      if (channel == channels_.end()) return no_channel();
      if (channel->second.record().state == ChannelState::kClosed) {
        return host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                                     .Add("channel", views_.State(channel->second))
                                     .Finish());
      }
      channel->second.close_requesters.push_back(from);
      return parts_.pipeline.RequestClose(channel->second);
    }
    case wire::MessageType::kControlPolicy:
      return Policy(from, message);
    case wire::MessageType::kControlList: {
      Json list = Json::Array();
      for (const auto& [id, channel] : channels_) list.PushBack(views_.State(channel));
      return host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                                   .Add("channels", list)
                                   .Finish());
    }
    case wire::MessageType::kControlHealth:
      return Health(from);
    case wire::MessageType::kControlRecover: {
      auto channel = channels_.find(wire::StringMember(message, "channel"));
      if (channel == channels_.end()) return no_channel();
      return parts_.recoveries.Recover(from, std::nullopt, channel->second, message);
    }
    case wire::MessageType::kControlBackup:
      return Backup(from, message);
    case wire::MessageType::kChainRead:
    case wire::MessageType::kChainWrite:
      return parts_.chain.Handle(from, message, ChainAccess::kAdmin);
    default: {
      const Error error(
          ErrorCode::kInvalidArgument,
          std::string(wire::MessageTypeName(message.type)) + " is not a control request");
      host_.CountRejection(error);
      return host_.ReplyError(from, error);
    }
  }
}

void ControlService::Policy(const Requester& from, const wire::Message& message) {
  const Json* channel_member = message.body.Find("channel");
  if (channel_member != nullptr) {
    auto channel = channels_.find(channel_member->as_string());
    if (channel == channels_.end()) {
      return host_.ReplyError(
          from, Error(ErrorCode::kNotFound, "no channel " + channel_member->as_string()));
    }
    Result<std::optional<std::uint64_t>> n =
        control::ChannelPolicyChange(message, parts_.anchor.policy().options());
    if (!n.ok()) return host_.ReplyError(from, n.error());
    if (!host_.StoreStatus().ok()) {
      return host_.ReplyError(from, Error(ErrorCode::kUnavailable,
                                          "the store cannot write; the policy is not changed"));
    }
    channel->second.machine.SetNOverride(*n);
    // Answered once stored (after the channel's in-flight commit, if any).
    channel->second.settings_requesters.push_back(from);
    parts_.pipeline.PersistSettings(channel->second);
    Log(LogLevel::kInfo, "channel policy",
        {{"channel", channel->first}, {"n", views_.EffectiveN(channel->second.record())}});
    return;
  }
  if (!host_.StoreStatus().ok()) {
    return host_.ReplyError(
        from, Error(ErrorCode::kUnavailable, "the store cannot write; the policy is not changed"));
  }
  // Only this loop changes the options (the timer changes the factor), so reading them and
  // setting them apart loses no change.
  if (Status set = parts_.anchor.SetPolicyOptions(
          control::GlobalPolicyChange(message, parts_.anchor.policy().options()));
      !set.ok()) {
    return host_.ReplyError(from, set.error());
  }
  control::MergePolicyChange(message, stored_policy_);
  Log(LogLevel::kInfo, "global policy", {{"policy", views_.Policy(nullptr)}});
  // Answered once stored, so that what the reply shows also holds after a restart.
  parts_.writer.PutValue(
      std::string(control::kStoredPolicyKey), stored_policy_.Serialize(),
      host_.OnLoop([this, from](const Status& status) {
        if (!status.ok()) {
          host_.OnStoreWriteFailed("store global policy", "", status.error());
          return host_.ReplyError(from, Error(ErrorCode::kUnavailable,
                                              "the policy is in effect but not stored (it "
                                              "reverts on restart): " +
                                                  status.error().message()));
        }
        host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                              .Add("policy", views_.Policy(nullptr))
                              .Finish());
      }));
}

void ControlService::Health(const Requester& from) {
  control::HealthFacts facts = parts_.facts();
  facts.policy = views_.Policy(nullptr);
  facts.backup_running = backup_running_;
  const bool readable = facts.store_read_error.empty();
  host_.Async([this, from, readable, health = control::HealthJson(facts)]() mutable -> Task {
    auto status = parts_.adapter.Status();
    return
        [this, from, readable, status = std::move(status), health = std::move(health)]() mutable {
          control::AddChainHealth(health, status, host_.StoreStatus().ok() && readable);
          host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                                .Add("health", health)
                                .Finish());
        };
  });
}

void ControlService::Backup(const Requester& from, const wire::Message& message) {
  if (backup_running_) {
    return host_.ReplyError(from, Error(ErrorCode::kUnavailable, "a backup is already running"));
  }
  if (host_.draining())
    return host_.ReplyError(from, Error(ErrorCode::kUnavailable, "tccd is shutting down"));
  backup_running_ = true;
  const std::string path(wire::StringMember(message, "path"));
  Log(LogLevel::kInfo, "backup started", {{"path", path}});
  host_.Async([this, from, path]() -> Task {
    BackupOptions options;
    options.tcc_did = parts_.tcc_did;
    options.progress = [path](std::uint64_t records) {
      Log(LogLevel::kInfo, "backup progress", {{"path", path}, {"records", records}});
    };
    auto result = BackupStore(parts_.store, path, options);
    return [this, from, path, result = std::move(result)] {
      backup_running_ = false;
      parts_.metrics.Backup(result.ok(), result.ok() ? result->seconds : 0.0);
      if (!result.ok()) {
        Log(LogLevel::kError, "backup failed",
            {{"path", path}, {"error", result.error().ToString()}});
        return host_.ReplyError(from, result.error());
      }
      Log(LogLevel::kInfo, "backup finished",
          {{"path", path},
           {"records", result->manifest.records},
           {"bytes", result->bytes},
           {"seconds", result->seconds}});
      Json backup = Json::Object();
      backup.Set("directory", result->directory);
      backup.Set("records", result->manifest.records);
      backup.Set("bytes", result->bytes);
      backup.Set("seconds", result->seconds);
      backup.Set("channels", static_cast<std::uint64_t>(result->manifest.channels.size()));
      // The answer stays one frame: a manifest of many channels is read from its file.
      Json manifest = result->manifest.ToJson();
      if (result->manifest.channels.size() > kMaxBackupChannelsAnswered) manifest.Erase("channels");
      backup.Set("manifest", std::move(manifest));
      host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                            .Add("backup", backup)
                            .Finish());
    };
  });
}

}  // namespace tcc::controller
