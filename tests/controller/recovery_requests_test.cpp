// Recovery requests (recovery_requests.h) alone, over the parts daemon.cpp wires below them
// (request_parts_test_util.h: real store, store writer, anchor service, resolver, RecoveryBook)
// and the example GPU-hour TST. Covered: what is refused without any change, and how the
// recovering state ends (an operator's word; both parties having presented). Restoring real
// signed TSCs is left to the daemon's recovery test, which has a TCC that issued them.
#include "recovery_requests.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "daemon/daemon_test_util.h"
#include "request_parts_test_util.h"
#include "tcc/common/bytes.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {
namespace {

using testing::Ok;
using testing::Request;
using wire::FrameBuilder;
using wire::MessageType;

const std::string kChannel(64, 'a');

struct Fixture {
  testing::RequestParts parts;
  ChannelRuntime& channel = parts.AddChannel(kChannel);

  Fixture() {
    channel.tst = std::make_shared<vc::Template>(
        tcc::testing::Trade::Example("gpu-hour.tst.json", channel.record().provider));
  }

  // Marks the channel recovering, in memory and as persisted (as start-up's cross-check does).
  void MarkRecovering() {
    REQUIRE(parts.recovery.Add(RecoveringChannel{kChannel, 0, 3, "store behind the chain"}));
    REQUIRE(parts.store->PutValue(kRecoveryValueName, parts.recovery.Serialize()).ok());
  }
  std::size_t PersistedRecovering() {
    RecoveryBook book;
    REQUIRE(book.Load(*parts.store).ok());
    return book.size();
  }
  void Recover(std::optional<Role> role, JsonArray tscs, std::optional<bool> finish = {},
               std::uint64_t id = 7) {
    FrameBuilder frame(role ? MessageType::kChannelRecover : MessageType::kControlRecover, id);
    frame.Add("channel", kChannel).Add("tscs", Json(std::move(tscs)));
    if (finish) frame.Add("finish", *finish);
    const wire::Message message = Request(std::move(frame));
    parts.recoveries->Recover(Requester{!role, role ? "party" : "operator", id, {}, 1}, role,
                              channel, message);
  }
};

TEST_CASE("control.recover on a channel that is not recovering is refused as a conflict") {
  Fixture f;
  f.Recover(std::nullopt, {});
  REQUIRE(f.parts.host.errors.size() == 1);
  CHECK(f.parts.host.errors[0].code() == ErrorCode::kConflict);
  CHECK(f.parts.host.errors[0].message() == "channel " + kChannel + " is not recovering");
  CHECK(f.parts.host.rejected["conflict"] == 1);
  CHECK(f.parts.host.replies.empty());
  CHECK(f.parts.recovery.size() == 0);
}

TEST_CASE("a presented TSC of another channel is refused and the channel stays recovering") {
  Fixture f;
  f.MarkRecovering();
  Json other = Json::Object();
  Json subject = Json::Object();
  subject.Set("channel", std::string(64, 'c'));
  subject.Set("seq", 1);
  subject.Set("prev", std::string(64, '0'));
  other.Set("credentialSubject", std::move(subject));
  f.Recover(std::nullopt, JsonArray{other});
  REQUIRE(f.parts.host.errors.size() == 1);
  CHECK(f.parts.host.errors[0].code() == ErrorCode::kInvalidArgument);
  CHECK(f.parts.host.errors[0].message().find("is for channel " + std::string(64, 'c')) !=
        std::string::npos);
  CHECK(f.parts.host.rejected["invalid_argument"] == 1);
  CHECK(f.parts.host.store_failures.empty());
  CHECK(f.parts.recovery.Find(kChannel).has_value());
  CHECK(f.PersistedRecovering() == 1);
  CHECK(f.channel.machine.acknowledged().seq == 0);
}

TEST_CASE("an operator's control.recover ends the recovering state unless told not to") {
  Fixture f;
  f.MarkRecovering();
  // finish: false restores (nothing here) and keeps the channel recovering.
  f.Recover(std::nullopt, {}, false, 1);
  REQUIRE(f.parts.host.replies.size() == 1);
  CHECK(f.parts.host.replies[0].body.Find("recovering")->as_bool());
  CHECK(f.parts.host.replies[0].body.Find("restored")->as_number() == 0);
  CHECK(f.parts.recovery.Find(kChannel).has_value());

  f.Recover(std::nullopt, {}, std::nullopt, 2);
  // Out of the book at once; answered once the book without it is stored.
  CHECK_FALSE(f.parts.recovery.Find(kChannel).has_value());
  CHECK(f.parts.host.replies.size() == 1);
  f.parts.host.RunStoreCompletion();
  REQUIRE(f.parts.host.replies.size() == 2);
  CHECK(f.parts.host.replies[1].id == 2);
  CHECK_FALSE(f.parts.host.replies[1].body.Find("recovering")->as_bool());
  CHECK(f.parts.host.replies[1].body.Find("channel")->as_string() == kChannel);
  CHECK(f.PersistedRecovering() == 0);
  CHECK(f.parts.host.errors.empty());
}

TEST_CASE("parties end the recovering state once provider and consumer both presented") {
  Fixture f;
  f.MarkRecovering();
  f.Recover(Role::kProvider, {}, std::nullopt, 1);
  f.Recover(Role::kAuditor, {}, std::nullopt, 2);
  REQUIRE(f.parts.host.replies.size() == 2);
  CHECK(f.parts.host.replies[0].body.Find("recovering")->as_bool());
  CHECK(f.parts.host.replies[1].body.Find("recovering")->as_bool());
  CHECK(f.parts.recovery.Find(kChannel).has_value());

  f.Recover(Role::kConsumer, {}, std::nullopt, 3);
  CHECK_FALSE(f.parts.recovery.Find(kChannel).has_value());
  f.parts.host.RunStoreCompletion();
  REQUIRE(f.parts.host.replies.size() == 3);
  CHECK_FALSE(f.parts.host.replies[2].body.Find("recovering")->as_bool());
  CHECK(f.PersistedRecovering() == 0);
}

TEST_CASE("TSCs that continue the stored head are committed and the channel leaves recovering") {
  testing::RequestParts parts;
  // Real parties' joint claims over the example TST, issued with the TCC's key (parts.key).
  tcc::testing::Trade trade;
  trade.channel_id = kChannel;
  trade.tst = std::make_shared<vc::Template>(
      tcc::testing::Trade::Example("gpu-hour.tst.json", tcc::testing::DidOf(*trade.provider)));
  ChannelRecord record = testing::NewChannel(kChannel);
  record.provider = tcc::testing::DidOf(*trade.provider);
  record.consumer = tcc::testing::DidOf(*trade.consumer);
  REQUIRE(parts.store->PutChannel(record).ok());
  ChannelRuntime& channel =
      parts.channels.emplace(kChannel, ChannelRuntime(Ok(parts.store->GetChannel(kChannel))))
          .first->second;
  channel.tst = trade.tst;
  std::vector<Json> tscs;
  std::vector<chain::Hash256> hashes;
  std::string prev = HexEncode(record.last_hash);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    vc::CanonicalCredential issued =
        Ok(vc::IssueCanonicalTsc(trade.Cosign(trade.Proposal(seq, prev)), *trade.tst, parts.key));
    tscs.push_back(Ok(Json::Parse(issued.text)));
    hashes.push_back(issued.digest);
    prev = HexEncode(issued.digest);
  }
  REQUIRE(parts.recovery.Add(RecoveringChannel{kChannel, 0, 3, "store behind the chain"}));
  auto recover = [&](JsonArray presented, std::uint64_t id) {
    FrameBuilder frame(MessageType::kControlRecover, id);
    frame.Add("channel", kChannel).Add("tscs", Json(std::move(presented)));
    parts.recoveries->Recover(Requester{true, "operator", id, {}, 1}, std::nullopt, channel,
                              Request(std::move(frame)));
  };

