// The anchor policy rule, and the anchor service against a real LocalLedger and a real
// ChannelStore, with a fault-injecting adapter decorator for slow and unavailable chains.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "anchor_policy.h"
#include "anchor_service.h"
#include "chain/chain_test_util.h"
#include "channel_store.h"
#include "controller/faulty_adapter.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;
using testing::FaultyAdapter;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// Policy

AnchorPolicyOptions AdaptiveOptions() {
  AnchorPolicyOptions options;
  options.default_n = 10;
  options.n_min = 1;
  options.n_max = 10000;
  options.adaptive = true;
  options.target_latency = milliseconds(100);
  options.backlog_high = 1000;
  options.adapter_pending_high = 10;
  return options;
}

// One interval's load: the backlog at its end, the slowest anchor that landed in it (if any), the
// adapter's pending queue and how long the batch on its way has been trying.
ChainLoad Load(std::size_t backlog, std::optional<milliseconds> landed = std::nullopt, std::size_t pending = 0,
               milliseconds attempt = milliseconds(0)) {
  ChainLoad load;
  load.unanchored_backlog = backlog;
  if (landed) load.slowest_landed = *landed;
  load.adapter_pending = pending;
  load.oldest_attempt = attempt;
  return load;
}

TEST_CASE("AnchorPolicy: base N precedence and clamping of the effective N") {
  AnchorPolicyOptions options;
  options.default_n = 10;
  options.n_min = 2;
  options.n_max = 50;
  AnchorPolicy policy(options);
  CHECK(policy.factor() == 1);

  CHECK(policy.BaseN(0, std::nullopt) == 10);  // no strategy: the default
  CHECK(policy.BaseN(7, std::nullopt) == 7);   // the TIC's strategy
  CHECK(policy.BaseN(7, 3) == 3);              // the live override wins
  CHECK(policy.BaseN(0, 30) == 30);

  CHECK(policy.EffectiveN(0, std::nullopt) == 10);
  CHECK(policy.EffectiveN(7, std::nullopt) == 7);
  CHECK(policy.EffectiveN(1, std::nullopt) == 2);    // raised to n_min
  CHECK(policy.EffectiveN(500, std::nullopt) == 50);  // lowered to n_max
  CHECK(policy.EffectiveN(7, 1) == 2);
  CHECK(policy.EffectiveN(7, 1000) == 50);
  CHECK(policy.EffectiveN(7, 30) == 30);
}

TEST_CASE("AnchorPolicy: each congestion signal doubles the factor, a drained chain halves it") {
  AnchorPolicy policy(AdaptiveOptions());  // target 100 ms, backlog_high 1000, pending_high 10

  CHECK(policy.Observe(Load(0)) == 1);                     // never below 1
  CHECK(policy.Observe(Load(0, milliseconds(150))) == 2);  // an anchor landed slower than the target
  CHECK(policy.Observe(Load(1001)) == 4);                  // backlog over backlog_high
  CHECK(policy.Observe(Load(1001)) == 4);                  // over it, but no longer growing
  CHECK(policy.Observe(Load(1250)) == 4);                  // grown by less than a quarter of the limit
  CHECK(policy.Observe(Load(1251)) == 8);                  // by a quarter since the last doubling
  CHECK(policy.Observe(Load(900)) == 8);                   // back under the limit
  CHECK(policy.Observe(Load(1001)) == 16);                 // over it again: the count starts afresh
  CHECK(policy.Observe(Load(0, std::nullopt, 11)) == 32);  // adapter queue over its limit
  CHECK(policy.EffectiveN(10, std::nullopt) == 320);
  CHECK(policy.EffectiveN(10, 3) == 96);  // the override is a base, scaled like any other

  // In between: neither congested nor drained.
  CHECK(policy.Observe(Load(0, milliseconds(100))) == 32);  // at the target, not over it
  CHECK(policy.Observe(Load(0, milliseconds(50))) == 32);   // not under half the target
  CHECK(policy.Observe(Load(1)) == 32);                     // no landing: the latest (50 ms) still stands
  CHECK(policy.Observe(Load(250, milliseconds(10))) == 32); // not under a quarter of the backlog limit
  CHECK(policy.Observe(Load(1000)) == 32);                  // at the limit, not over it
  CHECK(policy.Observe(Load(0, std::nullopt, 0, milliseconds(50))) == 32);  // a batch trying for half the target

  CHECK(policy.Observe(Load(0, std::nullopt, 10)) == 16);  // pending at its limit is not congestion
  CHECK(policy.Observe(Load(249, milliseconds(49), 0, milliseconds(49))) == 8);
  for (int i = 0; i < 3; ++i) policy.Observe(Load(0));
  CHECK(policy.factor() == 1);
  CHECK(policy.Observe(Load(0)) == 1);
  CHECK(policy.EffectiveN(10, std::nullopt) == 10);
}

