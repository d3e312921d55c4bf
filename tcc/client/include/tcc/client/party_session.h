// PartySession: a provider's or consumer's long-lived seat in one TCC channel — the layer party
// programs are written against (examples/gpu_provider.cpp and examples/gpu_consumer.cpp).
//
// It joins the channel (DID challenge-response, waiting for tccd to open a channel it has not
// opened yet), keeps the channel's head (last seq and hash, N, anchors), and checks everything
// tccd sends: each TSC is verified at both levels (the TCC's proof, the parties' joint proof, the
// TST, the issuer and the hash link to the previous TSC) before it is applied, and applied exactly
// once, in seq order. A provider proposes with ProposeNext; a consumer checks and co-signs with
// Cosign and submits with Submit, or refuses a wrong bill with Reject, after which (and only then)
// the provider's next ProposeNext may carry a different claim for the same seq. Either party may
// Close the channel with a reason; FetchDisputes returns the signed record of both.
//
// Durability on the party's side: with `tsc_dir` every applied TSC is also kept on this party's
// disk, and a tccd that comes back behind or apart from it (a restored backup, a lost log tail)
// is refused, never followed into a fork. A rejoin after a lost connection makes the same check
// against the session's head, journal or not. When tccd says the channel is `recovering` (its
// start-up cross-check found its store behind the chain), a session with a journal presents the
// journal's TSCs after tccd's head on every join (channel.recover), so tccd restores them before
// it settles again; the check above then runs against the restored head.
//
// Resume: when the connection is lost (no answer within the timeout, or a restarted tccd that no
// longer knows this connection's admission), the session connects and joins again, syncs the
// TSCs it missed (verifying each), and repeats the interrupted request with the same content, so
// tccd answers it as a replay; nothing is applied twice and no seq is ever sent with two different
// claims. A quiet connection is checked every `liveness_interval`.
//
// Events reach the caller in two styles: Subscribe a handler (called from Poll/Run on the
// caller's thread; it may call any session method), or read the value Poll returns. Both see every
// event once, in order.
//
// Ownership: the session owns its connection and shares the key and resolver. Thread safety: none;
// one thread drives a session (run one session per party thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/evidence.h"
#include "tcc/client/channel_client.h"
#include "tcc/client/tsc_journal.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/template.h"
#include "tcc/wire/dispute.h"

