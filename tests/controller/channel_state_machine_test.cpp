// ChannelStateMachine alone: sequences of events (submissions, issue and commit outcomes, closes,
// settings changes, store failure and recovery, rejections) and the effects they produce. No
// socket, store or worker: the test plays the daemon's part and feeds the outcomes back.
#include "channel_state_machine.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"
#include "tcc/wire/dispute.h"

namespace tcc::controller {
namespace {

const std::string kChannel(64, 'a');
const chain::Hash256 kChannelHash = Sha256DigestFromHex(kChannel).value();

std::string HashOf(std::string_view text) { return HexEncode(Sha256(AsBytes(text))); }

ChannelRecord OpenRecord() {
  ChannelRecord record;
  record.channel_id = kChannel;
  record.provider = "did:key:provider";
  record.consumer = "did:key:consumer";
  record.last_hash = kChannelHash;  // no TSC yet: the channel id
  return record;
}

Requester Asker(std::uint64_t request_id) {
  Requester requester;
  requester.routing_id = "peer";
  requester.request_id = request_id;
  return requester;
}

Submission Claim(std::uint64_t seq, std::string prev, std::string amount = "10") {
  Submission submission;
  submission.requester = Asker(seq * 100);
  submission.link = {kChannel, seq, prev};
  submission.claim = Json::Object();
  submission.claim.Set("channel", kChannel);
  submission.claim.Set("seq", seq);
  submission.claim.Set("prev", prev);
  submission.claim.Set("amount", amount);
  return submission;
}

Submission Claim(std::uint64_t seq, const chain::Hash256& prev, std::string amount = "10") {
  return Claim(seq, HexEncode(prev), std::move(amount));
}

TscRecord TscFor(const Submission& submission) {
  TscRecord tsc;
  tsc.channel_id = kChannel;
  tsc.seq = submission.link.seq;
  tsc.tsc = "{\"seq\":" + std::to_string(tsc.seq) + "}";
  tsc.tsc_hash = Sha256(tsc.tsc);
  return tsc;
}

const Status kStoreOk = OkStatus();
const Status kStoreFailed = Error(ErrorCode::kUnavailable, "the store cannot write (disk full)");

template <typename T>
std::vector<T> Of(const Effects& effects) {
  std::vector<T> found;
  for (const auto& effect : effects) {
    if (const T* one = std::get_if<T>(&effect)) found.push_back(*one);
  }
  return found;
}

// Runs a submission through issue and commit, as the daemon would with a store that works.
TscRecord Settle(ChannelStateMachine& channel, std::uint64_t n = 1000) {
  const std::uint64_t seq = channel.record().last_seq + 1;
  Effects started = channel.Submit(Claim(seq, channel.record().last_hash), 8, kStoreOk);
  REQUIRE(Of<effect::Issue>(started).size() == 1);
  const Submission submission = Of<effect::Issue>(started)[0].submission;
  const TscRecord tsc = TscFor(submission);
  Effects issued = channel.Issued(submission.requester, tsc, n, kStoreOk);
  REQUIRE(Of<effect::Commit>(issued).size() == 1);
  const effect::Commit commit = Of<effect::Commit>(issued)[0];
  channel.Committed(commit.requester, commit.commit.tsc, commit.commit.evidence, kStoreOk);
  return tsc;
}

TEST_CASE("a submission is issued, committed, then acknowledged; the next one follows it") {
  ChannelStateMachine channel(OpenRecord());
  Effects started = channel.Submit(Claim(1, kChannel), 8, kStoreOk);
  REQUIRE(started.size() == 1);
  REQUIRE(std::holds_alternative<effect::Issue>(started[0]));
  CHECK(channel.in_flight());

  const Submission submission = std::get<effect::Issue>(started[0]).submission;
  const TscRecord tsc = TscFor(submission);
  Effects issued = channel.Issued(submission.requester, tsc, 1000, kStoreOk);
  REQUIRE(issued.size() == 1);
  const auto& commit = std::get<effect::Commit>(issued[0]);
  CHECK(commit.commit.channel.last_seq == 1);
  CHECK(commit.commit.channel.last_hash == tsc.tsc_hash);
  CHECK_FALSE(commit.commit.evidence.has_value());  // N = 1000: no evidence yet
  // The pending head moved; the acknowledged one did not.
  CHECK(channel.record().last_seq == 1);
  CHECK(channel.acknowledged().seq == 0);
  CHECK(channel.acknowledged().hash == kChannelHash);

  Effects done = channel.Committed(commit.requester, commit.commit.tsc, std::nullopt, kStoreOk);
  REQUIRE(done.size() == 1);
  const auto& ack = std::get<effect::Acknowledge>(done[0]);
  CHECK(ack.to.request_id == submission.requester.request_id);
  CHECK(ack.tsc.seq == 1);
  CHECK(channel.acknowledged().seq == 1);
  CHECK(channel.acknowledged().hash == tsc.tsc_hash);
  CHECK_FALSE(channel.in_flight());

  const TscRecord second = Settle(channel);
  CHECK(second.seq == 2);
  CHECK(channel.acknowledged().seq == 2);
}

TEST_CASE("a failed commit rolls the pending head back to the acknowledged one") {
  ChannelStateMachine channel(OpenRecord());
  const TscRecord first = Settle(channel, /*n=*/2);
  Effects started = channel.Submit(Claim(2, first.tsc_hash), 8, kStoreOk);
  const Submission submission = Of<effect::Issue>(started).at(0).submission;
  Effects issued = channel.Issued(submission.requester, TscFor(submission), 2, kStoreOk);
  const effect::Commit commit = Of<effect::Commit>(issued).at(0);
  REQUIRE(commit.commit.evidence.has_value());  // every 2nd TSC carries evidence
  CHECK(channel.record().evidence_seq == 2);
  // A third claim waits behind the one in flight.
  const std::string guessed_prev = HexEncode(commit.commit.tsc.tsc_hash);
  CHECK(channel.Submit(Claim(3, guessed_prev), 8, kStoreOk).empty());
  CHECK(channel.waiting() == 1);

  Effects failed =
      channel.CommitFailed(commit.requester, Error(ErrorCode::kIo, "no space"), kStoreFailed);
  CHECK(channel.record().last_seq == 1);
  CHECK(channel.record().last_hash == first.tsc_hash);
  CHECK(channel.record().evidence_seq == 0);
  CHECK(channel.acknowledged().seq == 1);
  CHECK_FALSE(channel.in_flight());
  // The submitter is told it is not issued; the waiting claim is refused while the store fails
  // (it named a head that no longer exists anyway).
  const auto refused = Of<effect::Refuse>(failed);
  REQUIRE(refused.size() == 2);
  CHECK(refused[0].to.request_id == commit.requester.request_id);
  CHECK(refused[0].error.code() == ErrorCode::kUnavailable);
  CHECK(refused[0].error.message().find("no space") != std::string::npos);
  CHECK(refused[1].error.message() == kStoreFailed.error().message());
  CHECK(Of<effect::Issue>(failed).empty());
  CHECK(channel.waiting() == 0);

  // Nothing starts while the store fails, but a settled seq is still served as a replay.
  Effects while_failed = channel.Submit(Claim(2, first.tsc_hash), 8, kStoreFailed);
  CHECK(Of<effect::Refuse>(while_failed).size() == 1);
  Effects replay = channel.Submit(Claim(1, kChannel), 8, kStoreFailed);
  CHECK(Of<effect::Replay>(replay).size() == 1);
}

TEST_CASE("recovery reloads the head the store holds, also one a failed commit wrote") {
  ChannelStateMachine channel(OpenRecord());
  Settle(channel);
  Effects started = channel.Submit(Claim(2, channel.record().last_hash), 8, kStoreOk);
  const Submission submission = Of<effect::Issue>(started).at(0).submission;
  const TscRecord tsc = TscFor(submission);
  const effect::Commit commit =
      Of<effect::Commit>(channel.Issued(submission.requester, tsc, 1000, kStoreOk)).at(0);
  channel.CommitFailed(commit.requester, Error(ErrorCode::kIo, "sync failed"), kStoreFailed);
  REQUIRE(channel.record().last_seq == 1);

  // The sync failed after the append: the store holds seq 2.
  CHECK(channel.ReloadHead(commit.commit.channel) == 1);
  CHECK(channel.record().last_seq == 2);
  CHECK(channel.acknowledged().seq == 2);
  CHECK(channel.acknowledged().hash == tsc.tsc_hash);
  // The same claim is now a replay, the next seq follows the reloaded head.
  CHECK(Of<effect::Replay>(channel.Submit(Claim(2, tsc.tsc_hash), 8, kStoreOk)).size() == 1);
  CHECK(Of<effect::Issue>(channel.Submit(Claim(3, tsc.tsc_hash), 8, kStoreOk)).size() == 1);
}

TEST_CASE("submissions that do not follow the head are refused, not started") {
  ChannelStateMachine channel(OpenRecord());
  auto refused = Of<effect::Refuse>(channel.Submit(Claim(2, kChannel), 8, kStoreOk));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error.code() == ErrorCode::kConflict);
  CHECK(refused[0].counted);
  refused = Of<effect::Refuse>(channel.Submit(Claim(1, Sha256("other")), 8, kStoreOk));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error.code() == ErrorCode::kVerificationFailed);
  CHECK_FALSE(channel.in_flight());
}

