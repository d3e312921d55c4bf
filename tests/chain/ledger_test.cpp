#include <doctest/doctest.h>
#include <leveldb/db.h>

#include <atomic>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chain_test_util.h"
#include "tcc/chain/factory.h"
#include "tcc/chain/ledger_format.h"
#include "tcc/chain/ledger_verifier.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/chain/merkle.h"

namespace tcc::chain {
namespace {

using testing::HashOf;
using testing::TempDir;

std::unique_ptr<LocalLedger> OpenLedger(const std::string& path, std::size_t per_block = 256) {
  auto ledger = LocalLedger::Open({.path = path, .max_entries_per_block = per_block});
  REQUIRE_MESSAGE(ledger.ok(), ledger.error().ToString());
  return std::move(ledger).value();
}

BatchAnchor AnchorFor(const std::string& batch_id, std::uint64_t leaves = 10) {
  return BatchAnchor{batch_id, HashOf("root of " + batch_id), leaves};
}

TemplateVersion Template(const std::string& id, std::uint64_t version, const std::string& owner,
                         const std::string& content) {
  Bytes bytes(content.begin(), content.end());
  return TemplateVersion{id, version, owner, bytes, Sha256(bytes)};
}

Bytes B(const std::string& text) { return Bytes(text.begin(), text.end()); }

std::uint64_t Height(ChainAdapter& adapter) { return adapter.Status().value().height; }

TEST_CASE("anchoring is idempotent per batch id and conflicting roots are refused") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  CHECK(Height(*ledger) == 0);
  auto first = ledger->Anchor(AnchorFor("b1"));
  REQUIRE(first.ok());
  CHECK(first->receipt.adapter == "local");
  CHECK(first->receipt.height == 1);
  CHECK(first->receipt.tx.size() == 64);
  auto again = ledger->Anchor(AnchorFor("b1"));
  REQUIRE(again.ok());
  CHECK(*again == *first);
  CHECK(Height(*ledger) == 1);

  BatchAnchor other_root = AnchorFor("b1");
  other_root.root = HashOf("different");
  CHECK(ledger->Anchor(other_root).error().code() == ErrorCode::kConflict);
  CHECK(ledger->Anchor(AnchorFor("b1", 11)).error().code() == ErrorCode::kConflict);
  CHECK(Height(*ledger) == 1);

  CHECK(ledger->FindAnchor("b1").value() == *first);
  CHECK(ledger->FindAnchorByRoot(first->value.root).value() == *first);
  CHECK(ledger->FindAnchor("b2").error().code() == ErrorCode::kNotFound);
  CHECK(ledger->FindAnchorByRoot(HashOf("nope")).error().code() == ErrorCode::kNotFound);

  CHECK(ledger->Anchor(AnchorFor("")).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ledger->Anchor(AnchorFor("with space")).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ledger->Anchor(AnchorFor(std::string(300, 'x'))).error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ledger->Anchor(AnchorFor("b3", 0)).error().code() == ErrorCode::kInvalidArgument);
  CHECK(Height(*ledger) == 1);
  auto status = ledger->Status().value();
  CHECK(status.anchors == 1);
  CHECK(status.pending == 0);
  CHECK(status.last_anchor_latency.count() > 0);
  CHECK(ledger->Verify().value().ok());
}

TEST_CASE("concurrent writers are packed into blocks of at most M entries") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"), 4);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 40;
  std::vector<std::vector<Recorded<BatchAnchor>>> receipts(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto anchored = ledger->Anchor(AnchorFor("t" + std::to_string(t) + "-" + std::to_string(i)));
        if (anchored.ok()) receipts[t].push_back(*anchored);
        // Every thread also retries one shared batch: all must get the same receipt.
        auto shared = ledger->Anchor(AnchorFor("shared"));
        if (shared.ok()) receipts[t].push_back(*shared);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> txs;
  std::optional<ChainReceipt> shared;
  for (const auto& per_thread : receipts) {
    REQUIRE(per_thread.size() == 2 * kPerThread);
    for (const auto& recorded : per_thread) {
      if (recorded.value.batch_id == "shared") {
        if (!shared) shared = recorded.receipt;
        CHECK(recorded.receipt == *shared);
      } else {
        CHECK(txs.insert(recorded.receipt.tx).second);
      }
    }
  }
  std::uint64_t height = Height(*ledger);
  CHECK(height >= (kThreads * kPerThread + 1 + 3) / 4);
  auto report = ledger->Verify().value();
  CHECK_MESSAGE(report.ok(), report.ToString());
  CHECK(report.entries == kThreads * kPerThread + 1);
  CHECK(report.blocks == height);
}

TEST_CASE("DID documents are registered, updated and resolved by version") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto v1 = ledger->RegisterDid("did:web:a", B("doc1"));
  REQUIRE(v1.ok());
  CHECK(v1->value.version == 1);
  CHECK(ledger->RegisterDid("did:web:a", B("doc1")).value() == *v1);
  CHECK(ledger->RegisterDid("did:web:a", B("other")).error().code() ==
        ErrorCode::kAlreadyExists);
  auto v2 = ledger->UpdateDid("did:web:a", B("doc2"));
  REQUIRE(v2.ok());
  CHECK(v2->value.version == 2);
  CHECK(ledger->UpdateDid("did:web:a", B("doc2")).value() == *v2);
  CHECK(ledger->ResolveDid("did:web:a", std::nullopt).value() == *v2);
  CHECK(ledger->ResolveDid("did:web:a", 1).value() == *v1);
  CHECK(ledger->ResolveDid("did:web:a", 3).error().code() == ErrorCode::kNotFound);
  CHECK(ledger->ResolveDid("did:web:b", std::nullopt).error().code() == ErrorCode::kNotFound);
  CHECK(ledger->UpdateDid("did:web:b", B("x")).error().code() == ErrorCode::kNotFound);
  CHECK(ledger->RegisterDid("did:web:c", {}).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ledger->RegisterDid("did web", B("x")).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ledger->Verify().value().ok());
}