TEST_CASE("AnchorPolicy: an outage raises the factor as the backlog grows past its limit, not per retry") {
  AnchorPolicy policy(AdaptiveOptions());  // backlog_high 1000: a quarter is 250
  const milliseconds away(5000);           // the batch on its way has been failing for this long
  CHECK(policy.Observe(Load(500, std::nullopt, 0, away)) == 1);  // growing, under the limit
  CHECK(policy.Observe(Load(1200, std::nullopt, 0, away)) == 2);
  CHECK(policy.Observe(Load(1449, std::nullopt, 0, away)) == 2);
  CHECK(policy.Observe(Load(1450, std::nullopt, 0, away)) == 4);
  // However long the outage and however many retries fail: a backlog that stopped growing holds N.
  for (int i = 0; i < 20; ++i) CHECK(policy.Observe(Load(1450, std::nullopt, 0, away)) == 4);
  CHECK(policy.Observe(Load(1600, std::nullopt, 0, away)) == 4);
  CHECK(policy.Observe(Load(1700, std::nullopt, 0, away)) == 8);
  // The chain is back: one fast anchor drains the backlog, then each drained interval halves.
  CHECK(policy.Observe(Load(0, milliseconds(10))) == 4);
  CHECK(policy.Observe(Load(0)) == 2);
  CHECK(policy.Observe(Load(0)) == 1);
}

TEST_CASE("AnchorPolicy: a slow chain doubles the factor once per slow anchor that lands, up to how slow it is") {
  AnchorPolicy policy(AdaptiveOptions());  // target latency 100 ms
  CHECK(policy.Observe(Load(10, milliseconds(500))) == 2);
  // Intervals while the next slow anchor is still on its way: no new doubling, and no halving.
  for (int i = 0; i < 5; ++i) CHECK(policy.Observe(Load(10, std::nullopt, 0, milliseconds(300))) == 2);
  CHECK(policy.Observe(Load(10, milliseconds(500))) == 4);
  // A batch that has just started after a slow landing: the chain is not known to be fast again.
  CHECK(policy.Observe(Load(10, std::nullopt, 0, milliseconds(10))) == 4);
  // Nothing waits at all: the chain's speed does not matter (at a raised N leaves are far apart).
  CHECK(policy.Observe(Load(0)) == 2);
  CHECK(policy.Observe(Load(10, milliseconds(500))) == 4);
  CHECK(policy.Observe(Load(10, milliseconds(10))) == 2);

  // Anchors at 5x the target allow a factor of 8 (5 rounded up to a power of two), no more, while
  // the backlog stays small; a backlog the chain cannot keep up with raises it further.
  for (int i = 0; i < 10; ++i) policy.Observe(Load(10, milliseconds(500)));
  CHECK(policy.factor() == 8);
  CHECK(policy.Observe(Load(10, milliseconds(150))) == 8);  // slower than the target, not slower than the factor
  CHECK(policy.Observe(Load(1001, milliseconds(500))) == 16);
}

TEST_CASE("AnchorPolicy: the factor stops where every channel is at n_max") {
  AnchorPolicyOptions options = AdaptiveOptions();
  options.n_max = 100;
  AnchorPolicy policy(options);
  for (int i = 0; i < 20; ++i) policy.Observe(Load(0, std::nullopt, 11));  // the adapter's queue over its limit
  CHECK(policy.factor() == 100);
  CHECK(policy.EffectiveN(1, std::nullopt) == 100);
  CHECK(policy.EffectiveN(10, std::nullopt) == 100);
  // Each drained interval halves it.
  CHECK(policy.Observe(Load(0, milliseconds(1))) == 50);

  // Lowering n_max re-clamps the factor; switching adaptive off takes the factor back to 1.
  options.n_max = 20;
  REQUIRE(policy.SetOptions(options).ok());
  CHECK(policy.factor() == 20);
  options.adaptive = false;
  REQUIRE(policy.SetOptions(options).ok());
  CHECK(policy.factor() == 1);
}

