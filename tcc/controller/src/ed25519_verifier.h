// Ed25519 verification for the settlement hot path, where every claim costs two: Crypto++'s
// (ed25519-donna), measured about a sixth faster than libsodium's (docs/perf.md, "Issue #20,
// fourth step"), with libsodium's verdict on every signature, so that tccd settles exactly the
// claims a party's libsodium-based verifier accepts. tests/controller/ed25519_verifier_test.cpp
// compares the two on valid, altered and crafted signatures.
//
// donna alone accepts more than libsodium: an S at or above the group order L, and, since it does
// not look at the order of R or of the key, signatures whose equation holds only through
// small-order points. So donna is asked only under a key known to be a canonical point of prime
// order (libsodium's crypto_core_ed25519_is_valid_point), and only for a canonical S and an R
// other than the identity: under such a key the identity is the only small-order R the equation
// can meet, and libsodium refuses it. Every other signature goes to libsodium.
//
// Keys are checked when seen a second time in a row in their slot of a per-thread table (16,384
// slots, half a megabyte per thread): a channel's parties sign claim after claim with the same
// keys, while keys that share a slot and alternate keep going to libsodium, never to both checks.
//
// Thread-safe: the table is per thread.
#pragma once

#include "tcc/common/bytes.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/data_integrity.h"

namespace tcc::controller {

// Same contract and verdicts as did::VerifySignature: false for anything but a valid 64-byte
// signature.
bool VerifyEd25519(const did::PublicKey& public_key, ByteView message, ByteView signature);

// The settlement path's proof options: vc's defaults, with VerifyEd25519 and the time of the call.
vc::ProofVerifyOptions SettlementProofOptions();

}  // namespace tcc::controller
