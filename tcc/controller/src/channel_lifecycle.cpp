#include "channel_lifecycle.h"

#include <algorithm>
#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/controller/log.h"
#include "tcc/wire/dispute.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {

// ---------------------------------------------------------------------------------------------
// Open

void ChannelLifecycle::Open(const std::string& tic_id, std::optional<Requester> requester) {
  // Never opened afresh: its records exist but cannot be read, and a new head would fork it.
  if (auto refused = Refusal(parts_.refused, tic_id)) {
    if (requester) host_.ReplyError(*requester, *refused);
    return;
  }
  if (auto existing = channels_.find(tic_id); existing != channels_.end()) {
    if (requester) {
      host_.Reply(*requester, wire::FrameBuilder(wire::MessageType::kReply, requester->request_id)
                                  .Add("channel", views_.State(existing->second))
                                  .Finish());
    }
    return;
  }
  host_.Async([this, tic_id, requester]() -> Task {
    auto prepared = PrepareChannel(parts_.adapter, parts_.templates, parts_.resolver,
                                   parts_.tcc_did, tic_id, UnixMillis());
    return [this, tic_id, requester, prepared = std::move(prepared)]() mutable {
      OnPrepared(std::move(prepared), tic_id, requester);
    };
  });
}

void ChannelLifecycle::OnPrepared(Result<PreparedChannel> prepared, const std::string& tic_id,
                                  std::optional<Requester> requester) {
  if (!prepared.ok()) {
    Log(LogLevel::kWarning, "channel not opened",
        {{"tic", tic_id}, {"error", prepared.error().ToString()}});
    if (requester) host_.ReplyError(*requester, prepared.error());
    return;
  }
  if (channels_.contains(tic_id)) return Open(tic_id, requester);  // opened meanwhile
  if (channels_.size() >= parts_.max_channels) {
    if (requester)
      host_.ReplyError(*requester,
                       Error(ErrorCode::kResourceExhausted, "the channel limit is reached"));
    return;
  }
  ChannelRuntime runtime(std::move(prepared->record));
  runtime.tst = std::move(prepared->tst);
  ChannelRuntime& channel = channels_.emplace(tic_id, std::move(runtime)).first->second;
  // A channel the store could not take stays open in memory (members may join and read it) and is
  // written once the store recovers; settlements wait for that anyway.
  const auto not_stored = [this, tic_id, requester](ChannelRuntime& unstored) {
    unstored.machine.SettingsNotStored();
    if (requester) {
      host_.ReplyError(*requester,
                       Error(ErrorCode::kUnavailable,
                             "channel " + tic_id +
                                 " is not stored yet: the store cannot write; it is stored once "
                                 "the store recovers"));
    }
  };
  if (!host_.StoreStatus().ok()) return not_stored(channel);
  parts_.writer.PutChannel(channel.record(), host_.OnLoop([this, tic_id, requester,
                                                           not_stored](const Status& status) {
    auto opened = channels_.find(tic_id);
    if (!status.ok()) {
      host_.OnStoreWriteFailed("store channel", tic_id, status.error());
      not_stored(opened->second);
      return;
    }
    parts_.metrics.ChannelOpened();
    Log(LogLevel::kInfo, "channel opened",
        {{"channel", tic_id},
         {"provider", opened->second.record().provider},
         {"consumer", opened->second.record().consumer},
         {"n", views_.EffectiveN(opened->second.record())}});
    if (requester) {
      host_.Reply(*requester, wire::FrameBuilder(wire::MessageType::kReply, requester->request_id)
                                  .Add("channel", views_.State(opened->second))
                                  .Finish());
    }
  }));
}

// ---------------------------------------------------------------------------------------------
// Close

