// The EVM adapter against a real anvil node: the ChainAdapter contract (the same checks the
// embedded ledger passes), Merkle proofs verified by the registry on chain, nonces across
// concurrent writers and restarts, a node that goes away mid-run, and clear errors.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <atomic>
#include <set>
#include <thread>

#include "adapter_behaviour.h"
#include "evm_test_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/factory.h"
#include "tcc/chain/local_ledger.h"

namespace tcc::chain::testing {
namespace {

using CheckFunction = void (*)(ChainAdapter&);

constexpr std::pair<const char*, CheckFunction> kChecks[] = {
    {"anchoring", CheckAnchoring},
    {"identity", CheckIdentity},
    {"templates", CheckTemplates},
    {"TICs and events", CheckTicsAndEvents},
};

TEST_CASE("the adapter contract: embedded ledger") {
  for (const auto& [name, check] : kChecks) {
    CAPTURE(name);
    TempDir dir;
    auto ledger = LocalLedger::Open({.path = dir.Sub("ledger")});
    REQUIRE(ledger.ok());
    check(**ledger);
  }
}

TEST_CASE("the adapter contract: EVM registry on the test node") {
  EvmChain chain;
  for (const auto& [name, check] : kChecks) {
    CAPTURE(name);
    chain.Deploy();  // a clean registry per check
    auto adapter = chain.Open();
    CHECK(adapter->name() == "evm");
    check(*adapter);
  }
}

TEST_CASE("anchored evidence verifies on chain through the registry's view") {
  EvmChain chain;
  auto adapter = chain.Open();
  for (std::size_t size : {1, 2, 3, 5, 8, 13, 17}) {
    CAPTURE(size);
    EvidenceBatchBuilder builder;
    for (std::size_t i = 0; i < size; ++i) {
      REQUIRE(builder.Add({"channel-" + std::to_string(i % 3), i + 1, Sha256("tsc " + std::to_string(i))}).ok());
    }
    auto batch = builder.Build("batch-" + std::to_string(size)).value();
    auto anchored = Landed(adapter->Anchor(batch.anchor()));
    for (std::size_t i = 0; i < size; ++i) {
      auto bundle = batch.Bundle(i, anchored.receipt).value();
      CHECK(VerifyEvidenceBundle(bundle).ok());
      // The chain recomputes the root from the leaf and path with its SHA-256 precompile.
      tcc::Status on_chain = adapter->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, bundle.leaf_index,
                                                             bundle.tree_size, bundle.path);
      CHECK_MESSAGE(on_chain.ok(), on_chain.error().ToString());
      CHECK(Landed(VerifyEvidenceBundleOnChain(bundle, *adapter)) == anchored);

      Hash256 wrong_leaf = bundle.leaf;
      wrong_leaf[0] ^= 1;
      CHECK(adapter->VerifyInclusionOnChain(bundle.batch_id, wrong_leaf, i, size, bundle.path).error().code() ==
            ErrorCode::kVerificationFailed);
      CHECK(!adapter->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, i, size + 1, bundle.path).ok());
      if (size > 1) {
        CHECK(!adapter->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, (i + 1) % size, size, bundle.path).ok());
        auto short_path = bundle.path;
        short_path.pop_back();
        CHECK(!adapter->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, i, size, short_path).ok());
        auto tampered = bundle.path;
        tampered[0][5] ^= 0x40;
        CHECK(!adapter->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, i, size, tampered).ok());
      }
      CHECK(!adapter->VerifyInclusionOnChain("batch-none", bundle.leaf, i, size, bundle.path).ok());
    }
  }
}