TEST_CASE("AnchorPolicy: base times factor saturates instead of overflowing") {
  AnchorPolicyOptions options = AdaptiveOptions();
  options.n_max = std::numeric_limits<std::uint64_t>::max();
  AnchorPolicy policy(options);
  for (int i = 0; i < 70; ++i) policy.Observe(Load(0, std::nullopt, 11));
  CHECK(policy.factor() == std::numeric_limits<std::uint64_t>::max());
  CHECK(policy.EffectiveN(3, std::nullopt) == std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("AnchorPolicy: without the adaptive switch, load changes nothing") {
  AnchorPolicyOptions options = AdaptiveOptions();
  options.adaptive = false;
  AnchorPolicy policy(options);
  CHECK(policy.Observe(Load(1u << 20, milliseconds(5000), 1000)) == 1);
  CHECK(policy.factor() == 1);
  CHECK(policy.EffectiveN(10, std::nullopt) == 10);
}

TEST_CASE("ValidateAnchorPolicyOptions rejects bad bounds and limits") {
  CHECK(ValidateAnchorPolicyOptions({}).ok());
  CHECK(ValidateAnchorPolicyOptions(AdaptiveOptions()).ok());
  std::vector<std::function<void(AnchorPolicyOptions&)>> breakers = {
      [](AnchorPolicyOptions& o) { o.n_min = 0; },
      [](AnchorPolicyOptions& o) { o.default_n = 0; },
      [](AnchorPolicyOptions& o) { o.n_min = 11; },         // above default_n
      [](AnchorPolicyOptions& o) { o.n_max = 9; },          // below default_n
      [](AnchorPolicyOptions& o) { o.n_min = 20; o.n_max = 5; },
      [](AnchorPolicyOptions& o) { o.target_latency = milliseconds(0); },
      [](AnchorPolicyOptions& o) { o.target_latency = milliseconds(-1); },
      [](AnchorPolicyOptions& o) { o.backlog_high = 0; },
      [](AnchorPolicyOptions& o) { o.adapter_pending_high = 0; },
  };
  for (std::size_t i = 0; i < breakers.size(); ++i) {
    CAPTURE(i);
    AnchorPolicyOptions options = AdaptiveOptions();
    breakers[i](options);
    auto status = ValidateAnchorPolicyOptions(options);
    REQUIRE_FALSE(status.ok());
    CHECK(status.error().code() == ErrorCode::kInvalidArgument);

    // SetOptions refuses them and keeps what it had.
    AnchorPolicy policy(AdaptiveOptions());
    CHECK_FALSE(policy.SetOptions(options).ok());
    CHECK(policy.options().n_max == 10000);
    CHECK(policy.options().adaptive);
  }
}

// ---------------------------------------------------------------------------------------------
// Service fixtures

std::shared_ptr<chain::LocalLedger> OpenLedger(const std::string& path) {
  auto ledger = chain::LocalLedger::Open({.path = path});
  REQUIRE_MESSAGE(ledger.ok(), (ledger.ok() ? "" : ledger.error().ToString()));
  return std::shared_ptr<chain::LocalLedger>(std::move(ledger).value());
}

std::unique_ptr<ChannelStore> OpenStore(const std::string& path) {
  auto store = ChannelStore::Open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().ToString()));
  return std::move(store).value();
}

std::string ChannelId(int channel) { return HexEncode(Sha256("channel-" + std::to_string(channel))); }

chain::EvidenceItem Item(int channel, std::uint64_t seq) {
  return {ChannelId(channel), seq,
          Sha256("tsc-" + std::to_string(channel) + "-" + std::to_string(seq))};
}

ChannelRecord ChannelAt(const chain::EvidenceItem& item) {
  ChannelRecord channel;
  channel.channel_id = item.channel_id;
  channel.provider = "did:web:provider.example";
  channel.consumer = "did:web:consumer.example";
  channel.tst_id = "tst-settlement";
  channel.tst_version = 1;
  channel.strategy_n = 1;
  channel.last_seq = item.seq;
  channel.last_hash = item.tsc_hash;
  channel.evidence_seq = item.seq;
  channel.opened_ms = 1700000000000;
  return channel;
}

// Makes the item durable as pending, the way the daemon does before it submits.
void MakePending(ChannelStore& store, const chain::EvidenceItem& item) {
  auto status = store.AddPendingEvidence(item, ChannelAt(item));
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().ToString()));
}

// The same for many items in one synced write, as the daemon's grouped settlement commits do
// (every TSC of these channels carries evidence, i.e. N = 1). Seqs must rise per channel.
void CommitPending(ChannelStore& store, const std::vector<chain::EvidenceItem>& items) {
  std::vector<SettlementCommit> commits;
  commits.reserve(items.size());
  for (const auto& item : items) {
    const std::string name = item.channel_id + "-" + std::to_string(item.seq);
    TscRecord tsc{item.channel_id, item.seq, item.tsc_hash,
                  HexEncode(Sha256("claim-" + name)), "{\"tsc\":\"" + name + "\"}"};
    commits.push_back({std::move(tsc), ChannelAt(item), item});
  }
  auto status = store.CommitSettlements(commits);
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().ToString()));
}

