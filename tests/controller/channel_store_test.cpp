#include "channel_store.h"

#include <doctest/doctest.h>
#include <leveldb/db.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "chain/chain_test_util.h"
#include "channel.h"
#include "channel_store_test_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/dispute.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;
using namespace testing;

chain::ChainReceipt Receipt(std::uint64_t height) {
  return chain::ChainReceipt{"local", height, HexHash("tx" + std::to_string(height)),
                             Sha256("block" + std::to_string(height)), 1700000001000 + height};
}

std::vector<chain::EvidenceBundle> BundlesFor(const std::string& batch_id,
                                              const std::vector<chain::EvidenceItem>& items,
                                              std::uint64_t height) {
  chain::EvidenceBatchBuilder builder;
  for (const auto& item : items) Ok(builder.Add(item));
  chain::EvidenceBatch batch = Ok(builder.Build(batch_id));
  std::vector<chain::EvidenceBundle> bundles;
  for (std::size_t i = 0; i < items.size(); ++i) {
    bundles.push_back(Ok(batch.Bundle(i, Receipt(height))));
  }
  return bundles;
}

// --- ChannelRecord JSON ---

TEST_CASE("ChannelRecord JSON round trips and omits an unset N override") {
  CHECK(ChannelStateName(ChannelState::kOpen) == "open");
  CHECK(ChannelStateName(ChannelState::kClosed) == "closed");

  ChannelRecord record = NewChannel(kChannelA);
  Json json = ChannelRecordToJson(record);
  CHECK_FALSE(json.Contains("nOverride"));
  CHECK(json.Serialize() ==
        "{\"channelId\":\"" + kChannelA +
            "\",\"provider\":\"did:web:provider.example:alice\",\"consumer\":\"did:key:"
            "z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT\",\"auditors\":[],\"tstId\":\"urn:"
            "tcc:tst:gpu-hour\",\"tstVersion\":3,\"strategyN\":10,\"state\":\"open\",\"lastSeq\":0,"
            "\"lastHash\":\"" +
            kChannelA + "\",\"evidenceSeq\":0,\"openedMs\":1700000000123,\"closedMs\":0}");
  CHECK(Ok(ChannelRecordFromJson(json)) == record);

  record.auditors = {"did:web:auditor.example", "did:web:regulator.example"};
  record.n_override = 25;
  record.state = ChannelState::kClosed;
  record.last_seq = 9007199254740991;  // 2^53 - 1, the largest exact JSON integer
  record.last_hash = Sha256("last");
  record.evidence_seq = 9007199254740990;
  record.tst_version = 4294967295;
  record.closed_ms = 1700000999999;
  json = ChannelRecordToJson(record);
  CHECK(json.Find("nOverride")->as_number() == 25);
  CHECK(json.Find("state")->as_string() == "closed");
  ChannelRecord back = Ok(ChannelRecordFromJson(Ok(Json::Parse(json.Serialize()))));
  CHECK(back == record);
  CHECK(back.n_override == std::optional<std::uint64_t>(25));
}

TEST_CASE("ChannelRecordText and ChannelRecordToJson are one layout") {
  ChannelRecord record = NewChannel(kChannelA);
  CHECK(ChannelRecordText(record) == ChannelRecordToJson(record).Serialize());
  // Every optional member, the bounds, auditors, and text that JSON escapes.
  record.auditors = {"did:web:auditor.example", "did:web:regulator.example"};
  record.n_override = 1;
  record.amend_after_s = kMaxAmendAfterSeconds;
  record.state = ChannelState::kClosed;
  record.last_seq = 9007199254740991;
  record.last_hash = Sha256("last");
  record.evidence_seq = 9007199254740991;
  record.tst_version = 4294967295;
  record.strategy_n = 9007199254740991;
  record.opened_ms = 9007199254740991;
  record.closed_ms = 1700000999999;
  record.tst_id = "urn:tcc:tst:\"quoted\"\\path";
  CHECK(ChannelRecordText(record) == ChannelRecordToJson(record).Serialize());
  CHECK(Ok(ChannelRecordFromJson(Ok(Json::Parse(ChannelRecordText(record))))) == record);
  record.auditors = {"did:web:one.example"};
  record.n_override.reset();
  CHECK(ChannelRecordText(record) == ChannelRecordToJson(record).Serialize());
}

TEST_CASE("ChannelRecordFromJson rejects malformed records") {
  const Json good = ChannelRecordToJson(NewChannel(kChannelA));
  auto rejects = [&](const std::string& key, Json value, const std::string& fragment) {
    CAPTURE(key);
    Json bad = good;
    if (value.is_null()) {
      REQUIRE(bad.Erase(key));
    } else {
      bad.Set(key, std::move(value));
    }
    CheckError(ChannelRecordFromJson(bad), ErrorCode::kInvalidArgument, fragment);
  };
  rejects("channelId", Json(std::string(64, 'A')), "channelId");
  rejects("channelId", Json(std::string(63, 'a')), "channelId");
  rejects("lastHash", Json(std::string(62, 'a')), "lastHash");
  rejects("lastHash", Json(HexHash("x")), "lastHash must be the channel id");
  rejects("provider", Json(""), "empty");
  rejects("provider", Json(1), "provider");
  rejects("consumer", Json(nullptr), "missing member \"consumer\"");
  rejects("auditors", Json(JsonArray{Json(7)}), "auditors");
  rejects("auditors", Json("did:web:x"), "auditors");
  rejects("tstVersion", Json(0), "tstVersion");
  rejects("tstVersion", Json(4294967296.0), "tstVersion");
  rejects("strategyN", Json(1.5), "strategyN");
  rejects("strategyN", Json(-1), "strategyN");
  rejects("lastSeq", Json(9007199254740992.0), "lastSeq");
  rejects("lastSeq", Json("1"), "lastSeq");
  rejects("nOverride", Json(0), "nOverride");
  rejects("state", Json("paused"), "state");
  rejects("evidenceSeq", Json(1), "evidenceSeq 1 is beyond lastSeq 0");
  rejects("closedMs", Json(5), "closedMs must be 0 while the channel is open");
  rejects("extra", Json(true), "unknown member \"extra\"");
  CheckError(ChannelRecordFromJson(Json(JsonArray{})), ErrorCode::kInvalidArgument, "object");

  // The same rules on a record in memory, as the store applies them before writing.
  auto refuses = [](const std::function<void(ChannelRecord&)>& change,
                    const std::string& fragment) {
    CAPTURE(fragment);
    ChannelRecord record = NewChannel(kChannelA);
    CHECK(ValidateChannelRecord(record).ok());
    change(record);
    CheckError(ValidateChannelRecord(record), ErrorCode::kInvalidArgument, fragment);
  };
  refuses([](ChannelRecord& r) { r.channel_id = std::string(64, 'A'); }, "channelId");
  refuses([](ChannelRecord& r) { r.consumer.clear(); }, "empty");
  refuses([](ChannelRecord& r) { r.auditors = {"did:web:a\n"}; }, "auditor");
  refuses([](ChannelRecord& r) { r.tst_id = std::string(1000, 'x'); }, "tstId");
  refuses([](ChannelRecord& r) { r.tst_version = 0; }, "tstVersion");
  refuses([](ChannelRecord& r) { r.n_override = 0; }, "nOverride");
  refuses([](ChannelRecord& r) { r.amend_after_s = kMaxAmendAfterSeconds + 1; }, "amendAfterS");
  refuses([](ChannelRecord& r) { r.strategy_n = kMaxJsonInteger + 1; }, "strategyN");
  refuses([](ChannelRecord& r) { r.last_hash = Sha256("x"); }, "lastHash must be the channel id");
  refuses([](ChannelRecord& r) { r.evidence_seq = 1; }, "evidenceSeq 1 is beyond lastSeq 0");
  refuses([](ChannelRecord& r) { r.closed_ms = 5; }, "closedMs must be 0");
}