TEST_CASE("evm URIs open through the factory; a wrong node, contract or key is refused clearly") {
  EvmChain chain;
  auto opened = OpenChainAdapter(chain.uri());
  REQUIRE_MESSAGE(opened.ok(), opened.error().ToString());
  CHECK((*opened)->name() == "evm");
  CHECK(Landed((*opened)->Anchor(AnchorFor("via-factory"))).receipt.adapter == "evm");
  bool listed = false;
  for (const std::string& form : SupportedChainUris()) listed = listed || form.starts_with("evm+http://");
  CHECK(listed);

  EvmOptions wrong_chain = chain.options();
  wrong_chain.chain_id = 1;
  auto refused = EvmAdapter::Open(wrong_chain);
  REQUIRE(!refused.ok());
  CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
  CHECK(refused.error().message().find("31337") != std::string::npos);

  EvmOptions no_registry = chain.options();
  no_registry.contract = evm::AccountKey::Generate().address();
  CHECK(EvmAdapter::Open(no_registry).error().code() == ErrorCode::kInvalidArgument);

  EvmOptions no_node = chain.options();
  no_node.rpc_url = "http://127.0.0.1:1";
  CHECK(EvmAdapter::Open(no_node).error().code() == ErrorCode::kUnavailable);

  EvmOptions open_key = chain.options();
  open_key.key_file = chain.NewFundedKey("readable.key");
  REQUIRE(::chmod(open_key.key_file.c_str(), 0644) == 0);
  CHECK(EvmAdapter::Open(open_key).error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("clear errors: no funds, an underpriced fixed gas price, a DID updated by another account") {
  EvmChain chain;
  auto owner = chain.Open();
  Landed(owner->RegisterDid("did:web:owned", B("doc")));

  EvmOptions poor = chain.options();
  poor.key_file = chain.dir().Sub("poor.key");
  REQUIRE(evm::AccountKey::Generate().WriteFile(poor.key_file).ok());
  auto unfunded = chain.Open(poor)->Anchor(AnchorFor("poor"));
  REQUIRE(!unfunded.ok());
  CHECK_MESSAGE(unfunded.error().code() == ErrorCode::kResourceExhausted,
                unfunded.error().ToString());
  CHECK(unfunded.error().message().find("cannot pay for gas") != std::string::npos);

  EvmOptions cheap = chain.options();
  cheap.gas_price = 1;  // wei: below anvil's base fee
  auto underpriced = chain.Open(cheap)->Anchor(AnchorFor("cheap"));
  REQUIRE(!underpriced.ok());
  CHECK(underpriced.error().code() == ErrorCode::kInvalidArgument);
  CHECK(underpriced.error().message().find("gas_price=1") != std::string::npos);

  EvmOptions other = chain.options();
  other.key_file = chain.NewFundedKey("other.key");
  auto intruder = chain.Open(other);
  auto hijack = intruder->UpdateDid("did:web:owned", B("evil"));
  REQUIRE(!hijack.ok());
  CHECK(hijack.error().code() == ErrorCode::kPermissionDenied);
  CHECK(hijack.error().message().find("registering account") != std::string::npos);
  CHECK(Landed(intruder->ResolveDid("did:web:owned", std::nullopt)).value.document == B("doc"));
  // The owner still can.
  CHECK(Landed(owner->UpdateDid("did:web:owned", B("doc v2"))).value.version == 2);
}

TEST_CASE("nonces: concurrent writers, a second instance on the same key, a restarted adapter") {
  EvmChain chain;
  evm::Address account = evm::AccountKey::FromFile(chain.options().key_file).value().address();
  std::uint64_t before = chain.TransactionCount(account);
  {
    auto adapter = chain.Open();
    constexpr int kThreads = 6;
    constexpr int kPerThread = 8;
    std::vector<std::thread> threads;
    std::atomic<int> landed{0};
    std::vector<std::string> failures(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          auto anchored = adapter->Anchor(AnchorFor("t" + std::to_string(t) + "-" + std::to_string(i)));
          if (anchored.ok()) {
            ++landed;
          } else {
            failures[t] = anchored.error().ToString();
          }
        }
      });
    }
    for (auto& thread : threads) thread.join();
    for (const auto& failure : failures) CHECK_MESSAGE(failure.empty(), failure);
    CHECK(landed == kThreads * kPerThread);
    CHECK(chain.TransactionCount(account) == before + kThreads * kPerThread);
    CHECK(Landed(adapter->Status()).anchors == kThreads * kPerThread);

    // Another instance with the same key: each finds its nonce again after the other used it.
    auto twin = chain.Open();
    for (int i = 0; i < 4; ++i) {
      Landed(adapter->Anchor(AnchorFor("a-" + std::to_string(i))));
      Landed(twin->Anchor(AnchorFor("twin-" + std::to_string(i))));
    }
  }
  std::uint64_t after_first = chain.TransactionCount(account);
  CHECK(after_first == before + 6 * 8 + 8);
  // A new adapter (a restarted tccd) continues from the chain's nonce.
  auto restarted = chain.Open();
  for (int i = 0; i < 3; ++i) Landed(restarted->Anchor(AnchorFor("after-restart-" + std::to_string(i))));
  CHECK(chain.TransactionCount(account) == after_first + 3);
  CHECK(Landed(restarted->FindAnchor("t5-7")).value == AnchorFor("t5-7"));
}