TEST_CASE("template versions are immutable and only the owner publishes new ones") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto v1 = ledger->PublishTemplate(Template("tst:1", 1, "did:key:alice", "{\"v\":1}"));
  REQUIRE(v1.ok());
  CHECK(ledger->PublishTemplate(Template("tst:1", 1, "did:key:alice", "{\"v\":1}")).value() ==
        *v1);
  CHECK(ledger->PublishTemplate(Template("tst:1", 1, "did:key:alice", "{\"v\":9}"))
            .error()
            .code() == ErrorCode::kConflict);
  CHECK(ledger->PublishTemplate(Template("tst:1", 2, "did:key:mallory", "{\"v\":2}"))
            .error()
            .code() == ErrorCode::kPermissionDenied);
  CHECK(ledger->PublishTemplate(Template("tst:1", 1, "did:key:mallory", "{\"v\":1}"))
            .error()
            .code() == ErrorCode::kPermissionDenied);
  auto v3 = ledger->PublishTemplate(Template("tst:1", 3, "did:key:alice", "{\"v\":3}"));
  REQUIRE(v3.ok());
  CHECK(ledger->PublishTemplate(Template("tst:1", 2, "did:key:alice", "{\"v\":2}"))
            .error()
            .code() == ErrorCode::kConflict);
  REQUIRE(ledger->PublishTemplate(Template("tit:1", 1, "did:key:bob", "{}")).ok());

  TemplateVersion bad_hash = Template("tst:2", 1, "did:key:alice", "x");
  bad_hash.content_hash[0] ^= 1;
  CHECK(ledger->PublishTemplate(bad_hash).error().code() == ErrorCode::kInvalidArgument);
  CHECK(ledger->PublishTemplate(Template("tst:2", 0, "did:key:alice", "x")).error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(ledger->GetTemplate("tst:2", std::nullopt).error().code() == ErrorCode::kNotFound);

  CHECK(ledger->GetTemplate("tst:1", std::nullopt).value() == *v3);
  CHECK(ledger->GetTemplate("tst:1", 1).value() == *v1);
  CHECK(ledger->GetTemplate("tst:1", 2).error().code() == ErrorCode::kNotFound);
  auto versions = ledger->ListTemplates("tst:1").value();
  REQUIRE(versions.size() == 2);
  CHECK(versions[0] == *v1);
  CHECK(versions[1] == *v3);
  auto all = ledger->ListTemplates("").value();
  REQUIRE(all.size() == 3);
  CHECK(all[0].value.id == "tit:1");
  CHECK(ledger->Verify().value().ok());
}