// --- opening ---

TEST_CASE("Open creates a store, refuses missing, foreign and busy ones") {
  TempDir dir;
  const std::string missing = dir.Sub("missing");
  CheckError(ChannelStore::Open(missing, {.create_if_missing = false}), ErrorCode::kNotFound,
             "no channel store at " + missing);
  CHECK_FALSE(std::filesystem::exists(missing));
  CheckError(ChannelStore::Open(""), ErrorCode::kInvalidArgument);

  const std::string path = dir.Sub("store");
  {
    auto store = OpenStore(path);
    CHECK(std::filesystem::exists(path + "/CURRENT"));
    // LevelDB's lock keeps a second opener out, in this process as in another.
    CheckError(ChannelStore::Open(path), ErrorCode::kUnavailable, "in use");
    RequireOk(store->PutChannel(NewChannel(kChannelA)));
  }
  auto reopened = OpenStore(path, {.create_if_missing = false});
  CHECK(Ok(reopened->GetChannel(kChannelA)) == NewChannel(kChannelA));

  const std::string foreign = dir.Sub("foreign");
  {
    leveldb::Options options;
    options.create_if_missing = true;
    leveldb::DB* raw = nullptr;
    REQUIRE(leveldb::DB::Open(options, foreign, &raw).ok());
    std::unique_ptr<leveldb::DB> db(raw);
    REQUIRE(db->Put(leveldb::WriteOptions(), "something", "else").ok());
  }
  CheckError(ChannelStore::Open(foreign), ErrorCode::kInvalidArgument, "not a TCC channel store");
}

// --- channels ---

TEST_CASE("Channel records round trip, list in id order and survive a reopen") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  ChannelRecord c = NewChannel(kChannelC);
  c.auditors = {"did:web:auditor.example"};
  c.n_override = 4;
  {
    auto store = OpenStore(path);
    CheckError(store->GetChannel(kChannelA), ErrorCode::kNotFound, kChannelA);
    CHECK(Ok(store->ListChannels()).empty());
    RequireOk(store->PutChannel(c));
    RequireOk(store->PutChannel(NewChannel(kChannelA)));
    ChannelRecord a = NewChannel(kChannelA);
    a.strategy_n = 99;  // overwrite
    RequireOk(store->PutChannel(a));
  }
  auto store = OpenStore(path);
  ChannelRecord a = NewChannel(kChannelA);
  a.strategy_n = 99;
  CHECK(Ok(store->GetChannel(kChannelA)) == a);
  CHECK(Ok(store->GetChannel(kChannelC)) == c);
  std::vector<ChannelRecord> all = Ok(store->ListChannels());
  REQUIRE(all.size() == 2);
  CHECK(all[0] == a);
  CHECK(all[1] == c);
  CHECK(Ok(store->Count()).channels == 2);
}

// --- settlements ---

TEST_CASE("CommitSettlements writes TSC, claim index, head and pending evidence atomically") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  std::vector<SettlementCommit> commits = {CommitOf(kChannelA, 1), CommitOf(kChannelB, 1),
                                           CommitOf(kChannelA, 2, /*evidence=*/true)};
  {
    auto store = OpenStore(path);
    RequireOk(store->PutChannel(NewChannel(kChannelA)));
    RequireOk(store->PutChannel(NewChannel(kChannelB)));
    RequireOk(store->CommitSettlements({}));
    RequireOk(store->CommitSettlements(commits));
  }
  {
    auto store = OpenStore(path, {.create_if_missing = false});
    CHECK(Ok(store->GetTsc(kChannelA, 1)) == commits[0].tsc);
    CHECK(Ok(store->GetTsc(kChannelB, 1)) == commits[1].tsc);
    CHECK(Ok(store->GetTsc(kChannelA, 2)) == commits[2].tsc);
    CheckError(store->GetTsc(kChannelA, 3), ErrorCode::kNotFound, "no TSC 3");
    CHECK(Ok(store->GetChannel(kChannelA)) == commits[2].channel);
    CHECK(Ok(store->GetChannel(kChannelA)).last_seq == 2);
    CHECK(Ok(store->GetChannel(kChannelB)) == commits[1].channel);
    CHECK(Ok(store->GetTsc(kChannelA, 2)).claim_hash == commits[2].tsc.claim_hash);
    std::vector<chain::EvidenceItem> pending = Ok(store->PendingEvidence());
    REQUIRE(pending.size() == 1);
    CHECK(pending[0] == *commits[2].evidence);
    ChannelStore::Counts counts = Ok(store->Count());
    CHECK(counts.channels == 2);
    CHECK(counts.pending_evidence == 1);
    CHECK(counts.unfinished_batches == 0);

    // A call whose last commit is bad writes none of its commits.
    std::vector<SettlementCommit> next = {CommitOf(kChannelA, 3), CommitOf(kChannelB, 2, true),
                                          CommitOf(kChannelA, 4)};
    next[2].channel.last_hash = Sha256("not the TSC");
    CheckError(store->CommitSettlements(next), ErrorCode::kInvalidArgument, "commit 2");
  }
  auto store = OpenStore(path);
  CheckError(store->GetTsc(kChannelA, 3), ErrorCode::kNotFound);
  CheckError(store->GetTsc(kChannelB, 2), ErrorCode::kNotFound);
  CHECK(Ok(store->GetChannel(kChannelA)).last_seq == 2);
  CHECK(Ok(store->GetChannel(kChannelB)).last_seq == 1);
  CHECK(Ok(store->PendingEvidence()).size() == 1);
}

