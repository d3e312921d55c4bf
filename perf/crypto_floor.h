// The crypto floor of one settlement for the benchmarks in perf/: what its signatures alone cost,
// two raw libsodium Ed25519 verifications (the parties' proofs) and one signature (the TSC's) over
// 64-byte messages (the hash data of eddsa-jcs-2022). The ceiling settle_bench and tccd_bench
// compare against, measured in the same run. Needs sodium_init() first; Work() may run on many
// threads at once (the keys are read-only after construction).
#pragma once

#include <sodium.h>

#include "bench_util.h"

namespace tcc::perf {

// Work() is one settlement's signatures (for MeasureRate on any number of threads).
struct CryptoFloor {
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
  unsigned char message[64] = {9}, signature[crypto_sign_BYTES];

  CryptoFloor() {
    crypto_sign_keypair(public_key, secret_key);
    crypto_sign_detached(signature, nullptr, message, sizeof message, secret_key);
  }
  bool Work() const {
    unsigned char fresh[crypto_sign_BYTES];
    bool ok = crypto_sign_verify_detached(signature, message, sizeof message, public_key) == 0;
    ok &= crypto_sign_verify_detached(signature, message, sizeof message, public_key) == 0;
    ok &= crypto_sign_detached(fresh, nullptr, message, sizeof message, secret_key) == 0;
    return ok;
  }
  // Microseconds per settlement's worth of signatures on one thread, measured for `seconds`.
  double MicrosPerSettlement(double seconds) const {
    return 1e6 / MeasureRate(1, seconds, [this] { return Work(); });
  }
};

}  // namespace tcc::perf