  // Seq 2 and 3 without seq 1 do not continue the head: nothing taken, still recovering.
  recover(JsonArray{tscs[1], tscs[2]}, 1);
  REQUIRE(parts.host.replies.size() == 1);
  CHECK(parts.host.replies[0].body.Find("restored")->as_number() == 0);
  CHECK(parts.host.replies[0].body.Find("recovering")->as_bool());
  CHECK(parts.host.replies[0].body.Find("not_taken")->as_string().find("seq 1 is missing") !=
        std::string::npos);
  CHECK(parts.recovery.Find(kChannel).has_value());
  CHECK_FALSE(parts.store->GetTsc(kChannel, 1).ok());
  CHECK(channel.machine.acknowledged().seq == 0);

  // All three, out of order: committed after the stored head, and the state ends.
  recover(JsonArray{tscs[2], tscs[0], tscs[1]}, 2);
  CHECK_FALSE(parts.recovery.Find(kChannel).has_value());
  CHECK(channel.machine.acknowledged().seq == 3);
  CHECK(channel.machine.acknowledged().hash == hashes[2]);
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    CHECK(Ok(parts.store->GetTsc(kChannel, seq)).tsc_hash == hashes[seq - 1]);
  }
  CHECK(Ok(parts.store->GetChannel(kChannel)).last_seq == 3);
  CHECK(parts.anchor->stats().queued_items == 1);  // the last restored TSC's evidence
  parts.host.RunStoreCompletion();
  REQUIRE(parts.host.replies.size() == 2);
  CHECK(parts.host.replies[1].body.Find("restored")->as_number() == 3);
  CHECK(parts.host.replies[1].body.Find("last_seq")->as_number() == 3);
  CHECK_FALSE(parts.host.replies[1].body.Find("recovering")->as_bool());
  CHECK(parts.host.errors.empty());
  CHECK(parts.host.store_failures.empty());
}

}  // namespace
}  // namespace tcc::controller