std::vector<chain::EvidenceItem> Items(int channels, std::uint64_t per_channel, std::uint64_t first_seq = 1) {
  std::vector<chain::EvidenceItem> items;
  for (std::uint64_t seq = first_seq; seq < first_seq + per_channel; ++seq) {
    for (int channel = 0; channel < channels; ++channel) items.push_back(Item(channel, seq));
  }
  return items;
}

using ItemKey = std::pair<std::string, std::uint64_t>;

// What the callback saw.
class Collector {
 public:
  AnchorService::AnchoredCallback Callback() {
    return [this](const std::vector<chain::EvidenceBundle>& bundles, std::chrono::microseconds) {
      std::lock_guard lock(mutex_);
      batch_sizes_.push_back(bundles.size());
      for (const auto& bundle : bundles) {
        ++seen_[{bundle.item.channel_id, bundle.item.seq}];
        bundles_.push_back(bundle);
      }
    };
  }
  std::size_t leaves() const {
    std::lock_guard lock(mutex_);
    return bundles_.size();
  }
  std::map<ItemKey, int> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  std::vector<std::size_t> batch_sizes() const {
    std::lock_guard lock(mutex_);
    return batch_sizes_;
  }
  std::vector<chain::EvidenceBundle> bundles() const {
    std::lock_guard lock(mutex_);
    return bundles_;
  }

 private:
  mutable std::mutex mutex_;
  std::map<ItemKey, int> seen_;
  std::vector<std::size_t> batch_sizes_;
  std::vector<chain::EvidenceBundle> bundles_;
};

bool WaitFor(const std::function<bool()>& done, milliseconds timeout = milliseconds(10000)) {
  const auto deadline = Clock::now() + timeout;
  while (!done()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
  return true;
}

// Every item was reported exactly once, and its stored bundle proves it against the chain.
void CheckAllAnchored(const std::vector<chain::EvidenceItem>& items, const Collector& collector,
                      ChannelStore& store, chain::ChainAdapter& ledger) {
  auto seen = collector.seen();
  CHECK(seen.size() == items.size());
  CHECK(collector.leaves() == items.size());
  for (const auto& item : items) {
    CAPTURE(item.channel_id);
    CAPTURE(item.seq);
    CHECK(seen[{item.channel_id, item.seq}] == 1);
    auto bundle = store.GetBundle(item.channel_id, item.seq);
    REQUIRE_MESSAGE(bundle.ok(), (bundle.ok() ? "" : bundle.error().ToString()));
    CHECK(bundle->item == item);
    auto on_chain = chain::VerifyEvidenceBundleOnChain(*bundle, ledger);
    CHECK_MESSAGE(on_chain.ok(), (on_chain.ok() ? "" : on_chain.error().ToString()));
  }
  auto pending = store.PendingEvidence();
  REQUIRE(pending.ok());
  CHECK(pending->empty());
  auto unfinished = store.UnfinishedBatches();
  REQUIRE(unfinished.ok());
  CHECK(unfinished->empty());
}

AnchorServiceOptions FastOptions(milliseconds interval) {
  AnchorServiceOptions options;
  options.interval = interval;
  options.batch_id_prefix = "tcc-test";
  options.retry_min = milliseconds(10);
  options.retry_max = milliseconds(80);
  return options;
}

// ---------------------------------------------------------------------------------------------
// Service

TEST_CASE("AnchorService: 1,000 submitted items land in a few interval batches that verify on chain") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  Collector collector;
  AnchorService service(ledger, *store, FastOptions(milliseconds(200)), {}, collector.Callback());
  REQUIRE(service.Start().ok());

  // 20 rounds of one settlement on each of 50 channels, spread over about a second.
  std::vector<chain::EvidenceItem> items;
  const auto start = Clock::now();
  for (std::uint64_t seq = 1; seq <= 20; ++seq) {
    const auto round = Items(50, 1, seq);
    CommitPending(*store, round);
    for (const auto& item : round) service.Submit(item);
    items.insert(items.end(), round.begin(), round.end());
    std::this_thread::sleep_for(milliseconds(40));
  }
  const auto submit_time = Clock::now() - start;
  REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }));
  service.Stop();

  const auto stats = service.stats();
  MESSAGE("1000 items submitted in "
          << std::chrono::duration_cast<milliseconds>(submit_time).count() << " ms, "
          << stats.batches_anchored << " batches, last anchor latency "
          << stats.last_anchor_latency.count() << " us");
  CHECK(stats.leaves_anchored == items.size());
  CHECK(stats.adapter_errors == 0);
  CHECK(stats.queued_items == 0);
  CHECK(stats.in_flight_items == 0);
  CHECK(stats.last_error.empty());
  CHECK(stats.last_height > 0);
  CHECK(stats.last_root_hex.size() == 64);
  // One batch per 200 ms of submitting, and then some: far fewer than one per item.
  const auto intervals = submit_time / milliseconds(200);
  CHECK(stats.batches_anchored <= static_cast<std::uint64_t>(intervals) + 3);
  CHECK(stats.batches_anchored < 50);
  CHECK(collector.batch_sizes().size() == stats.batches_anchored);
  CheckAllAnchored(items, collector, *store, *ledger);

  std::set<std::string> batch_ids;
  for (const auto& bundle : collector.bundles()) batch_ids.insert(bundle.batch_id);
  CHECK(batch_ids.size() == stats.batches_anchored);
  for (const auto& id : batch_ids) CHECK(id.rfind("tcc-test-", 0) == 0);
  for (int channel = 0; channel < 50; ++channel) CHECK(store->AnchoredSeq(ChannelId(channel)).value() == 20);
}