TEST_CASE("a node stopped and restarted mid-run: anchors queue, then land; none lost or doubled") {
  EvmChain chain;
  auto adapter = chain.Open();
  evm::Address account = adapter->account();
  std::uint64_t before = chain.TransactionCount(account);
  constexpr int kThreads = 3;
  constexpr int kPerThread = 12;
  std::atomic<int> landed{0};
  std::vector<std::string> failures(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto anchored = adapter->Anchor(AnchorFor("r" + std::to_string(t) + "-" + std::to_string(i)));
        if (anchored.ok()) {
          ++landed;
        } else {
          failures[t] = anchored.error().ToString();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }
  while (landed < 8) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  chain.node().Stop();
  int at_stop = landed;
  std::this_thread::sleep_for(std::chrono::seconds(2));
  // Nothing lands while the node is down; the writers wait (Status reports them pending).
  CHECK(landed - at_stop <= kThreads);
  std::string restarted = chain.node().Start();
  REQUIRE_MESSAGE(restarted.empty(), restarted);
  for (auto& thread : threads) thread.join();
  for (const auto& failure : failures) CHECK_MESSAGE(failure.empty(), failure);
  CHECK(landed == kThreads * kPerThread);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      std::string id = "r" + std::to_string(t) + "-" + std::to_string(i);
      CHECK(Landed(adapter->FindAnchor(id)).value == AnchorFor(id));
    }
  }
  // One transaction per anchor: no resend landed twice.
  CHECK(chain.TransactionCount(account) == before + kThreads * kPerThread);
  CHECK(Landed(adapter->Status()).pending == 0);
}

TEST_CASE("a transaction the node drops is noticed, re-read and sent again: it lands exactly once") {
  EvmChain chain;
  auto adapter = chain.Open();
  Landed(adapter->Anchor(AnchorFor("before")));  // nonce known and tracked locally from here
  std::uint64_t before = chain.TransactionCount(adapter->account());
  // From now on blocks come only from this test: the first pending transaction is thrown away
  // (as a node restart without its pool would), then blocks are mined on demand.
  REQUIRE(chain.node().SetAutomine(false).ok());
  std::atomic<bool> stop{false};
  std::atomic<bool> dropped{false};
  std::thread miner([&] {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!dropped) {
        auto pending = chain.node().Call("eth_getTransactionCount",
                                         JsonArray{Json(evm::AddressHex(adapter->account())), Json("pending")});
        if (pending.ok() && evm::ParseQuantity(pending->as_string()).value() > before) {
          dropped = chain.node().Call("anvil_dropAllTransactions", Json::Array()).ok();
        }
        continue;
      }
      (void)chain.node().Call("evm_mine", Json::Array());
    }
  });
  auto anchored = adapter->Anchor(AnchorFor("dropped-once"));
  stop = true;
  miner.join();
  REQUIRE_MESSAGE(anchored.ok(), anchored.error().ToString());
  CHECK(dropped);
  CHECK(Landed(adapter->FindAnchor("dropped-once")) == *anchored);
  // The dropped transaction's nonce was reused: one transaction landed, not two.
  CHECK(chain.TransactionCount(adapter->account()) == before + 1);
}

TEST_CASE("confirmations: a write returns once its block is K deep") {
  EvmChain chain(/*block_time_s=*/1);
  chain.options().confirmations = 2;
  auto adapter = chain.Open();
  auto anchored = Landed(adapter->Anchor(AnchorFor("deep")));
  CHECK(Height(*adapter) >= anchored.receipt.height + 1);
  // Events are reported only from blocks that deep.
  Landed(adapter->RecordTic({"tic-deep", "did:key:tcc", B("tic")}));
  auto page = Landed(adapter->PollEvents({}));
  REQUIRE(page.events.size() == 1);
  CHECK(page.events[0].subject == "tic-deep");
}