TEST_CASE("the waiting queue is bounded and runs in order once the claim in flight is done") {
  ChannelStateMachine channel(OpenRecord());
  Effects started = channel.Submit(Claim(1, kChannel), 2, kStoreOk);
  const Submission first = Of<effect::Issue>(started).at(0).submission;
  const TscRecord tsc = TscFor(first);
  CHECK(channel.Submit(Claim(2, tsc.tsc_hash), 2, kStoreOk).empty());
  CHECK(channel.Submit(Claim(2, tsc.tsc_hash, "11"), 2, kStoreOk).empty());
  auto over = Of<effect::Refuse>(channel.Submit(Claim(2, tsc.tsc_hash, "12"), 2, kStoreOk));
  REQUIRE(over.size() == 1);
  CHECK(over[0].error.code() == ErrorCode::kResourceExhausted);

  // The claim in flight fails to verify: the first waiting one starts, the second waits on.
  Effects failed = channel.IssueFailed(
      first.requester, Error(ErrorCode::kVerificationFailed, "bad proof"), kStoreOk);
  // The waiting claims name seq 2, which does not follow the head (seq 1 was never issued): they
  // are refused in order after the failed one.
  const auto refused = Of<effect::Refuse>(failed);
  REQUIRE(refused.size() == 3);
  CHECK(refused[0].to.request_id == first.requester.request_id);
  CHECK(refused[0].error.code() == ErrorCode::kVerificationFailed);
  CHECK(refused[1].error.code() == ErrorCode::kConflict);
  CHECK(refused[2].error.code() == ErrorCode::kConflict);
  CHECK(Of<effect::Issue>(failed).empty());
  CHECK(channel.waiting() == 0);
  CHECK_FALSE(channel.in_flight());

  // Queue behind a real head: both wait, and run one after the other.
  Settle(channel);
  const std::string head = HexEncode(channel.record().last_hash);
  Effects again = channel.Submit(Claim(2, head), 2, kStoreOk);
  const Submission second = Of<effect::Issue>(again).at(0).submission;
  CHECK(channel.Submit(Claim(2, head, "99"), 2, kStoreOk).empty());  // same seq, other claim
  const TscRecord second_tsc = TscFor(second);
  const effect::Commit commit =
      Of<effect::Commit>(channel.Issued(second.requester, second_tsc, 1000, kStoreOk)).at(0);
  Effects done = channel.Committed(commit.requester, commit.commit.tsc, std::nullopt, kStoreOk);
  REQUIRE(done.size() == 2);
  CHECK(std::holds_alternative<effect::Acknowledge>(done[0]));
  // The waiting claim names seq 2, settled now: a replay (the daemon finds it is a fork).
  CHECK(std::holds_alternative<effect::Replay>(done[1]));
}