namespace tcc::client {

struct PartySessionOptions {
  // tccd's party endpoint, the TCC's DID and the per-request timeout; client_key is not used (each
  // connection gets a fresh CURVE key: a party's identity is its DID, proven when joining).
  ConnectOptions connect;
  std::string channel_id;  // the TIC's hash
  std::shared_ptr<const did::KeyPair> key;
  std::string party_did;                     // default: the did:key of `key`
  std::optional<vc::Template> tst;           // the TST the channel's claims follow (required)
  std::shared_ptr<did::Resolver> resolver;   // resolves the parties' DIDs; default: did:key only
  std::chrono::milliseconds open_wait{10000};           // first join: wait for tccd to open the channel
  std::chrono::milliseconds reconnect_for{120000};      // give up (kUnavailable) after this long
  std::chrono::milliseconds retry_interval{500};        // between reconnect attempts and busy retries
  std::chrono::milliseconds liveness_interval{3000};    // a quiet connection is checked this often
  // Polled while waiting; returning true ends waits early (for Ctrl-C). Optional.
  std::function<bool()> cancelled;
  // Where the TSCs this party applies are kept (TscJournal: DIR/<channel>/<seq>.json), each written
  // before the session reports it. A session that joins with a journal starts from the journal's
  // head instead of tccd's word: a tccd behind it (a restored or damaged store) is kConflict, a
  // tccd holding another TSC at that seq kVerificationFailed. Empty: no journal.
  std::string tsc_dir;
};

// Where the channel stands as this party has verified it.
struct ChannelHead {
  std::string role;  // provider, consumer or auditor
  std::string provider;
  std::string consumer;
  std::uint64_t seq = 0;  // the last TSC applied
  std::string hash;       // its hash: the `prev` of the next claim
  std::uint64_t n = 0;    // the channel's effective N
  std::uint64_t evidence_seq = 0;  // the latest TSC handed to tccd's anchoring
  std::uint64_t anchored_seq = 0;  // the latest TSC anchored on chain
  std::string anchored_root;
  std::string anchored_batch;
  bool closed = false;
};

enum class SessionEventKind {
  kTsc,       // a TSC was verified and applied; body = the TSC
  kProposal,  // the provider proposed; body = the proposal (consumers check it with Cosign)
  kAnchored,  // tccd anchored a TSC of the channel; body = {seq, root, batch, ...}
  kChannel,   // the channel's state changed (N, closing, closed; closed_by names who and why); body
              // = the state
  kReconnected,  // the connection was lost and the session joined again; body = the state
  kRejection,    // the consumer rejected a proposal (verified); body = the signed rejection
};

struct SessionEvent {
  SessionEventKind kind = SessionEventKind::kTsc;
  std::uint64_t seq = 0;  // kTsc, kProposal, kAnchored, kRejection: the seq concerned
  std::string hash;       // kTsc: the TSC's hash
  Json body;
};

// An evidence bundle fetched from tccd and checked: the bundle's Merkle path leads to its root, it
// commits `anchored_tsc` (which verifies), and the hash chain links the asked seq to it.
struct VerifiedEvidence {
  std::uint64_t seq = 0;           // the seq asked for
  std::uint64_t anchored_seq = 0;  // the anchored TSC that commits it
  Json anchored_tsc;
  chain::EvidenceBundle bundle;
  bool checked_on_chain = false;  // also found anchored on the chain adapter given
};

class PartySession {
 public:
  using Handler = std::function<void(const SessionEvent&)>;

  // Connects and joins. kNotFound after open_wait when tccd never opened the channel.
  static Result<std::unique_ptr<PartySession>> Join(PartySessionOptions options);

  const ChannelHead& head() const { return head_; }
  const std::string& did() const { return did_; }
  // The last TSC applied (null before the first one this session saw).
  const Json& last_tsc() const { return last_tsc_; }

  // Callback style: handlers run, in subscription order, for every event Poll/Run hands out.
  void Subscribe(Handler handler) { handlers_.push_back(std::move(handler)); }

  // Waits up to `wait` for the next event, runs the handlers, and returns it (nullopt: none came).
  // kVerificationFailed when tccd sent a TSC that does not verify or does not continue the chain;
  // kInvalidArgument for a relayed proposal without a valid channel, seq (an integer from 1 to
  // 2^53 - 1) or prev, which is dropped: the next Poll goes on with the session.
  Result<std::optional<SessionEvent>> Poll(std::chrono::milliseconds wait);
  // Polls until the channel is closed, `until` returns true, or the session is cancelled.
  Status Run(const std::function<bool()>& until = {});

  // Provider: signs `claim` as the next settlement (channel, seq = head + 1, prev, provider and
  // consumer are set here) and sends it to the consumer through tccd. Calling it again before
  // that seq is issued re-sends the same proposal, unless the consumer has rejected it (a
  // kRejection event was seen): then `claim` is signed and proposed as the amended bill (tccd
  // refuses the rejected content again with kConflict). kUnavailable while the consumer is not
  // connected. Returns the proposal.
  Result<Json> ProposeNext(Json claim);
  // Waits until TSC `seq` has been applied (asking tccd when events are quiet). kUnavailable after
  // `wait`; kConflict as soon as the consumer has rejected this session's proposal for `seq`.
  Status AwaitTsc(std::uint64_t seq, std::chrono::milliseconds wait);

