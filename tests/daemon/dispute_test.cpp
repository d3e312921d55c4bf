// Disputes against a real tccd process (issue 22): the consumer rejects a bill, the provider
// amends it only after the rejection, tccd never issues a rejected claim or a rejection of an
// issued seq, either party closes with a reason, the closing record is anchored with the last TSC
// under its own leaf (verified with the CLI offline and on the ledger), and all of it survives a
// tccd restart (and a crash right after the close).
#include "tcc/wire/dispute.h"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <source_location>
#include <thread>

#include "daemon_test_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/file.h"

namespace tcc::testing {
namespace {

using wire::Reason;
using wire::ReasonCode;

// The claim a session proposes, with its fee.
Json Bill(const std::string& fee) {
  Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
  claim.Find("fee")->Set("amount", fee);
  return claim;
}

// Polls `session` until an event of `kind` arrives (generous deadline for a busy machine).
client::SessionEvent AwaitSessionEvent(client::PartySession& session,
                                       client::SessionEventKind kind) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    auto event = Unwrap(session.Poll(std::chrono::milliseconds(100)), "poll");
    if (event && event->kind == kind) return std::move(*event);
  }
  FAIL("no session event of kind " << static_cast<int>(kind));
  return {};
}

// The proposal the provider's session makes for `claim`, as the consumer receives it.
Json ProposeAndReceive(client::PartySession& provider, client::PartySession& consumer, Json claim) {
  const Json proposal = Unwrap(provider.ProposeNext(std::move(claim)), "propose");
  const client::SessionEvent event =
      AwaitSessionEvent(consumer, client::SessionEventKind::kProposal);
  CHECK(event.body == proposal);
  return event.body;
}

void CheckRefused(const Status& status, ErrorCode code, const std::string& words,
                  std::source_location where = std::source_location::current()) {
  INFO("refusal expected at line " << where.line());
  REQUIRE_FALSE(status.ok());
  CHECK_MESSAGE(status.error().code() == code, status.error().ToString());
  CHECK_MESSAGE(status.error().message().find(words) != std::string::npos,
                status.error().ToString());
}

template <typename T>
Status StatusOf(const Result<T>& result) {
  if (result.ok()) return OkStatus();
  return result.error();
}

// A trade with its channel recorded (anchoring every `n`), a tccd running for it, and both
// parties' sessions joined.
struct Dispute {
  explicit Dispute(std::uint64_t n, std::vector<std::string> extra = {"--anchor-interval", "50"},
                   std::optional<std::uint64_t> amend_after_s = std::nullopt) {
    REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
    trade.amend_after_s = amend_after_s;
    trade.Record(dir.Sub("ledger"), n);
    arguments = LocalTccdArguments(dir, std::move(extra));
    tccd.Start(arguments);
    provider = JoinSession(trade, tccd, trade.provider);
    consumer = JoinSession(trade, tccd, trade.consumer);
  }

  TempDir dir;
  Trade trade;
  std::vector<std::string> arguments;
  TccdProcess tccd;
  std::unique_ptr<client::PartySession> provider;
  std::unique_ptr<client::PartySession> consumer;
};