TEST_CASE("AnchorService: batches are cut at max_batch without waiting for the interval") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  Collector collector;
  AnchorServiceOptions options = FastOptions(milliseconds(60000));
  options.max_batch = 100;
  AnchorService service(ledger, *store, options, {}, collector.Callback());
  REQUIRE(service.Start().ok());

  const auto items = Items(10, 100);
  CommitPending(*store, items);
  for (const auto& item : items) service.Submit(item);
  REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }));
  service.Stop();
  auto sizes = collector.batch_sizes();
  CHECK(sizes.size() >= 10);
  for (auto size : sizes) CHECK(size <= 100);
  for (const auto& bundle : collector.bundles()) CHECK(bundle.tree_size <= 100);
  CheckAllAnchored(items, collector, *store, *ledger);
}

TEST_CASE("AnchorService: Flush anchors what is queued without waiting for the interval") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  Collector collector;
  AnchorService service(ledger, *store, FastOptions(milliseconds(60000)), {}, collector.Callback());
  REQUIRE(service.Start().ok());
  const auto items = Items(3, 2);
  CommitPending(*store, items);
  for (const auto& item : items) service.Submit(item);
  std::this_thread::sleep_for(milliseconds(50));
  CHECK(collector.leaves() == 0);
  CHECK(service.stats().queued_items == items.size());
  service.Flush();
  REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }, milliseconds(3000)));
  CHECK(collector.batch_sizes() == std::vector<std::size_t>{items.size()});
  service.Stop();
  CheckAllAnchored(items, collector, *store, *ledger);
}

TEST_CASE(
    "AnchorService: a channel's last TSC and its closing leaf, submitted together, land in one "
    "batch") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  Collector collector;
  AnchorService service(ledger, *store, FastOptions(milliseconds(60000)), {}, collector.Callback());
  REQUIRE(service.Start().ok());
  const chain::EvidenceItem last = Item(0, 4);
  // The closing leaf shares the last TSC's channel and seq; only its kind tells them apart.
  const chain::EvidenceItem closing{last.channel_id, last.seq, Sha256("closing record"),
                                    chain::EvidenceKind::kClosing};
  MakePending(*store, last);
  service.SubmitTogether({last, closing});
  service.Submit(closing);  // a second submission of a queued item is ignored
  REQUIRE(WaitFor([&] { return collector.leaves() >= 2; }, milliseconds(5000)));
  service.Stop();
  CHECK(collector.batch_sizes() == std::vector<std::size_t>{2});
  const std::vector<chain::EvidenceBundle> bundles = collector.bundles();
  REQUIRE(bundles.size() == 2);
  CHECK(bundles[0].item == last);
  CHECK(bundles[1].item == closing);
  CHECK(bundles[0].batch_id == bundles[1].batch_id);
  auto stored = store->GetClosingBundle(last.channel_id);
  REQUIRE(stored.ok());
  REQUIRE(stored->has_value());
  CHECK(**stored == bundles[1]);
  CHECK(chain::VerifyEvidenceBundleOnChain(**stored, *ledger).ok());
  CHECK(store->GetBundle(last.channel_id, last.seq).value() == bundles[0]);
  CHECK(store->AnchoredSeq(last.channel_id).value() == last.seq);
}

