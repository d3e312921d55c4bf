#include "channel_reads.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "tcc/chain/evidence.h"
#include "tcc/wire/transport.h"

namespace tcc::controller {
namespace {

// Replies carrying TSCs (channel.sync) stay well under the client's frame limit.
constexpr std::size_t kMaxSyncReplyBytes = wire::kMaxFrameBytes / 2;

}  // namespace

void ChannelReads::Sync(const Requester& from, const ChannelRuntime& channel,
                        const wire::Message& message) {
  const std::string channel_id = channel.record().channel_id;
  const std::uint64_t after = wire::UintMember(message, "after");
  const std::size_t limit =
      static_cast<std::size_t>(wire::OptionalUint(message, "limit").value_or(100));
  const std::uint64_t last = channel.machine.acknowledged().seq;
  host_.PeerAsync(from, true, [this, channel_id, after, limit, last, from]() -> Task {
    auto tscs = store_.ListTscs(channel_id, after, limit);
    return [this, channel_id, last, from, tscs = std::move(tscs)] {
      if (!tscs.ok()) return host_.ReplyError(from, tscs.error());
      std::string array = "[";
      std::uint64_t through = 0;
      for (const auto& tsc : *tscs) {
        if (tsc.seq > last) break;  // not acknowledged yet
        if (array.size() + tsc.tsc.size() > kMaxSyncReplyBytes && through != 0) break;
        if (array.size() > 1) array += ',';
        array += tsc.tsc;
        through = tsc.seq;
      }
      array += ']';
      host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                            .Add("channel", channel_id)
                            .Add("last_seq", last)
                            .AddRaw("tscs", array)
                            .Finish());
    };
  });
}

void ChannelReads::EvidenceGet(const Requester& from, const ChannelRuntime& channel,
                               const wire::Message& message) {
  const std::string channel_id = channel.record().channel_id;
  const std::uint64_t seq = wire::UintMember(message, "seq");
  const std::uint64_t acknowledged = channel.machine.acknowledged().seq;
  if (seq > acknowledged) {
    return host_.ReplyError(
        from, Error(ErrorCode::kNotFound, "channel has no TSC " + std::to_string(seq) +
                                              " (last is " + std::to_string(acknowledged) + ")"));
  }
  const std::uint64_t anchored = channel.anchored_seq;
  host_.PeerAsync(from, true, [this, channel_id, seq, anchored, from]() -> Task {
    Result<std::string> bundle = Error(ErrorCode::kUnavailable, "");
    std::uint64_t covering_seq = 0;
    auto covering = store_.AnchoredSeqCovering(channel_id, seq);
    if (!covering.ok()) {
      bundle = covering.error();
    } else if (!covering->has_value()) {
      bundle = Error(ErrorCode::kUnavailable, "TSC " + std::to_string(seq) +
                                                  " is not anchored yet (anchored through seq " +
                                                  std::to_string(anchored) + ")");
    } else {
      covering_seq = **covering;
      auto found = store_.GetBundle(channel_id, covering_seq);
      if (found.ok()) {
        bundle = chain::SerializeEvidenceBundle(*found);
      } else {
        bundle = found.error();
      }
    }
    return [this, channel_id, seq, covering_seq, from, bundle = std::move(bundle)] {
      if (!bundle.ok()) return host_.ReplyError(from, bundle.error());
      // The bundle anchors TSC covering_seq; TSC seq is committed through the hash chain to it
      // (channel.sync returns the TSCs in between).
      host_.Reply(from, wire::FrameBuilder(wire::MessageType::kReply, from.request_id)
                            .Add("channel", channel_id)
                            .Add("seq", seq)
                            .Add("anchored_seq", covering_seq)
                            .AddRaw("bundle", *bundle)
                            .Finish());
    };
  });
}

}  // namespace tcc::controller