void ChannelLifecycle::Close(ChannelRuntime& channel) {
  for (const auto& waiting : channel.machine.BeginClose()) {
    host_.ReplyError(waiting, Error(ErrorCode::kConflict,
                                    "channel " + channel.record().channel_id + " is closed"));
  }
  const ChannelRecord& record = channel.record();
  const std::string channel_id = record.channel_id;
  if (channel.close_request) {
    // Signed over the final head: the closing record names the last TSC, which the close anchors.
    // A close retried after a failed write writes the same record again.
    auto closing = channel.closing_record
                       ? Result<Json>(*channel.closing_record)
                       : wire::MakeClosingRecord(*channel.close_request, record.last_seq,
                                                 HexEncode(record.last_hash), parts_.key);
    if (!closing.ok()) {
      Log(LogLevel::kError, "closing record not made",
          {{"channel", channel_id}, {"error", closing.error().ToString()}});
      for (const auto& requester : std::exchange(channel.party_close_requesters, {}))
        host_.ReplyError(requester, closing.error());
      channel.close_request.reset();
      if (channel.close_requesters.empty()) return;  // stays open: only the party asked
    } else {
      channel.closing_record = std::move(closing).value();
      // Queued before the channel's close, so the store never holds a party's close without it.
      parts_.writer.PutClosingRecord(channel_id, channel.closing_record->Serialize(),
                                     host_.OnLoop([this, channel_id](const Status& status) {
                                       if (!status.ok())
                                         host_.OnStoreWriteFailed("store closing record",
                                                                  channel_id, status.error());
                                     }));
    }
  }
  ChannelStateMachine::CloseWrite write = channel.machine.MarkClosed(UnixMillis());
  // On the loop, with the outcome of the close's write.
  auto finish = [this, channel_id](const Status& status,
                                   const std::optional<chain::EvidenceItem>& item) {
    auto closed = channels_.find(channel_id);
    if (!status.ok()) {
      // Not known to be stored: the channel goes on closing, and the close is written again
      // (and only then answered) once the store recovers.
      host_.OnStoreWriteFailed("store channel close", channel_id, status.error());
      closed->second.machine.CloseFailed();
      return;
    }
    closed->second.machine.CloseStored(item);
    // Closing anchors the last TSC at once rather than at the next interval, and a party's
    // closing record in the same batch (its leaf is pending since PutClosingRecord).
    std::vector<chain::EvidenceItem> final_items;
    if (item) final_items.push_back(*item);
    if (closed->second.closing_record) {
      auto closing = ClosingEvidenceItem(*closed->second.closing_record);
      if (closing.ok()) {
        final_items.push_back(std::move(closing).value());
      } else {  // not for a record tccd made itself; said rather than dropped
        Log(LogLevel::kError, "closing record not anchored",
            {{"channel", channel_id}, {"error", closing.error().ToString()}});
      }
    }
    if (!final_items.empty()) parts_.anchor.SubmitTogether(std::move(final_items));
    parts_.metrics.ChannelClosed();
    Log(LogLevel::kInfo, "channel closed",
        {{"channel", channel_id}, {"last_seq", closed->second.machine.acknowledged().seq}});
    host_.Publish(closed->second, wire::FrameBuilder(wire::MessageType::kEventChannel)
                                      .Add("channel", channel_id)
                                      .Add("state", views_.State(closed->second))
                                      .Finish());
    for (const auto& requester : std::exchange(closed->second.close_requesters, {})) {
      host_.Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                                 .Add("channel", views_.State(closed->second))
                                 .Finish());
    }
    if (closed->second.closing_record) {
      const Json& closing = *closed->second.closing_record;
      if (const Json* code = closing.Find("code"); code != nullptr && code->is_string()) {
        parts_.metrics.ClosedByParty(code->as_string());
      }
      for (const auto& requester : std::exchange(closed->second.party_close_requesters, {})) {
        host_.Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                                   .Add("channel", channel_id)
                                   .Add("closing", closing)
                                   .Add("state", views_.State(closed->second))
                                   .Finish());
      }
    }
  };
  const std::optional<chain::EvidenceItem> item = write.evidence;
  StoreWriter::Done done =
      host_.OnLoop([finish, item](const Status& status) { finish(status, item); });
  if (item) {
    parts_.writer.AddPendingEvidence(*item, std::move(write.record), std::move(done));
  } else {
    parts_.writer.PutChannel(std::move(write.record), std::move(done));
  }
}

// ---------------------------------------------------------------------------------------------
// Anchored

void ChannelLifecycle::OnAnchored(const std::vector<chain::EvidenceBundle>& bundles) {
  if (!bundles.empty()) {
    const chain::EvidenceBundle& first = bundles.front();
    Log(LogLevel::kInfo, "anchored",
        {{"batch", first.batch_id},
         {"leaves", static_cast<std::uint64_t>(bundles.size())},
         {"root", HexEncode(first.root)},
         {"adapter", first.receipt.adapter},
         {"height", first.receipt.height},
         {"tx", first.receipt.tx}});
  }
  for (const auto& bundle : bundles) {
    // A closing leaf is fetched with channel.rejections; it anchors no TSC.
    if (bundle.item.kind != chain::EvidenceKind::kTsc) continue;
    auto channel = channels_.find(bundle.item.channel_id);
    if (channel == channels_.end()) continue;
    channel->second.anchored_seq = std::max(channel->second.anchored_seq, bundle.item.seq);
    host_.Publish(channel->second, wire::FrameBuilder(wire::MessageType::kEventAnchored)
                                       .Add("channel", bundle.item.channel_id)
                                       .Add("seq", bundle.item.seq)
                                       .Add("batch", bundle.batch_id)
                                       .Add("root", HexEncode(bundle.root))
                                       .Finish());
  }
}

std::size_t ChannelLifecycle::AnchorHeads(ChannelStore& store) {
  std::size_t queued = 0;
  for (auto& [id, channel] : channels_) {
    const std::optional<chain::EvidenceItem> item = channel.machine.FinalEvidence();
    if (!item) continue;
    ChannelRecord updated = channel.record();
    updated.evidence_seq = item->seq;
    if (Status added = store.AddPendingEvidence(*item, updated); !added.ok()) {
      Log(LogLevel::kError, "final anchor", {{"channel", id}, {"error", added.error().ToString()}});
      continue;
    }
    channel.machine.EvidenceQueued(item->seq);
    parts_.anchor.Submit(*item);
    ++queued;
  }
  return queued;
}

}  // namespace tcc::controller