TEST_CASE(
    "dispute: reject, amend and settle; rejected claims and amends without a rejection refused; "
    "all kept across a restart") {
  Dispute d(2, {"--anchor-interval", "50", "--metrics", "127.0.0.1:0"});
  const Trade& trade = d.trade;
  TccdProcess& tccd = d.tccd;
  const auto& arguments = d.arguments;
  auto& provider = d.provider;
  auto& consumer = d.consumer;

  // Seq 1: a wrong bill, rejected with a reason the provider receives, signed by the consumer.
  const Json wrong = ProposeAndReceive(*provider, *consumer, Bill("9.99"));
  const Json rejection = Unwrap(
      consumer->Reject(wrong, {ReasonCode::kWrongAmount, "metered 420 GPU-seconds, billed 480"}),
      "reject");
  const client::SessionEvent rejected =
      AwaitSessionEvent(*provider, client::SessionEventKind::kRejection);
  CHECK(rejected.seq == 1);
  CHECK(rejected.body == rejection);
  CHECK(*rejected.body.GetString("proposal_hash") ==
        Unwrap(wire::ProposalHash(wrong), "hash"));
  CHECK(Unwrap(wire::VerifyRejection(rejected.body, *trade.resolver), "verify").reason.code ==
        ReasonCode::kWrongAmount);
  CHECK(MetricValue(ScrapeMetrics(tccd.metrics()), "tcc_rejections_total{code=\"wrong_amount\"}") ==
        1);

  // The rejected bill is dead: co-signed anyway, tccd refuses it; re-proposed (signed again, so a
  // different proposal hash with the same content), tccd refuses it too.
  CheckRefused(StatusOf(consumer->Submit(trade.Cosign(wrong))), ErrorCode::kConflict,
               "rejected by the consumer");
  CheckRefused(StatusOf(provider->ProposeNext(Bill("9.99"))), ErrorCode::kConflict,
               "rejected this bill");

  // The amended bill settles seq 1.
  const Json amended = ProposeAndReceive(*provider, *consumer, Bill("0.38"));
  const Json joint = Unwrap(consumer->Cosign(amended), "cosign amended");
  const Json tsc = Unwrap(consumer->Submit(joint), "submit amended");
  CHECK(consumer->head().seq == 1);
  REQUIRE(provider->AwaitTsc(1, std::chrono::seconds(20)).ok());
  CHECK(tsc.Find("credentialSubject")->Find("fee")->GetString("amount").value() == "0.38");

  // An issued seq is final: rejecting it is refused (through the SDK and with a raw client).
  CheckRefused(StatusOf(consumer->Reject(amended, {ReasonCode::kOther, "too late"})),
               ErrorCode::kConflict, "already issued");
  auto raw_consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*raw_consumer, trade.channel_id);
  const Json late = Unwrap(
      wire::MakeRejection(amended, {ReasonCode::kPrice, "late"}, *trade.consumer), "make");
  CheckRefused(StatusOf(raw_consumer->Reject(trade.channel_id, late)), ErrorCode::kConflict,
               "already issued");
  // Only the consumer rejects, and only what the channel's consumer signed.
  auto raw_provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  JoinWhenOpen(*raw_provider, trade.channel_id);
  CheckRefused(StatusOf(raw_provider->Reject(trade.channel_id, late)), ErrorCode::kPermissionDenied,
               "consumer");

  // Seq 2: an amend without a rejection is refused; the same proposal again is a harmless re-send.
  const Json second = ProposeAndReceive(*provider, *consumer, Bill("0.40"));
  const std::string head = consumer->head().hash;
  CheckRefused(raw_provider->Propose(trade.channel_id, trade.Proposal(2, head, "0.41")),
               ErrorCode::kConflict, "only after a rejection");
  REQUIRE(raw_provider->Propose(trade.channel_id, second).ok());
  CHECK(AwaitSessionEvent(*consumer, client::SessionEventKind::kProposal).body == second);
  // A rejection of a proposal tccd never relayed is refused.
  const Json never = trade.Proposal(2, head, "0.42");
  const Json stray =
      Unwrap(wire::MakeRejection(never, {ReasonCode::kOther, "?"}, *trade.consumer), "make");
  CheckRefused(StatusOf(raw_consumer->Reject(trade.channel_id, stray)), ErrorCode::kConflict,
               "latest proposal");
  // The consumer rejects seq 2's bill; then tccd restarts.
  Unwrap(consumer->Reject(second, {ReasonCode::kPrice, "the agreed price is 0.38 per period"}),
         "reject 2");
  AwaitSessionEvent(*provider, client::SessionEventKind::kRejection);

  raw_consumer.reset();
  raw_provider.reset();
  REQUIRE(tccd.Stop() == 0);
  tccd.Start(arguments);

  // After the restart (on new ports, so the parties join again): the rejection of seq 2 still
  // holds, and so does the mark of the latest proposal.
  provider = JoinSession(trade, tccd, trade.provider);
  consumer = JoinSession(trade, tccd, trade.consumer);
  auto after_provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  JoinWhenOpen(*after_provider, trade.channel_id);
  auto after_consumer = ConnectParty(tccd.listen(), tccd.did(), trade.consumer);
  JoinWhenOpen(*after_consumer, trade.channel_id);
  CheckRefused(StatusOf(after_consumer->Submit(trade.channel_id, trade.Cosign(second))),
               ErrorCode::kConflict, "rejected by the consumer");
  CheckRefused(after_provider->Propose(trade.channel_id, trade.Proposal(2, head, "0.40")),
               ErrorCode::kConflict, "rejected this bill");
  // The amend is allowed (the latest proposal was rejected) and settles seq 2.
  const Json amended2 = ProposeAndReceive(*provider, *consumer, Bill("0.38"));
  Unwrap(consumer->Submit(Unwrap(consumer->Cosign(amended2), "cosign 2")), "submit 2");
  CHECK(consumer->head().seq == 2);
  // A different bill for seq 3 without a rejection is still refused after the restart.
  REQUIRE(provider->AwaitTsc(2, std::chrono::seconds(20)).ok());
  const Json third = ProposeAndReceive(*provider, *consumer, Bill("0.38"));
  CHECK(third.Find("seq")->as_number() == 3);
  REQUIRE(tccd.Stop() == 0);
  tccd.Start(arguments);
  auto last_provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  JoinWhenOpen(*last_provider, trade.channel_id);
  CheckRefused(
      last_provider->Propose(trade.channel_id, trade.Proposal(3, consumer->head().hash, "0.50")),
      ErrorCode::kConflict, "only after a rejection");

  // The dispute record: who, when, which proposal, why — for members and auditors, verified.
  consumer = JoinSession(trade, tccd, trade.consumer);
  const client::DisputeRecord record = Unwrap(consumer->FetchDisputes(), "disputes");
  REQUIRE(record.rejections.size() == 2);
  CHECK_FALSE(record.closing.has_value());
  const Json& first = *record.rejections[0].Find("rejection");
  CHECK(first == rejection);
  CHECK(record.rejections[0].Find("received_ms")->as_number() > 0);
  CHECK(*record.rejections[1].Find("rejection")->GetString("code") == "price");
  auto auditor = ConnectParty(tccd.listen(), tccd.did(), trade.auditor);
  JoinWhenOpen(*auditor, trade.channel_id);
  const client::DisputeRecord audited =
      Unwrap(auditor->Disputes(trade.channel_id, 2), "audit from seq 2");
  REQUIRE(audited.rejections.size() == 1);
  CHECK(audited.rejections[0].Find("rejection")->Find("seq")->as_number() == 2);
  // Auditors read but do not reject.
  CheckRefused(StatusOf(auditor->Reject(trade.channel_id, first)), ErrorCode::kPermissionDenied,
               "consumer");
}

