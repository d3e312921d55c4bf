#include "settlement_pipeline.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <utility>
#include <variant>

#include "ed25519_verifier.h"
#include "tcc/common/bytes.h"
#include "tcc/common/sha256.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller {
namespace {

Status CheckClaimParty(const Json& claim, std::string_view role, const std::string& expected,
                       const std::string& channel_id) {
  auto named = claim.GetString(role);
  if (!named.ok()) return named.error().WithContext("claim");
  if (*named == expected) return OkStatus();
  return Error(ErrorCode::kPermissionDenied, "the claim names " + std::string(*named) + " as " +
                                                 std::string(role) + "; the " + std::string(role) +
                                                 " of channel " + channel_id + " is " + expected);
}

std::string ClaimHash(const Json& claim, Status& status) {
  auto canonical = vc::Canonicalize(claim);
  if (!canonical.ok()) {
    status = canonical.error();
    return {};
  }
  return HexEncode(Sha256(AsBytes(*canonical)));
}

bool IsDidKey(std::string_view id) { return id.starts_with(did::kDidKeyPrefix); }

// Whether verifying the claim resolves only did:key DIDs, which are derived in memory: the
// parties, and every key a proof of the claim names (a party could name another DID, whose
// resolution may go to the chain). Anything malformed counts as not: a worker refuses it.
bool ResolvesInMemory(const ChannelRecord& record, const Json& claim) {
  if (!IsDidKey(record.provider) || !IsDidKey(record.consumer)) return false;
  const Json* proofs = claim.Find("proof");
  if (proofs == nullptr) return false;
  auto names_did_key = [](const Json& proof) {
    const Json* method = proof.Find("verificationMethod");
    return method != nullptr && method->is_string() && IsDidKey(method->as_string());
  };
  if (!proofs->is_array()) return names_did_key(*proofs);
  const JsonArray& set = proofs->as_array();
  return !set.empty() && std::all_of(set.begin(), set.end(), names_did_key);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Admit

void SettlementPipeline::Submit(const Requester& from, Role role, ChannelRuntime& channel,
                                wire::Message message) {
  auto reject = [&](const Error& error) {
    host_.CountRejection(error);
    host_.ReplyError(from, error);
  };
  if (role == Role::kAuditor)
    return reject(Error(ErrorCode::kPermissionDenied, "auditors are read-only"));
  if (channel.machine.ended()) {
    return reject(
        Error(ErrorCode::kConflict, "channel " + channel.record().channel_id + " is closed"));
  }
  if (host_.draining())
    return reject(
        Error(ErrorCode::kUnavailable, "tccd is shutting down; resubmit after it restarts"));
  Json claim = std::move(*message.body.Find("claim"));  // DecodeMessage checked it is there
  auto link = vc::ReadSettlementLink(claim);
  if (!link.ok()) return reject(link.error().WithContext("claim"));
  if (link->channel != channel.record().channel_id) {
    return reject(Error(ErrorCode::kInvalidArgument, "the claim names channel " + link->channel +
                                                         ", not the channel it was submitted to"));
  }
  // The proofs are checked against the parties the claim names, so the claim must name this
  // channel's parties: otherwise one party and a key of its choosing could settle in the channel.
  for (const auto& [party, expected] : {std::pair{"provider", &channel.record().provider},
                                        std::pair{"consumer", &channel.record().consumer}}) {
    Status named = CheckClaimParty(claim, party, *expected, channel.record().channel_id);
    if (!named.ok()) return reject(named.error());
  }
  Submission submission{from, std::move(claim), std::move(link).value()};
  Apply(channel, channel.machine.Submit(std::move(submission), parts_.max_waiting_per_channel,
                                        host_.StoreStatus()));
}

// ---------------------------------------------------------------------------------------------
// The machine's effects

void SettlementPipeline::Apply(ChannelRuntime& channel, Effects effects) {
  for (auto& next : effects) {
    if (auto* issue = std::get_if<effect::Issue>(&next)) {
      Issue(channel, std::move(issue->submission));
    } else if (auto* replay = std::get_if<effect::Replay>(&next)) {
      Replay(channel, std::move(replay->submission));
    } else if (auto* refuse = std::get_if<effect::Refuse>(&next)) {
      if (refuse->counted) host_.CountRejection(refuse->error);
      host_.ReplyError(refuse->to, refuse->error);
    } else if (auto* commit = std::get_if<effect::Commit>(&next)) {
      Commit(channel, std::move(*commit));
    } else if (auto* evidence = std::get_if<effect::SubmitEvidence>(&next)) {
      parts_.anchor.Submit(evidence->item);
    } else if (auto* acknowledged = std::get_if<effect::Acknowledge>(&next)) {
      Acknowledge(channel, *acknowledged);
    } else if (std::holds_alternative<effect::WriteSettings>(next)) {
      WriteSettings(channel);
    } else if (std::holds_alternative<effect::Close>(next)) {
      parts_.close(channel);
    }
  }
}

void SettlementPipeline::Pump(ChannelRuntime& channel) {
  Apply(channel, channel.machine.Pump(host_.StoreStatus()));
}

void SettlementPipeline::PersistSettings(ChannelRuntime& channel) {
  Apply(channel, channel.machine.SettingsChanged(host_.StoreStatus()));
}

void SettlementPipeline::RequestClose(ChannelRuntime& channel) {
  Apply(channel, channel.machine.RequestClose(host_.StoreStatus()));
}

// ---------------------------------------------------------------------------------------------
// Issue: verify the joint claim and sign the TSC (worker)

void SettlementPipeline::Issue(ChannelRuntime& channel, Submission submission) {
  const std::string channel_id = channel.record().channel_id;
  parts_.writer.SettlementsVerifying(+1);
  const bool in_memory = ResolvesInMemory(channel.record(), submission.claim);
  std::function<Task()> work = [this, channel_id, tst = channel.tst,
                                submission = std::move(submission)]() mutable -> Task {
    // Timed here, observed on the loop: histograms take a lock per observation (metrics.h).
    const Clock::time_point started = Clock::now();
    Status status =
        vc::VerifyJointClaim(submission.claim, *tst, parts_.resolver, SettlementProofOptions());
    const Clock::time_point verified = Clock::now();
    TscRecord tsc;
    if (status.ok()) {
      // The claim hash (replay key) hashes the claim's canonical text inside the TSC's.
      auto issued = vc::IssueCanonicalTsc(std::move(submission.claim), *tst, parts_.key);
      if (issued.ok()) {
        tsc.channel_id = channel_id;
        tsc.seq = submission.link.seq;
        tsc.claim_hash = HexEncode(issued->SubjectDigest());
        tsc.tsc_hash = issued->digest;
        tsc.tsc = std::move(issued->text);
      } else {
        status = issued.error();
      }
    }
    const Clock::time_point issued = Clock::now();
    return [this, channel_id, requester = submission.requester, status, tsc = std::move(tsc),
            started, verified, issued]() mutable {
      parts_.metrics.StageTook(DaemonMetrics::Stage::kQueueWait, requester.received, started);
      parts_.metrics.StageTook(DaemonMetrics::Stage::kVerify, started, verified);
      parts_.metrics.StageTook(DaemonMetrics::Stage::kIssue, verified, issued);
      bool commits = false;
      if (auto live = channels_.find(channel_id); live != channels_.end()) {
        ChannelStateMachine& machine = live->second.machine;
        Effects effects =
            status.ok()
                ? machine.Issued(std::move(requester), std::move(tsc),
                                 views_.EffectiveN(machine.record()), host_.StoreStatus())
                : machine.IssueFailed(std::move(requester), status.error(), host_.StoreStatus());
        commits = std::any_of(effects.begin(), effects.end(), [](const Effect& next) {
          return std::holds_alternative<effect::Commit>(next);
        });
        Apply(live->second, std::move(effects));
      }
      // Out of verification only as its commit is queued (Commit does both at once): a group
      // that lingered for this settlement then takes it in, instead of closing just before it
      // arrives. Without a commit (refused, or the channel gone) it leaves here.
      if (!commits) parts_.writer.SettlementsVerifying(-1);
    };
  };
  if (in_memory) {
    host_.AsyncOrOnLoop(std::move(work));
  } else {
    host_.Async(std::move(work));
  }
}

// Replay: the same claim again (a client retrying after a lost reply) gets the stored TSC.
void SettlementPipeline::Replay(ChannelRuntime& channel, Submission submission) {
  const std::string channel_id = channel.record().channel_id;
  host_.Async([this, channel_id, submission = std::move(submission)]() -> Task {
    Status status = OkStatus();
    const std::string claim_hash = ClaimHash(submission.claim, status);
    Result<TscRecord> existing = Error(ErrorCode::kInternal, "");
    if (!status.ok()) {
      existing = status.error();
    } else {
      // A claim names its seq, so the TSC stored at that seq is the only one it can have settled:
      // the same claim if the claim hashes match, a fork if not.
      existing = parts_.store.GetTsc(channel_id, submission.link.seq);
      const bool other = existing.ok() ? existing->claim_hash != claim_hash
                                       : existing.error().code() == ErrorCode::kNotFound;
      if (other) {
        existing = Error(ErrorCode::kConflict,
                         "fork: seq " + std::to_string(submission.link.seq) +
                             " of this channel is already settled by a different claim");
      }
    }
    return [this, requester = submission.requester, existing = std::move(existing)] {
      if (!existing.ok()) {
        host_.CountRejection(existing.error());
        host_.ReplyError(requester, existing.error());
        return;
      }
      ++replayed_;
      parts_.metrics.Replayed();
      host_.Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                                 .Add("channel", existing->channel_id)
                                 .Add("seq", existing->seq)
                                 .Add("replayed", true)
                                 .AddRaw("tsc", existing->tsc)
                                 .Finish());
    };
  });
}

// ---------------------------------------------------------------------------------------------
// Commit: the TSC and the head in one batch (store writer)

void SettlementPipeline::Commit(ChannelRuntime& channel, effect::Commit commit) {
  const std::string channel_id = channel.record().channel_id;
  // The writer hands the commit back with its outcome; it is filled on the writer thread before
  // the completion is posted to the loop, which reads it after (the loop queue orders the two).
  auto committed = std::make_shared<SettlementCommit>();
  StoreWriter::Done on_loop =
      host_.OnLoop([this, channel_id, requester = std::move(commit.requester), committed,
                    committing = Clock::now()](const Status& status) {
        parts_.metrics.StageDone(DaemonMetrics::Stage::kCommit, committing);
        ChannelRuntime& live = channels_.find(channel_id)->second;
        if (!status.ok()) {
          // Marked failed first: what the machine starts next sees the store as it is now.
          host_.OnStoreWriteFailed("commit settlement", channel_id, status.error());
          return Apply(live,
                       live.machine.CommitFailed(requester, status.error(), host_.StoreStatus()));
        }
        Apply(live, live.machine.Committed(requester, std::move(committed->tsc),
                                           committed->evidence, host_.StoreStatus()));
      });
  // Only Issued makes a commit: its settlement leaves verification as the commit is queued.
  parts_.writer.Commit(
      std::move(commit.commit),
      [committed = std::move(committed), on_loop = std::move(on_loop)](const Status& status,
                                                                       SettlementCommit returned) {
        *committed = std::move(returned);
        on_loop(status);
      },
      /*leaves_verification=*/true);
}

// ---------------------------------------------------------------------------------------------
// Acknowledge: answer the submitter, publish the TSC to the channel's members

void SettlementPipeline::Acknowledge(ChannelRuntime& channel,
                                     const effect::Acknowledge& acknowledged) {
  const Requester& requester = acknowledged.to;
  const TscRecord& tsc = acknowledged.tsc;
  ++issued_;
  parts_.metrics.TscIssued();
  parts_.metrics.SettlementDurable(
      std::chrono::duration<double>(Clock::now() - requester.received).count());
  const auto publishing = Clock::now();
  host_.Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                             .Add("channel", tsc.channel_id)
                             .Add("seq", tsc.seq)
                             .AddRaw("tsc", tsc.tsc)
                             .Finish());
  // The submitter's connection has the TSC in its reply; the event goes to everyone else.
  host_.Publish(channel,
                wire::FrameBuilder(wire::MessageType::kEventTsc)
                    .Add("channel", tsc.channel_id)
                    .Add("seq", tsc.seq)
                    .AddRaw("tsc", tsc.tsc)
                    .Finish(),
                std::nullopt, &requester);
  parts_.metrics.StageDone(DaemonMetrics::Stage::kPublish, publishing);
  parts_.metrics.SettlementPublished(
      std::chrono::duration<double>(Clock::now() - requester.received).count());
}

// WriteSettings: the channel record after a policy change, answered once stored.
void SettlementPipeline::WriteSettings(ChannelRuntime& channel) {
  const std::string channel_id = channel.record().channel_id;
  parts_.writer.PutChannel(channel.record(), host_.OnLoop([this, channel_id](const Status& status) {
    ChannelRuntime& stored = channels_.find(channel_id)->second;
    if (!status.ok()) {
      host_.OnStoreWriteFailed("store channel", channel_id, status.error());
      stored.machine.SettingsNotStored();  // written again once the store recovers
      return;
    }
    for (const auto& requester : std::exchange(stored.settings_requesters, {})) {
      host_.Reply(requester, wire::FrameBuilder(wire::MessageType::kReply, requester.request_id)
                                 .Add("policy", views_.Policy(&stored))
                                 .Finish());
    }
  }));
}

}  // namespace tcc::controller