TEST_CASE("AnchorService: Start re-sends unfinished batches and queues pending items, once each") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  const auto items = Items(10, 3);  // 30 items
  CommitPending(*store, items);
  const std::vector<chain::EvidenceItem> never_sent(items.begin(), items.begin() + 10);
  const std::vector<chain::EvidenceItem> landed(items.begin() + 10, items.begin() + 20);
  const std::vector<chain::EvidenceItem> still_pending(items.begin() + 20, items.end());

  // A crash after SaveBatch, before the anchor went out.
  REQUIRE(store->SaveBatch({"tcc-test-recover-a", never_sent}).ok());
  // A crash after the anchor landed, before CompleteBatch: the chain has it, the store does not.
  REQUIRE(store->SaveBatch({"tcc-test-recover-b", landed}).ok());
  chain::EvidenceBatchBuilder builder;
  for (const auto& item : landed) REQUIRE(builder.Add(item).ok());
  auto batch_b = builder.Build("tcc-test-recover-b");
  REQUIRE(batch_b.ok());
  auto receipt_b = ledger->Anchor(batch_b->anchor());
  REQUIRE(receipt_b.ok());
  const auto anchors_before = ledger->Status().value().anchors;

  Collector collector;
  AnchorService service(ledger, *store, FastOptions(milliseconds(30)), {}, collector.Callback());
  // Submitted before and after Start while the store lists them too: still one batch each.
  service.Submit(still_pending[0]);
  REQUIRE(service.Start().ok());
  service.Submit(never_sent[3]);
  service.Submit(landed[4]);
  for (const auto& item : still_pending) service.Submit(item);
  REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }));
  // Late submissions of recovered items that have landed meanwhile are not anchored again.
  service.Submit(still_pending[1]);
  service.Submit(never_sent[0]);
  service.Flush();
  std::this_thread::sleep_for(milliseconds(100));
  service.Stop();

  CheckAllAnchored(items, collector, *store, *ledger);
  for (const auto& item : landed) {
    auto bundle = store->GetBundle(item.channel_id, item.seq);
    REQUIRE(bundle.ok());
    CHECK(bundle->batch_id == "tcc-test-recover-b");
    CHECK(bundle->receipt == receipt_b->receipt);
  }
  for (const auto& item : never_sent) CHECK(store->GetBundle(item.channel_id, item.seq)->batch_id == "tcc-test-recover-a");
  auto found_a = ledger->FindAnchor("tcc-test-recover-a");
  REQUIRE(found_a.ok());
  CHECK(found_a->value.leaf_count == never_sent.size());
  // Re-sending b was an idempotent hit: the ledger made one anchor less than the service reported.
  const auto stats = service.stats();
  CHECK(ledger->Status().value().anchors - anchors_before == stats.batches_anchored - 1);
}

TEST_CASE("AnchorService: batch ids the chain already holds are skipped") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  // As after the store was lost: its counter starts over at ids the chain already has.
  REQUIRE(ledger->Anchor({"tcc-test-1", Sha256("an older root"), 1}).ok());
  REQUIRE(ledger->Anchor({"tcc-test-2", Sha256("another older root"), 3}).ok());

  Collector collector;
  AnchorService service(ledger, *store, FastOptions(milliseconds(20)), {}, collector.Callback());
  const auto items = Items(4, 2);
  CommitPending(*store, items);
  REQUIRE(service.Start().ok());
  REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }, milliseconds(5000)));
  service.Stop();
  CHECK(service.stats().adapter_errors == 0);
  for (const auto& bundle : collector.bundles()) CHECK(bundle.batch_id == "tcc-test-3");
  CheckAllAnchored(items, collector, *store, *ledger);
}

