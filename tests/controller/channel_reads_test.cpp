// channel.sync and evidence.get (channel_reads.h) alone, over a real store in a temporary
// directory. This test is the part's loop host: it runs the worker half of each request at once and
// keeps the answers.
#include "channel_reads.h"

#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "chain/chain_test_util.h"
#include "channel_runtime.h"
#include "channel_store.h"
#include "loop_host.h"
#include "store_records_test_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/protocol.h"
#include "tcc/wire/transport.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;
using namespace testing;

const std::string kChannel(64, 'a');

class TestHost final : public LoopHost {
 public:
  std::vector<wire::Message> replies;
  std::vector<Error> errors;
  std::size_t large_requests = 0;

  void Reply(const Requester&, std::string frame) override {
    replies.push_back(Ok(wire::DecodeMessage(frame)));
  }
  void ReplyError(const Requester&, const Error& error) override { errors.push_back(error); }
  void CountRejection(const Error&) override {}
  std::size_t Publish(ChannelRuntime&, std::string_view, std::optional<Role>,
                      const Requester*) override {
    FAIL("reads publish nothing");
    return 0;
  }
  void Async(std::function<Task()> work) override { work()(); }
  void PeerAsync(const Requester&, bool large, std::function<Task()> work) override {
    large_requests += large ? 1 : 0;
    work()();
  }
  StoreWriter::Done OnLoop(std::function<void(const Status&)> done) override { return done; }
  Status StoreStatus() const override { return OkStatus(); }
  void OnStoreWriteFailed(std::string_view what, const std::string&, const Error&) override {
    FAIL("reads write nothing: " << what);
  }
  Connection* LiveConnection(const Requester&) override { return nullptr; }
  bool draining() const override { return false; }
};

// Stores TSCs 1..`stored`; the runtime's acknowledged head is `acknowledged`.
struct Fixture {
  TempDir dir;
  std::unique_ptr<ChannelStore> store = Ok(ChannelStore::Open(dir.Sub("store")));
  TestHost host;
  ChannelReads reads{host, *store};
  std::vector<SettlementCommit> commits;

  ChannelRuntime Channel(std::uint64_t acknowledged) {
    return ChannelRuntime(acknowledged == 0 ? NewChannel(kChannel) : commits[acknowledged - 1].channel);
  }
  void Store(std::uint64_t stored, std::size_t pad = 0, std::uint64_t evidence_at = 0) {
    for (std::uint64_t seq = 1; seq <= stored; ++seq) {
      commits.push_back(CommitOf(kChannel, seq, seq == evidence_at, pad));
    }
    RequireOk(store->CommitSettlements(commits));
  }
};

wire::Message Request(wire::MessageType type, std::string_view member, std::uint64_t value,
                      std::optional<std::uint64_t> limit = std::nullopt) {
  wire::FrameBuilder frame(type, 7);
  frame.Add("channel", kChannel).Add(member, value);
  if (limit) frame.Add("limit", *limit);
  return Ok(wire::DecodeMessage(frame.Finish()));
}

std::vector<std::uint64_t> Seqs(const wire::Message& reply) {
  std::vector<std::uint64_t> seqs;
  const Json* tscs = reply.body.Find("tscs");
  REQUIRE(tscs != nullptr);
  for (const Json& tsc : tscs->as_array()) {
    seqs.push_back(static_cast<std::uint64_t>(tsc.Find("seq")->as_number()));
  }
  return seqs;
}

TEST_CASE("channel.sync answers the acknowledged TSCs only, from `after`, at most `limit`") {
  Fixture fixture;
  fixture.Store(5);
  ChannelRuntime channel = fixture.Channel(3);  // 4 and 5 stored, not acknowledged yet
  const Requester from{false, "peer", 7};

  fixture.reads.Sync(from, channel, Request(wire::MessageType::kChannelSync, "after", 0));
  REQUIRE(fixture.host.replies.size() == 1);
  CHECK(Seqs(fixture.host.replies[0]) == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(fixture.host.replies[0].body.Find("last_seq")->as_number() == 3);

  fixture.reads.Sync(from, channel, Request(wire::MessageType::kChannelSync, "after", 1, 1));
  REQUIRE(fixture.host.replies.size() == 2);
  CHECK(Seqs(fixture.host.replies[1]) == std::vector<std::uint64_t>{2});
  CHECK(fixture.host.large_requests == 2);
  CHECK(fixture.host.errors.empty());
}

TEST_CASE("channel.sync stops before the frame limit, but answers at least one TSC") {
  Fixture fixture;
  // Each TSC is a third of the reply budget: two fit, the third would not.
  fixture.Store(4, wire::kMaxFrameBytes / 6);
  ChannelRuntime channel = fixture.Channel(4);
  fixture.reads.Sync({false, "peer", 7}, channel,
                     Request(wire::MessageType::kChannelSync, "after", 0));
  REQUIRE(fixture.host.replies.size() == 1);
  CHECK(Seqs(fixture.host.replies[0]) == std::vector<std::uint64_t>{1, 2});
  CHECK(fixture.host.replies[0].body.Find("last_seq")->as_number() == 4);
}

TEST_CASE("evidence.get: the covering bundle, not anchored yet, or no such TSC") {
  Fixture fixture;
  fixture.Store(3, 0, /*evidence_at=*/2);
  const chain::EvidenceItem item = *fixture.commits[1].evidence;
  RequireOk(fixture.store->SaveBatch({"batch-1", {item}}));
  chain::EvidenceBatchBuilder builder;
  (void)Ok(builder.Add(item));
  chain::EvidenceBatch batch = Ok(builder.Build("batch-1"));
  const chain::ChainReceipt receipt{"local", 7, HexEncode(Sha256("tx")), Sha256("block"),
                                    1700000001007};
  const std::vector<chain::EvidenceBundle> bundles = {Ok(batch.Bundle(0, receipt))};
  RequireOk(fixture.store->CompleteBatch("batch-1", bundles));
  ChannelRuntime channel = fixture.Channel(3);
  channel.anchored_seq = 2;
  const Requester from{false, "peer", 7};

  // TSC 1 is committed through the hash chain to TSC 2, which the bundle anchors.
  fixture.reads.EvidenceGet(from, channel, Request(wire::MessageType::kEvidenceGet, "seq", 1));
  REQUIRE(fixture.host.replies.size() == 1);
  const wire::Message& answer = fixture.host.replies[0];
  CHECK(answer.body.Find("seq")->as_number() == 1);
  CHECK(answer.body.Find("anchored_seq")->as_number() == 2);
  const chain::EvidenceBundle bundle =
      Ok(chain::ParseEvidenceBundle(answer.body.Find("bundle")->Serialize()));
  CHECK(bundle.item.seq == 2);
  CHECK(bundle.batch_id == "batch-1");

  fixture.reads.EvidenceGet(from, channel, Request(wire::MessageType::kEvidenceGet, "seq", 3));
  REQUIRE(fixture.host.errors.size() == 1);
  CHECK(fixture.host.errors[0].code() == ErrorCode::kUnavailable);
  CHECK(fixture.host.errors[0].message().find("not anchored yet") != std::string::npos);

  fixture.reads.EvidenceGet(from, channel, Request(wire::MessageType::kEvidenceGet, "seq", 4));
  REQUIRE(fixture.host.errors.size() == 2);
  CHECK(fixture.host.errors[1].code() == ErrorCode::kNotFound);
  CHECK(fixture.host.replies.size() == 1);
}

}  // namespace
}  // namespace tcc::controller