  // Consumer: checks that a proposal continues this channel (channel, parties, seq = head + 1 after
  // catching up, prev = head hash), follows the TST and carries the provider's valid proof, then
  // co-signs it. For a seq co-signed before, returns that same joint claim.
  Result<Json> Cosign(const Json& proposal);
  // Consumer: refuses `proposal` (the one for the next seq) with a reason; tccd stores the signed
  // rejection and tells the provider. kConflict for a proposal this session co-signed (a co-signed
  // claim is final) or a seq already issued. Returns the signed rejection.
  Result<Json> Reject(const Json& proposal, const wire::Reason& reason);
  // Either party: closes the channel with a reason. Returns the TCC's closing record, verified.
  Result<Json> Close(const wire::Reason& reason);
  // The channel's rejections from `from_seq` on, its closing record and, once anchored, the closing
  // record's evidence bundle (VerifyClosingEvidence, offline), each verified.
  Result<DisputeRecord> FetchDisputes(std::uint64_t from_seq = 1);
  // Submits a joint claim, applies the TSC tccd issues, and returns it. Across a lost connection or
  // a tccd restart it rejoins and resubmits the same claim (a replay for tccd).
  Result<Json> Submit(const Json& joint_claim);

  // Asks tccd where the channel is and applies the TSCs this party has not seen.
  Status Resync();

  // Fetches and checks the evidence for TSC `seq` (see VerifiedEvidence). With a chain adapter, also
  // checks the anchor on chain. kUnavailable while the TSC is not anchored yet.
  Result<VerifiedEvidence> FetchEvidence(std::uint64_t seq, chain::ChainAdapter* chain = nullptr);

 private:
  explicit PartySession(PartySessionOptions options);

  bool Cancelled() const { return options_.cancelled && options_.cancelled(); }
  Status Connect();
  Status Reconnect();
  // Runs `request` on the live connection; a lost connection is re-joined and the request repeated.
  template <typename Call>
  auto WithResume(Call request) -> decltype(request());
  Status AdoptState(const Json& state);
  // A recovering channel: sends the journal's TSCs after tccd's head; returns the state after.
  Result<Json> PresentJournal(const Json& state);
  // First join with a journal: start from its last TSC, checked against tccd's.
  Status StartFromJournal(std::uint64_t tccd_seq);
  Error BehindParty(std::uint64_t tccd_seq) const;
  Status CatchUp(std::uint64_t target);
  // Verifies and applies a TSC from tccd; one at or below the head is ignored, one past head + 1
  // makes the session catch up first.
  Status Accept(const Json& tsc);
  Status Receive(std::chrono::milliseconds wait);
  Status OnMessage(const Message& message);
  void Queue(SessionEventKind kind, std::uint64_t seq, Json body, std::string hash = {});
  // Provider: whether tccd holds a rejection of pending_ for `seq` (one missed while away).
  Status LearnRejection(std::uint64_t seq);
  // Hands a rejection out once, whether it came as an event or was learned from tccd.
  void QueueRejection(std::uint64_t seq, const std::string& proposal_hash, const Json& rejection);

  PartySessionOptions options_;
  std::string did_;
  std::unique_ptr<ChannelClient> client_;
  ChannelHead head_;
  Json last_tsc_;
  std::vector<Handler> handlers_;
  std::deque<SessionEvent> ready_;
  std::chrono::steady_clock::time_point last_heard_;
  bool joined_once_ = false;
  std::optional<TscJournal> journal_;
  // The one proposal (provider) or joint claim (consumer) made for pending_seq_: a retry sends
  // the very same content, so tccd sees it as a replay, never as a second claim for the seq.
  std::uint64_t pending_seq_ = 0;
  Json pending_;
  bool pending_rejected_ = false;  // provider: the consumer rejected pending_, so it may be amended
  std::uint64_t rejections_seen_seq_ = 0;
  std::set<std::string> rejections_seen_;  // proposal hashes of the rejections handed out for it
};

}  // namespace tcc::client