TEST_CASE("AnchorService: a slow chain raises N, a fast one brings it back to the base") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  auto adapter = std::make_shared<FaultyAdapter>(ledger);
  AnchorPolicyOptions policy = AdaptiveOptions();
  policy.backlog_high = 100000;
  Collector collector;
  AnchorService service(adapter, *store, FastOptions(milliseconds(20)), policy, collector.Callback());
  REQUIRE(service.Start().ok());
  auto factor = [&] {
    return service.policy().factor();
  };
  auto effective_n = [&] {
    return service.EffectiveN(10, std::nullopt);
  };

  // A steady trickle of settlements, so anchors keep happening and the policy keeps observing.
  std::atomic<bool> feeding{true};
  std::mutex fed_mutex;
  std::vector<chain::EvidenceItem> fed;
  std::thread feeder([&] {
    for (std::uint64_t seq = 1; feeding; ++seq) {
      auto item = Item(static_cast<int>(seq % 7), seq);
      MakePending(*store, item);
      service.Submit(item);
      {
        std::lock_guard lock(fed_mutex);
        fed.push_back(item);
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  });

  REQUIRE(WaitFor([&] { return collector.leaves() > 0; }));
  CHECK(factor() == 1);
  CHECK(effective_n() == 10);

  adapter->anchor_delay_ms = 300;
  const bool rose = WaitFor([&] { return factor() >= 4; }, milliseconds(5000));
  CHECK(rose);
  CHECK(effective_n() > 10);
  MESSAGE("slow chain: factor " << factor() << ", effective N " << effective_n());

  adapter->anchor_delay_ms = 0;
  const bool fell = WaitFor([&] { return factor() == 1; }, milliseconds(5000));
  CHECK(fell);
  CHECK(effective_n() == 10);
  MESSAGE("fast chain again: last anchor latency " << service.stats().last_anchor_latency.count() << " us");

  feeding = false;
  feeder.join();
  service.Stop();
  std::lock_guard lock(fed_mutex);
  CheckAllAnchored(fed, collector, *store, *ledger);
}

TEST_CASE("AnchorService: an unavailable chain is retried under the same batch id; nothing is lost") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  auto adapter = std::make_shared<FaultyAdapter>(ledger);
  Collector collector;
  AnchorServiceOptions options = FastOptions(milliseconds(20));
  options.max_batch = 150;
  AnchorPolicyOptions policy = AdaptiveOptions();
  policy.backlog_high = 100;
  AnchorService service(adapter, *store, options, policy, collector.Callback());
  REQUIRE(service.Start().ok());
  auto factor = [&] {
    return service.policy().factor();
  };

  adapter->unavailable = true;
  auto items = Items(20, 10);  // 200 items
  CommitPending(*store, items);
  for (const auto& item : items) service.Submit(item);
  REQUIRE(WaitFor([&] { return service.stats().adapter_errors >= 5; }));
  // The backlog grew past its limit: N doubled; the retries that follow do not raise it further
  // while the backlog stays where it is.
  CHECK(WaitFor([&] { return factor() > 1; }, milliseconds(3000)));
  const auto raised = factor();
  const auto errors_at_raise = service.stats().adapter_errors;
  REQUIRE(WaitFor([&] { return service.stats().adapter_errors >= errors_at_raise + 3; }));
  CHECK(factor() == raised);
  CHECK(raised <= 4);  // once, or twice if an evaluation fell inside the submissions
  auto stats = service.stats();
  CHECK(collector.leaves() == 0);
  CHECK(stats.last_error.find("unavailable") != std::string::npos);
  CHECK(stats.in_flight_items > 0);
  CHECK(stats.in_flight_items <= 150);
  CHECK(stats.in_flight_items + stats.queued_items == items.size());

  // More settlements meanwhile; then the anchors land but their replies are lost.
  const auto more = Items(20, 5, 11);
  CommitPending(*store, more);
  for (const auto& item : more) service.Submit(item);
  items.insert(items.end(), more.begin(), more.end());
  adapter->lose_replies = true;
  adapter->unavailable = false;
  const auto errors_before = service.stats().adapter_errors;
  REQUIRE(WaitFor([&] { return service.stats().adapter_errors >= errors_before + 2; }));
  adapter->lose_replies = false;

  REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }));
  service.Stop();
  stats = service.stats();
  CHECK(stats.last_error.empty());
  CheckAllAnchored(items, collector, *store, *ledger);

  // Every attempt before the first success named the same batch, and no batch landed twice.
  auto attempts = adapter->attempted_ids();
  REQUIRE(attempts.size() > 5);
  for (std::size_t i = 1; i < 5; ++i) CHECK(attempts[i] == attempts[0]);
  std::set<std::string> distinct(attempts.begin(), attempts.end());
  CHECK(distinct.size() == stats.batches_anchored);
  CHECK(ledger->Status().value().anchors == stats.batches_anchored);
}