TEST_CASE("FindTscByHash finds TSCs by hash, also in a store written before the index existed") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  const std::vector<SettlementCommit> commits = {CommitOf(kChannelA, 1), CommitOf(kChannelB, 1),
                                                 CommitOf(kChannelA, 2, /*evidence=*/true)};
  auto check_found = [&](ChannelStore& store) {
    for (const SettlementCommit& commit : commits) {
      std::optional<TscLocation> found = Ok(store.FindTscByHash(HexEncode(commit.tsc.tsc_hash)));
      REQUIRE(found.has_value());
      CHECK(found->channel_id == commit.tsc.channel_id);
      CHECK(found->seq == commit.tsc.seq);
    }
  };
  {
    auto store = OpenStore(path);
    RequireOk(store->PutChannel(NewChannel(kChannelA)));
    RequireOk(store->PutChannel(NewChannel(kChannelB)));
    RequireOk(store->CommitSettlements(commits));
    check_found(*store);
    CHECK_FALSE(Ok(store->FindTscByHash(HexHash("never issued"))).has_value());
    CheckError(store->FindTscByHash(std::string(64, 'A')), ErrorCode::kInvalidArgument, "TSC hash");
    CheckError(store->FindTscByHash("abc"), ErrorCode::kInvalidArgument);
  }
  // A store from before the index: no index entries, no marker. Opening it builds the index.
  WriteRaw(path, "!tsc-hash-index", std::nullopt);
  for (const SettlementCommit& commit : commits)
    WriteRaw(path, "x/" + HexEncode(commit.tsc.tsc_hash), std::nullopt);
  auto store = OpenStore(path);
  check_found(*store);
  // A corrupt index entry is reported, not trusted.
  store.reset();
  WriteRaw(path, "x/" + HexEncode(commits[0].tsc.tsc_hash), "short");
  store = OpenStore(path);
  CheckError(store->FindTscByHash(HexEncode(commits[0].tsc.tsc_hash)), ErrorCode::kInternal,
             "corrupt");
}

TEST_CASE("ListTscs pages in seq order across byte boundaries and stays in its channel") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  const std::vector<std::uint64_t> seqs = {1,          2,          255,        256,
                                           257,        65535,      65536,      65537,
                                           4294967296, 4294967297, 1ull << 40, 9007199254740991};
  std::vector<SettlementCommit> commits;
  // Interleaved with the neighbour channel B, whose keys sort right after A's.
  for (std::uint64_t seq : seqs) {
    commits.push_back(CommitOf(kChannelA, seq));
    commits.push_back(CommitOf(kChannelB, seq));
  }
  RequireOk(store->CommitSettlements(commits));
  RequireOk(store->CommitSettlements(std::vector<SettlementCommit>{CommitOf(kChannelC, 7)}));

  std::vector<TscRecord> all = Ok(store->ListTscs(kChannelA, 0, 1000));
  REQUIRE(all.size() == seqs.size());
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    CHECK(all[i].seq == seqs[i]);
    CHECK(all[i] == NewTsc(kChannelA, seqs[i]));
  }

  std::vector<std::uint64_t> paged;
  std::uint64_t after = 0;
  while (true) {
    std::vector<TscRecord> page = Ok(store->ListTscs(kChannelA, after, 5));
    CHECK(page.size() <= 5);
    if (page.empty()) break;
    for (const auto& tsc : page) paged.push_back(tsc.seq);
    after = page.back().seq;
  }
  CHECK(paged == seqs);

  std::vector<TscRecord> from255 = Ok(store->ListTscs(kChannelA, 255, 2));
  REQUIRE(from255.size() == 2);
  CHECK(from255[0].seq == 256);
  CHECK(from255[1].seq == 257);
  std::vector<TscRecord> between = Ok(store->ListTscs(kChannelA, 300, 1));
  REQUIRE(between.size() == 1);
  CHECK(between[0].seq == 65535);
  CHECK(Ok(store->ListTscs(kChannelA, 9007199254740991, 10)).empty());
  CHECK(Ok(store->ListTscs(kChannelA, std::numeric_limits<std::uint64_t>::max(), 10)).empty());
  std::vector<TscRecord> c = Ok(store->ListTscs(kChannelC, 0, 10));
  REQUIRE(c.size() == 1);
  CHECK(c[0].seq == 7);
  CHECK(Ok(store->ListTscs(HexHash("nobody"), 0, 10)).empty());
  CheckError(store->ListTscs(kChannelA, 0, 0), ErrorCode::kInvalidArgument, "limit");
}