TEST_CASE("evidence goes to the anchor service only once its commit is durable") {
  ChannelStateMachine channel(OpenRecord());
  Effects started = channel.Submit(Claim(1, kChannel), 8, kStoreOk);
  const Submission submission = Of<effect::Issue>(started).at(0).submission;
  const effect::Commit commit =
      Of<effect::Commit>(channel.Issued(submission.requester, TscFor(submission), 1, kStoreOk))
          .at(0);
  REQUIRE(commit.commit.evidence.has_value());
  CHECK(commit.commit.evidence->seq == 1);
  CHECK(channel.acknowledged().evidence_seq == 0);
  Effects done =
      channel.Committed(commit.requester, commit.commit.tsc, commit.commit.evidence, kStoreOk);
  REQUIRE(done.size() == 2);
  CHECK(std::get<effect::SubmitEvidence>(done[0]).item.seq == 1);
  CHECK(std::holds_alternative<effect::Acknowledge>(done[1]));
  CHECK(channel.acknowledged().evidence_seq == 1);
}

TEST_CASE("a settings change waits for the commit in flight and for the store") {
  ChannelStateMachine channel(OpenRecord());
  channel.SetNOverride(5);
  CHECK(Of<effect::WriteSettings>(channel.SettingsChanged(kStoreOk)).size() == 1);
  CHECK_FALSE(channel.settings_dirty());

  Effects started = channel.Submit(Claim(1, kChannel), 8, kStoreOk);
  const Submission submission = Of<effect::Issue>(started).at(0).submission;
  channel.SetNOverride(7);
  CHECK(channel.SettingsChanged(kStoreOk).empty());
  CHECK(channel.settings_dirty());
  const effect::Commit commit =
      Of<effect::Commit>(channel.Issued(submission.requester, TscFor(submission), 1000, kStoreOk))
          .at(0);
  // The commit carries the change, so it is no longer waiting...
  CHECK(commit.commit.channel.n_override == 7);
  CHECK_FALSE(channel.settings_dirty());
  channel.SetNOverride(9);  // ...but one made while the commit is in flight is
  CHECK(channel.SettingsChanged(kStoreOk).empty());
  Effects done = channel.Committed(commit.requester, commit.commit.tsc, std::nullopt, kStoreOk);
  CHECK(Of<effect::WriteSettings>(done).size() == 1);

  channel.SetNOverride(3);
  CHECK(channel.SettingsChanged(kStoreFailed).empty());
  CHECK(channel.settings_dirty());
  channel.SettingsNotStored();
  CHECK(channel.settings_dirty());
}

