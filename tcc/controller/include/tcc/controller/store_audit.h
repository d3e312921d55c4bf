// AuditStore: walks a closed ChannelStore the way chain::VerifyLedger walks a ledger and reports
// every problem it finds instead of stopping at the first. It is what `tcc store verify` runs.
//
// Per channel it checks: every TSC from 1 to the head is present and its text hashes to its stored
// hash (ChannelStore refuses it otherwise); the TCC's proof verifies and names the expected issuer;
// channel, seq and prev link each TSC to the one before (the first to the channel id); the head
// names the last TSC's hash and nothing is stored beyond it; each stored evidence bundle commits
// the TSC stored under its seq and its Merkle path leads to its root. With a chain adapter it also
// checks, from the chain, the TST and the parties' joint proofs of every TSC and that each bundle's
// root is anchored as its receipt says.
//
// The caller owns the resolver and adapter, which must outlive the call; AuditStore only reads,
// a store nothing writes meanwhile (a stopped tccd's, or a backup copy).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/result.h"
#include "tcc/did/resolver.h"

namespace tcc::controller {

struct StoreAuditOptions {
  std::string tcc_did;                   // every TSC's expected issuer; empty: not compared
  did::Resolver* resolver = nullptr;     // required: resolves the TCC's DID (and the parties')
  chain::ChainAdapter* chain = nullptr;  // optional: TSTs, joint proofs and anchors from the chain
  // Called after each channel, for progress on large stores.
  std::function<void(std::size_t done, std::size_t total)> progress;
};

struct ChannelAudit {
  std::string channel_id;
  std::uint64_t head_seq = 0;
  std::uint64_t anchored_seq = 0;
  std::uint64_t tscs_checked = 0;     // TSCs read and verified without a problem
  std::uint64_t bundles_checked = 0;  // evidence bundles verified (on chain too, with an adapter)
  std::uint64_t problems = 0;
};

struct StoreAuditReport {
  std::vector<ChannelAudit> channels;
  std::uint64_t tscs = 0;
  std::uint64_t bundles = 0;
  std::uint64_t problem_count = 0;
  std::vector<std::string> problems;  // the first kMaxListedProblems, each naming channel and seq
  bool checked_on_chain = false;

  static constexpr std::size_t kMaxListedProblems = 100;
  bool ok() const { return problem_count == 0; }
  std::string ToString() const;
};

// Opens the store at `store_path` (never creating one; a store tccd has open is refused by
// LevelDB's lock) and audits it. kInvalidArgument without a resolver; a store that cannot be
// opened or listed at all is its error. Problems inside the store are in the report, not errors.
Result<StoreAuditReport> AuditStore(const std::string& store_path, const StoreAuditOptions& options);

}  // namespace tcc::controller