TEST_CASE("A TSC keeps its claim's hash and commits never overwrite a TSC") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  std::vector<SettlementCommit> commits = {CommitOf(kChannelA, 1), CommitOf(kChannelA, 2),
                                           CommitOf(kChannelB, 1)};
  RequireOk(store->CommitSettlements(commits));
  // The replay check compares a claim's hash with the one stored with the TSC at the claim's seq.
  CHECK(Ok(store->GetTsc(kChannelA, 1)).claim_hash == commits[0].tsc.claim_hash);
  CHECK(Ok(store->GetTsc(kChannelA, 2)).claim_hash == commits[1].tsc.claim_hash);
  CHECK(Ok(store->GetTsc(kChannelB, 1)).claim_hash == commits[2].tsc.claim_hash);

  // A TSC is never overwritten: not at the head, not below it, and not after a reopen, where
  // the head is read back from the channel record.
  SettlementCommit again = CommitOf(kChannelA, 2);
  again.tsc.claim_hash = HexHash("fresh claim");
  CheckError(store->CommitSettlements(std::vector<SettlementCommit>{again}),
             ErrorCode::kAlreadyExists, "already stored (its head is seq 2)");
  CheckError(store->CommitSettlements(std::vector<SettlementCommit>{CommitOf(kChannelA, 1)}),
             ErrorCode::kAlreadyExists, "already stored");
  store.reset();
  store = OpenStore(dir.Sub("store"), {.create_if_missing = false});
  CheckError(store->CommitSettlements(std::vector<SettlementCommit>{again}),
             ErrorCode::kAlreadyExists, "already stored (its head is seq 2)");
  CHECK(Ok(store->GetTsc(kChannelA, 2)) == commits[1].tsc);
  // One claim twice within one call.
  std::vector<SettlementCommit> twice = {CommitOf(kChannelA, 3), CommitOf(kChannelA, 4)};
  twice[1].tsc.claim_hash = twice[0].tsc.claim_hash;
  CheckError(store->CommitSettlements(twice), ErrorCode::kInvalidArgument, "twice");

  CHECK(Ok(store->GetChannel(kChannelA)) == commits[1].channel);
  CheckError(store->GetTsc(kChannelA, 3), ErrorCode::kNotFound);
  CHECK(Ok(store->GetTsc(kChannelA, 1)) == commits[0].tsc);
}

// --- evidence ---

TEST_CASE("Evidence moves from pending to a batch to stored bundles and anchored seqs") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  auto store = OpenStore(path);
  std::vector<SettlementCommit> commits;
  for (std::uint64_t seq = 1; seq <= 8; ++seq) {
    commits.push_back(CommitOf(kChannelA, seq, /*evidence=*/seq == 4 || seq == 8));
  }
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    commits.push_back(CommitOf(kChannelB, seq, /*evidence=*/seq == 3));
  }
  RequireOk(store->CommitSettlements(commits));
  const chain::EvidenceItem a2 = ItemFor(commits[1].tsc);
  const chain::EvidenceItem a4 = *commits[3].evidence;
  const chain::EvidenceItem a8 = *commits[7].evidence;
  const chain::EvidenceItem b3 = *commits[10].evidence;
  const chain::EvidenceItem b5 = ItemFor(commits[12].tsc);

  // Pending items come back in key order: channel, then seq.
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{a4, a8, b3});
  ChannelRecord b_head = commits[12].channel;
  b_head.evidence_seq = 5;
  RequireOk(store->AddPendingEvidence(b5, b_head));
  CHECK(Ok(store->GetChannel(kChannelB)).evidence_seq == 5);
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{a4, a8, b3, b5});

  // Nothing anchored yet.
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 0);
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 1)) == std::nullopt);
  CheckError(store->GetBundle(kChannelA, 4), ErrorCode::kNotFound, "no evidence bundle");

  RequireOk(store->SaveBatch({"batch-1", {a4, b3}}));
  RequireOk(store->SaveBatch({"batch-1", {a4, b3}}));  // a retry is harmless
  CheckError(store->SaveBatch({"batch-1", {a8}}), ErrorCode::kAlreadyExists, "batch-1");
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{a8, b5});
  std::vector<PendingBatch> unfinished = Ok(store->UnfinishedBatches());
  REQUIRE(unfinished.size() == 1);
  CHECK(unfinished[0].batch_id == "batch-1");
  CHECK(unfinished[0].items == std::vector<chain::EvidenceItem>{a4, b3});
  ChannelStore::Counts counts = Ok(store->Count());
  CHECK(counts.pending_evidence == 2);
  CHECK(counts.unfinished_batches == 1);

  // A restart between SaveBatch and CompleteBatch finds the batch again.
  store.reset();
  store = OpenStore(path);
  CHECK(Ok(store->UnfinishedBatches()).size() == 1);

  std::vector<chain::EvidenceBundle> first = BundlesFor("batch-1", {a4, b3}, 10);
  RequireOk(store->CompleteBatch("batch-1", first));
  CHECK(Ok(store->GetBundle(kChannelA, 4)) == first[0]);
  CHECK(Ok(store->GetBundle(kChannelB, 3)) == first[1]);
  RequireOk(chain::VerifyEvidenceBundle(Ok(store->GetBundle(kChannelA, 4))));
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 4);
  CHECK(Ok(store->AnchoredSeq(kChannelB)) == 3);
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 1)) == std::optional<std::uint64_t>(4));
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 4)) == std::optional<std::uint64_t>(4));
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 5)) == std::nullopt);
  // B's bundles do not leak into A's range.
  CHECK(Ok(store->AnchoredSeqCovering(kChannelB, 4)) == std::nullopt);
  CHECK(Ok(store->UnfinishedBatches()).empty());
  CheckError(store->CompleteBatch("batch-1", first), ErrorCode::kNotFound, "batch-1");

  RequireOk(store->SaveBatch({"batch-2", {a8, b5}}));
  RequireOk(store->CompleteBatch("batch-2", BundlesFor("batch-2", {a8, b5}, 11)));
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 8);
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 5)) == std::optional<std::uint64_t>(8));
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 3)) == std::optional<std::uint64_t>(4));

  // A late batch with an older item adds its bundle but never lowers the anchored seq.
  ChannelRecord a_head = commits[7].channel;
  RequireOk(store->AddPendingEvidence(a2, a_head));
  RequireOk(store->SaveBatch({"batch-3", {a2}}));
  RequireOk(store->CompleteBatch("batch-3", BundlesFor("batch-3", {a2}, 12)));
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 8);
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 1)) == std::optional<std::uint64_t>(2));
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 2)) == std::optional<std::uint64_t>(2));
  CHECK(Ok(store->AnchoredSeqCovering(kChannelA, 3)) == std::optional<std::uint64_t>(4));

  store.reset();
  store = OpenStore(path, {.create_if_missing = false});
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 8);
  CHECK(Ok(store->AnchoredSeq(kChannelB)) == 5);
  CHECK(Ok(store->AnchoredSeq(kChannelC)) == 0);
  CHECK(Ok(store->GetBundle(kChannelA, 2)).batch_id == "batch-3");
  CHECK(Ok(store->GetBundle(kChannelA, 8)).receipt == Receipt(11));
  CHECK(Ok(store->PendingEvidence()).empty());
  counts = Ok(store->Count());
  CHECK(counts.channels == 2);
  CHECK(counts.pending_evidence == 0);
  CHECK(counts.unfinished_batches == 0);
}

