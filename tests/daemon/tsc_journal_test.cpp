// The party's TSC journal (issue 18): what a party applied is kept on its disk, and a tccd whose
// store was put back to an older copy, or which then issued other TSCs under seqs the party holds,
// is refused by the party instead of followed into a fork. Against a real tccd process whose store
// directory is copied and restored as an operator restoring a backup would.
#include "tcc/client/tsc_journal.h"

#include <doctest/doctest.h>

#include <filesystem>

#include "daemon_test_util.h"

namespace tcc::testing {
namespace {

namespace fs = std::filesystem;

std::unique_ptr<client::PartySession> JoinWithJournal(
    const Trade& trade, const TccdProcess& tccd, std::shared_ptr<did::KeyPair> key,
    const std::string& tsc_dir, Result<std::unique_ptr<client::PartySession>>* refused = nullptr) {
  client::PartySessionOptions options = SessionOptions(trade, tccd, std::move(key));
  options.tsc_dir = tsc_dir;
  auto joined = client::PartySession::Join(std::move(options));
  if (refused != nullptr) {
    *refused = std::move(joined);
    return nullptr;
  }
  return Unwrap(std::move(joined), "join with journal");
}

// Settles the next seq with the example claim billed at `fee`; returns the TSC's hash.
std::string Settle(client::PartySession& provider, client::PartySession& consumer,
                   const std::string& fee) {
  Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
  claim.Find("fee")->Set("amount", fee);
  const Json proposal = Unwrap(provider.ProposeNext(claim), "propose");
  for (int i = 0; i < 100; ++i) {
    auto event = Unwrap(consumer.Poll(std::chrono::milliseconds(100)), "poll");
    if (event && event->kind == client::SessionEventKind::kProposal && event->body == proposal)
      break;
  }
  const Json tsc = Unwrap(consumer.Submit(Unwrap(consumer.Cosign(proposal), "cosign")), "submit");
  REQUIRE(provider.AwaitTsc(consumer.head().seq, std::chrono::seconds(30)).ok());
  return vc::CredentialHash(tsc).value();
}

void CopyStore(const std::string& from, const std::string& to) {
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
}

TEST_CASE(
    "TSC journal: a tccd restored from an older store copy, then forked, is refused by the party") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 100);
  const auto arguments = LocalTccdArguments(dir);
  const std::string store = dir.Sub("data") + "/store";
  const std::string provider_tscs = dir.Sub("provider-tscs");
  const std::string consumer_tscs = dir.Sub("consumer-tscs");
  TccdProcess tccd;
  tccd.Start(arguments);
  std::vector<std::string> hashes;
  {
    auto provider = JoinWithJournal(trade, tccd, trade.provider, provider_tscs);
    auto consumer = JoinWithJournal(trade, tccd, trade.consumer, consumer_tscs);
    for (int i = 0; i < 3; ++i) hashes.push_back(Settle(*provider, *consumer, "0.38"));
  }
  REQUIRE(tccd.Stop() == 0);
  CopyStore(store, dir.Sub("backup-at-3"));
  tccd.Start(arguments);
  {
    // New processes, so to speak: each session starts from its journal's head, which tccd matches.
    auto provider = JoinWithJournal(trade, tccd, trade.provider, provider_tscs);
    auto consumer = JoinWithJournal(trade, tccd, trade.consumer, consumer_tscs);
    CHECK(consumer->head().seq == 3);
    CHECK(consumer->head().hash == hashes.back());
    for (int i = 0; i < 3; ++i) hashes.push_back(Settle(*provider, *consumer, "0.38"));
  }
  for (const std::string& tscs : {provider_tscs, consumer_tscs}) {
    auto journal = Unwrap(client::TscJournal::Open(tscs, trade.channel_id), "journal");
    CHECK(Unwrap(journal.LastSeq(), "last") == 6);
    auto kept = Unwrap(journal.After(0, 100), "after");
    REQUIRE(kept.size() == 6);
    for (std::size_t i = 0; i < kept.size(); ++i)
      CHECK(vc::CredentialHash(kept[i]).value() == hashes[i]);
  }

