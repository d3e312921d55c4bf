// Two parties settle 1,000 times with N = 10 through a real tccd process over loopback TCP with
// CURVE: every TSC verifies and links to the one before; tccd is stopped (SIGTERM) and crashed
// (SIGKILL) mid-way and loses nothing it acknowledged; every 10th TSC is anchored and its evidence
// bundle verifies against the ledger.
#include <doctest/doctest.h>

#include <map>

#include "daemon_test_util.h"
#include "tcc/chain/evidence.h"

namespace tcc::testing {
namespace {

std::vector<std::string> TccdArguments(const TempDir& dir) { return LocalTccdArguments(dir, {"--anchor-interval", "100"}); }

struct Parties {
  std::unique_ptr<client::ChannelClient> provider;
  std::unique_ptr<client::ChannelClient> consumer;
};

Parties ConnectAndJoin(const Trade& trade, const TccdProcess& tccd) {
  Parties parties{ConnectParty(tccd.listen(), tccd.did(), trade.provider),
                  ConnectParty(tccd.listen(), tccd.did(), trade.consumer)};
  CHECK(JoinWhenOpen(*parties.provider, trade.channel_id).role == "provider");
  CHECK(JoinWhenOpen(*parties.consumer, trade.channel_id).role == "consumer");
  return parties;
}

TEST_CASE("tccd: event.tsc goes to every member but the submitter, which has the TSC in its reply") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 10);
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(dir, {"--anchor-interval", "100", "--metrics", "127.0.0.1:0"}));
  Parties parties = ConnectAndJoin(trade, tccd);

  // Seq 1 submitted by the consumer, seq 2 by the provider, seq 3 by the consumer again.
  const client::IssuedTsc first = SettleOnce(trade, *parties.provider, *parties.consumer, 1, trade.channel_id);
  std::string prev = vc::CredentialHash(first.tsc).value();
  const client::IssuedTsc second =
      Unwrap(parties.provider->Submit(trade.channel_id, trade.Cosign(trade.Proposal(2, prev))), "provider submits 2");
  REQUIRE(second.seq == 2);
  prev = vc::CredentialHash(second.tsc).value();
  const client::IssuedTsc third =
      Unwrap(parties.consumer->Submit(trade.channel_id, trade.Cosign(trade.Proposal(3, prev))), "consumer submits 3");
  REQUIRE(third.seq == 3);

  // tccd sends each connection's frames in order, so each side's event.tsc stream shows exactly the
  // other side's settlements: the consumer's first is seq 2, the provider's are seq 1, then 3.
  auto next_tsc_event = [](client::ChannelClient& party) {
    return wire::UintMember(AwaitEvent(party, client::MessageType::kEventTsc), "seq");
  };
  CHECK(next_tsc_event(*parties.consumer) == 2);
  CHECK(next_tsc_event(*parties.provider) == 1);
  CHECK(next_tsc_event(*parties.provider) == 3);

  // Each claim came alone, with the workers idle, and names only did:key parties and keys: the
  // loop verified and issued it itself (design.md, the settlement pipeline).
  auto ran_on_loop = [&] {
    return MetricValue(ScrapeMetrics(tccd.metrics()), "tcc_loop_inline_tasks_total");
  };
  CHECK(ran_on_loop() == 3.0);
  // A proof naming another DID may need the chain to resolve it: a worker checks that claim.
  Json elsewhere = trade.Cosign(trade.Proposal(4, vc::CredentialHash(third.tsc).value()));
  Json* proofs = elsewhere.Find("proof");
  REQUIRE((proofs != nullptr && proofs->is_array() && proofs->as_array().size() == 2));
  proofs->as_array()[1].Set("verificationMethod", "did:web:elsewhere.example#key-1");
  CHECK_FALSE(parties.consumer->Submit(trade.channel_id, elsewhere).ok());
  CHECK(ran_on_loop() == 3.0);
  const client::IssuedTsc fourth = Unwrap(
      parties.consumer->Submit(
          trade.channel_id, trade.Cosign(trade.Proposal(4, vc::CredentialHash(third.tsc).value()))),
      "consumer submits 4");
  CHECK(fourth.seq == 4);
  CHECK(ran_on_loop() == 4.0);
}