// Blocks come only from the test (automine off, evm_mine), so "K blocks deep" is exact: the anchor
// and a TIC land in block b; until block b + K - 1 exists nothing of them is reported by a K = 3
// adapter — not the write's return, not FindAnchor / GetTic, not on-chain verification, not
// events — while a K = 1 adapter on the same node already sees both (so the K is what hides them).
TEST_CASE("confirmations K: nothing is reported anchored before K blocks; reads for decisions are K deep") {
  constexpr std::uint64_t kDepth = 3;
  EvmChain chain;
  auto shallow = chain.Open();  // K = 1
  EvmOptions deep_options = chain.options();
  deep_options.confirmations = kDepth;
  deep_options.key_file = chain.NewFundedKey("deep.key");  // its own account: the pool counts per account
  auto deep = chain.Open(deep_options);
  EvmOptions twin_options = deep_options;
  twin_options.key_file = chain.NewFundedKey("twin.key");
  auto twin = chain.Open(twin_options);
  REQUIRE(chain.node().SetAutomine(false).ok());

  EvidenceBatchBuilder builder;
  for (int i = 0; i < 5; ++i) REQUIRE(builder.Add({"channel-k", std::uint64_t(i + 1), Sha256("tsc k" + std::to_string(i))}).ok());
  auto batch = builder.Build("batch-k-deep").value();
  const std::uint64_t before = chain.PendingCount(deep->account());
  const std::uint64_t tic_before = chain.PendingCount(shallow->account());
  // jthreads: a failed REQUIRE joins them (bounded by the write timeout) before the node stops.
  std::atomic<bool> anchor_done{false};
  Result<Recorded<BatchAnchor>> anchored = Error(ErrorCode::kInternal, "not run");
  std::jthread writer([&] {
    anchored = deep->Anchor(batch.anchor());
    anchor_done = true;
  });
  std::atomic<bool> tic_done{false};
  Result<Recorded<TicDocument>> tic = Error(ErrorCode::kInternal, "not run");
  std::jthread tic_writer([&] {
    tic = shallow->RecordTic({"tic-k-deep", "did:key:tcc-k", B("tic")});
    tic_done = true;
  });
  // Both transactions wait in the pool; one block takes them.
  const bool both_sent = WaitUntil([&] {
    return chain.PendingCount(deep->account()) > before && chain.PendingCount(shallow->account()) > tic_before;
  });
  if (!both_sent) {
    MESSAGE("pending deep " << chain.PendingCount(deep->account()) << " before " << before << " tic "
                            << chain.PendingCount(shallow->account()) << " before " << tic_before
                            << " anchor_done " << anchor_done.load() << " tic_done " << tic_done.load());
    if (anchor_done && !anchored.ok()) MESSAGE(anchored.error().ToString());
    if (tic_done && !tic.ok()) MESSAGE(tic.error().ToString());
  }
  REQUIRE(both_sent);
  const std::uint64_t landed_in = chain.Mine();
  REQUIRE(WaitUntil([&] { return tic_done.load(); }));
  REQUIRE_MESSAGE(tic.ok(), tic.error().ToString());
  CHECK(tic->receipt.height == landed_in);
  CHECK(Landed(shallow->FindAnchor("batch-k-deep")).receipt.height == landed_in);

  auto bundle = batch.Bundle(2, Landed(shallow->FindAnchor("batch-k-deep")).receipt).value();
  auto nothing_reported = [&] {
    CHECK(CodeOf(deep->FindAnchor("batch-k-deep")) == ErrorCode::kNotFound);
    CHECK(CodeOf(deep->FindAnchorByRoot(batch.anchor().root)) == ErrorCode::kNotFound);
    CHECK(CodeOf(deep->GetTic("tic-k-deep")) == ErrorCode::kNotFound);
    CHECK(!deep->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, bundle.leaf_index, bundle.tree_size,
                                        bundle.path).ok());
    CHECK(!VerifyEvidenceBundleOnChain(bundle, *deep).ok());
    CHECK(Landed(deep->PollEvents({})).events.empty());
    // The writer polls every 50 ms; a quarter second is five chances to return too early.
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    CHECK(!anchor_done);
  };
  nothing_reported();  // 1 block deep

  // A second K = 3 writer of the same batch must not take the shallow record as landed: it sends
  // its own (idempotent, no-op) transaction and returns only once that is K deep, naming block b.
  std::atomic<bool> twin_done{false};
  Result<Recorded<BatchAnchor>> again = Error(ErrorCode::kInternal, "not run");
  const std::uint64_t twin_before = chain.PendingCount(twin->account());
  std::jthread twin_writer([&] {
    again = twin->Anchor(batch.anchor());
    twin_done = true;
  });
  REQUIRE(WaitUntil([&] { return chain.PendingCount(twin->account()) > twin_before; }));
  CHECK(!twin_done);
  chain.Mine();
  nothing_reported();  // 2 blocks deep
  CHECK(!twin_done);

  chain.Mine();  // 3 blocks deep: reported now
  REQUIRE(WaitUntil([&] { return anchor_done.load(); }));
  writer.join();
  tic_writer.join();
  REQUIRE_MESSAGE(anchored.ok(), anchored.error().ToString());
  CHECK(anchored->receipt.height == landed_in);
  CHECK(Landed(deep->FindAnchor("batch-k-deep")) == *anchored);
  CHECK(Landed(VerifyEvidenceBundleOnChain(bundle, *deep)) == *anchored);
  CHECK(!twin_done);  // its own transaction is one block younger
  chain.Mine();
  REQUIRE(WaitUntil([&] { return twin_done.load(); }));
  twin_writer.join();
  REQUIRE_MESSAGE(again.ok(), again.error().ToString());
  CHECK(*again == *anchored);
  auto page = Landed(deep->PollEvents({}));
  REQUIRE(page.events.size() == 1);
  CHECK(page.events[0].subject == "tic-k-deep");
}

