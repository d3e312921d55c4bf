// Ed25519 verification for the settlement hot path, where every claim costs two: Crypto++'s
// (ed25519-donna), measured about a sixth faster than libsodium's (docs/perf.md, "Issue #20,
// fourth step"), held to libsodium's acceptance rules so that tccd settles no claim a party's
// libsodium-based verifier would refuse. tests/controller/ed25519_verifier_test.cpp compares the
// two on valid, altered and crafted signatures.
//
// What it adds to donna's check, and why:
//  - S must be a canonical scalar (below the group order L); donna only looks at its top bits.
//  - The key must be a canonical point of prime order (libsodium's
//    crypto_core_ed25519_is_valid_point). libsodium's verify refuses only small-order keys; a key
//    with a small-order component is never made by an honest signer, and refusing it makes the
//    next rule sufficient. The answer is remembered per thread for the keys last checked, since a
//    channel's parties sign every claim with the same keys.
//  - R must not be the identity: with a prime-order key, the only small-order R the equation can
//    meet, and libsodium refuses it.
//
// Thread-safe: the key cache is per thread.
#pragma once

#include "tcc/common/bytes.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/data_integrity.h"

namespace tcc::controller {

// Same contract as did::VerifySignature: false for anything but a valid 64-byte signature.
bool VerifyEd25519(const did::PublicKey& public_key, ByteView message, ByteView signature);

// The settlement path's proof options: vc's defaults, with VerifyEd25519 and the time of the call.
vc::ProofVerifyOptions SettlementProofOptions();

}  // namespace tcc::controller
