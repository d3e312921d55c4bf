// Internal: the dispute handler's Host (dispute_handler.h) over the loop the daemon lends its
// parts: answers, rejections, worker work and store writes go through the LoopHost, a channel's
// machine and members come from the channel table, and a party's verified close is queued on the
// channel and started through the settlement pipeline (once the settlement in flight is done).
//
// Loop thread only. Borrows the host, the channel table and the pipeline, which outlive it.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "channel_runtime.h"
#include "dispute_handler.h"
#include "loop_host.h"
#include "settlement_pipeline.h"

namespace tcc::controller {

class LoopDisputeHost final : public DisputeHandler::Host {
 public:
  LoopDisputeHost(LoopHost& host, ChannelTable& channels, SettlementPipeline& pipeline)
      : host_(host), channels_(channels), pipeline_(pipeline) {}

  ChannelStateMachine* Machine(const std::string& channel_id) override {
    auto channel = channels_.find(channel_id);
    return channel == channels_.end() ? nullptr : &channel->second.machine;
  }
  void Reply(const Requester& to, std::string frame) override { host_.Reply(to, std::move(frame)); }
  void ReplyError(const Requester& to, const Error& error) override { host_.ReplyError(to, error); }
  void CountRejection(const Error& error) override { host_.CountRejection(error); }
  void PeerAsync(const Requester& from, bool large, std::function<Task()> work) override {
    host_.PeerAsync(from, large, std::move(work));
  }
  Status StoreStatus() const override { return host_.StoreStatus(); }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override {
    return host_.OnLoop(std::move(done));
  }
  void OnStoreWriteFailed(std::string_view what, const std::string& channel_id,
                          const Error& error) override {
    host_.OnStoreWriteFailed(what, channel_id, error);
  }
  std::size_t Publish(const std::string& channel_id, std::string_view frame, Role role) override {
    auto channel = channels_.find(channel_id);
    return channel == channels_.end() ? 0 : host_.Publish(channel->second, frame, role);
  }
  void ClosePerParty(const std::string& channel_id, Json request, const Requester& from) override {
    ChannelRuntime& channel = channels_.find(channel_id)->second;
    channel.close_request = std::move(request);
    channel.party_close_requesters.push_back(from);
    pipeline_.RequestClose(channel);
  }

 private:
  LoopHost& host_;
  ChannelTable& channels_;
  SettlementPipeline& pipeline_;
};

}  // namespace tcc::controller
