// VC-API benchmark: credential verifications per second over HTTP against a real tccd
// (`tccd --vc-api`), with several client threads each keeping one connection alive (libcurl, as
// tests/vcapi does), next to the rate of the same verification in process (vcapi::CredentialService,
// what the server runs per request) and the raw libsodium Ed25519 verify rate, all measured in the
// same run. The credential is the 1 KB claim vector (tests/vectors/eddsa-jcs-2022/02-claim-1kb),
// a did:key issuer, so no chain lookup is involved: the figures are HTTP + JSON + verification.
// Client and server share the machine's cores, so the HTTP rate is a lower bound of what a remote
// client would see.
//
// Usage: vcapi_bench [--vectors DIR] [--runs N] [--seconds S] [--json-out FILE] [--clients 1,2,4,8]
//                    [--server-threads T]
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>
#include <sodium.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "bench_util.h"
#include "daemon/daemon_test_util.h"
#include "tcc/did/did_key.h"
#include "tcc/vcapi/credential_service.h"
#include "vcapi/http_client.h"

namespace tcc::perf {
namespace {

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> values;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    if (std::atoi(item.c_str()) > 0) values.push_back(std::atoi(item.c_str()));
  }
  return values;
}

int Main(const BenchSettings& settings, const std::vector<int>& clients, int server_threads) {
  auto text = ReadFile(settings.vectors + "/eddsa-jcs-2022/02-claim-1kb/signed.json");
  if (!text.ok()) {
    std::cerr << text.error().ToString() << " (pass --vectors DIR)\n";
    return 1;
  }
  const Json credential = Json::Parse(*text).value();
  Json request = Json::Object();
  request.Set("verifiableCredential", credential);
  const std::string body = request.Serialize();

  // In process: the service the server calls, with the resolver stack tccd uses for did:key (a
  // cache in front: deriving a did:key document costs an Ed25519-to-X25519 conversion).
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  auto resolver = std::make_shared<did::CachingResolver>(std::make_shared<did::DidKeyResolver>(), std::chrono::minutes(5));
  vcapi::CredentialService service({did::DidDocument(), did::KeyPair::Generate(), resolver,
                                    [](const std::string&, std::uint32_t) -> Result<std::shared_ptr<const vc::Template>> {
                                      return Error(ErrorCode::kNotFound, "no templates in this benchmark");
                                    },
                                    nullptr, nullptr});
  // The in-process and raw rates are measured again next to every HTTP run (interleaved), so that
  // load from elsewhere on a shared machine hits both sides of each ratio alike.
  auto measure_in_process = [&] {
    return MeasureRate(cores, settings.seconds, [&] { return service.VerifyCredential(credential, {}).ok(); });
  };
  // The ceiling: one Ed25519 verification of the 64-byte eddsa-jcs-2022 hash data.
  unsigned char public_key[crypto_sign_PUBLICKEYBYTES], secret_key[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(public_key, secret_key);
  const unsigned char message[64] = {1};
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, message, sizeof message, secret_key);
  auto measure_raw = [&] {
    return MeasureRate(cores, settings.seconds, [&] {
      return crypto_sign_verify_detached(signature, message, sizeof message, public_key) == 0;
    });
  };

  testing::TempDir dir;
  const std::string config = dir.Sub("tccd.json");
  if (!WriteFileAtomic(config, "{\"vc_api\": {\"listen\": \"127.0.0.1:0\", \"threads\": " + std::to_string(server_threads) + "}}").ok()) {
    return 1;
  }
  testing::TccdProcess tccd;
  tccd.Start({"--config", config, "--data-dir", dir.Sub("data"), "--listen", "tcp://127.0.0.1:*", "--control",
              "tcp://127.0.0.1:*"});
  const std::string address = tccd.vc_api();

  std::ofstream json_file;
  if (!settings.json_out.empty()) json_file.open(settings.json_out, std::ios::app);
  std::vector<std::string> json_lines;
  std::printf("VC-API verify benchmark: 1 KB claim credential, median of %d runs x %.1f s, %d cores, %d server threads\n"
              "(in process: %d threads; the client's threads and tccd share the same cores)\n",
              settings.runs, settings.seconds, cores, server_threads, cores);
  std::printf("%-8s %14s %18s %14s %12s %12s\n", "clients", "HTTP verify/s", "in process/s", "HTTP/in proc",
              "raw verify/s", "connections");
  for (int threads : clients) {
    std::atomic<std::uint64_t> connections{0};
    std::vector<double> http_rates, in_process_rates, raw_rates;
    for (int run = 0; run < settings.runs; ++run) {
      in_process_rates.push_back(measure_in_process());
      raw_rates.push_back(measure_raw());
      http_rates.push_back(MeasureRate(threads, settings.seconds, [&] {
        // One kept-alive connection per client thread and run.
        thread_local std::unique_ptr<testing::HttpClient> client;
        thread_local int client_run = -1;
        if (!client || client_run != run) {
          client = std::make_unique<testing::HttpClient>(address);
          client_run = run;
        }
        const testing::HttpResponse response = client->Post("/credentials/verify", body);
        if (!client->reused_connection()) ++connections;
        return response.status == 200;
      }));
    }
    const double over_http = Median(http_rates), in_process = Median(in_process_rates), raw = Median(raw_rates);
    std::printf("%-8d %14.0f %18.0f %13.1f%% %12.0f %12llu\n", threads, over_http, in_process,
                100.0 * over_http / in_process, raw, static_cast<unsigned long long>(connections.load()));
    char line[320];
    std::snprintf(line, sizeof line,
                  "{\"bench\":\"vcapi_verify\",\"claim_bytes\":1024,\"clients\":%d,\"server_threads\":%d,"
                  "\"per_sec\":%.0f,\"in_process_per_sec\":%.0f,\"raw_verify_per_sec\":%.0f,\"ratio\":%.3f,"
                  "\"connections\":%llu}",
                  threads, server_threads, over_http, in_process, raw, over_http / in_process,
                  static_cast<unsigned long long>(connections.load()));
    json_lines.push_back(line);
  }
  if (tccd.Stop() != 0) {
    std::cerr << "tccd did not stop cleanly:\n" << tccd.Log();
    return 1;
  }
  for (const auto& line : json_lines) {
    std::cout << line << "\n";
    if (json_file) json_file << line << "\n";
  }
  return 0;
}

}  // namespace
}  // namespace tcc::perf

int main(int argc, char** argv) {
  // TccdProcess reports setup failures through doctest assertions; outside a test run they end
  // the benchmark with the message.
  doctest::Context context;
  context.setAsDefaultForAssertsOutOfTestCases();
  context.setAssertHandler([](const doctest::AssertData& data) {
    std::fprintf(stderr, "vcapi_bench: setup failed at %s:%d: %s %s\n", data.m_file, data.m_line, data.m_expr,
                 data.m_exception.c_str());
    std::exit(1);
  });
  tcc::perf::BenchSettings settings;
  settings.vectors = TCC_TEST_VECTORS;
  settings.runs = 3;
  std::string clients = "1,2,4,8", server_threads = "4";
  if (auto stop = tcc::perf::ParseBenchSettings(
          argc, argv, "vcapi_bench", settings,
          {{"clients", "comma-separated client thread counts, one kept-alive connection each (default 1,2,4,8)", &clients},
           {"server-threads", "tccd's vc_api.threads, the concurrency cap (default 4)", &server_threads}})) {
    return *stop;
  }
  if (sodium_init() < 0) return 1;
  return tcc::perf::Main(settings, tcc::perf::ParseList(clients), std::max(1, std::atoi(server_threads.c_str())));
}