TEST_CASE("a close waits for the claim in flight and for the store, and refuses what waits") {
  ChannelStateMachine channel(OpenRecord());
  Effects started = channel.Submit(Claim(1, kChannel), 8, kStoreOk);
  const Submission submission = Of<effect::Issue>(started).at(0).submission;
  const TscRecord tsc = TscFor(submission);
  CHECK(channel.Submit(Claim(2, tsc.tsc_hash), 8, kStoreOk).empty());
  CHECK(channel.RequestClose(kStoreOk).empty());  // in flight: later
  CHECK(channel.closing());
  CHECK(channel.ended());
  CHECK(channel.RequestClose(kStoreOk).empty());  // asked again: nothing new

  const effect::Commit commit =
      Of<effect::Commit>(channel.Issued(submission.requester, tsc, 1000, kStoreOk)).at(0);
  // The store fails meanwhile: the close waits for its recovery. The waiting claim is refused
  // because the channel is closing.
  Effects done = channel.Committed(commit.requester, commit.commit.tsc, std::nullopt, kStoreFailed);
  CHECK(Of<effect::Close>(done).empty());
  REQUIRE(Of<effect::Refuse>(done).size() == 1);
  CHECK(Of<effect::Refuse>(done)[0].error.code() == ErrorCode::kConflict);
  Effects recovered = channel.Pump(kStoreOk);
  REQUIRE(recovered.size() == 1);
  REQUIRE(std::holds_alternative<effect::Close>(recovered[0]));

  CHECK(channel.BeginClose().empty());
  CHECK_FALSE(channel.closing());
  const auto write = channel.MarkClosed(1234);
  CHECK(write.record.state == ChannelState::kClosed);
  CHECK(write.record.closed_ms == 1234);
  REQUIRE(write.evidence.has_value());  // the last TSC is anchored at the close
  CHECK(write.evidence->seq == 1);
  CHECK(channel.ended());

  // The write fails: open again and closing, with the evidence seq it had.
  channel.CloseFailed();
  CHECK(channel.record().state == ChannelState::kOpen);
  CHECK(channel.record().evidence_seq == 0);
  CHECK(channel.closing());
  REQUIRE(Of<effect::Close>(channel.Pump(kStoreOk)).size() == 1);
  channel.BeginClose();
  const auto again = channel.MarkClosed(2000);
  channel.CloseStored(again.evidence);
  CHECK(channel.acknowledged().evidence_seq == 1);
  auto refused = Of<effect::Refuse>(channel.Submit(Claim(2, tsc.tsc_hash), 8, kStoreOk));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error.code() == ErrorCode::kConflict);
}