TEST_CASE("CompleteBatch rejects bundles that do not match the batch and writes nothing") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  std::vector<SettlementCommit> commits = {
      CommitOf(kChannelA, 1, true), CommitOf(kChannelA, 2, true), CommitOf(kChannelB, 1, true)};
  RequireOk(store->CommitSettlements(commits));
  const chain::EvidenceItem a1 = *commits[0].evidence;
  const chain::EvidenceItem a2 = *commits[1].evidence;
  const chain::EvidenceItem b1 = *commits[2].evidence;
  RequireOk(store->SaveBatch({"batch-7", {a1, b1}}));
  CheckError(store->CompleteBatch("batch-unknown", {}), ErrorCode::kNotFound);

  auto nothing_written = [&] {
    CheckError(store->GetBundle(kChannelA, 1), ErrorCode::kNotFound);
    CheckError(store->GetBundle(kChannelA, 2), ErrorCode::kNotFound);
    CheckError(store->GetBundle(kChannelB, 1), ErrorCode::kNotFound);
    CHECK(Ok(store->AnchoredSeq(kChannelA)) == 0);
    CHECK(Ok(store->AnchoredSeq(kChannelB)) == 0);
    std::vector<PendingBatch> unfinished = Ok(store->UnfinishedBatches());
    REQUIRE(unfinished.size() == 1);
    CHECK(unfinished[0].items == std::vector<chain::EvidenceItem>{a1, b1});
  };

  // a2 is pending, not in batch-7.
  std::vector<chain::EvidenceBundle> stray = BundlesFor("batch-7", {a1, a2, b1}, 3);
  CheckError(store->CompleteBatch("batch-7", stray), ErrorCode::kInvalidArgument,
             "seq 2 of channel " + kChannelA + " is not in batch batch-7");
  nothing_written();

  // Same channel and seq, different TSC hash: not the batch's item either.
  std::vector<chain::EvidenceBundle> forged = BundlesFor("batch-7", {a1, b1}, 3);
  forged[1].item.tsc_hash = Sha256("forged");
  CheckError(store->CompleteBatch("batch-7", forged), ErrorCode::kInvalidArgument, "not in batch");
  nothing_written();

  std::vector<chain::EvidenceBundle> partial = BundlesFor("batch-7", {a1}, 3);
  CheckError(store->CompleteBatch("batch-7", partial), ErrorCode::kInvalidArgument,
             "no bundle for seq 1 of channel " + kChannelB);
  nothing_written();

  std::vector<chain::EvidenceBundle> other = BundlesFor("batch-8", {a1, b1}, 3);
  CheckError(store->CompleteBatch("batch-7", other), ErrorCode::kInvalidArgument, "batch-8");
  nothing_written();

  std::vector<chain::EvidenceBundle> bad_receipt = BundlesFor("batch-7", {a1, b1}, 3);
  bad_receipt[0].receipt.height = 0;
  CheckError(store->CompleteBatch("batch-7", bad_receipt), ErrorCode::kInvalidArgument,
             "malformed");
  nothing_written();

  RequireOk(store->CompleteBatch("batch-7", BundlesFor("batch-7", {a1, b1}, 3)));
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 1);
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{a2});

  // A batch anchored again (the start-up cross-check) gets its new receipt; nothing else changes.
  chain::EvidenceBundle again = Ok(store->GetBundle(kChannelA, 1));
  again.receipt.height += 7;
  again.receipt.tx = "re-anchored";
  RequireOk(store->ReplaceBundleReceipt(again));
  CHECK(Ok(store->GetBundle(kChannelA, 1)) == again);
  chain::EvidenceBundle moved = again;
  moved.root = Sha256("another root");
  CheckError(store->ReplaceBundleReceipt(moved), ErrorCode::kInvalidArgument, "more than its receipt");
  chain::EvidenceBundle absent = again;
  absent.item = a2;
  CheckError(store->ReplaceBundleReceipt(absent), ErrorCode::kNotFound);
  CHECK(Ok(store->GetBundle(kChannelA, 1)) == again);
}

// --- named values and counters ---

