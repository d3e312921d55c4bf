// Issuance benchmark: VC 2.0 credentials with 1/2/4 KB claims issued with eddsa-jcs-2022, on one
// thread and on all cores, next to the raw libsodium Ed25519 signing rate measured in the same run.
// Also measures the canonicalize+hash share alone, to show what the non-signature work costs.
//
// Usage: issue_bench [--vectors DIR] [--runs N] [--seconds S] [--json-out FILE]
// Prints a table and one JSON object per line and configuration (prefix-free, for scripts).
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "tcc/common/file.h"
#include "tcc/common/sha256.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/jcs.h"

namespace {

}  // namespace

int main(int argc, char** argv) {
  tcc::perf::BenchSettings settings;
  settings.vectors = TCC_TEST_VECTORS;
  if (auto stop = tcc::perf::ParseBenchSettings(argc, argv, "issue_bench", settings)) return *stop;
  if (sodium_init() < 0) return 1;
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<int> thread_counts = {1};
  if (cores > 1) thread_counts.push_back(cores);

  // One issuer key per thread, as a real deployment shares one TCC key: the key is read-only.
  tcc::did::KeyPair key = tcc::did::KeyPair::FromSeed(tcc::Bytes(32, 7)).value();
  const unsigned char message[64] = {1};
  unsigned char raw_public_key[crypto_sign_PUBLICKEYBYTES];
  unsigned char raw_secret_key[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(raw_public_key, raw_secret_key);

  std::ofstream json_file;
  if (!settings.json_out.empty()) json_file.open(settings.json_out, std::ios::app);
  std::vector<std::string> json_lines;

  std::printf("issuance benchmark: median of %d runs x %.1f s, %d cores\n", settings.runs, settings.seconds, cores);
  std::printf("%-7s %-8s %14s %14s %8s %16s\n", "claim", "threads", "issued/s", "raw sign/s", "ratio",
              "jcs+sha256/s");

  struct Size {
    int claim_bytes;
    const char* vector;
  };
  for (Size size : {Size{1024, "02-claim-1kb"}, Size{2048, "03-claim-2kb"}, Size{4096, "04-claim-4kb"}}) {
    auto text = tcc::ReadFile(settings.vectors + "/eddsa-jcs-2022/" + size.vector + "/unsigned.json");
    if (!text.ok()) {
      std::cerr << text.error().ToString() << " (pass --vectors DIR)\n";
      return 1;
    }
    tcc::Json unsigned_credential = tcc::Json::Parse(*text).value();
    unsigned_credential.Erase("issuer");  // filled from the benchmark key
    for (int threads : thread_counts) {
      auto measure = [&](const std::function<bool()>& work) {
        return tcc::perf::MedianRate(settings.runs, threads, settings.seconds, work);
      };
      double issued = measure([&] { return tcc::vc::IssueCredential(unsigned_credential, key).ok(); });
      // The raw ceiling: libsodium signing a 64-byte message (the size of eddsa-jcs-2022's hash data).
      double raw = measure([&] {
        unsigned char signature[crypto_sign_BYTES];
        return crypto_sign_detached(signature, nullptr, message, sizeof message, raw_secret_key) == 0;
      });
      double canonical = measure([&] {
        thread_local std::string buffer;
        buffer.clear();
        if (!tcc::vc::AppendCanonical(buffer, unsigned_credential).ok()) return false;
        tcc::Sha256Digest digest = tcc::Sha256(std::string_view(buffer));
        return digest.size() == 32;
      });
      std::printf("%4d B  %-8d %14.0f %14.0f %7.1f%% %16.0f\n", size.claim_bytes, threads, issued, raw,
                  100.0 * issued / raw, canonical);
      char line[256];
      std::snprintf(line, sizeof line,
                    "{\"bench\":\"issue\",\"claim_bytes\":%d,\"threads\":%d,\"per_sec\":%.0f,"
                    "\"raw_sign_per_sec\":%.0f,\"ratio\":%.3f,\"jcs_sha256_per_sec\":%.0f}",
                    size.claim_bytes, threads, issued, raw, issued / raw, canonical);
      json_lines.push_back(line);
    }
  }
  for (const auto& line : json_lines) {
    std::cout << line << "\n";
    if (json_file) json_file << line << "\n";
  }
  return 0;
}