Hash256 BlockHashAt(EvmChain& chain, std::uint64_t height) {
  auto block = chain.node().Call("eth_getBlockByNumber", JsonArray{Json(evm::QuantityHex(height)), Json(false)});
  REQUIRE(block.ok());
  REQUIRE(block->is_object());
  Bytes hash = evm::ParsePrefixedHex(block->Find("hash")->as_string()).value();
  Hash256 out;
  std::copy(hash.begin(), hash.end(), out.begin());
  return out;
}

// Two ways a chain takes an anchor back: anvil_reorg replaces the newest block by another at the
// same height without the anchor's transaction, and evm_snapshot/evm_revert rolls three blocks
// back. Either way the adapter (whose block cache and local nonce still describe the old chain)
// reports the record gone, and anchoring the batch again sends a new transaction that lands once,
// with a receipt naming the new block.
TEST_CASE("a reorganization that drops anchors is noticed: the records are gone; anchoring again lands them") {
  EvmChain chain;
  auto adapter = chain.Open();
  Landed(adapter->Anchor(AnchorFor("before-reorg")));

  auto first = Landed(adapter->Anchor(AnchorFor("reorged")));
  CHECK(Landed(adapter->FindAnchor("reorged")) == first);  // the receipt's block is in the cache now
  const std::uint64_t count_before = chain.TransactionCount(adapter->account());
  REQUIRE(chain.node().Call("anvil_reorg", JsonArray{Json(1), Json::Array()}).ok());
  CHECK(BlockHashAt(chain, first.receipt.height) != first.receipt.block_hash);
  CHECK(chain.TransactionCount(adapter->account()) == count_before - 1);
  CHECK(CodeOf(adapter->FindAnchor("reorged")) == ErrorCode::kNotFound);
  CHECK(CodeOf(adapter->FindAnchorByRoot(AnchorFor("reorged").root)) == ErrorCode::kNotFound);
  CHECK(Landed(adapter->FindAnchor("before-reorg")).receipt.height < first.receipt.height);
  auto again = Landed(adapter->Anchor(AnchorFor("reorged")));
  CHECK(again.receipt.block_hash != first.receipt.block_hash);
  CHECK(Landed(adapter->FindAnchor("reorged")) == again);
  CHECK(BlockHashAt(chain, again.receipt.height) == again.receipt.block_hash);

  // Three anchors rolled back at once.
  auto snapshot = chain.node().Call("evm_snapshot", Json::Array());
  REQUIRE(snapshot.ok());
  std::vector<Recorded<BatchAnchor>> dropped;
  for (int i = 0; i < 3; ++i) dropped.push_back(Landed(adapter->Anchor(AnchorFor("rolled-back-" + std::to_string(i)))));
  const std::uint64_t count_at_snapshot = chain.TransactionCount(adapter->account()) - 3;
  REQUIRE(chain.node().Call("evm_revert", JsonArray{*snapshot}).ok());
  CHECK(chain.TransactionCount(adapter->account()) == count_at_snapshot);
  for (int i = 0; i < 3; ++i) {
    CHECK(CodeOf(adapter->FindAnchor("rolled-back-" + std::to_string(i))) == ErrorCode::kNotFound);
  }
  for (int i = 0; i < 3; ++i) {
    std::string id = "rolled-back-" + std::to_string(i);
    auto landed = Landed(adapter->Anchor(AnchorFor(id)));
    CHECK(Landed(adapter->FindAnchor(id)) == landed);
    CHECK(BlockHashAt(chain, landed.receipt.height) == landed.receipt.block_hash);
  }
  // Every record is there once and the account's nonces have no gap left behind.
  CHECK(WaitUntil([&] { return chain.PendingCount(adapter->account()) == chain.TransactionCount(adapter->account()); }));
  CHECK(Landed(adapter->FindAnchor("reorged")) == again);
}

