// The ChainAdapter contract (chain_adapter.h) as checks any adapter must pass: the EVM tests run
// them against the embedded ledger and against a real anvil node, so both implementations are
// held to the same behaviour rather than to two copies of it. Each check starts from an empty
// chain (or registry) and uses its own ids.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/sha256.h"

namespace tcc::chain::testing {

inline Bytes B(const std::string& text) { return Bytes(text.begin(), text.end()); }

inline BatchAnchor AnchorFor(const std::string& batch_id, std::uint64_t leaves = 10) {
  return BatchAnchor{batch_id, Sha256("root of " + batch_id), leaves};
}

inline TemplateVersion Template(const std::string& id, std::uint64_t version,
                                const std::string& owner, const std::string& content) {
  Bytes bytes(content.begin(), content.end());
  return TemplateVersion{id, version, owner, bytes, Sha256(bytes)};
}

inline std::uint64_t Height(ChainAdapter& adapter) {
  auto status = adapter.Status();
  REQUIRE_MESSAGE(status.ok(), status.error().ToString());
  return status->height;
}

template <typename T>
T Landed(Result<T> result) {
  REQUIRE_MESSAGE(result.ok(), result.error().ToString());
  return std::move(result).value();
}

template <typename T>
ErrorCode CodeOf(const Result<T>& result) {
  REQUIRE_MESSAGE(!result.ok(), "expected an error");
  return result.error().code();
}

inline void CheckReceipt(ChainAdapter& adapter, const ChainReceipt& receipt) {
  CHECK(receipt.adapter == adapter.name());
  CHECK(receipt.height >= 1);
  CHECK(!receipt.tx.empty());
  CHECK(receipt.timestamp_ms > 0);
  CHECK(ValidateReceipt(receipt).ok());
}

inline void CheckAnchoring(ChainAdapter& adapter) {
  auto first = Landed(adapter.Anchor(AnchorFor("b1")));
  CheckReceipt(adapter, first.receipt);
  std::uint64_t height = Height(adapter);
  CHECK(height >= first.receipt.height);
  // A retry of a write that landed returns the original record and receipt; nothing is written.
  CHECK(Landed(adapter.Anchor(AnchorFor("b1"))) == first);
  CHECK(Height(adapter) == height);

  BatchAnchor other_root = AnchorFor("b1");
  other_root.root = Sha256("different");
  CHECK(CodeOf(adapter.Anchor(other_root)) == ErrorCode::kConflict);
  CHECK(CodeOf(adapter.Anchor(AnchorFor("b1", 11))) == ErrorCode::kConflict);

  CHECK(Landed(adapter.FindAnchor("b1")) == first);
  CHECK(Landed(adapter.FindAnchorByRoot(first.value.root)) == first);
  CHECK(CodeOf(adapter.FindAnchor("b2")) == ErrorCode::kNotFound);
  CHECK(CodeOf(adapter.FindAnchorByRoot(Sha256("nope"))) == ErrorCode::kNotFound);

  // A second batch with the same root: the root still finds the first.
  BatchAnchor same_root{"b1-again", first.value.root, 10};
  auto again = Landed(adapter.Anchor(same_root));
  CHECK(again.receipt.tx != first.receipt.tx);
  CHECK(Landed(adapter.FindAnchorByRoot(first.value.root)) == first);
  height = Height(adapter);

  CHECK(CodeOf(adapter.Anchor(AnchorFor(""))) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.Anchor(AnchorFor("with space"))) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.Anchor(AnchorFor(std::string(300, 'x')))) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.Anchor(AnchorFor("b3", 0))) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.FindAnchor("bad id")) == ErrorCode::kInvalidArgument);
  // Refused writes change nothing.
  CHECK(Height(adapter) == height);
  auto status = Landed(adapter.Status());
  CHECK(status.anchors == 2);
  CHECK(status.pending == 0);
  CHECK(status.last_anchor_latency.count() > 0);
}