  // tccd crashes before TSCs 4 to 6 reach the chain (N is 100, and a crash anchors nothing at
  // shutdown), and the operator puts back the copy taken at seq 3: the chain cannot tell tccd
  // what it lost (recovery_test covers what it can), only the parties' journals can.
  tccd.Kill();
  CopyStore(dir.Sub("backup-at-3"), store);
  tccd.Start(arguments);
  Result<std::unique_ptr<client::PartySession>> refused = Error(ErrorCode::kInternal, "not run");
  JoinWithJournal(trade, tccd, trade.consumer, consumer_tscs, &refused);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kConflict);
  CHECK_MESSAGE(
      refused.error().message().find(
          "is at seq 3, behind the TSCs this party applied (up to seq 6") != std::string::npos,
      refused.error().message());

  // Parties without a journal follow the rewound tccd and settle other TSCs under seqs 4 to 7.
  {
    auto provider = JoinSession(trade, tccd, trade.provider);
    auto consumer = JoinSession(trade, tccd, trade.consumer);
    CHECK(consumer->head().seq == 3);
    for (int i = 0; i < 4; ++i)
      CHECK(Settle(*provider, *consumer, "0.99") != hashes[3 + std::min(i, 2)]);
  }
  // tccd is now ahead of the journal, but its TSC 6 is not the one the party holds.
  JoinWithJournal(trade, tccd, trade.provider, provider_tscs, &refused);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kVerificationFailed);
  CHECK_MESSAGE(refused.error().message().find("differs from the one this party applied") !=
                    std::string::npos,
                refused.error().message());
  CHECK(refused.error().message().find("the channel forked") != std::string::npos);
  CHECK(tccd.Stop() == 0);
}

TEST_CASE("TSC journal: one TSC per seq, files read back checked, strays ignored") {
  TempDir dir;
  Trade trade;
  trade.tst =
      std::make_shared<vc::Template>(Trade::Example("gpu-hour.tst.json", DidOf(*trade.provider)));
  trade.channel_id = std::string(64, 'c');
  auto journal = Unwrap(client::TscJournal::Open(dir.Sub("tscs"), trade.channel_id), "open");
  CHECK((fs::status(dir.Sub("tscs")).permissions() & fs::perms::others_all) == fs::perms::none);
  CHECK(Unwrap(journal.LastSeq(), "empty") == 0);

  // TSC-shaped documents: the journal checks channel and seq of what it reads, not proofs.
  auto tsc = [&](std::uint64_t seq, const std::string& fee) {
    Json subject = Json::Object();
    subject.Set("channel", trade.channel_id);
    subject.Set("seq", seq);
    subject.Set("prev", std::string(64, 'a'));
    subject.Set("fee", fee);
    Json document = Json::Object();
    document.Set("credentialSubject", std::move(subject));
    return document;
  };
  REQUIRE(journal.Append(1, tsc(1, "0.38")).ok());
  REQUIRE(journal.Append(2, tsc(2, "0.38")).ok());
  CHECK(journal.Append(2, tsc(2, "0.38")).ok());  // the same TSC again: a no-op
  Status second = journal.Append(2, tsc(2, "0.99"));
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code() == ErrorCode::kConflict);
  CHECK(second.error().message().find("the channel forked") != std::string::npos);
  CHECK(Unwrap(journal.Get(2), "get 2") == tsc(2, "0.38"));
  CHECK(Unwrap(journal.LastSeq(), "last") == 2);

  // A stray temporary file and foreign names are not TSCs; a file holding another seq is refused.
  const std::string channel_dir = journal.path();
  REQUIRE(WriteFileAtomic(channel_dir + "/00000000000000000009.json.tmp", "{").ok());
  REQUIRE(WriteFileAtomic(channel_dir + "/notes.txt", "x").ok());
  CHECK(Unwrap(journal.LastSeq(), "last with strays") == 2);
  REQUIRE(
      WriteFileAtomic(channel_dir + "/00000000000000000003.json", tsc(4, "0.38").Serialize()).ok());
  auto wrong = journal.Get(3);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code() == ErrorCode::kParse);
  CHECK(Unwrap(journal.After(1, 1), "after 1").size() == 1);
  CHECK_FALSE(journal.After(0, 10).ok());  // reading seq 3 fails, and says so

  auto bad = client::TscJournal::Open(dir.Sub("tscs"), "not-a-channel");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code() == ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace tcc::testing