TEST_CASE("Named values round trip and NextCounter is atomic and persistent") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  {
    auto store = OpenStore(path);
    CheckError(store->GetValue("cursor"), ErrorCode::kNotFound, "cursor");
    RequireOk(store->PutValue("cursor", "12:3"));
    RequireOk(store->PutValue("cursor", "13:0"));
    const std::string binary("a\0b\xff", 4);
    RequireOk(store->PutValue("blob", binary));
    CHECK(Ok(store->GetValue("blob")) == binary);
    RequireOk(store->PutValue("empty", ""));
    CHECK(Ok(store->GetValue("empty")).empty());
    CheckError(store->PutValue("", "x"), ErrorCode::kInvalidArgument);
    CheckError(store->PutValue("has space", "x"), ErrorCode::kInvalidArgument);
    CheckError(store->PutValue("big", std::string((1u << 20) + 1, 'x')),
               ErrorCode::kInvalidArgument);
    CheckError(store->NextCounter(""), ErrorCode::kInvalidArgument);

    constexpr int kThreads = 4;
    constexpr int kPerThread = 1000;
    std::vector<std::vector<std::uint64_t>> seen(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          Result<std::uint64_t> next = store->NextCounter("batch");
          seen[t].push_back(next.ok() ? *next : 0);
        }
      });
    }
    for (auto& thread : threads) thread.join();
    std::set<std::uint64_t> all;
    for (const auto& values : seen) {
      // Each thread's values rise: an increment never goes back.
      CHECK(std::is_sorted(values.begin(), values.end()));
      all.insert(values.begin(), values.end());
    }
    CHECK(all.size() == kThreads * kPerThread);
    CHECK(*all.begin() == 1);
    CHECK(*all.rbegin() == kThreads * kPerThread);
    // Counters and values are separate: the counter does not show up as a value.
    CheckError(store->GetValue("batch"), ErrorCode::kNotFound);
  }
  auto store = OpenStore(path);
  CHECK(Ok(store->PeekCounter("batch")) == 4000);  // read without advancing
  CHECK(Ok(store->PeekCounter("unused")) == 0);
  CHECK(Ok(store->NextCounter("batch")) == 4001);
  CHECK(Ok(store->NextCounter("other")) == 1);
  CHECK(Ok(store->GetValue("cursor")) == "13:0");
}

// --- bad inputs ---

TEST_CASE("Bad inputs are kInvalidArgument and change nothing") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  RequireOk(store->CommitSettlements(std::vector<SettlementCommit>{CommitOf(kChannelA, 1, true)}));
  const ChannelRecord head = Ok(store->GetChannel(kChannelA));

  auto commit_rejected = [&](SettlementCommit commit, const std::string& fragment) {
    CAPTURE(fragment);
    CheckError(
        store->CommitSettlements(std::vector<SettlementCommit>{CommitOf(kChannelB, 1), commit}),
        ErrorCode::kInvalidArgument, fragment);
  };
  SettlementCommit upper = CommitOf(kChannelA, 2);
  std::transform(upper.tsc.channel_id.begin(), upper.tsc.channel_id.end(),
                 upper.tsc.channel_id.begin(), [](char c) { return char(std::toupper(c)); });
  commit_rejected(upper, "TSC channel id");
  SettlementCommit zero = CommitOf(kChannelA, 2);
  zero.tsc.seq = 0;
  commit_rejected(zero, "TSC seq 0");
  SettlementCommit huge = CommitOf(kChannelA, 2);
  huge.tsc.seq = 9007199254740992;
  huge.channel.last_seq = huge.tsc.seq;
  commit_rejected(huge, "TSC seq");
  SettlementCommit bad_claim = CommitOf(kChannelA, 2);
  bad_claim.tsc.claim_hash = "not hex";
  commit_rejected(bad_claim, "claim hash");
  SettlementCommit not_json = CommitOf(kChannelA, 2);
  not_json.tsc.tsc = "plain text";
  commit_rejected(not_json, "JSON object");
  SettlementCommit other_channel = CommitOf(kChannelA, 2);
  other_channel.channel = CommitOf(kChannelC, 2).channel;
  commit_rejected(other_channel, "must name the TSC");
  SettlementCommit stale_head = CommitOf(kChannelA, 2);
  stale_head.channel.last_seq = 1;
  commit_rejected(stale_head, "must name the TSC");
  SettlementCommit bad_record = CommitOf(kChannelA, 2);
  bad_record.channel.tst_version = 0;
  commit_rejected(bad_record, "tstVersion");
  SettlementCommit foreign_evidence = CommitOf(kChannelA, 2, true);
  foreign_evidence.evidence->seq = 1;
  commit_rejected(foreign_evidence, "evidence item");
  CheckError(store->CommitSettlements(
                 std::vector<SettlementCommit>{CommitOf(kChannelA, 3), CommitOf(kChannelA, 2)}),
             ErrorCode::kInvalidArgument, "does not follow seq 3");

  ChannelRecord bad = NewChannel(kChannelC);
  bad.last_hash = Sha256("not the channel id");  // a channel without TSCs names its own id
  CheckError(store->PutChannel(bad), ErrorCode::kInvalidArgument, "lastHash");
  // The rules the decoder applies hold for what is written (a record is not decoded to check it).
  ChannelRecord spaced = NewChannel(kChannelC);
  spaced.provider = "did:web:provider example";
  CheckError(store->PutChannel(spaced), ErrorCode::kInvalidArgument, "provider");
  ChannelRecord too_far = NewChannel(kChannelC);
  too_far.opened_ms = kMaxJsonInteger + 1;  // a JSON number would not hold it exactly
  CheckError(store->PutChannel(too_far), ErrorCode::kInvalidArgument, "openedMs");
  CheckError(store->GetChannel(kChannelC), ErrorCode::kNotFound);
  CheckError(store->GetChannel("short"), ErrorCode::kInvalidArgument, "channel id");
  CheckError(store->GetTsc(kChannelA.substr(1), 1), ErrorCode::kInvalidArgument);
  CheckError(store->AnchoredSeq("x"), ErrorCode::kInvalidArgument);
  CheckError(store->AnchoredSeqCovering(kChannelA, 0), ErrorCode::kInvalidArgument);
  CheckError(store->GetBundle("", 1), ErrorCode::kInvalidArgument);

  chain::EvidenceItem item = ItemFor(NewTsc(kChannelA, 1));
  CheckError(store->AddPendingEvidence(item, NewChannel(kChannelB)), ErrorCode::kInvalidArgument,
             "different channels");
  chain::EvidenceItem ahead = ItemFor(NewTsc(kChannelA, 2));
  CheckError(store->AddPendingEvidence(ahead, head), ErrorCode::kInvalidArgument, "beyond");
  chain::EvidenceItem seq0 = item;
  seq0.seq = 0;
  CheckError(store->AddPendingEvidence(seq0, head), ErrorCode::kInvalidArgument, "seq 0");
  CheckError(store->SaveBatch({"batch-1", {}}), ErrorCode::kInvalidArgument, "no items");
  CheckError(store->SaveBatch({"bad id", {item}}), ErrorCode::kInvalidArgument, "batch id");
  chain::EvidenceItem bad_channel = item;
  bad_channel.channel_id = "did:web:not-a-channel";
  CheckError(store->SaveBatch({"batch-1", {bad_channel}}), ErrorCode::kInvalidArgument,
             "evidence item channel id");
  chain::EvidenceItem conflicting = item;
  conflicting.tsc_hash = Sha256("another TSC");
  CheckError(store->SaveBatch({"batch-1", {item, conflicting}}), ErrorCode::kInvalidArgument,
             "two different items");
  CheckError(store->CompleteBatch("", {}), ErrorCode::kInvalidArgument);

  // Still exactly the state of the one good commit.
  CHECK(Ok(store->GetChannel(kChannelA)) == head);
  CheckError(store->GetChannel(kChannelB), ErrorCode::kNotFound);
  CheckError(store->GetChannel(kChannelC), ErrorCode::kNotFound);
  CheckError(store->GetTsc(kChannelB, 1), ErrorCode::kNotFound);
  CheckError(store->GetTsc(kChannelA, 2), ErrorCode::kNotFound);
  CHECK(Ok(store->ListTscs(kChannelA, 0, 10)).size() == 1);
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{item});
  CHECK(Ok(store->UnfinishedBatches()).empty());
  ChannelStore::Counts counts = Ok(store->Count());
  CHECK(counts.channels == 1);
  CHECK(counts.pending_evidence == 1);
  CHECK(counts.unfinished_batches == 0);
}