inline void CheckIdentity(ChainAdapter& adapter) {
  auto v1 = Landed(adapter.RegisterDid("did:web:a", B("doc1")));
  CheckReceipt(adapter, v1.receipt);
  CHECK(v1.value.version == 1);
  CHECK(v1.value.document == B("doc1"));
  CHECK(Landed(adapter.RegisterDid("did:web:a", B("doc1"))) == v1);
  CHECK(CodeOf(adapter.RegisterDid("did:web:a", B("other"))) == ErrorCode::kAlreadyExists);
  auto v2 = Landed(adapter.UpdateDid("did:web:a", B("doc2")));
  CHECK(v2.value.version == 2);
  CHECK(Landed(adapter.UpdateDid("did:web:a", B("doc2"))) == v2);
  CHECK(Landed(adapter.ResolveDid("did:web:a", std::nullopt)) == v2);
  CHECK(Landed(adapter.ResolveDid("did:web:a", 1)) == v1);
  CHECK(CodeOf(adapter.ResolveDid("did:web:a", 3)) == ErrorCode::kNotFound);
  CHECK(CodeOf(adapter.ResolveDid("did:web:b", std::nullopt)) == ErrorCode::kNotFound);
  CHECK(CodeOf(adapter.UpdateDid("did:web:b", B("x"))) == ErrorCode::kNotFound);
  CHECK(CodeOf(adapter.RegisterDid("did:web:c", {})) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.RegisterDid("did web", B("x"))) == ErrorCode::kInvalidArgument);
  // Documents are bytes: anything goes, including zeros and a large one.
  Bytes binary(70'000);
  for (std::size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<std::uint8_t>(i * 7);
  auto big = Landed(adapter.RegisterDid("did:web:big", binary));
  CHECK(Landed(adapter.ResolveDid("did:web:big", std::nullopt)).value.document == binary);
  CHECK(big.value.document == binary);
}

inline void CheckTemplates(ChainAdapter& adapter) {
  auto v1 = Landed(adapter.PublishTemplate(Template("tst:1", 1, "did:key:alice", "{\"v\":1}")));
  CheckReceipt(adapter, v1.receipt);
  CHECK(Landed(adapter.PublishTemplate(Template("tst:1", 1, "did:key:alice", "{\"v\":1}"))) == v1);
  CHECK(CodeOf(adapter.PublishTemplate(Template("tst:1", 1, "did:key:alice", "{\"v\":9}"))) ==
        ErrorCode::kConflict);
  CHECK(CodeOf(adapter.PublishTemplate(Template("tst:1", 2, "did:key:mallory", "{\"v\":2}"))) ==
        ErrorCode::kPermissionDenied);
  CHECK(CodeOf(adapter.PublishTemplate(Template("tst:1", 1, "did:key:mallory", "{\"v\":1}"))) ==
        ErrorCode::kPermissionDenied);
  auto v3 = Landed(adapter.PublishTemplate(Template("tst:1", 3, "did:key:alice", "{\"v\":3}")));
  CHECK(CodeOf(adapter.PublishTemplate(Template("tst:1", 2, "did:key:alice", "{\"v\":2}"))) ==
        ErrorCode::kConflict);
  Landed(adapter.PublishTemplate(Template("tit:1", 1, "did:key:bob", "{}")));

  TemplateVersion bad_hash = Template("tst:2", 1, "did:key:alice", "x");
  bad_hash.content_hash[0] ^= 1;
  CHECK(CodeOf(adapter.PublishTemplate(bad_hash)) == ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.PublishTemplate(Template("tst:2", 0, "did:key:alice", "x"))) ==
        ErrorCode::kInvalidArgument);
  CHECK(CodeOf(adapter.GetTemplate("tst:2", std::nullopt)) == ErrorCode::kNotFound);

  CHECK(Landed(adapter.GetTemplate("tst:1", std::nullopt)) == v3);
  CHECK(Landed(adapter.GetTemplate("tst:1", 1)) == v1);
  CHECK(CodeOf(adapter.GetTemplate("tst:1", 2)) == ErrorCode::kNotFound);
  auto versions = Landed(adapter.ListTemplates("tst:1"));
  REQUIRE(versions.size() == 2);
  CHECK(versions[0] == v1);
  CHECK(versions[1] == v3);
  auto all = Landed(adapter.ListTemplates(""));
  REQUIRE(all.size() == 3);
  CHECK(all[0].value.id == "tit:1");
  CHECK(all[1] == v1);
}

