// Internal: a channel's life at the TCC: opened from its recorded TIC (control.open, or the chain
// watcher with auto_open), stored, closed (the state machine's effect::Close: the waiting
// submissions refused, a party's closing record signed and stored, the close written with the
// last TSC's evidence and anchored at once), and told of its anchors (event.anchored).
//
// Loop thread only (preparing a channel from the chain runs on a worker through the host, touching
// only the adapter, templates, resolver and store). Borrows the host, the channel table, the
// views, the refused channels and the services in Parts, which outlive it.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "anchor_service.h"
#include "channel_opening.h"
#include "channel_runtime.h"
#include "channel_store.h"
#include "loop_host.h"
#include "metrics.h"
#include "requester.h"
#include "store_check.h"
#include "store_writer.h"
#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/evidence.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "template_cache.h"

namespace tcc::controller {

class ChannelLifecycle {
 public:
  struct Parts {
    chain::ChainAdapter& adapter;
    TemplateCache& templates;
    did::Resolver& resolver;
    const std::string& tcc_did;
    const did::KeyPair& key;  // signs a party's closing record
    StoreWriter& writer;
    AnchorService& anchor;
    DaemonMetrics& metrics;
    const RefusedChannels& refused;
    std::size_t max_channels;
  };

  ChannelLifecycle(LoopHost& host, ChannelTable& channels, const ChannelViews& views, Parts parts)
      : host_(host), channels_(channels), views_(views), parts_(std::move(parts)) {}

  // Opens the channel of TIC `tic_id` (answering `requester`, if any, with its state); an open
  // channel is answered as it is.
  void Open(const std::string& tic_id, std::optional<Requester> requester);
  // effect::Close: only started by the machine (nothing in flight, the store writes).
  void Close(ChannelRuntime& channel);
  // The anchor service confirmed `bundles` (posted to the loop).
  void OnAnchored(const std::vector<chain::EvidenceBundle>& bundles);
  // At a drained stop, after the store writer stopped: each channel's latest TSC not yet queued as
  // evidence is written to `store` and handed to the anchor service for its final batch, so
  // nothing settled stays unanchored while tccd is down. Returns how many.
  std::size_t AnchorHeads(ChannelStore& store);

 private:
  void OnPrepared(Result<PreparedChannel> prepared, const std::string& tic_id,
                  std::optional<Requester> requester);

  LoopHost& host_;
  ChannelTable& channels_;
  const ChannelViews& views_;
  Parts parts_;
};

}  // namespace tcc::controller