// --- throughput (reported, not asserted: the disk is shared) ---

TEST_CASE("Grouped commits amortize the sync") {
  TempDir dir;
  auto store = OpenStore(dir.Sub("store"));
  constexpr std::uint64_t kCommits = 100;
  std::vector<SettlementCommit> grouped;
  for (std::uint64_t seq = 1; seq <= kCommits; ++seq) {
    grouped.push_back(CommitOf(kChannelA, seq, seq % 10 == 0, /*pad=*/2000));
  }
  auto start = std::chrono::steady_clock::now();
  RequireOk(store->CommitSettlements(grouped));
  auto one_call = std::chrono::steady_clock::now() - start;

  start = std::chrono::steady_clock::now();
  for (std::uint64_t seq = 1; seq <= kCommits; ++seq) {
    RequireOk(store->CommitSettlements(
        std::vector<SettlementCommit>{CommitOf(kChannelB, seq, seq % 10 == 0, 2000)}));
  }
  auto separate = std::chrono::steady_clock::now() - start;
  CHECK(Ok(store->ListTscs(kChannelA, 0, 1000)).size() == kCommits);
  CHECK(Ok(store->ListTscs(kChannelB, 0, 1000)).size() == kCommits);
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  MESSAGE("100 commits of ~2 KB: one call "
          << duration_cast<microseconds>(one_call).count() << " us, 100 calls "
          << duration_cast<microseconds>(separate).count() << " us");
}

// --- disputes ---

// A real signed rejection of a proposal for `seq` in `channel`.
Json SignedRejection(const did::KeyPair& consumer, const std::string& channel, std::uint64_t seq,
                     const std::string& fee) {
  Json proposal = Json::Object();
  proposal.Set("channel", channel);
  proposal.Set("seq", seq);
  proposal.Set("prev", channel);
  proposal.Set("consumer", did::DidKeyFromPublicKey(consumer.public_key()));
  proposal.Set("fee", fee);
  return Ok(wire::MakeRejection(proposal, {wire::ReasonCode::kWrongAmount, "fee " + fee}, consumer));
}

// A party's closing record of `channel_id` at head `last_seq`, signed by a fresh TCC key.
Json ClosingRecordFor(const std::string& channel_id, std::uint64_t last_seq) {
  const did::KeyPair party = did::KeyPair::Generate();
  const did::KeyPair tcc = did::KeyPair::Generate();
  const Json request =
      Ok(wire::MakeCloseRequest(channel_id, {wire::ReasonCode::kPrice, "too dear"}, party));
  return Ok(wire::MakeClosingRecord(request, last_seq, HexHash("head"), tcc));
}

