// FaultyAdapter: a fault injector around a real chain adapter, for the anchoring tests and the
// adaptive-N benchmark. Every call goes to the wrapped adapter; Anchor can be slowed down, refused
// as if the chain were unreachable, or performed with its reply lost. The knobs are atomics that
// may be flipped from any thread while anchors run; the decorator shares the adapter it wraps.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tcc/chain/chain_adapter.h"

namespace tcc::controller::testing {

// A fault injector around a real ledger: every call goes to the ledger; Anchor can be slowed
// down, refused as if the chain were unreachable, or performed with its reply lost.
class FaultyAdapter final : public chain::ChainAdapter {
 public:
  explicit FaultyAdapter(std::shared_ptr<chain::ChainAdapter> inner) : inner_(std::move(inner)) {}

  std::atomic<int> anchor_delay_ms{0};
  std::atomic<bool> unavailable{false};
  std::atomic<bool> lose_replies{false};

  std::vector<std::string> attempted_ids() const {
    std::lock_guard lock(mutex_);
    return attempted_ids_;
  }

  std::string_view name() const override { return inner_->name(); }
  Result<chain::Recorded<chain::DidDocumentVersion>> RegisterDid(std::string_view did,
                                                                 ByteView document) override {
    return inner_->RegisterDid(did, document);
  }
  Result<chain::Recorded<chain::DidDocumentVersion>> UpdateDid(std::string_view did,
                                                               ByteView document) override {
    return inner_->UpdateDid(did, document);
  }
  Result<chain::Recorded<chain::DidDocumentVersion>> ResolveDid(
      std::string_view did, std::optional<std::uint64_t> version) override {
    return inner_->ResolveDid(did, version);
  }
  Result<chain::Recorded<chain::TemplateVersion>> PublishTemplate(
      const chain::TemplateVersion& version) override {
    return inner_->PublishTemplate(version);
  }
  Result<chain::Recorded<chain::TemplateVersion>> GetTemplate(
      std::string_view id, std::optional<std::uint64_t> version) override {
    return inner_->GetTemplate(id, version);
  }
  Result<std::vector<chain::Recorded<chain::TemplateVersion>>> ListTemplates(
      std::string_view id) override {
    return inner_->ListTemplates(id);
  }
  Result<chain::Recorded<chain::TicDocument>> RecordTic(const chain::TicDocument& tic) override {
    return inner_->RecordTic(tic);
  }
  Result<chain::Recorded<chain::TicDocument>> GetTic(std::string_view tic_id) override {
    return inner_->GetTic(tic_id);
  }
  Result<chain::EventPage> PollEvents(const chain::EventQuery& query) override {
    return inner_->PollEvents(query);
  }
  Result<chain::Recorded<chain::BatchAnchor>> Anchor(const chain::BatchAnchor& anchor) override {
    {
      std::lock_guard lock(mutex_);
      attempted_ids_.push_back(anchor.batch_id);
    }
    if (unavailable) return Error(ErrorCode::kUnavailable, "injected: chain unreachable");
    if (int delay = anchor_delay_ms; delay > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    auto result = inner_->Anchor(anchor);
    if (result.ok() && lose_replies) return Error(ErrorCode::kUnavailable, "injected: reply lost");
    return result;
  }
  Result<chain::Recorded<chain::BatchAnchor>> FindAnchor(std::string_view batch_id) override {
    return inner_->FindAnchor(batch_id);
  }
  Result<chain::Recorded<chain::BatchAnchor>> FindAnchorByRoot(const chain::Hash256& root) override {
    return inner_->FindAnchorByRoot(root);
  }
  Result<chain::AdapterStatus> Status() override { return inner_->Status(); }

 private:
  std::shared_ptr<chain::ChainAdapter> inner_;
  mutable std::mutex mutex_;
  std::vector<std::string> attempted_ids_;
};

}  // namespace tcc::controller::testing