TEST_CASE("AnchorService: Stop drains the queue; with the chain down it gives up on time and keeps everything") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  const auto items = Items(5, 10);

  SUBCASE("drain anchors what is queued") {
    auto store = OpenStore(dir.Sub("store"));
    Collector collector;
    AnchorService service(ledger, *store, FastOptions(milliseconds(60000)), {}, collector.Callback());
    REQUIRE(service.Start().ok());
    CommitPending(*store, items);
    for (const auto& item : items) service.Submit(item);
    CHECK(collector.leaves() == 0);
    service.Stop(/*drain=*/true, milliseconds(5000));
    CheckAllAnchored(items, collector, *store, *ledger);
  }

  SUBCASE("the destructor drains too") {
    auto store = OpenStore(dir.Sub("store"));
    Collector collector;
    {
      AnchorService service(ledger, *store, FastOptions(milliseconds(60000)), {}, collector.Callback());
      REQUIRE(service.Start().ok());
      CommitPending(*store, items);
      for (const auto& item : items) service.Submit(item);
    }
    CheckAllAnchored(items, collector, *store, *ledger);
  }

  SUBCASE("a failing chain: Stop returns within the drain timeout, the next Start anchors it all") {
    auto store = OpenStore(dir.Sub("store"));
    auto adapter = std::make_shared<FaultyAdapter>(ledger);
    adapter->unavailable = true;
    AnchorServiceOptions options = FastOptions(milliseconds(20));
    options.max_batch = 30;
    options.retry_min = milliseconds(50);
    options.retry_max = milliseconds(2000);
    std::string stuck_id;
    // Pending before Start, so Start cuts one full batch at once and 20 items stay queued.
    CommitPending(*store, items);
    {
      Collector collector;
      AnchorService service(adapter, *store, options, {}, collector.Callback());
      REQUIRE(service.Start().ok());
      // The fourth failure is followed by a 400 ms wait, longer than the drain timeout.
      REQUIRE(WaitFor([&] { return service.stats().adapter_errors >= 4; }));
      const auto start = Clock::now();
      service.Stop(/*drain=*/true, milliseconds(300));
      const auto took = Clock::now() - start;
      CHECK(took < milliseconds(700));
      CHECK(collector.leaves() == 0);
      stuck_id = adapter->attempted_ids().front();
    }
    auto pending = store->PendingEvidence();
    auto unfinished = store->UnfinishedBatches();
    REQUIRE(pending.ok());
    REQUIRE(unfinished.ok());
    REQUIRE(unfinished->size() == 1);
    CHECK(unfinished->front().batch_id == stuck_id);
    CHECK(unfinished->front().items.size() == 30);
    CHECK(pending->size() == 20);
    const auto stuck_items = unfinished->front().items;

    adapter->unavailable = false;
    Collector collector;
    AnchorService service(adapter, *store, options, {}, collector.Callback());
    REQUIRE(service.Start().ok());
    REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }));
    service.Stop();
    CheckAllAnchored(items, collector, *store, *ledger);
    for (const auto& item : stuck_items) CHECK(store->GetBundle(item.channel_id, item.seq)->batch_id == stuck_id);
  }

  SUBCASE("Stop without drain leaves the queue to the store") {
    auto store = OpenStore(dir.Sub("store"));
    Collector collector;
    AnchorService service(ledger, *store, FastOptions(milliseconds(60000)), {}, collector.Callback());
    REQUIRE(service.Start().ok());
    CommitPending(*store, items);
    for (const auto& item : items) service.Submit(item);
    service.Stop(/*drain=*/false);
    CHECK(collector.leaves() == 0);
    CHECK(store->PendingEvidence().value().size() == items.size());
    // Restartable: the same service picks them up again.
    REQUIRE(service.Start().ok());
    service.Flush();
    REQUIRE(WaitFor([&] { return collector.leaves() >= items.size(); }));
    service.Stop();
    CheckAllAnchored(items, collector, *store, *ledger);
  }
}

TEST_CASE("AnchorService: Start rejects bad options") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto store = OpenStore(dir.Sub("store"));
  AnchorServiceOptions bad_prefix = FastOptions(milliseconds(20));
  bad_prefix.batch_id_prefix = "has space";
  CHECK(AnchorService(ledger, *store, bad_prefix, {}, nullptr).Start().error().code() ==
        ErrorCode::kInvalidArgument);
  AnchorServiceOptions zero_batch = FastOptions(milliseconds(20));
  zero_batch.max_batch = 0;
  CHECK(AnchorService(ledger, *store, zero_batch, {}, nullptr).Start().error().code() ==
        ErrorCode::kInvalidArgument);
  AnchorPolicyOptions bad_policy;
  bad_policy.n_min = 0;
  CHECK(AnchorService(ledger, *store, FastOptions(milliseconds(20)), bad_policy, nullptr).Start().error().code() ==
        ErrorCode::kInvalidArgument);

  AnchorService service(ledger, *store, FastOptions(milliseconds(20)), {}, nullptr);
  REQUIRE(service.Start().ok());
  CHECK(service.Start().error().code() == ErrorCode::kConflict);
  service.Stop();
}

}  // namespace
}  // namespace tcc::controller