TEST_CASE("TIC records and the event cursor") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  auto tic = ledger->RecordTic({"tic-1", "did:key:tcc-a", B("tic one")});
  REQUIRE(tic.ok());
  CHECK(ledger->RecordTic({"tic-1", "did:key:tcc-a", B("tic one")}).value() == *tic);
  CHECK(ledger->RecordTic({"tic-1", "did:key:tcc-b", B("tic one")}).error().code() ==
        ErrorCode::kConflict);
  CHECK(ledger->GetTic("tic-1").value() == *tic);
  CHECK(ledger->GetTic("tic-2").error().code() == ErrorCode::kNotFound);
  REQUIRE(ledger->RecordTic({"tic-2", "did:key:tcc-b", B("tic two")}).ok());
  REQUIRE(ledger->RegisterDid("did:key:p", B("doc")).ok());
  REQUIRE(ledger->Anchor(AnchorFor("b")).ok());
  REQUIRE(ledger->RecordTic({"tic-3", "did:key:tcc-a", B("tic three")}).ok());

  EventQuery mine;
  mine.filter.tcc_did = "did:key:tcc-a";
  mine.filter.did_updated = false;
  auto page = ledger->PollEvents(mine).value();
  REQUIRE(page.events.size() == 2);
  CHECK(page.events[0].kind == ChainEventKind::kTicRecorded);
  CHECK(page.events[0].subject == "tic-1");
  CHECK(page.events[0].tcc_did == "did:key:tcc-a");
  CHECK(page.events[1].subject == "tic-3");
  mine.cursor = page.next_cursor;
  CHECK(ledger->PollEvents(mine).value().events.empty());
  CHECK(ledger->PollEvents(mine).value().next_cursor == page.next_cursor);

  EventQuery everything;
  everything.max_events = 1;
  std::vector<ChainEvent> seen;
  for (int i = 0; i < 10; ++i) {
    auto next = ledger->PollEvents(everything).value();
    seen.insert(seen.end(), next.events.begin(), next.events.end());
    everything.cursor = next.next_cursor;
  }
  REQUIRE(seen.size() == 4);
  CHECK(seen[2].kind == ChainEventKind::kDidUpdated);
  CHECK(seen[2].subject == "did:key:p");
  CHECK(seen[2].version == 1);

  // A long poll wakes when a matching TIC lands.
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    REQUIRE(ledger->Anchor(AnchorFor("unrelated")).ok());
    REQUIRE(ledger->RecordTic({"tic-4", "did:key:tcc-a", B("tic four")}).ok());
  });
  mine.wait = std::chrono::milliseconds(5000);
  std::vector<ChainEvent> waited;
  auto started = std::chrono::steady_clock::now();
  while (waited.empty() && std::chrono::steady_clock::now() - started < std::chrono::seconds(5)) {
    auto next = ledger->PollEvents(mine).value();
    waited = next.events;
    mine.cursor = next.next_cursor;
  }
  writer.join();
  REQUIRE(waited.size() == 1);
  CHECK(waited[0].subject == "tic-4");

  mine.cursor = "garbage";
  CHECK(ledger->PollEvents(mine).error().code() == ErrorCode::kInvalidArgument);
  mine.cursor = "1.-1";
  CHECK(ledger->PollEvents(mine).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("a reopened ledger keeps every record and receipt and continues the chain") {
  TempDir dir;
  std::string path = dir.Sub("ledger");
  Recorded<BatchAnchor> anchor;
  Recorded<DidDocumentVersion> did;
  Recorded<TemplateVersion> tmpl;
  Recorded<TicDocument> tic;
  {
    auto ledger = OpenLedger(path, 2);
    for (int i = 0; i < 25; ++i) REQUIRE(ledger->Anchor(AnchorFor("b" + std::to_string(i))).ok());
    anchor = ledger->FindAnchor("b7").value();
    did = ledger->RegisterDid("did:key:x", B("doc")).value();
    tmpl = ledger->PublishTemplate(Template("tit:x", 1, "did:key:x", "{}")).value();
    tic = ledger->RecordTic({"tic-x", "did:key:tcc", B("tic")}).value();
    // A second handle on the same directory is refused while this one is open.
    CHECK(LocalLedger::Open({.path = path}).error().code() == ErrorCode::kUnavailable);
    CHECK(VerifyLedger(path).error().code() == ErrorCode::kUnavailable);
  }
  auto report = VerifyLedger(path);
  REQUIRE(report.ok());
  CHECK_MESSAGE(report->ok(), report->ToString());
  std::uint64_t height = report->head_height;
  CHECK(height == 28);

  auto ledger = OpenLedger(path, 2);
  CHECK(Height(*ledger) == height);
  CHECK(ledger->FindAnchor("b7").value() == anchor);
  CHECK(ledger->Anchor(anchor.value).value() == anchor);
  CHECK(ledger->ResolveDid("did:key:x", std::nullopt).value() == did);
  CHECK(ledger->GetTemplate("tit:x", 1).value() == tmpl);
  CHECK(ledger->GetTic("tic-x").value() == tic);
  auto next = ledger->Anchor(AnchorFor("after-restart")).value();
  CHECK(next.receipt.height == height + 1);
  CHECK(next.receipt.timestamp_ms >= tic.receipt.timestamp_ms);
  CHECK(ledger->Verify().value().ok());
}

// Direct LevelDB access for tampering, with the ledger closed.
struct RawDb {
  explicit RawDb(const std::string& path) {
    leveldb::Options options;
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(options, path, &raw).ok());
    db.reset(raw);
  }
  std::string Get(const std::string& key) {
    std::string value;
    REQUIRE(db->Get(leveldb::ReadOptions(), key, &value).ok());
    return value;
  }
  void Put(const std::string& key, const std::string& value) {
    REQUIRE(db->Put(leveldb::WriteOptions(), key, value).ok());
  }
  void Delete(const std::string& key) { REQUIRE(db->Delete(leveldb::WriteOptions(), key).ok()); }
  std::unique_ptr<leveldb::DB> db;
};

