// The crypto floor of one settlement for the benchmarks in perf/: what its signatures alone cost,
// with the primitives tccd uses, called raw: two Ed25519 verifications (the parties' proofs;
// Crypto++, as tccd's settlement path verifies them, see tcc/controller/src/ed25519_verifier.h)
// and one libsodium signature (the TSC's), over 64-byte messages (the hash data of
// eddsa-jcs-2022). The ceiling settle_bench and tccd_bench compare against, measured in the same
// run. Needs sodium_init() first; Work() may run on many threads at once (the keys are read-only
// after construction).
#pragma once

#include <cryptopp/donna.h>
#include <sodium.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "proc_cpu.h"

namespace tcc::perf {

// Work() is one settlement's signatures (for MeasureRate on any number of threads).
struct CryptoFloor {
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
  unsigned char message[64] = {9}, signature[crypto_sign_BYTES];

  CryptoFloor() {
    crypto_sign_keypair(public_key, secret_key);
    crypto_sign_detached(signature, nullptr, message, sizeof message, secret_key);
  }
  // One raw verification as tccd makes it (donna's function, no verifier object).
  bool Verify() const {
    return CryptoPP::Donna::ed25519_sign_open(message, sizeof message, public_key, signature) == 0;
  }
  bool Work() const {
    unsigned char fresh[crypto_sign_BYTES];
    bool ok = Verify();
    ok &= Verify();
    ok &= crypto_sign_detached(fresh, nullptr, message, sizeof message, secret_key) == 0;
    return ok;
  }
  // CPU microseconds of the calling thread per settlement's worth of signatures, measured for
  // about `seconds`. CPU time (CLOCK_THREAD_CPUTIME_ID), not wall time: on a busy machine the time
  // other processes take the core away does not count, as it does not in a process's /proc CPU
  // time it is compared with. Exits the benchmark if a signature is refused.
  double MicrosPerSettlement(double seconds) const {
    const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    const double cpu_start = CallingThreadCpuSeconds();
    std::uint64_t done = 0;
    bool ok = true;
    while (std::chrono::steady_clock::now() < until) {
      for (int i = 0; i < 8; ++i) ok &= Work();
      done += 8;
    }
    if (!ok) {
      std::fputs("crypto floor: a signature was refused\n", stderr);
      std::exit(1);
    }
    return 1e6 * (CallingThreadCpuSeconds() - cpu_start) / static_cast<double>(done);
  }
};

}  // namespace tcc::perf
