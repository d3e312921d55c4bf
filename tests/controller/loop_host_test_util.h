// Test doubles for the daemon's loop (loop_host.h), shared by the request parts' unit tests.
//
// StoreCompletions: a store write's completion, handed over on the store writer's thread, waits
// here until the test runs it on its own thread (the "loop"), as the daemon posts it to its loop.
// RecordingLoopHost: a LoopHost that runs a worker's half at once, keeps the replies, errors,
// refusals and published events it is given, and queues store completions in StoreCompletions.
// AnchoredBundles: the batches an anchor service landed (on its thread), for the test to wait on;
// StartAnchoring: a started anchor service that reports to one.
//
// Each is used from the test's thread, apart from the hand-overs (under their own mutex).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "anchor_service.h"
#include "loop_host.h"
#include "store_writer.h"
#include "tcc/chain/evidence.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller::testing {

class StoreCompletions {
 public:
  // `done`, to run on the test's thread once the writer has called the result.
  StoreWriter::Done Wrap(std::function<void(const Status&)> done) {
    return [this, done = std::move(done)](const Status& status) {
      std::lock_guard lock(mutex_);
      waiting_.push_back([done, status] { done(status); });
      posted_.notify_all();
    };
  }
  // Runs the next completion on this thread, waiting up to 30 s for the writer to hand it over.
  void RunNext() {
    std::function<void()> next;
    {
      std::unique_lock lock(mutex_);
      REQUIRE(posted_.wait_for(lock, std::chrono::seconds(30), [&] { return !waiting_.empty(); }));
      next = std::move(waiting_.front());
      waiting_.pop_front();
    }
    next();
  }
  std::size_t waiting() {
    std::lock_guard lock(mutex_);
    return waiting_.size();
  }

 private:
  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::function<void()>> waiting_;
};

class RecordingLoopHost final : public LoopHost {
 public:
  std::vector<wire::Message> replies;
  std::vector<Error> errors;
  std::map<std::string, std::uint64_t> refused;  // CountRejection, by error code name
  std::vector<wire::Message> published;
  // Per published event, the requester whose connection it skipped (it had the reply).
  std::vector<std::optional<Requester>> published_except;
  std::vector<std::string> store_failures;
  std::size_t async_runs = 0;

  void Reply(const Requester&, std::string frame) override {
    replies.push_back(Decoded(frame, "reply"));
  }
  void ReplyError(const Requester&, const Error& error) override { errors.push_back(error); }
  void CountRejection(const Error& error) override {
    ++refused[std::string(ErrorCodeName(error.code()))];
  }
  std::size_t Publish(ChannelRuntime&, std::string_view frame, std::optional<Role>,
                      const Requester* answered) override {
    published.push_back(Decoded(frame, "event"));
    published_except.push_back(answered == nullptr ? std::nullopt
                                                   : std::optional<Requester>(*answered));
    return 1;
  }
  void Async(std::function<Task()> work) override {
    ++async_runs;
    work()();
  }
  void PeerAsync(const Requester&, bool, std::function<Task()> work) override { work()(); }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override {
    return completions_.Wrap(std::move(done));
  }
  Status StoreStatus() const override { return OkStatus(); }
  void OnStoreWriteFailed(std::string_view what, const std::string&, const Error& error) override {
    store_failures.push_back(std::string(what) + ": " + error.ToString());
  }
  Connection* LiveConnection(const Requester&) override { return nullptr; }
  bool draining() const override { return false; }

  void RunStoreCompletion() { completions_.RunNext(); }
  std::size_t completions_waiting() { return completions_.waiting(); }

 private:
  static wire::Message Decoded(std::string_view frame, std::string_view what) {
    auto message = wire::DecodeMessage(frame);
    REQUIRE_MESSAGE(message.ok(), what << ": " << (message.ok() ? "" : message.error().ToString()));
    return std::move(message).value();
  }

  StoreCompletions completions_;
};

class AnchoredBundles {
 public:
  // The anchor service's callback.
  void Add(const std::vector<chain::EvidenceBundle>& bundles) {
    std::lock_guard lock(mutex_);
    bundles_.insert(bundles_.end(), bundles.begin(), bundles.end());
    landed_.notify_all();
  }
  // Every bundle landed so far, once there are at least `count` (waits up to 60 s).
  std::vector<chain::EvidenceBundle> WaitFor(std::size_t count) {
    std::unique_lock lock(mutex_);
    REQUIRE(
        landed_.wait_for(lock, std::chrono::seconds(60), [&] { return bundles_.size() >= count; }));
    return bundles_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable landed_;
  std::vector<chain::EvidenceBundle> bundles_;
};

// An anchor service over `ledger` and `store`, started, cutting a batch every 50 ms under the
// default policy, and reporting each landed batch to `anchored`.
inline std::unique_ptr<AnchorService> StartAnchoring(std::shared_ptr<chain::ChainAdapter> ledger,
                                                     ChannelStore& store,
                                                     std::string batch_id_prefix,
                                                     AnchoredBundles& anchored) {
  AnchorServiceOptions options;
  options.interval = std::chrono::milliseconds(50);
  options.batch_id_prefix = std::move(batch_id_prefix);
  auto anchor = std::make_unique<AnchorService>(
      std::move(ledger), store, options, AnchorPolicyOptions{},
      [&anchored](const std::vector<chain::EvidenceBundle>& bundles, std::chrono::microseconds) {
        anchored.Add(bundles);
      });
  REQUIRE(anchor->Start().ok());
  return anchor;
}

}  // namespace tcc::controller::testing