// The node's base fee jumps (anvil_setNextBlockBaseFeePerGas) right after the adapter read its
// price: the next send is refused as underpriced; the adapter re-reads and raises the price and
// the anchor lands, paying at least the new base fee.
TEST_CASE("fees: an underpriced refusal raises the price and the write lands") {
  EvmChain chain;
  auto adapter = chain.Open();
  auto first = Landed(adapter->Anchor(AnchorFor("cheap-era")));  // the price is cached from here
  auto price_of = [&](const std::string& tx) {
    auto found = chain.node().Call("eth_getTransactionByHash", JsonArray{Json(tx)});
    REQUIRE(found.ok());
    REQUIRE(found->is_object());
    return evm::ParseQuantity(found->Find("gasPrice")->as_string()).value();
  };
  const std::uint64_t old_price = price_of(first.receipt.tx);
  const std::uint64_t base_fee = old_price * 10;
  REQUIRE(chain.node().SetNextBaseFee(base_fee).ok());
  auto expensive = Landed(adapter->Anchor(AnchorFor("expensive-era")));
  CHECK(price_of(expensive.receipt.tx) >= base_fee);
  CHECK(Landed(adapter->FindAnchor("expensive-era")) == expensive);
}

// A transaction already in the pool when the base fee rises above its price (the test keeps the
// base fee up before each block it mines). anvil 1.7.1 evicts it from the pool at the next block
// (txpool_status shows it empty), so what this shows is the eviction path: the adapter notices
// the transaction is gone, sends the anchor again with the same nonce, is refused as underpriced
// at its cached price, takes the node's new price, and the anchor lands once. Hardhat's node keeps
// the transaction instead, so there this shows the replacement path (the next test's): the adapter
// replaces the pooled transaction, same nonce, at the node's new price.
TEST_CASE("pools: a transaction the base fee leaves behind is re-sent with its nonce at the new price; lands once") {
  EvmChain chain;
  EvmOptions options = chain.options();
  options.write_timeout = std::chrono::seconds(20);  // a write that never lands fails the test in 20 s
  auto adapter = chain.Open(options);
  auto price_and_nonce = [&](const std::string& tx) {
    auto found = chain.node().Call("eth_getTransactionByHash", JsonArray{Json(tx)});
    REQUIRE(found.ok());
    REQUIRE(found->is_object());
    return std::make_pair(evm::ParseQuantity(found->Find("gasPrice")->as_string()).value(),
                          evm::ParseQuantity(found->Find("nonce")->as_string()).value());
  };
  auto first = Landed(adapter->Anchor(AnchorFor("before-the-rise")));  // the price is cached from here
  const std::uint64_t old_price = price_and_nonce(first.receipt.tx).first;
  const std::uint64_t nonce = chain.TransactionCount(adapter->account());
  REQUIRE(chain.node().SetAutomine(false).ok());

  std::atomic<bool> done{false};
  Result<Recorded<BatchAnchor>> anchored = Error(ErrorCode::kInternal, "not run");
  std::jthread writer([&] {
    anchored = adapter->Anchor(AnchorFor("stuck"));
    done = true;
  });
  REQUIRE(WaitUntil([&] { return chain.PendingCount(adapter->account()) > nonce; }));
  std::uint64_t blocks = 0;
  REQUIRE(WaitUntil([&] {
    if (done) return true;
    REQUIRE(chain.node().SetNextBaseFee(old_price * 10).ok());
    chain.Mine();
    ++blocks;
    return false;
  }, std::chrono::seconds(30)));
  writer.join();
  REQUIRE_MESSAGE(anchored.ok(), anchored.error().ToString());
  CHECK(blocks >= 3);
  auto [price, landed_nonce] = price_and_nonce(anchored->receipt.tx);
  CHECK(landed_nonce == nonce);
  CHECK(price >= old_price * 10);
  CHECK(chain.TransactionCount(adapter->account()) == nonce + 1);
  CHECK(Landed(adapter->FindAnchor("stuck")) == *anchored);
}

