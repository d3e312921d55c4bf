#include "deferred_adapter.h"

#include <utility>

namespace tcc::chain {

DeferredChainAdapter::DeferredChainAdapter(std::string uri, ChainOpenOptions options,
                                           std::string name, Error first_error,
                                           std::chrono::milliseconds retry_interval)
    : uri_(std::move(uri)),
      options_(options),
      name_(std::move(name)),
      retry_interval_(retry_interval),
      last_error_(std::move(first_error)),
      next_attempt_(std::chrono::steady_clock::now() + retry_interval) {}

Result<ChainAdapter*> DeferredChainAdapter::Opened() {
  MutexLock lock(mutex_);
  if (adapter_) return adapter_.get();
  const auto now = std::chrono::steady_clock::now();
  if (now >= next_attempt_) {
    next_attempt_ = now + retry_interval_;
    auto opened = OpenChainAdapter(uri_, options_);
    if (opened.ok()) {
      adapter_ = std::move(opened).value();
      return adapter_.get();
    }
    last_error_ = std::move(opened).error();
  }
  return Error(ErrorCode::kUnavailable,
               "the chain has not been reachable since start: " + last_error_.message());
}

// Each call: the opened adapter's answer, or the reason there is none yet.
#define TCC_DEFERRED_CALL(call)                          \
  TCC_ASSIGN_OR_RETURN(ChainAdapter* adapter, Opened()); \
  return adapter->call

Result<Recorded<DidDocumentVersion>> DeferredChainAdapter::RegisterDid(std::string_view did,
                                                                       ByteView document) {
  TCC_DEFERRED_CALL(RegisterDid(did, document));
}
Result<Recorded<DidDocumentVersion>> DeferredChainAdapter::UpdateDid(std::string_view did,
                                                                     ByteView document) {
  TCC_DEFERRED_CALL(UpdateDid(did, document));
}
Result<Recorded<DidDocumentVersion>> DeferredChainAdapter::ResolveDid(
    std::string_view did, std::optional<std::uint64_t> version) {
  TCC_DEFERRED_CALL(ResolveDid(did, version));
}
Result<Recorded<TemplateVersion>> DeferredChainAdapter::PublishTemplate(
    const TemplateVersion& version) {
  TCC_DEFERRED_CALL(PublishTemplate(version));
}
Result<Recorded<TemplateVersion>> DeferredChainAdapter::GetTemplate(
    std::string_view id, std::optional<std::uint64_t> version) {
  TCC_DEFERRED_CALL(GetTemplate(id, version));
}
Result<std::vector<Recorded<TemplateVersion>>> DeferredChainAdapter::ListTemplates(
    std::string_view id) {
  TCC_DEFERRED_CALL(ListTemplates(id));
}
Result<Recorded<TicDocument>> DeferredChainAdapter::RecordTic(const TicDocument& tic) {
  TCC_DEFERRED_CALL(RecordTic(tic));
}
Result<Recorded<TicDocument>> DeferredChainAdapter::GetTic(std::string_view tic_id) {
  TCC_DEFERRED_CALL(GetTic(tic_id));
}
Result<EventPage> DeferredChainAdapter::PollEvents(const EventQuery& query) {
  TCC_DEFERRED_CALL(PollEvents(query));
}
Result<Recorded<BatchAnchor>> DeferredChainAdapter::Anchor(const BatchAnchor& anchor) {
  TCC_DEFERRED_CALL(Anchor(anchor));
}
Result<Recorded<BatchAnchor>> DeferredChainAdapter::FindAnchor(std::string_view batch_id) {
  TCC_DEFERRED_CALL(FindAnchor(batch_id));
}
Result<Recorded<BatchAnchor>> DeferredChainAdapter::FindAnchorByRoot(const Hash256& root) {
  TCC_DEFERRED_CALL(FindAnchorByRoot(root));
}
Result<AdapterStatus> DeferredChainAdapter::Status() { TCC_DEFERRED_CALL(Status()); }

#undef TCC_DEFERRED_CALL

}  // namespace tcc::chain
