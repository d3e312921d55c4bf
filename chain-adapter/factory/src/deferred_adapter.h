// Internal: a ChainAdapter for a node that was not reachable when its owner started. Every call
// first tries to open the real adapter (at most once per retry interval, so a stream of calls does
// not become a stream of connection attempts); until that succeeds it fails with kUnavailable
// naming the last open error, the way a reachable adapter fails while its node is away. Once open,
// calls go straight to it. name() is the URI's scheme's adapter name from the start.
//
// Thread-safe: the open is serialized by a mutex; calls on the opened adapter are as thread-safe
// as that adapter.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/factory.h"
#include "tcc/common/thread_safety.h"

namespace tcc::chain {

class DeferredChainAdapter final : public ChainAdapter {
 public:
  DeferredChainAdapter(std::string uri, ChainOpenOptions options, std::string name,
                       Error first_error, std::chrono::milliseconds retry_interval);

  std::string_view name() const override { return name_; }
  Result<Recorded<DidDocumentVersion>> RegisterDid(std::string_view did,
                                                   ByteView document) override;
  Result<Recorded<DidDocumentVersion>> UpdateDid(std::string_view did, ByteView document) override;
  Result<Recorded<DidDocumentVersion>> ResolveDid(std::string_view did,
                                                  std::optional<std::uint64_t> version) override;
  Result<Recorded<TemplateVersion>> PublishTemplate(const TemplateVersion& version) override;
  Result<Recorded<TemplateVersion>> GetTemplate(std::string_view id,
                                                std::optional<std::uint64_t> version) override;
  Result<std::vector<Recorded<TemplateVersion>>> ListTemplates(std::string_view id) override;
  Result<Recorded<TicDocument>> RecordTic(const TicDocument& tic) override;
  Result<Recorded<TicDocument>> GetTic(std::string_view tic_id) override;
  Result<EventPage> PollEvents(const EventQuery& query) override;
  Result<Recorded<BatchAnchor>> Anchor(const BatchAnchor& anchor) override;
  Result<Recorded<BatchAnchor>> FindAnchor(std::string_view batch_id) override;
  Result<Recorded<BatchAnchor>> FindAnchorByRoot(const Hash256& root) override;
  Result<AdapterStatus> Status() override;

 private:
  // The opened adapter, opening it if it is time to try; kUnavailable while the node is away.
  Result<ChainAdapter*> Opened() TCC_EXCLUDES(mutex_);

  const std::string uri_;
  const ChainOpenOptions options_;
  const std::string name_;
  const std::chrono::milliseconds retry_interval_;
  Mutex mutex_;
  std::unique_ptr<ChainAdapter> adapter_ TCC_GUARDED_BY(mutex_);
  Error last_error_ TCC_GUARDED_BY(mutex_);
  std::chrono::steady_clock::time_point next_attempt_ TCC_GUARDED_BY(mutex_);
};

}  // namespace tcc::chain
