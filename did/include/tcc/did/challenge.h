// DID challenge-response: how a party proves to a TCC that it controls a DID before it is admitted
// to a channel (docs/design.md, "Flow", step 4).
//
//  1. The TCC draws a random 32-byte nonce and seals {nonce, channel id, TCC DID, party DID,
//     expiry} to the party's key-agreement key (X25519, libsodium crypto_box_seal), so only the
//     DID's controller can read the nonce.
//  2. The party opens the box with its key (OpenChallenge), checks that the binding names the
//     channel and TCC it meant to join and has not expired, and answers with the nonce and an
//     Ed25519 signature over the transcript (ChallengeTranscript) made with its authentication key.
//  3. The TCC checks the nonce against the one it issued (single use, expiry) and the signature
//     against the DID document's authentication key (VerifyChallengeResponse).
// The transcript binds the nonce to the channel, the TCC, the party and the expiry, so an answer
// cannot be replayed for another channel, another TCC or after it expired.
//
// Pure functions over keys and bytes; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"

namespace tcc::did {

using ChallengeNonce = std::array<std::uint8_t, 32>;

struct ChallengeBinding {
  std::string channel_id;
  std::string tcc_did;
  std::string party_did;
  std::uint64_t expires_ms = 0;  // Unix ms

  friend bool operator==(const ChallengeBinding&, const ChallengeBinding&) = default;
};

struct Challenge {
  ChallengeBinding binding;
  ChallengeNonce nonce{};
};

// A fresh random nonce (libsodium randombytes).
ChallengeNonce NewChallengeNonce();

// The bytes both sides sign/verify: "tcc/auth/v1" 0x00, then each binding string with a u32
// big-endian length prefix, the expiry as u64 big-endian, then the nonce.
Bytes ChallengeTranscript(const Challenge& challenge);

// The sealed box a TCC sends. kInvalidArgument if a binding string is over 1 KiB.
Result<Bytes> SealChallenge(const Challenge& challenge, const X25519PublicKey& recipient);
// The party's side: opens and decodes a sealed challenge. kVerificationFailed if the box does not
// open with this key, kParse if the plaintext is malformed.
Result<Challenge> OpenChallenge(ByteView sealed, const KeyPair& key);

Signature SignChallengeResponse(const Challenge& challenge, const KeyPair& key);
bool VerifyChallengeResponse(const Challenge& challenge, const PublicKey& authentication_key,
                             ByteView signature);

}  // namespace tcc::did