// The version of `account`'s transaction `nonce` that the node's next block would take (its
// pending block), as hash and gas price; nullopt while there is none.
std::optional<std::pair<std::string, std::uint64_t>> Pooled(EvmChain& chain,
                                                            const evm::Address& account,
                                                            std::uint64_t nonce) {
  auto block = chain.node().Call("eth_getBlockByNumber", JsonArray{Json("pending"), Json(true)});
  REQUIRE(block.ok());
  if (!block->is_object() || block->Find("transactions") == nullptr) return std::nullopt;
  for (const Json& tx : block->Find("transactions")->as_array()) {
    if (evm::ParseAddress(tx.Find("from")->as_string()).value() == account &&
        evm::ParseQuantity(tx.Find("nonce")->as_string()).value() == nonce) {
      return std::make_pair(tx.Find("hash")->as_string(),
                            evm::ParseQuantity(tx.Find("gasPrice")->as_string()).value());
    }
  }
  return std::nullopt;
}

// Mining paused (evm_setAutomine false, so nothing races the test): an anchor waits in the pool,
// then the next block's base fee is raised tenfold, and the node's eth_gasPrice with it, so no
// block would take the pooled transaction. The adapter notices its transaction waiting while the
// node's price passed it and replaces it: the same nonce at a higher price. The test mines only
// once the pool holds the replacement; the anchor lands once, at the new price, and the first
// version never does.
TEST_CASE(
    "pools: a transaction stuck in the pool is replaced with its nonce at a higher price; it lands "
    "once") {
  EvmChain chain;
  EvmOptions options = chain.options();
  options.write_timeout = std::chrono::seconds(60);
  auto adapter = chain.Open(options);
  auto first =
      Landed(adapter->Anchor(AnchorFor("before-the-stall")));  // the price is cached from here
  auto price_and_nonce = [&](const std::string& tx) {
    auto found = chain.node().Call("eth_getTransactionByHash", JsonArray{Json(tx)});
    REQUIRE(found.ok());
    REQUIRE(found->is_object());
    return std::make_pair(evm::ParseQuantity(found->Find("gasPrice")->as_string()).value(),
                          evm::ParseQuantity(found->Find("nonce")->as_string()).value());
  };
  const std::uint64_t old_price = price_and_nonce(first.receipt.tx).first;
  const std::uint64_t nonce = chain.TransactionCount(adapter->account());
  REQUIRE(chain.node().SetAutomine(false).ok());

  std::atomic<bool> done{false};
  Result<Recorded<BatchAnchor>> anchored = Error(ErrorCode::kInternal, "not run");
  std::jthread writer([&] {
    anchored = adapter->Anchor(AnchorFor("stuck-in-pool"));
    done = true;
  });
  std::optional<std::pair<std::string, std::uint64_t>> original;
  REQUIRE(
      WaitUntil([&] { return (original = Pooled(chain, adapter->account(), nonce)).has_value(); }));
  CHECK(original->second < old_price * 10);
  REQUIRE(chain.node().SetNextBaseFee(old_price * 10).ok());
  std::optional<std::pair<std::string, std::uint64_t>> replacement;
  REQUIRE(WaitUntil(
      [&] {
        replacement = Pooled(chain, adapter->account(), nonce);
        return replacement && replacement->second >= old_price * 10;
      },
      std::chrono::seconds(40)));
  CHECK(replacement->first != original->first);
  CHECK(!done);  // nothing was mined yet
  chain.Mine();
  REQUIRE(WaitUntil([&] { return done.load(); }));
  writer.join();
  REQUIRE_MESSAGE(anchored.ok(), anchored.error().ToString());
  CHECK(anchored->receipt.tx == replacement->first);
  auto [price, landed_nonce] = price_and_nonce(anchored->receipt.tx);
  CHECK(landed_nonce == nonce);
  CHECK(price >= old_price * 10);
  CHECK(chain.TransactionCount(adapter->account()) == nonce + 1);
  auto original_receipt =
      chain.node().Call("eth_getTransactionReceipt", JsonArray{Json(original->first)});
  REQUIRE(original_receipt.ok());
  CHECK(original_receipt->is_null());
  CHECK(Landed(adapter->FindAnchor("stuck-in-pool")) == *anchored);
}

