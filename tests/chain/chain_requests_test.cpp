// chain/chain_requests.h: a request adapter whose calls are served, through their JSON text, by a
// real embedded ledger, gives the same answers and errors as the ledger itself; malformed
// requests are refused before the ledger is touched.
#include "tcc/chain/chain_requests.h"

#include <doctest/doctest.h>

#include <string>

#include "chain_test_util.h"
#include "tcc/chain/local_ledger.h"

namespace tcc::chain {
namespace {

using testing::HashOf;
using testing::TempDir;

Bytes B(const std::string& text) { return Bytes(text.begin(), text.end()); }

struct Served {
  std::unique_ptr<LocalLedger> ledger;
  std::unique_ptr<ChainAdapter> remote;
  int calls = 0;
};

// The request and the answer travel as text, as they do between the CLI and tccd.
void Serve(Served& served, std::size_t max_result_bytes = 200 * 1024) {
  served.remote = MakeRequestAdapter(
      "local", [&served, max_result_bytes](ChainOp op, Json args) -> Result<Json> {
        ++served.calls;
        TCC_ASSIGN_OR_RETURN(Json sent, Json::Parse(args.Serialize()));
        TCC_ASSIGN_OR_RETURN(Json answer,
                             ServeChainRequest(*served.ledger, op, sent, max_result_bytes));
        return Json::Parse(answer.Serialize());
      });
}

TEST_CASE("every chain call through requests answers as the ledger does") {
  TempDir dir;
  Served served;
  auto opened = LocalLedger::Open({.path = dir.Sub("ledger")});
  REQUIRE(opened.ok());
  served.ledger = std::move(opened).value();
  Serve(served);
  ChainAdapter& remote = *served.remote;
  ChainAdapter& ledger = *served.ledger;

  auto did = remote.RegisterDid("did:web:a", B("doc1"));
  REQUIRE_MESSAGE(did.ok(), did.error().ToString());
  CHECK(did->value.version == 1);
  CHECK(ledger.ResolveDid("did:web:a", std::nullopt).value() == *did);
  auto updated = remote.UpdateDid("did:web:a", B("doc2"));
  REQUIRE(updated.ok());
  CHECK(remote.ResolveDid("did:web:a", 1).value() == *did);
  CHECK(remote.ResolveDid("did:web:a", std::nullopt).value() == *updated);
  // Errors keep their codes across the requests.
  CHECK(remote.RegisterDid("did:web:a", B("other")).error().code() == ErrorCode::kAlreadyExists);
  CHECK(remote.ResolveDid("did:web:b", std::nullopt).error().code() == ErrorCode::kNotFound);

  Bytes content = B("{\"v\":1}");
  TemplateVersion version{"tst:1", 1, "did:key:alice", content, Sha256(content)};
  auto published = remote.PublishTemplate(version);
  REQUIRE(published.ok());
  CHECK(published->value == version);
  CHECK(remote.GetTemplate("tst:1", std::nullopt).value() ==
        ledger.GetTemplate("tst:1", 1).value());
  TemplateVersion mallory = version;
  mallory.version = 2;
  mallory.owner_did = "did:key:mallory";
  CHECK(remote.PublishTemplate(mallory).error().code() == ErrorCode::kPermissionDenied);
  CHECK(remote.ListTemplates("").value() == ledger.ListTemplates("").value());

  auto tic = remote.RecordTic({"tic-1", "did:key:tcc", B("tic one")});
  REQUIRE(tic.ok());
  CHECK(remote.GetTic("tic-1").value() == ledger.GetTic("tic-1").value());
  CHECK(remote.RecordTic({"tic-1", "did:key:other", B("tic one")}).error().code() ==
        ErrorCode::kConflict);

  auto anchored = remote.Anchor({"batch-1", HashOf("root"), 3});
  REQUIRE(anchored.ok());
  CHECK(remote.FindAnchor("batch-1").value() == *anchored);
  CHECK(remote.FindAnchorByRoot(HashOf("root")).value() == *anchored);
  CHECK(remote.FindAnchor("batch-2").error().code() == ErrorCode::kNotFound);

  auto status = remote.Status();
  REQUIRE(status.ok());
  CHECK(status->adapter == ledger.Status().value().adapter);
  CHECK(status->height == ledger.Status().value().height);
  CHECK(remote.PollEvents({}).error().code() == ErrorCode::kPermissionDenied);
  CHECK(served.ledger->Verify().value().ok());
}

TEST_CASE("malformed chain requests are refused before the ledger is touched") {
  TempDir dir;
  auto opened = LocalLedger::Open({.path = dir.Sub("ledger")});
  REQUIRE(opened.ok());
  LocalLedger& ledger = **opened;
  const std::uint64_t height = ledger.Status().value().height;
  auto refused = [&](ChainOp op, const std::string& args) {
    auto json = Json::Parse(args);
    REQUIRE(json.ok());
    auto result = ServeChainRequest(ledger, op, *json, 200 * 1024);
    REQUIRE_FALSE(result.ok());
    return result.error();
  };
  CHECK(refused(ChainOp::kRegisterDid, R"({"did":"did:web:a","document":"ABCD"})").code() ==
        ErrorCode::kInvalidArgument);  // not lowercase hex
  CHECK(refused(ChainOp::kRegisterDid, R"({"did":"did:web:a","document":"abc"})").code() ==
        ErrorCode::kInvalidArgument);  // odd length
  CHECK(refused(ChainOp::kRegisterDid, R"({"did":"did:web:a","document":"ab","extra":1})").code() ==
        ErrorCode::kInvalidArgument);
  CHECK(refused(ChainOp::kRecordTic, R"({"tic":{"tic":"t","tcc":"did:key:x"}})").code() ==
        ErrorCode::kInvalidArgument);  // no content
  CHECK(
      refused(ChainOp::kAnchor, R"({"anchor":{"batch":"b","root":"00","leaf_count":1}})").code() ==
      ErrorCode::kInvalidArgument);  // short root
  CHECK(refused(ChainOp::kResolveDid, R"({"did":7})").code() == ErrorCode::kInvalidArgument);
  CHECK(refused(ChainOp::kResolveDid, R"({"did":"did:web:a","version":0})").code() ==
        ErrorCode::kInvalidArgument);
  CHECK(refused(ChainOp::kStatus, R"({"x":1})").code() == ErrorCode::kInvalidArgument);
  CHECK(ledger.Status().value().height == height);

  // An answer larger than a reply may carry is refused, not cut.
  Bytes big(4096, 'x');
  REQUIRE(ledger.RegisterDid("did:web:big", big).ok());
  auto json = Json::Parse(R"({"did":"did:web:big"})");
  CHECK(ServeChainRequest(ledger, ChainOp::kResolveDid, *json, 1024).error().code() ==
        ErrorCode::kResourceExhausted);
  CHECK(ServeChainRequest(ledger, ChainOp::kResolveDid, *json, 200 * 1024).ok());

  CHECK(ChainOpFromName("record_tic") == ChainOp::kRecordTic);
  CHECK_FALSE(ChainOpFromName("drop_ledger").has_value());
  CHECK(IsChainWrite(ChainOp::kAnchor));
  CHECK_FALSE(IsChainWrite(ChainOp::kFindAnchorByRoot));
}

}  // namespace
}  // namespace tcc::chain