TEST_CASE("dispute: a provider that has not read the rejection learns it from tccd and amends") {
  Dispute d(5);
  auto& provider = d.provider;
  auto& consumer = d.consumer;
  const Json wrong = ProposeAndReceive(*provider, *consumer, Bill("5.00"));
  Unwrap(consumer->Reject(wrong, {ReasonCode::kWrongUsage, "no jobs ran that minute"}), "reject");
  // The provider proposes again without polling: the same bill goes out, tccd refuses it, and
  // the session finds the stored rejection instead of re-sending the dead bill forever.
  CheckRefused(StatusOf(provider->ProposeNext(Bill("5.00"))), ErrorCode::kConflict,
               "rejected this bill");
  const Json amended = ProposeAndReceive(*provider, *consumer, Bill("0.10"));
  Unwrap(consumer->Submit(Unwrap(consumer->Cosign(amended), "cosign")), "submit");
  REQUIRE(provider->AwaitTsc(1, std::chrono::seconds(20)).ok());
  // The rejection reached the provider's events once, although it also learned it from tccd.
  int rejections = 0;
  while (auto event = Unwrap(provider->Poll(std::chrono::milliseconds(300)), "poll")) {
    rejections += event->kind == client::SessionEventKind::kRejection;
  }
  CHECK(rejections == 1);
}