TEST_CASE("a bill the consumer rejected is not issued; an amend is") {
  ChannelStateMachine channel(OpenRecord());
  const Submission rejected = Claim(1, kChannel, "10");
  const Submission amended = Claim(1, kChannel, "8");
  const std::string rejected_content = *wire::ContentHash(rejected.claim);
  const std::string amended_content = *wire::ContentHash(amended.claim);
  Negotiation& negotiation = channel.negotiation();
  CHECK(negotiation.seq() == 1);
  const auto now = Negotiation::Clock::now();
  negotiation.Proposed(HashOf("proposal 1"), rejected_content, now);
  REQUIRE(negotiation.CheckRejection(HashOf("proposal 1")).ok());
  negotiation.Rejected(HashOf("proposal 1"), rejected_content);
  REQUIRE(negotiation.CheckProposal(amended_content, now).ok());
  negotiation.Proposed(HashOf("proposal 2"), amended_content, now);

  auto refused = Of<effect::Refuse>(channel.Submit(rejected, 8, kStoreOk));
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].error.code() == ErrorCode::kConflict);
  CHECK(refused[0].error.message().find("rejected") != std::string::npos);
  CHECK_FALSE(channel.in_flight());

  Effects started = channel.Submit(amended, 8, kStoreOk);
  REQUIRE(Of<effect::Issue>(started).size() == 1);
  const Submission issued = Of<effect::Issue>(started)[0].submission;
  const effect::Commit commit =
      Of<effect::Commit>(channel.Issued(issued.requester, TscFor(issued), 1000, kStoreOk)).at(0);
  channel.Committed(commit.requester, commit.commit.tsc, std::nullopt, kStoreOk);
  // The negotiation moved on to seq 2 with nothing rejected.
  CHECK(channel.negotiation().seq() == 2);
  CHECK_FALSE(channel.negotiation().HasRejections());
}

TEST_CASE(
    "an unsigned bill may be amended without a rejection only once the TIC's timeout passed") {
  Negotiation negotiation;
  negotiation.MoveTo(1);
  const std::string first = HashOf("bill 1");
  const std::string second = HashOf("bill 2");
  const std::string third = HashOf("bill 3");
  const Negotiation::Clock::time_point t0{std::chrono::hours(1)};
  REQUIRE(negotiation.CheckProposal(first, t0, 5).ok());
  negotiation.Proposed(HashOf("proposal 1"), first, t0);

  // Without a timeout in the TIC, only a rejection allows an amend, however long the bill stood.
  const Status no_timeout = negotiation.CheckProposal(second, t0 + std::chrono::hours(24));
  REQUIRE_FALSE(no_timeout.ok());
  CHECK(no_timeout.error().code() == ErrorCode::kConflict);
  CHECK(no_timeout.error().message().find("only after a rejection") != std::string::npos);
  // With one, not before it has passed (the message names it), and from then on.
  const Status early = negotiation.CheckProposal(second, t0 + std::chrono::milliseconds(4999), 5);
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().message().find("amend_after_s") != std::string::npos);
  CHECK(negotiation.CheckProposal(second, t0 + std::chrono::seconds(5), 5).ok());
  // The same bill re-sent later does not restart the clock; a new bill does.
  negotiation.Proposed(HashOf("proposal 1 again"), first, t0 + std::chrono::seconds(4));
  CHECK(negotiation.CheckProposal(second, t0 + std::chrono::seconds(5), 5).ok());
  negotiation.Proposed(HashOf("proposal 2"), second, t0 + std::chrono::seconds(5));
  CHECK(negotiation.IsLatest(HashOf("proposal 2")));
  CHECK_FALSE(negotiation.IsLatest(HashOf("proposal 1")));
  CHECK_FALSE(negotiation.CheckProposal(third, t0 + std::chrono::seconds(9), 5).ok());
  CHECK(negotiation.CheckProposal(third, t0 + std::chrono::seconds(10), 5).ok());
  // A rejected bill stays dead after any timeout.
  negotiation.Rejected(HashOf("proposal 2"), second);
  CHECK_FALSE(negotiation.CheckProposal(second, t0 + std::chrono::hours(24), 5).ok());
  // A timeout of 0 lets the provider amend at once.
  Negotiation immediate;
  immediate.MoveTo(1);
  immediate.Proposed(HashOf("proposal 1"), first, t0);
  CHECK(immediate.CheckProposal(second, t0, 0).ok());
}

TEST_CASE("shutdown evidence names the latest TSC once") {
  ChannelStateMachine channel(OpenRecord());
  CHECK_FALSE(channel.FinalEvidence().has_value());
  const TscRecord tsc = Settle(channel);
  const auto final_item = channel.FinalEvidence();
  REQUIRE(final_item.has_value());
  CHECK(final_item->seq == 1);
  CHECK(final_item->tsc_hash == tsc.tsc_hash);
  channel.EvidenceQueued(final_item->seq);
  CHECK_FALSE(channel.FinalEvidence().has_value());
}

}  // namespace
}  // namespace tcc::controller
