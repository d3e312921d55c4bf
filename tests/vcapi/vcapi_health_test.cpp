// GET /healthz against a tccd whose chain is a real anvil node (the EVM adapter): ready while the
// node answers, degraded (503, with the chain's reason) while it is stopped, ready again once it is
// back on the same state. Every answer is also checked against the OpenAPI document.
#include <doctest/doctest.h>

#include "daemon/daemon_test_util.h"
#include "evm/evm_test_util.h"
#include "http_client.h"
#include "openapi_check.h"

namespace tcc::testing {
namespace {

const bool kAnswersChecked = (CheckEveryAnswer(), true);

// The /healthz answer once `wanted` is its status, within a generous deadline (tccd asks the node
// on each request; a busy machine only makes that slower).
HttpResponse HealthOnce(HttpClient& http, long wanted) {
  HttpResponse health;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  do {
    health = http.Get("/healthz");
    if (health.status == wanted) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (std::chrono::steady_clock::now() < deadline);
  return health;
}

TEST_CASE("vc-api: /healthz is degraded with the chain's reason while the EVM node is down") {
  chain::testing::EvmChain chain;
  TempDir dir;
  const did::KeyPair key = did::KeyPair::Generate();
  REQUIRE(key.WriteFile(dir.Sub("tcc.key")).ok());
  TccdProcess tccd;
  tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--chain", chain.uri(),
              "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*", "--vc-api",
              "127.0.0.1:0"});
  HttpClient http(tccd.vc_api());

  const HttpResponse ready = http.Get("/healthz");
  REQUIRE_MESSAGE(ready.status == 200, ready.body);
  CHECK(*ready.json().Find("status") == Json("ready"));
  CHECK(*ready.json().Find("checks")->Find("chain")->Find("adapter") == Json("evm"));

  chain.node().Stop();
  const HttpResponse degraded = HealthOnce(http, 503);
  REQUIRE_MESSAGE(degraded.status == 503, degraded.body);
  const Json body = degraded.json();
  CHECK(*body.Find("status") == Json("degraded"));
  REQUIRE(body.Find("reasons")->as_array().size() == 1);
  CHECK(body.Find("reasons")->as_array()[0].as_string().starts_with("chain: "));
  CHECK(*body.Find("checks")->Find("chain")->Find("ok") == Json(false));
  CHECK(*body.Find("checks")->Find("store")->Find("ok") == Json(true));
  // Other endpoints keep answering meanwhile.
  CHECK(http.Get("/identity").status == 200);

  const std::string started = chain.node().Start();
  REQUIRE_MESSAGE(started.empty(), started);
  const HttpResponse back = HealthOnce(http, 200);
  CHECK_MESSAGE(back.status == 200, back.body);
  CHECK(*back.json().Find("status") == Json("ready"));
}

}  // namespace
}  // namespace tcc::testing