TEST_CASE("tccd: 1,000 settlements with N = 10, a clean restart and a crash, anchored evidence") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 10);
  std::map<std::uint64_t, std::string> hashes;  // seq -> TSC hash, as acknowledged
  std::string prev = trade.channel_id;

  auto settle_range = [&](Parties& parties, std::uint64_t first, std::uint64_t last) {
    for (std::uint64_t seq = first; seq <= last; ++seq) {
      client::IssuedTsc issued = SettleOnce(trade, *parties.provider, *parties.consumer, seq, prev);
      REQUIRE(issued.seq == seq);
      REQUIRE_FALSE(issued.replayed);
      vc::TscVerifyOptions options;
      options.expected_issuer = trade.tcc_did();
      options.expected_prev = prev;
      auto verified = vc::VerifyTsc(issued.tsc, *trade.tst, *trade.resolver, options);
      REQUIRE_MESSAGE(verified.ok(), verified.error().ToString());
      prev = vc::CredentialHash(issued.tsc).value();
      hashes[seq] = prev;
      // The provider sees the issued TSC as an event (after any from resubmissions before).
      std::uint64_t event_seq = 0;
      while (event_seq < seq) {
        event_seq = wire::UintMember(AwaitEvent(*parties.provider, client::MessageType::kEventTsc), "seq");
      }
      REQUIRE(event_seq == seq);
    }
  };

  TccdProcess tccd;
  tccd.Start(TccdArguments(dir));
  CHECK(tccd.did() == trade.tcc_did());
  {
    Parties parties = ConnectAndJoin(trade, tccd);
    settle_range(parties, 1, 400);

    {
      // The same claim again returns the same TSC, never a second sequence number.
      const Json proposal = trade.Proposal(401, prev);
      const Json joint = trade.Cosign(proposal);
      client::IssuedTsc first = Unwrap(parties.consumer->Submit(trade.channel_id, joint), "submit 401");
      client::IssuedTsc again = Unwrap(parties.provider->Submit(trade.channel_id, joint), "resubmit 401");
      CHECK(again.replayed);
      CHECK(again.seq == 401);
      CHECK(vc::CredentialHash(again.tsc).value() == vc::CredentialHash(first.tsc).value());
      prev = vc::CredentialHash(first.tsc).value();
      hashes[401] = prev;
      // A different claim for a used seq is a fork.
      const Json fork = trade.Cosign(trade.Proposal(401, hashes[400], "9.99"));
      auto forked = parties.consumer->Submit(trade.channel_id, fork);
      REQUIRE_FALSE(forked.ok());
      CHECK(forked.error().code() == ErrorCode::kConflict);
      CHECK(forked.error().message().find("fork") != std::string::npos);
      // A gap and a wrong prev change nothing.
      auto gap = parties.consumer->Submit(trade.channel_id, trade.Cosign(trade.Proposal(403, prev)));
      REQUIRE_FALSE(gap.ok());
      CHECK(gap.error().code() == ErrorCode::kConflict);
      auto wrong_prev = parties.consumer->Submit(trade.channel_id, trade.Cosign(trade.Proposal(402, hashes[399])));
      REQUIRE_FALSE(wrong_prev.ok());
      CHECK(wrong_prev.error().code() == ErrorCode::kVerificationFailed);
      Json state = Unwrap(parties.provider->State(trade.channel_id), "state");
      CHECK(state.GetNumber("last_seq").value() == 401);
      CHECK(state.GetString("last_hash").value() == prev);
      CHECK(state.GetNumber("n").value() == 10);
    }
    settle_range(parties, 402, 500);
  }

  // A clean restart: the channel comes back at seq 500 with its hash chain.
  CHECK(tccd.Stop() == 0);
  CHECK(tccd.LogContains("\"msg\":\"stopped\""));
  tccd.Start(TccdArguments(dir));
  CHECK(tccd.LogContains("\"recovered_tscs\":500"));
  {
    Parties parties = ConnectAndJoin(trade, tccd);
    Json state = Unwrap(parties.consumer->State(trade.channel_id), "state");
    CHECK(state.GetNumber("last_seq").value() == 500);
    CHECK(state.GetString("last_hash").value() == prev);
    settle_range(parties, 501, 750);
  }

  // A crash: everything acknowledged before SIGKILL is there afterwards.
  tccd.Kill();
  tccd.Start(TccdArguments(dir));
  {
    Parties parties = ConnectAndJoin(trade, tccd);
    Json state = Unwrap(parties.consumer->State(trade.channel_id), "state");
    CHECK(state.GetNumber("last_seq").value() == 750);
    CHECK(state.GetString("last_hash").value() == prev);
    settle_range(parties, 751, 1000);

    // Everything is readable back, in order, linked by hash.
    std::uint64_t next = 1;
    std::string expected_prev = trade.channel_id;
    while (next <= 1000) {
      auto page = Unwrap(parties.provider->Sync(trade.channel_id, next - 1, 200), "sync");
      REQUIRE_FALSE(page.empty());
      for (const Json& tsc : page) {
        const Json* subject = tsc.Find("credentialSubject");
        REQUIRE(subject != nullptr);
        CHECK(subject->GetNumber("seq").value() == static_cast<double>(next));
        CHECK(subject->GetString("prev").value() == expected_prev);
        expected_prev = vc::CredentialHash(tsc).value();
        CHECK(expected_prev == hashes[next]);
        ++next;
      }
    }

    // Every 10th TSC is anchored; each bundle commits exactly that TSC.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!parties.provider->GetEvidence(trade.channel_id, 1000).ok() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::vector<chain::EvidenceBundle> bundles;
    for (std::uint64_t seq = 10; seq <= 1000; seq += 10) {
      client::EvidenceReply reply = Unwrap(parties.provider->GetEvidence(trade.channel_id, seq), "evidence");
      CHECK(reply.anchored_seq == seq);
      CHECK(reply.bundle.item.seq == seq);
      CHECK(reply.bundle.item.channel_id == trade.channel_id);
      CHECK(HexEncode(reply.bundle.item.tsc_hash) == hashes[seq]);
      CHECK(chain::VerifyEvidenceBundle(reply.bundle).ok());
      bundles.push_back(reply.bundle);
    }
    // A TSC between anchors is committed by the next anchored one through the hash chain.
    client::EvidenceReply covering = Unwrap(parties.consumer->GetEvidence(trade.channel_id, 15), "evidence 15");
    CHECK(covering.anchored_seq == 20);
    CHECK(covering.bundle.item.seq == 20);
    auto missing = parties.consumer->GetEvidence(trade.channel_id, 1001);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().code() == ErrorCode::kNotFound);

    CHECK(tccd.Stop() == 0);
    // Against the ledger itself, once tccd has released it.
    auto ledger = Unwrap(chain::LocalLedger::Open({.path = dir.Sub("ledger"), .create_if_missing = false}), "ledger");
    for (const auto& bundle : bundles) {
      auto on_chain = chain::VerifyEvidenceBundleOnChain(bundle, *ledger);
      CHECK_MESSAGE(on_chain.ok(), "seq " << bundle.item.seq << ": " << (on_chain.ok() ? "" : on_chain.error().ToString()));
    }
  }
}

}  // namespace
}  // namespace tcc::testing