TEST_CASE("dispute: the TIC's amend timeout lets the provider amend a bill left unsigned") {
  const std::vector<std::string> extra = {"--anchor-interval", "50"};
  {
    // An hour: the bill has not stood that long, so an amend without a rejection is refused.
    Dispute d(5, extra, 3600);
    ProposeAndReceive(*d.provider, *d.consumer, Bill("0.50"));
    auto raw_provider = ConnectParty(d.tccd.listen(), d.tccd.did(), d.trade.provider);
    JoinWhenOpen(*raw_provider, d.trade.channel_id);
    CheckRefused(
        raw_provider->Propose(d.trade.channel_id, d.trade.Proposal(1, d.trade.channel_id, "0.45")),
        ErrorCode::kConflict, "amend_after_s");
  }
  // One second: once more than a second has passed since tccd relayed the bill, the provider
  // amends it without a rejection, and the amended bill settles the seq.
  Dispute d(5, extra, 1);
  const Trade& trade = d.trade;
  const Json first = ProposeAndReceive(*d.provider, *d.consumer, Bill("0.50"));
  // tccd stamped the bill before it answered the proposal, which was before this point: waiting
  // from here is at least as long as tccd counts.
  const auto relayed = std::chrono::steady_clock::now();
  auto raw_provider = ConnectParty(d.tccd.listen(), d.tccd.did(), trade.provider);
  JoinWhenOpen(*raw_provider, trade.channel_id);
  std::this_thread::sleep_until(relayed + std::chrono::milliseconds(1100));
  const Json amended = trade.Proposal(1, trade.channel_id, "0.45");
  REQUIRE(raw_provider->Propose(trade.channel_id, amended).ok());
  CHECK(AwaitSessionEvent(*d.consumer, client::SessionEventKind::kProposal).body == amended);
  const Json tsc =
      Unwrap(d.consumer->Submit(Unwrap(d.consumer->Cosign(amended), "cosign")), "submit amended");
  CHECK(tsc.Find("credentialSubject")->Find("fee")->GetString("amount").value() == "0.45");
  // The seq is final: the lapsed bill, co-signed now, is not issued as a second claim.
  auto raw_consumer = ConnectParty(d.tccd.listen(), d.tccd.did(), trade.consumer);
  JoinWhenOpen(*raw_consumer, trade.channel_id);
  CheckRefused(StatusOf(raw_consumer->Submit(trade.channel_id, trade.Cosign(first))),
               ErrorCode::kConflict, "fork");
  CHECK(d.consumer->head().seq == 1);
}

// Asks `member` for the channel's dispute record until it carries the closing record's evidence
// (the close flushes the anchor; generous deadline for a busy machine).
client::DisputeRecord AwaitClosingEvidence(client::ChannelClient& member,
                                           const std::string& channel_id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    client::DisputeRecord record = Unwrap(member.Disputes(channel_id), "disputes");
    if (record.closing_evidence || std::chrono::steady_clock::now() >= deadline) return record;
    (void)member.NextEvent(std::chrono::milliseconds(100));
  }
}