TEST_CASE(
    "A closing record's leaf is pending with it, anchored beside the last TSC, and never "
    "moves the anchored seq") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  auto store = OpenStore(path);
  std::vector<SettlementCommit> commits;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) commits.push_back(CommitOf(kChannelA, seq));
  for (std::uint64_t seq = 1; seq <= 5; ++seq) commits.push_back(CommitOf(kChannelB, seq));
  RequireOk(store->CommitSettlements(commits));
  const Json closing_a = ClosingRecordFor(kChannelA, 3);
  const Json closing_b = ClosingRecordFor(kChannelB, 5);
  const chain::EvidenceItem leaf_a{kChannelA, 3, Ok(vc::CredentialDigest(closing_a)),
                                   chain::EvidenceKind::kClosing};
  const chain::EvidenceItem leaf_b{kChannelB, 5, Ok(vc::CredentialDigest(closing_b)),
                                   chain::EvidenceKind::kClosing};
  CHECK(Ok(ClosingEvidenceItem(closing_a)) == leaf_a);

  // Written with the record, but not anchored before the channel is closed at the record's head.
  RequireOk(store->PutClosingRecord(kChannelA, closing_a.Serialize()));
  RequireOk(store->PutClosingRecord(kChannelB, closing_b.Serialize()));
  CheckError(store->PutClosingRecord(kChannelA, closing_b.Serialize()), ErrorCode::kInvalidArgument,
             "another channel");
  CheckError(store->PutClosingRecord(kChannelA, "{\"type\":\"ChannelClosing\"}"),
             ErrorCode::kInvalidArgument);
  CHECK(Ok(store->PendingEvidence()).empty());
  const chain::EvidenceItem tsc_a3 = ItemFor(commits[2].tsc);
  ChannelRecord closed_a = commits[2].channel;
  closed_a.state = ChannelState::kClosed;
  closed_a.evidence_seq = 3;
  RequireOk(store->AddPendingEvidence(tsc_a3, closed_a));
  ChannelRecord closed_b = commits[7].channel;
  closed_b.state = ChannelState::kClosed;
  closed_b.last_seq = 4;  // closed at another head than the record names: never anchored
  RequireOk(store->PutChannel(closed_b));
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{tsc_a3, leaf_a});
  closed_b.last_seq = 5;
  RequireOk(store->PutChannel(closed_b));
  CHECK(Ok(store->PendingEvidence()) == std::vector<chain::EvidenceItem>{tsc_a3, leaf_a, leaf_b});

  // The TSC and the closing leaf share (channel, seq) but not a key: both go into one batch.
  RequireOk(store->SaveBatch({"batch-c", {tsc_a3, leaf_a, leaf_b}}));
  CHECK(Ok(store->PendingEvidence()).empty());
  store.reset();
  store = OpenStore(path);
  std::vector<PendingBatch> unfinished = Ok(store->UnfinishedBatches());
  REQUIRE(unfinished.size() == 1);
  CHECK(unfinished[0].items == std::vector<chain::EvidenceItem>{tsc_a3, leaf_a, leaf_b});
  // The closing leaf's bundle cannot stand for the TSC's.
  std::vector<chain::EvidenceBundle> bundles = BundlesFor("batch-c", {tsc_a3, leaf_a, leaf_b}, 10);
  std::vector<chain::EvidenceBundle> swapped = bundles;
  swapped[1].item.kind = chain::EvidenceKind::kTsc;
  CheckError(store->CompleteBatch("batch-c", swapped), ErrorCode::kInvalidArgument);
  RequireOk(store->CompleteBatch("batch-c", bundles));
  CHECK(Ok(store->GetBundle(kChannelA, 3)) == bundles[0]);
  CHECK(Ok(store->GetClosingBundle(kChannelA)) == std::optional<chain::EvidenceBundle>(bundles[1]));
  CHECK(Ok(store->GetClosingBundle(kChannelB)) == std::optional<chain::EvidenceBundle>(bundles[2]));
  CHECK_FALSE(Ok(store->GetClosingBundle(kChannelC)).has_value());
  CHECK(Ok(store->AnchoredSeq(kChannelA)) == 3);
  // B's TSCs were never anchored: its closing leaf leaves its anchored seq alone.
  CHECK(Ok(store->AnchoredSeq(kChannelB)) == 0);
  CheckError(store->GetBundle(kChannelB, 5), ErrorCode::kNotFound);
  RequireOk(store->CheckChannelReadable(kChannelA));
  // A new receipt (the start-up cross-check) replaces the closing bundle's, not the TSC's.
  chain::EvidenceBundle moved = bundles[1];
  moved.receipt = Receipt(11);
  RequireOk(store->ReplaceBundleReceipt(moved));
  CHECK(Ok(store->GetClosingBundle(kChannelA))->receipt == Receipt(11));
  CHECK(Ok(store->GetBundle(kChannelA, 3)).receipt == Receipt(10));
}

TEST_CASE(
    "Dispute records (rejections, the latest proposal, a closing record) round trip and survive a "
    "reopen") {
  TempDir dir;
  const std::string path = dir.Sub("store");
  const did::KeyPair consumer = did::KeyPair::Generate();
  const Json first = SignedRejection(consumer, kChannelA, 3, "9.99");
  const Json second = SignedRejection(consumer, kChannelA, 4, "7.00");
  const Json other = SignedRejection(consumer, kChannelB, 3, "1.00");
  auto record = [](const Json& document, std::uint64_t received) {
    const wire::Rejection read = Ok(wire::ReadRejection(document));
    return RejectionRecord{read.channel,       read.seq,
                           read.proposal_hash, HexHash("content " + read.proposal_hash),
                           received,           document};
  };
  {
    auto store = OpenStore(path);
    CHECK(Ok(store->ListRejections(kChannelA)).empty());
    CHECK_FALSE(Ok(store->GetProposal(kChannelA)).has_value());
    CHECK_FALSE(Ok(store->GetClosingRecord(kChannelA)).has_value());
    RequireOk(store->PutRejection(record(second, 20)));
    RequireOk(store->PutRejection(record(first, 10)));
    RequireOk(store->PutRejection(record(first, 10)));  // the same again: one record
    RequireOk(store->PutRejection(record(other, 30)));
    RequireOk(store->PutProposal({kChannelA, 4, HexHash("p1"), HexHash("c1")}));
    RequireOk(store->PutProposal({kChannelA, 5, HexHash("p2"), HexHash("c2")}));  // the latest wins
    RequireOk(store->PutClosingRecord(kChannelA, ClosingRecordFor(kChannelA, 4).Serialize()));
    // A record whose document names another seq than the record is refused, nothing written.
    RejectionRecord mismatched = record(first, 10);
    mismatched.seq = 9;
    CheckError(store->PutRejection(mismatched), ErrorCode::kInvalidArgument,
               "another channel, seq or proposal");
  }
  auto store = OpenStore(path);
  const std::vector<RejectionRecord> all = Ok(store->ListRejections(kChannelA));
  REQUIRE(all.size() == 2);
  CHECK(all[0].seq == 3);
  CHECK(all[0].received_ms == 10);
  CHECK(all[0].document == first);
  CHECK(all[0].content_hash == record(first, 10).content_hash);
  CHECK(all[1].seq == 4);
  CHECK(all[1].document == second);
  const std::vector<RejectionRecord> from_four = Ok(store->ListRejections(kChannelA, 4));
  REQUIRE(from_four.size() == 1);
  CHECK(from_four[0].document == second);
  REQUIRE(Ok(store->ListRejections(kChannelB)).size() == 1);
  const ProposalMark mark = Ok(store->GetProposal(kChannelA)).value();
  CHECK(mark.seq == 5);
  CHECK(mark.proposal_hash == HexHash("p2"));
  CHECK(mark.content_hash == HexHash("c2"));
  const Json closing = Ok(Json::Parse(Ok(store->GetClosingRecord(kChannelA)).value()));
  CHECK(*closing.GetString("channel") == kChannelA);
  CHECK(closing.Find("last_seq")->as_number() == 4);
  CHECK_FALSE(Ok(store->GetClosingRecord(kChannelB)).has_value());
}

}  // namespace
}  // namespace tcc::controller
