#include "tcc/chain/evidence.h"

#include <doctest/doctest.h>

#include <random>
#include <string>

#include "chain_test_util.h"
#include "tcc/chain/codec.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/common/json.h"

namespace tcc::chain {
namespace {

using testing::HashOf;
using testing::TempDir;

ChainReceipt SampleReceipt() {
  return ChainReceipt{"local", 7, std::string(64, 'a'), HashOf("block"), 1700000000123};
}

EvidenceBatch SampleBatch(std::size_t n, const std::string& batch_id = "batch-1") {
  EvidenceBatchBuilder builder;
  for (std::size_t i = 0; i < n; ++i) {
    auto index = builder.Add({"channel-" + std::to_string(i % 3), i + 1,
                              HashOf("tsc " + std::to_string(i))});
    REQUIRE(index.ok());
    CHECK(*index == i);
  }
  auto batch = builder.Build(batch_id);
  REQUIRE(batch.ok());
  CHECK(builder.empty());
  return std::move(batch).value();
}

TEST_CASE("evidence leaves are domain separated and bind every field") {
  EvidenceItem item{"ch", 5, HashOf("tsc")};
  Hash256 leaf = EvidenceLeaf(item).value();
  CHECK(leaf != HashOf("tsc"));
  CHECK(leaf != EvidenceLeaf({"ch", 6, item.tsc_hash}).value());
  CHECK(leaf != EvidenceLeaf({"ch2", 5, item.tsc_hash}).value());
  CHECK(leaf != EvidenceLeaf({"ch", 5, HashOf("tsc2")}).value());
  CHECK(EvidenceLeaf({"", 5, item.tsc_hash}).error().code() == ErrorCode::kInvalidArgument);
  CHECK(EvidenceLeaf({"has space", 5, item.tsc_hash}).error().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("a closing leaf has its own tag: it never equals the TSC leaf of the same fields") {
  const EvidenceItem tsc{"ch", 5, HashOf("record")};
  const EvidenceItem closing{"ch", 5, HashOf("record"), EvidenceKind::kClosing};
  CHECK(EvidenceLeaf(closing).value() != EvidenceLeaf(tsc).value());
  // The tag is the only difference: the layout is the TSC leaf's.
  ByteWriter expected;
  expected.Raw(kClosingLeafTag).U8(0).Sized(std::string_view("ch")).U64(5).Raw(closing.tsc_hash);
  CHECK(EvidenceLeaf(closing).value() == Sha256(expected.bytes()));
  CHECK(EvidenceLeaf({"ch", 5, closing.tsc_hash, static_cast<EvidenceKind>(7)}).error().code() ==
        ErrorCode::kInvalidArgument);
}

TEST_CASE("closing bundles name their kind and hash, round-trip, and cannot pass for a TSC's") {
  EvidenceBatchBuilder builder;
  REQUIRE(builder.Add({"ch", 3, HashOf("tsc 3")}).ok());
  REQUIRE(builder.Add({"ch", 3, HashOf("closing record"), EvidenceKind::kClosing}).ok());
  const EvidenceBatch batch = builder.Build("batch-c").value();
  const EvidenceBundle tsc = batch.Bundle(0, SampleReceipt()).value();
  const EvidenceBundle closing = batch.Bundle(1, SampleReceipt()).value();
  CHECK(VerifyEvidenceBundle(tsc).ok());
  CHECK(VerifyEvidenceBundle(closing).ok());
  const Json json = EvidenceBundleToJson(closing);
  CHECK(*json.GetString("kind") == "closing");
  CHECK(json.Find("tscHash") == nullptr);
  CHECK(*json.GetString("closingHash") == HexEncode(HashOf("closing record")));
  CHECK(EvidenceBundleToJson(tsc).Find("kind") == nullptr);
  CHECK(ParseEvidenceBundle(SerializeEvidenceBundle(closing)).value() == closing);

  // Relabelled as a TSC bundle (same hash, no kind), the leaf no longer matches.
  EvidenceBundle relabelled = closing;
  relabelled.item.kind = EvidenceKind::kTsc;
  Status status = VerifyEvidenceBundle(relabelled);
  REQUIRE_FALSE(status.ok());
  CHECK(status.error().code() == ErrorCode::kVerificationFailed);

  auto refused = [](Json bad, const std::string& words) {
    auto parsed = EvidenceBundleFromJson(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
    CHECK_MESSAGE(parsed.error().message().find(words) != std::string::npos,
                  parsed.error().ToString());
  };
  Json unknown_kind = json;
  unknown_kind.Set("kind", "tsc");
  refused(unknown_kind, "kind");
  Json both = json;
  both.Set("tscHash", *json.GetString("closingHash"));
  refused(both, "tscHash");
  Json closing_hash_on_tsc = EvidenceBundleToJson(tsc);
  closing_hash_on_tsc.Set("closingHash", HexEncode(HashOf("x")));
  refused(closing_hash_on_tsc, "closingHash");
  Json no_hash = json;
  no_hash.Erase("closingHash");
  refused(no_hash, "closingHash");
}

TEST_CASE("batch builder refuses empty batches and bad ids without consuming items") {
  EvidenceBatchBuilder builder;
  CHECK(builder.Build("b").error().code() == ErrorCode::kInvalidArgument);
  REQUIRE(builder.Add({"ch", 1, HashOf("x")}).ok());
  CHECK(builder.Build("bad id").error().code() == ErrorCode::kInvalidArgument);
  CHECK(builder.size() == 1);
  auto batch = builder.Build("good");
  REQUIRE(batch.ok());
  CHECK(batch->size() == 1);
  CHECK(batch->Bundle(1, SampleReceipt()).error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("bundles from a batch verify offline and round-trip through JSON") {
  EvidenceBatch batch = SampleBatch(37);
  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto bundle = batch.Bundle(i, SampleReceipt());
    REQUIRE(bundle.ok());
    CHECK(VerifyEvidenceBundle(*bundle).ok());
    std::string text = SerializeEvidenceBundle(*bundle);
    auto parsed = ParseEvidenceBundle(text);
    REQUIRE_MESSAGE(parsed.ok(), parsed.error().ToString());
    CHECK(*parsed == *bundle);
    CHECK(SerializeEvidenceBundle(*parsed) == text);
  }
  EvidenceBundle no_tx = batch.Bundle(0, SampleReceipt()).value();
  no_tx.receipt.tx.clear();
  CHECK(ParseEvidenceBundle(SerializeEvidenceBundle(no_tx)).value() == no_tx);
}

TEST_CASE("offline verification rejects every tampered field") {
  EvidenceBatch batch = SampleBatch(10);
  const EvidenceBundle good = batch.Bundle(6, SampleReceipt()).value();
  auto rejected = [](EvidenceBundle bundle) {
    Status status = VerifyEvidenceBundle(bundle);
    return !status.ok() && status.error().code() == ErrorCode::kVerificationFailed;
  };
  EvidenceBundle bad = good;
  bad.item.tsc_hash[0] ^= 1;
  CHECK(rejected(bad));
  bad = good;
  bad.item.seq += 1;
  CHECK(rejected(bad));
  bad = good;
  bad.item.channel_id = "other";
  CHECK(rejected(bad));
  bad = good;
  bad.leaf[3] ^= 1;
  CHECK(rejected(bad));
  bad = good;
  bad.path[1][5] ^= 1;
  CHECK(rejected(bad));
  bad = good;
  bad.path.pop_back();
  CHECK(rejected(bad));
  bad = good;
  bad.leaf_index = 7;
  CHECK(rejected(bad));
  bad = good;
  bad.root[0] ^= 1;
  CHECK(rejected(bad));
  bad = good;
  bad.tree_size = 3;
  CHECK(rejected(bad));
}

Json GoodJson() {
  EvidenceBatch batch = SampleBatch(5);
  return EvidenceBundleToJson(batch.Bundle(2, SampleReceipt()).value());
}

void ExpectRejected(const Json& json, ErrorCode code = ErrorCode::kInvalidArgument) {
  auto parsed = ParseEvidenceBundle(json.Serialize());
  REQUIRE_MESSAGE(!parsed.ok(), json.Serialize());
  CHECK(parsed.error().code() == code);
  CHECK_FALSE(parsed.error().message().empty());
}

TEST_CASE("malformed bundles are refused with clear errors") {
  CHECK(ParseEvidenceBundle("").error().code() == ErrorCode::kParse);
  CHECK(ParseEvidenceBundle("{").error().code() == ErrorCode::kParse);
  CHECK(ParseEvidenceBundle("[]").error().code() == ErrorCode::kInvalidArgument);
  CHECK(ParseEvidenceBundle("{\"a\":1,\"a\":2}").error().code() == ErrorCode::kParse);

  const Json good = GoodJson();
  REQUIRE(ParseEvidenceBundle(good.Serialize()).ok());
  for (const auto& member : good.as_object()) {
    Json missing = good;
    missing.Erase(member.first);
    ExpectRejected(missing);
    Json wrong_type = good;
    wrong_type.Set(member.first, member.second.is_string() ? Json(1) : Json("x"));
    ExpectRejected(wrong_type);
  }
  auto with = [&](std::string_view key, Json value) {
    Json json = good;
    json.Set(key, std::move(value));
    return json;
  };
  ExpectRejected(with("extra", 1));
  ExpectRejected(with("format", "tcc-evidence-bundle/2"));
  std::string upper = good.Find("root")->as_string();
  for (char& c : upper) c = char(std::toupper(c));
  ExpectRejected(with("root", upper));
  ExpectRejected(with("root", good.Find("root")->as_string().substr(2)));
  ExpectRejected(with("tscHash", std::string(64, 'g')));
  ExpectRejected(with("seq", -1));
  ExpectRejected(with("seq", 1.5));
  ExpectRejected(with("seq", 1e300));
  ExpectRejected(with("leafIndex", 5));
  ExpectRejected(with("treeSize", 0));
  ExpectRejected(with("channelId", ""));
  ExpectRejected(with("batchId", "with space"));
  Json long_path = Json::Array();
  for (int i = 0; i < 65; ++i) long_path.PushBack(std::string(64, '0'));
  ExpectRejected(with("path", long_path));
  Json bad_step = good.Find("path")->as_array();
  bad_step.as_array()[0] = Json(3);
  ExpectRejected(with("path", bad_step));

  Json receipt = *good.Find("receipt");
  auto with_receipt = [&](std::string_view key, Json value) {
    Json changed = receipt;
    changed.Set(key, std::move(value));
    return with("receipt", changed);
  };
  ExpectRejected(with_receipt("extra", true));
  ExpectRejected(with_receipt("height", 0));
  ExpectRejected(with_receipt("adapter", ""));
  ExpectRejected(with_receipt("tx", 5));
  ExpectRejected(with_receipt("blockHash", "00"));
  Json no_time = receipt;
  no_time.Erase("timeMs");
  ExpectRejected(with("receipt", no_time));
}

TEST_CASE("mutated bundle text never crashes the parser") {
  const std::string text = GoodJson().Serialize();
  std::mt19937 random(42);
  int accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string mutated = text;
    int edits = 1 + int(random() % 4);
    for (int e = 0; e < edits; ++e) {
      std::size_t at = random() % mutated.size();
      switch (random() % 3) {
        case 0: mutated[at] = char(random() % 256); break;
        case 1: mutated.erase(at, 1 + random() % 8); break;
        default: mutated.insert(at, 1, "{}[]\",:0a\\"[random() % 10]); break;
      }
      if (mutated.empty()) mutated = "x";
    }
    auto parsed = ParseEvidenceBundle(mutated);
    if (parsed.ok()) {
      ++accepted;
      (void)VerifyEvidenceBundle(*parsed);
    } else {
      CHECK((parsed.error().code() == ErrorCode::kParse ||
             parsed.error().code() == ErrorCode::kInvalidArgument));
    }
  }
  CHECK(accepted < 3000);
}

TEST_CASE("bundles verify against the ledger that anchored them") {
  TempDir dir;
  auto ledger = LocalLedger::Open({.path = dir.Sub("ledger")});
  REQUIRE(ledger.ok());
  EvidenceBatch batch = SampleBatch(20, "batch-a");
  auto anchored = (*ledger)->Anchor(batch.anchor());
  REQUIRE(anchored.ok());
  EvidenceBundle bundle = batch.Bundle(11, anchored->receipt).value();
  auto checked = VerifyEvidenceBundleOnChain(bundle, **ledger);
  REQUIRE_MESSAGE(checked.ok(), checked.error().ToString());
  CHECK(checked->value == batch.anchor());

  // A consistent bundle for a batch that was never anchored.
  EvidenceBatch other = SampleBatch(20, "batch-b");
  EvidenceBundle unanchored = other.Bundle(3, anchored->receipt).value();
  CHECK(VerifyEvidenceBundle(unanchored).ok());
  CHECK(VerifyEvidenceBundleOnChain(unanchored, **ledger).error().code() ==
        ErrorCode::kVerificationFailed);
  // Same batch id, but a tree the chain never saw.
  EvidenceBatch forged = SampleBatch(21, "batch-a");
  EvidenceBundle forged_bundle = forged.Bundle(3, anchored->receipt).value();
  CHECK(VerifyEvidenceBundleOnChain(forged_bundle, **ledger).error().code() ==
        ErrorCode::kVerificationFailed);
  // Right proof, wrong receipt.
  EvidenceBundle wrong_receipt = bundle;
  wrong_receipt.receipt.block_hash[0] ^= 1;
  CHECK(VerifyEvidenceBundleOnChain(wrong_receipt, **ledger).error().code() ==
        ErrorCode::kVerificationFailed);
}

}  // namespace
}  // namespace tcc::chain