// The closing record's bundle: a closing leaf of this record, in the batch that anchored the last
// TSC, and the anchored seq stays the last TSC's (asked of `member`, when given). Then `tcc
// evidence verify --closing` offline (and with --chain when `ledger` is given: tccd must be
// stopped, it holds the ledger), which refuses a tampered record.
void CheckClosingEvidence(client::ChannelClient* member, const Trade& trade,
                          const std::string& tcc_did, const client::DisputeRecord& record,
                          std::uint64_t last_seq,
                          const std::optional<std::string>& ledger = std::nullopt) {
  REQUIRE(record.closing.has_value());
  REQUIRE(record.closing_evidence.has_value());
  const chain::EvidenceBundle& bundle = *record.closing_evidence;
  CHECK(bundle.item.kind == chain::EvidenceKind::kClosing);
  CHECK(bundle.item.channel_id == trade.channel_id);
  CHECK(bundle.item.seq == last_seq);
  CHECK(HexEncode(bundle.item.tsc_hash) == Unwrap(vc::CredentialHash(*record.closing), "hash"));
  const Status verified =
      client::VerifyClosingEvidence(*record.closing, bundle, tcc_did, *trade.resolver);
  CHECK_MESSAGE(verified.ok(), (verified.ok() ? "" : verified.error().ToString()));
  if (member != nullptr) {
    const client::EvidenceReply last =
        Unwrap(member->GetEvidence(trade.channel_id, last_seq), "evidence");
    CHECK(last.bundle.item.kind == chain::EvidenceKind::kTsc);
    CHECK(last.bundle.batch_id == bundle.batch_id);
    CHECK(last.anchored_seq == last_seq);
    const Json state = Unwrap(member->State(trade.channel_id), "state");
    CHECK(state.Find("anchored_seq")->as_number() == static_cast<double>(last_seq));
  }

  TempDir files;
  const std::string closing_file = files.Sub("closing.json");
  const std::string bundle_file = files.Sub("closing.evidence.json");
  REQUIRE(WriteFileAtomic(closing_file, record.closing->Serialize()).ok());
  REQUIRE(WriteFileAtomic(bundle_file, chain::SerializeEvidenceBundle(bundle)).ok());
  const std::string chain = ledger ? " --chain local:" + *ledger : "";
  std::string output;
  CHECK_MESSAGE(RunCli("evidence verify --closing " + closing_file + " --tcc " + tcc_did + chain +
                           " " + bundle_file,
                       &output) == 0,
                output);
  CHECK_MESSAGE(output.find("OK") != std::string::npos, output);
  CHECK_MESSAGE(output.find("closing record") != std::string::npos, output);
  if (ledger) CHECK_MESSAGE(output.find("anchored at height") != std::string::npos, output);
  // A closing record with another reason is not the one anchored (and no longer the TCC's).
  Json tampered = *record.closing;
  tampered.Set("text", "a reason the TCC never signed");
  REQUIRE(WriteFileAtomic(closing_file, tampered.Serialize()).ok());
  CHECK(RunCli("evidence verify --closing " + closing_file + " --tcc " + tcc_did + chain + " " +
                   bundle_file,
               &output) == 1);
  CHECK_MESSAGE(output.find("FAIL") != std::string::npos, output);
  // Nor does the closing leaf pass for the last TSC.
  Json as_tsc = chain::EvidenceBundleToJson(bundle);
  as_tsc.Erase("kind");
  as_tsc.Set("tscHash", *as_tsc.GetString("closingHash"));
  as_tsc.Erase("closingHash");
  REQUIRE(WriteFileAtomic(bundle_file, as_tsc.Serialize()).ok());
  CHECK(RunCli("evidence verify " + bundle_file, &output) == 1);
  CHECK_MESSAGE(output.find("not the evidence leaf") != std::string::npos, output);
}