// Interval mining (anvil --block-time 1, as a QBFT/PBFT chain sealing every second) with K = 2:
// concurrent writers' transactions wait in the pool and share blocks; each write returns only
// once its block is two deep, and every anchor lands once with a receipt naming its block.
TEST_CASE("interval mining: concurrent anchors share blocks, each returns only K deep, none lost or doubled") {
  EvmChain chain(/*block_time_s=*/1);
  EvmOptions options = chain.options();
  options.confirmations = 2;
  auto adapter = chain.Open(options);
  const std::uint64_t before = chain.TransactionCount(adapter->account());
  constexpr int kWriters = 12;
  std::vector<std::string> failures(kWriters);
  std::vector<Recorded<BatchAnchor>> landed(kWriters);
  {
    std::vector<std::jthread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto anchored = adapter->Anchor(AnchorFor("interval-" + std::to_string(w)));
        if (!anchored.ok()) {
          failures[w] = anchored.error().ToString();
          return;
        }
        landed[w] = *anchored;
        // Returned only once two deep: the head is at least one block past the receipt's.
        if (Height(*adapter) < anchored->receipt.height + 1) failures[w] = "returned before K blocks";
      });
    }
  }
  std::set<std::uint64_t> blocks;
  for (int w = 0; w < kWriters; ++w) {
    CHECK_MESSAGE(failures[w].empty(), failures[w]);
    if (!failures[w].empty()) continue;
    blocks.insert(landed[w].receipt.height);
    CHECK(Landed(adapter->FindAnchor("interval-" + std::to_string(w))) == landed[w]);
  }
  CHECK(blocks.size() < static_cast<std::size_t>(kWriters));  // blocks were shared
  CHECK(chain.TransactionCount(adapter->account()) == before + kWriters);
  CHECK(Landed(adapter->Status()).pending == 0);
}

// anvil with mining switched off; six anchors wait in its pool when it is stopped and started
// again on the same state file (a restarted node: the chain survives, the pool does not). The
// adapter notices its transactions are gone, re-reads the nonce and sends them again to the
// restarted node, which mines again: all six land, one transaction each.
TEST_CASE("a node restarted with a full pool loses no anchor") {
  EvmChain chain;
  auto adapter = chain.Open();
  Landed(adapter->Anchor(AnchorFor("before-restart")));
  REQUIRE(chain.node().SetAutomine(false).ok());
  constexpr int kWriters = 6;
  std::vector<std::string> failures(kWriters);
  const std::uint64_t before = chain.TransactionCount(adapter->account());
  bool pool_full = false;
  std::uint64_t mined_at_stop = 0;
  {
    std::vector<std::jthread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        auto anchored = adapter->Anchor(AnchorFor("pooled-" + std::to_string(w)));
        if (!anchored.ok()) failures[w] = anchored.error().ToString();
      });
    }
    pool_full = WaitUntil([&] { return chain.PendingCount(adapter->account()) >= before + kWriters; });
    mined_at_stop = chain.TransactionCount(adapter->account());
    chain.node().Stop();
    std::string restarted = chain.node().Start();
    REQUIRE_MESSAGE(restarted.empty(), restarted);
  }
  CHECK(pool_full);
  CHECK(mined_at_stop == before);  // all six were only in the pool
  for (int w = 0; w < kWriters; ++w) {
    CHECK_MESSAGE(failures[w].empty(), failures[w]);
    CHECK(Landed(adapter->FindAnchor("pooled-" + std::to_string(w))).value == AnchorFor("pooled-" + std::to_string(w)));
  }
  CHECK(chain.TransactionCount(adapter->account()) == before + kWriters);
  CHECK(Landed(adapter->Status()).pending == 0);
}
}  // namespace
}  // namespace tcc::chain::testing