std::string BuildLedger(const TempDir& dir, int anchors) {
  std::string path = dir.Sub("ledger");
  auto ledger = OpenLedger(path, 3);
  for (int i = 0; i < anchors; ++i) REQUIRE(ledger->Anchor(AnchorFor("b" + std::to_string(i))).ok());
  REQUIRE(ledger->RegisterDid("did:key:x", B("doc")).ok());
  return path;
}

bool Mentions(const LedgerReport& report, const std::string& text) {
  for (const std::string& problem : report.problems) {
    if (problem.find(text) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("the verifier detects a tampered entry") {
  TempDir dir;
  std::string path = BuildLedger(dir, 12);
  {
    RawDb raw(path);
    std::string key = ledger::BlockKey(2);
    std::string value = raw.Get(key);
    value[value.size() - 3] ^= 0x01;  // inside the last entry's leaf count
    raw.Put(key, value);
  }
  auto report = VerifyLedger(path).value();
  CHECK_FALSE(report.ok());
  CHECK_MESSAGE(Mentions(report, "block 2: entries root does not match"), report.ToString());
}

TEST_CASE("the verifier detects a re-sealed block: the next link breaks") {
  TempDir dir;
  std::string path = BuildLedger(dir, 12);
  {
    RawDb raw(path);
    std::string key = ledger::BlockKey(2);
    auto block = ledger::DecodeBlock(AsBytes(raw.Get(key))).value();
    auto entry = std::get<BatchAnchor>(ledger::DecodeEntry(block.entries[0]).value());
    entry.root = HashOf("forged");
    block.entries[0] = ledger::EncodeEntry(entry);
    std::vector<Hash256> leaves;
    for (const Bytes& e : block.entries) leaves.push_back(ledger::EntryHash(e));
    block.header.entries_root = MerkleRoot(leaves);
    raw.Put(key, std::string(AsChars(ledger::EncodeBlock(block))));
  }
  auto report = VerifyLedger(path).value();
  CHECK_FALSE(report.ok());
  CHECK_MESSAGE(Mentions(report, "block 3: previous-block hash does not match block 2"),
                report.ToString());
  CHECK(Mentions(report, "has no entry behind it"));  // the index still names the old root
}

TEST_CASE("the verifier detects a truncated chain and a missing block; open refuses them") {
  TempDir dir;
  std::string path = BuildLedger(dir, 12);
  {
    RawDb raw(path);
    raw.Delete(ledger::BlockKey(13));  // the last block: one per sequential write
  }
  auto report = VerifyLedger(path).value();
  CHECK_FALSE(report.ok());
  CHECK_MESSAGE(Mentions(report, "chain is truncated: the head records height 13 but the last "
                                 "stored block is 12"),
                report.ToString());
  CHECK(Mentions(report, "has no entry behind it"));
  CHECK(LocalLedger::Open({.path = path}).error().code() == ErrorCode::kVerificationFailed);

  TempDir other;
  std::string gap_path = BuildLedger(other, 12);
  {
    RawDb raw(gap_path);
    raw.Delete(ledger::BlockKey(2));
  }
  auto gap = VerifyLedger(gap_path).value();
  CHECK_FALSE(gap.ok());
  CHECK_MESSAGE(Mentions(gap, "blocks 2..2 are missing"), gap.ToString());
}

TEST_CASE("verifier and factory errors") {
  TempDir dir;
  CHECK(VerifyLedger(dir.Sub("absent")).error().code() == ErrorCode::kNotFound);
  auto unknown = OpenChainAdapter("ipfs://x");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code() == ErrorCode::kInvalidArgument);
  CHECK(unknown.error().message().find("local:PATH") != std::string::npos);
  CHECK(OpenChainAdapter("no-scheme").error().code() == ErrorCode::kInvalidArgument);
  CHECK(OpenChainAdapter("local:").error().code() == ErrorCode::kInvalidArgument);
  CHECK(OpenChainAdapter("local:" + dir.Sub("l") + "?bogus=1").error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(OpenChainAdapter("local:" + dir.Sub("l") + "?entries_per_block=0").error().code() ==
        ErrorCode::kInvalidArgument);
  CHECK(OpenChainAdapter("local:" + dir.Sub("l") + "?entries_per_block=x").error().code() ==
        ErrorCode::kInvalidArgument);
  auto options = ParseLocalUri("local:/a/b?entries_per_block=16&block_interval_ms=5").value();
  CHECK(options.path == "/a/b");
  CHECK(options.max_entries_per_block == 16);
  CHECK(options.block_interval == std::chrono::milliseconds(5));
  auto adapter = OpenChainAdapter("local:" + dir.Sub("l") + "?entries_per_block=2");
  REQUIRE(adapter.ok());
  CHECK((*adapter)->name() == "local");
  CHECK((*adapter)->Anchor(AnchorFor("x")).ok());
}

TEST_CASE("block interval holds a partial block until it fills or the interval passes") {
  TempDir dir;
  auto ledger = LocalLedger::Open({.path = dir.Sub("ledger"),
                                   .max_entries_per_block = 4,
                                   .block_interval = std::chrono::milliseconds(200)})
                    .value();
  std::vector<std::thread> threads;
  std::vector<std::uint64_t> heights(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      heights[i] = ledger->Anchor(AnchorFor("b" + std::to_string(i))).value().receipt.height;
    });
  }
  for (auto& thread : threads) thread.join();
  // All four arrive well within 200 ms, so they share one block.
  CHECK(heights == std::vector<std::uint64_t>{1, 1, 1, 1});
  auto started = std::chrono::steady_clock::now();
  CHECK(ledger->Anchor(AnchorFor("alone")).value().receipt.height == 2);
  CHECK(std::chrono::steady_clock::now() - started >= std::chrono::milliseconds(190));
}

}  // namespace
}  // namespace tcc::chain

