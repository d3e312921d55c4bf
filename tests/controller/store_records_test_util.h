// Test records for the channel store and its writer: channels, TSCs whose hash is the real one
// (the store checks a TSC's text against its hash on every read), and the commit that moves a
// channel's head to a TSC. Shared by the controller tests that need them.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <utility>

#include "channel.h"
#include "channel_store.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json.h"
#include "tcc/common/sha256.h"
#include "tcc/vc/transaction.h"

namespace tcc::controller::testing {

template <typename T>
T Ok(Result<T> result) {
  REQUIRE_MESSAGE(result.ok(), (result.ok() ? "" : result.error().ToString()));
  return std::move(result).value();
}

inline void RequireOk(const Status& status) {
  REQUIRE_MESSAGE(status.ok(), (status.ok() ? "" : status.error().ToString()));
}

inline std::string HexHash(const std::string& text) { return HexEncode(Sha256(text)); }

inline ChannelRecord NewChannel(const std::string& channel_id) {
  ChannelRecord record;
  record.channel_id = channel_id;
  record.provider = "did:web:provider.example:alice";
  record.consumer = "did:key:z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT";
  record.tst_id = "urn:tcc:tst:gpu-hour";
  record.tst_version = 3;
  record.strategy_n = 10;
  // The head of a channel without TSCs is its id (ids the store refuses get a zero head).
  const Result<chain::Hash256> head = Sha256DigestFromHex(channel_id);
  record.last_hash = head.ok() ? *head : chain::Hash256{};
  record.opened_ms = 1700000000123;
  return record;
}

inline std::string TscText(const std::string& channel_id, std::uint64_t seq, std::size_t pad = 0) {
  return "{\"channel\":\"" + channel_id + "\",\"seq\":" + std::to_string(seq) + ",\"pad\":\"" +
         std::string(pad, 'x') + "\"}";
}

// The store checks a TSC's text against its hash on every read, so the hash is the real one.
inline chain::Hash256 TscHash(const std::string& text) {
  return Ok(vc::CredentialDigest(Ok(Json::Parse(text))));
}

inline TscRecord NewTsc(const std::string& channel_id, std::uint64_t seq, std::size_t pad = 0) {
  std::string text = TscText(channel_id, seq, pad);
  const chain::Hash256 hash = TscHash(text);
  return TscRecord{channel_id, seq, hash,
                   HexHash(channel_id + "/claim/" + std::to_string(seq)), std::move(text)};
}

inline chain::EvidenceItem ItemFor(const TscRecord& tsc) {
  return chain::EvidenceItem{tsc.channel_id, tsc.seq, tsc.tsc_hash};
}

// The commit of TSC `seq`, moving the channel's head to it.
inline SettlementCommit CommitOf(const std::string& channel_id, std::uint64_t seq, bool evidence = false,
                          std::size_t pad = 0) {
  SettlementCommit commit;
  commit.tsc = NewTsc(channel_id, seq, pad);
  commit.channel = NewChannel(channel_id);
  commit.channel.last_seq = seq;
  commit.channel.last_hash = commit.tsc.tsc_hash;
  if (evidence) {
    commit.evidence = ItemFor(commit.tsc);
    commit.channel.evidence_seq = seq;
  }
  return commit;
}

}  // namespace tcc::controller::testing
