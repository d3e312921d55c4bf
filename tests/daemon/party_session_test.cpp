// PartySession against a real tccd process: what a consumer refuses to co-sign, that a repeated
// submit is answered with the same TSC and applied once, that poll and callback styles see each
// event once, and that fetched evidence is checked end to end.
#include <doctest/doctest.h>

#include "daemon_test_util.h"

namespace tcc::testing {
namespace {

TEST_CASE("PartySession: checks before co-signing, one TSC per seq, events once, verified evidence") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 2);
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, {"--anchor-interval", "50"}));
  auto provider = JoinSession(trade, tccd, trade.provider);
  auto consumer = JoinSession(trade, tccd, trade.consumer);
  CHECK(provider->head().role == "provider");
  CHECK(consumer->head().role == "consumer");
  CHECK(consumer->head().seq == 0);
  CHECK(consumer->head().hash == trade.channel_id);  // seq 1 links to the TIC

  std::vector<std::uint64_t> seen_by_callback;
  consumer->Subscribe([&](const client::SessionEvent& event) {
    if (event.kind == client::SessionEventKind::kTsc) seen_by_callback.push_back(event.seq);
  });

  // Seq 1, settled normally; a second submit of the same joint claim is a replay: the same TSC.
  const Json proposal = NextProposal(*provider, *consumer);
  const Json joint = Unwrap(consumer->Cosign(proposal), "cosign 1");
  CHECK(Unwrap(consumer->Cosign(proposal), "cosign 1 again") == joint);
  const Json tsc = Unwrap(consumer->Submit(joint), "submit 1");
  CHECK(consumer->head().seq == 1);
  CHECK(Unwrap(consumer->Submit(joint), "submit 1 again") == tsc);
  CHECK(consumer->head().seq == 1);
  REQUIRE(provider->AwaitTsc(1, std::chrono::seconds(5)).ok());
  CHECK(provider->head().hash == consumer->head().hash);

  SUBCASE("a proposal that does not continue the channel is refused") {
    Json stale = proposal;  // seq 1 again: settled already
    auto refused = consumer->Cosign(stale);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kConflict);

    Json wrong_prev = trade.Proposal(2, std::string(64, 'a'));
    refused = consumer->Cosign(wrong_prev);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kVerificationFailed);
    CHECK(refused.error().message().find("prev") != std::string::npos);

    Json tampered = trade.Proposal(2, consumer->head().hash);
    tampered.Find("fee")->Set("amount", "999.00");  // after the provider signed
    refused = consumer->Cosign(tampered);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kVerificationFailed);
  }

  SUBCASE("each TSC reaches a callback once, and evidence verifies") {
    for (std::uint64_t seq = 2; seq <= 4; ++seq) {
      const Json next = NextProposal(*provider, *consumer);
      (void)Unwrap(consumer->Submit(Unwrap(consumer->Cosign(next), "cosign")), "submit");
      REQUIRE(provider->AwaitTsc(seq, std::chrono::seconds(5)).ok());
    }
    // Events from the TSC broadcasts arrive too; applied already, they are not handed out again.
    while (Unwrap(consumer->Poll(std::chrono::milliseconds(300)), "poll")) {
    }
    CHECK(seen_by_callback == std::vector<std::uint64_t>{1, 2, 3, 4});

    // N = 2: TSC 4 is anchored within an anchoring interval; evidence for seq 3 goes through it.
    for (int i = 0; i < 50 && consumer->head().anchored_seq < 4; ++i) {
      (void)Unwrap(consumer->Poll(std::chrono::milliseconds(100)), "poll");
    }
    REQUIRE(consumer->head().anchored_seq == 4);
    // The operator's log names each anchored batch.
    CHECK_MESSAGE(LogShows(tccd, "\"msg\":\"anchored\",\"batch\":"), tccd.Log());
    CHECK(consumer->FetchEvidence(0).error().code() == ErrorCode::kInvalidArgument);
    client::VerifiedEvidence evidence = Unwrap(consumer->FetchEvidence(3), "evidence for 3");
    CHECK(evidence.seq == 3);
    CHECK(evidence.anchored_seq == 4);
    CHECK(vc::CredentialHash(evidence.anchored_tsc).value() == consumer->head().hash);
    CHECK_FALSE(evidence.checked_on_chain);  // tccd holds the embedded ledger; offline checks only
  }
}

// The next proposal the session hands out, or the error Poll gives instead; other events (channel
// state as parties come and go) are passed over.
Result<client::SessionEvent> NextProposalOrError(client::PartySession& session) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    auto polled = session.Poll(std::chrono::milliseconds(200));
    if (!polled.ok()) return std::move(polled).error();
    if (*polled && (*polled)->kind == client::SessionEventKind::kProposal)
      return std::move(**polled);
  }
  return Error(ErrorCode::kUnavailable, "no proposal within 10 s");
}

TEST_CASE(
    "PartySession: a relayed proposal whose seq is not a JSON integer is refused, never cast") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 2);
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir));
  auto consumer = JoinSession(trade, tccd, trade.consumer);
  // The provider's side as a hostile counterparty writes it: raw frames, no SDK checks. tccd relays
  // proposals unread.
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  JoinWhenOpen(*provider, trade.channel_id);
  const Json good = trade.Proposal(1, trade.channel_id);

  // Before: the SDK cast each to uint64_t (2, 0, undefined behaviour, ...) and handed it out.
  for (double seq : {2.5, -1.0, 0.0, 1e300, 9007199254740992.0}) {
    CAPTURE(seq);
    Json bad = good;
    bad.Set("seq", seq);
    REQUIRE(provider->Propose(trade.channel_id, bad).ok());
    auto refused = NextProposalOrError(*consumer);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code() == ErrorCode::kInvalidArgument);
    CHECK(refused.error().message() ==
          "proposal relayed by tccd: seq must be a positive integer below 2^53");
  }

  // The session goes on: a valid proposal arrives with its seq and can be co-signed.
  REQUIRE(provider->Propose(trade.channel_id, good).ok());
  client::SessionEvent event = Unwrap(NextProposalOrError(*consumer), "the valid proposal");
  CHECK(event.seq == 1);
  CHECK(Unwrap(consumer->Cosign(event.body), "cosign").is_object());
  CHECK(tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