void CloseWithReason(bool by_consumer) {
  Dispute d(5);
  const Trade& trade = d.trade;
  TccdProcess& tccd = d.tccd;
  auto& provider = d.provider;
  auto& consumer = d.consumer;
  const Json proposal = ProposeAndReceive(*provider, *consumer, Bill("0.38"));
  Unwrap(consumer->Submit(Unwrap(consumer->Cosign(proposal), "cosign")), "submit");
  REQUIRE(provider->AwaitTsc(1, std::chrono::seconds(20)).ok());

  client::PartySession& closer = by_consumer ? *consumer : *provider;
  client::PartySession& other = by_consumer ? *provider : *consumer;
  const Reason reason{
      by_consumer ? ReasonCode::kPrice : ReasonCode::kWrongUsage,
      by_consumer ? "prices rose beyond the agreement" : "the consumer's jobs exceed the quota"};
  const Json closing = Unwrap(closer.Close(reason), "close");
  CHECK(*closing.GetString("party") == closer.did());
  CHECK(*closing.GetString("issuer") == tccd.did());
  CHECK(closing.Find("last_seq")->as_number() == 1);
  CHECK(*closing.GetString("last_hash") == other.head().hash);

  // The other party learns who closed it and why.
  bool told = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!told && std::chrono::steady_clock::now() < deadline) {
    auto event = Unwrap(other.Poll(std::chrono::milliseconds(100)), "poll");
    if (!event || event->kind != client::SessionEventKind::kChannel) continue;
    const Json* closed_by = event->body.Find("closed_by");
    if (closed_by == nullptr) continue;
    CHECK(*closed_by->GetString("party") == closer.did());
    CHECK(*closed_by->GetString("code") == wire::ReasonCodeName(reason.code));
    CHECK(*closed_by->GetString("text") == reason.text);
    told = true;
  }
  CHECK(told);
  CHECK(other.head().closed);
  CheckRefused(StatusOf(closer.Close(reason)), ErrorCode::kConflict, "closed");

  // The closing record is anchored under its own leaf with the last TSC; the closer's session
  // fetches and verifies it.
  {
    auto member =
        ConnectParty(tccd.listen(), tccd.did(), by_consumer ? trade.consumer : trade.provider);
    JoinWhenOpen(*member, trade.channel_id);
    const client::DisputeRecord before = AwaitClosingEvidence(*member, trade.channel_id);
    CheckClosingEvidence(member.get(), trade, tccd.did(), before, 1);
    const client::DisputeRecord verified = Unwrap(closer.FetchDisputes(), "fetch disputes");
    REQUIRE(verified.closing_evidence.has_value());
    CHECK(*verified.closing_evidence == *before.closing_evidence);
  }

  REQUIRE(tccd.Stop() == 0);
  tccd.Start(d.arguments);
  auto auditor = ConnectParty(tccd.listen(), tccd.did(), trade.auditor);
  const client::JoinResult joined = JoinWhenOpen(*auditor, trade.channel_id);
  CHECK(*joined.state.GetString("state") == "closed");
  CHECK(*joined.state.Find("closed_by")->GetString("party") == closer.did());
  const client::DisputeRecord record = Unwrap(auditor->Disputes(trade.channel_id), "disputes");
  REQUIRE(record.closing.has_value());
  CHECK(*record.closing == closing);
  const wire::CloseRequest verified =
      Unwrap(wire::VerifyClosingRecord(*record.closing, tccd.did(), *trade.resolver),
             "verify closing");
  CHECK(verified.reason.text == reason.text);
  // The close anchored the last TSC, which the closing record names.
  bool anchored = false;
  const auto anchor_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!anchored && std::chrono::steady_clock::now() < anchor_deadline) {
    const Json state = Unwrap(auditor->State(trade.channel_id), "state");
    anchored = state.Find("anchored_seq")->as_number() >= 1;
    if (!anchored) (void)auditor->NextEvent(std::chrono::milliseconds(100));
  }
  CHECK(anchored);
  // After the restart the auditor gets the same closing evidence; with tccd stopped, the CLI checks
  // it on the ledger too.
  CHECK(record.closing_evidence.has_value());
  CheckClosingEvidence(auditor.get(), trade, tccd.did(), record, 1);
  auditor.reset();
  REQUIRE(tccd.Stop() == 0);
  CheckClosingEvidence(nullptr, trade, tccd.did(), record, 1, d.dir.Sub("ledger"));
}

TEST_CASE("dispute: the consumer closes the channel with a reason") { CloseWithReason(true); }
TEST_CASE("dispute: the provider closes the channel with a reason") { CloseWithReason(false); }

TEST_CASE("dispute: a closing record left unanchored by a crash is anchored after the restart") {
  // A long interval and N: only the close (or the start after a crash) cuts a batch.
  Dispute d(5, {"--anchor-interval", "600000"});
  const Json proposal = ProposeAndReceive(*d.provider, *d.consumer, Bill("0.38"));
  Unwrap(d.consumer->Submit(Unwrap(d.consumer->Cosign(proposal), "cosign")), "submit");
  REQUIRE(d.provider->AwaitTsc(1, std::chrono::seconds(20)).ok());
  const Json closing =
      Unwrap(d.consumer->Close({ReasonCode::kWrongAmount, "billed twice"}), "close");
  // Killed at once: the batch of the last TSC and the closing record may or may not have landed.
  d.tccd.Kill();
  d.provider.reset();
  d.consumer.reset();
  d.tccd.Start(d.arguments);
  auto auditor = ConnectParty(d.tccd.listen(), d.tccd.did(), d.trade.auditor);
  JoinWhenOpen(*auditor, d.trade.channel_id);
  const client::DisputeRecord record = AwaitClosingEvidence(*auditor, d.trade.channel_id);
  REQUIRE(record.closing.has_value());
  CHECK(*record.closing == closing);
  CheckClosingEvidence(auditor.get(), d.trade, d.tccd.did(), record, 1);
  auditor.reset();
  REQUIRE(d.tccd.Stop() == 0);
  CheckClosingEvidence(nullptr, d.trade, d.tccd.did(), record, 1, d.dir.Sub("ledger"));
}

}  // namespace
}  // namespace tcc::testing