inline void CheckTicsAndEvents(ChainAdapter& adapter) {
  auto tic = Landed(adapter.RecordTic({"tic-1", "did:key:tcc-a", B("tic one")}));
  CheckReceipt(adapter, tic.receipt);
  CHECK(Landed(adapter.RecordTic({"tic-1", "did:key:tcc-a", B("tic one")})) == tic);
  CHECK(CodeOf(adapter.RecordTic({"tic-1", "did:key:tcc-b", B("tic one")})) == ErrorCode::kConflict);
  CHECK(CodeOf(adapter.RecordTic({"tic-1", "did:key:tcc-a", B("tic 1")})) == ErrorCode::kConflict);
  CHECK(Landed(adapter.GetTic("tic-1")) == tic);
  CHECK(CodeOf(adapter.GetTic("tic-2")) == ErrorCode::kNotFound);
  Landed(adapter.RecordTic({"tic-2", "did:key:tcc-b", B("tic two")}));
  Landed(adapter.RegisterDid("did:key:p", B("doc")));
  Landed(adapter.Anchor(AnchorFor("b")));
  Landed(adapter.RecordTic({"tic-3", "did:key:tcc-a", B("tic three")}));

  EventQuery mine;
  mine.filter.tcc_did = "did:key:tcc-a";
  mine.filter.did_updated = false;
  auto page = Landed(adapter.PollEvents(mine));
  REQUIRE(page.events.size() == 2);
  CHECK(page.events[0].kind == ChainEventKind::kTicRecorded);
  CHECK(page.events[0].subject == "tic-1");
  CHECK(page.events[0].tcc_did == "did:key:tcc-a");
  CHECK(page.events[0].height == tic.receipt.height);
  CHECK(page.events[1].subject == "tic-3");
  mine.cursor = page.next_cursor;
  CHECK(Landed(adapter.PollEvents(mine)).events.empty());
  CHECK(Landed(adapter.PollEvents(mine)).next_cursor == page.next_cursor);

  EventQuery everything;
  everything.max_events = 1;
  std::vector<ChainEvent> seen;
  for (int i = 0; i < 10; ++i) {
    auto next = Landed(adapter.PollEvents(everything));
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
    CHECK(adapter.Anchor(AnchorFor("unrelated")).ok());
    CHECK(adapter.RecordTic({"tic-4", "did:key:tcc-a", B("tic four")}).ok());
  });
  mine.wait = std::chrono::milliseconds(5000);
  std::vector<ChainEvent> waited;
  auto started = std::chrono::steady_clock::now();
  while (waited.empty() && std::chrono::steady_clock::now() - started < std::chrono::seconds(10)) {
    auto next = Landed(adapter.PollEvents(mine));
    waited = next.events;
    mine.cursor = next.next_cursor;
  }
  writer.join();
  REQUIRE(waited.size() == 1);
  CHECK(waited[0].subject == "tic-4");

  mine.cursor = "garbage";
  CHECK(CodeOf(adapter.PollEvents(mine)) == ErrorCode::kInvalidArgument);
  mine.cursor = "1.-1";
  CHECK(CodeOf(adapter.PollEvents(mine)) == ErrorCode::kInvalidArgument);
}

}  // namespace tcc::chain::testing