namespace tcc::chain {
namespace {

TEST_CASE("block and entry decoders survive mutated input") {
  std::vector<Bytes> entries = {
      ledger::EncodeEntry(AnchorFor("b")),
      ledger::EncodeEntry(DidDocumentVersion{"did:key:x", 2, B("doc")}),
      ledger::EncodeEntry(Template("tst:1", 1, "did:key:x", "{}")),
      ledger::EncodeEntry(TicDocument{"tic", "did:key:tcc", B("tic")}),
  };
  for (const Bytes& entry : entries) REQUIRE(ledger::DecodeEntry(entry).ok());
  ledger::Block block;
  block.header = {1, Hash256{}, 1700000000000, 4, Hash256{}};
  block.entries = entries;
  const Bytes encoded = ledger::EncodeBlock(block);
  REQUIRE(ledger::DecodeBlock(encoded).ok());
  CHECK(ledger::DecodeBlock(ByteView(encoded).first(encoded.size() - 1)).error().code() ==
        ErrorCode::kParse);
  Bytes trailing = encoded;
  trailing.push_back(0);
  CHECK(ledger::DecodeBlock(trailing).error().code() == ErrorCode::kParse);

  std::mt19937 random(7);
  for (int round = 0; round < 20000; ++round) {
    Bytes mutated = encoded;
    for (int e = 0, edits = 1 + int(random() % 3); e < edits; ++e) {
      std::size_t at = random() % mutated.size();
      if (random() % 4 == 0) {
        mutated.resize(at);
      } else {
        mutated[at] = std::uint8_t(random());
      }
      if (mutated.empty()) break;
    }
    auto decoded = ledger::DecodeBlock(mutated);
    if (!decoded.ok()) {
      CHECK(decoded.error().code() == ErrorCode::kParse);
      continue;
    }
    for (const Bytes& entry : decoded->entries) {
      auto parsed = ledger::DecodeEntry(entry);
      if (!parsed.ok()) CHECK(parsed.error().code() == ErrorCode::kParse);
    }
  }
}

}  // namespace
}  // namespace tcc::chain
