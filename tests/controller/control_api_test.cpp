// The control API's rules and answers alone: what control.policy may change (per channel and
// globally, as real frames decoded by the wire protocol), the policy answer, and the health answer
// with the store's and the chain's state.
#include "control_api.h"

#include <doctest/doctest.h>

#include <string>

namespace tcc::controller::control {
namespace {

const std::string kChannel(64, 'c');

wire::Message PolicyRequest(const std::function<void(wire::FrameBuilder&)>& fill) {
  wire::FrameBuilder builder(wire::MessageType::kControlPolicy, 7);
  fill(builder);
  auto message = wire::DecodeMessage(builder.Finish());
  REQUIRE_MESSAGE(message.ok(), (message.ok() ? "" : message.error().ToString()));
  return std::move(message).value();
}

AnchorPolicyOptions Bounds() {
  AnchorPolicyOptions options;
  options.default_n = 10;
  options.n_min = 2;
  options.n_max = 100;
  return options;
}

TEST_CASE("a channel's policy: only n, within the bounds") {
  const auto set = ChannelPolicyChange(
      PolicyRequest([](wire::FrameBuilder& b) { b.Add("channel", kChannel).Add("n", 50); }),
      Bounds());
  REQUIRE(set.ok());
  CHECK(*set == std::optional<std::uint64_t>(50));

  const auto low = ChannelPolicyChange(
      PolicyRequest([](wire::FrameBuilder& b) { b.Add("channel", kChannel).Add("n", 1); }),
      Bounds());
  REQUIRE_FALSE(low.ok());
  CHECK(low.error().code() == ErrorCode::kInvalidArgument);
  CHECK(low.error().message() == "n must be within [2, 100]");
  CHECK_FALSE(ChannelPolicyChange(PolicyRequest([](wire::FrameBuilder& b) {
                                    b.Add("channel", kChannel).Add("n", 101);
                                  }),
                                  Bounds())
                  .ok());
  const auto global_only = ChannelPolicyChange(PolicyRequest([](wire::FrameBuilder& b) {
                                                 b.Add("channel", kChannel).Add("adaptive", true);
                                               }),
                                               Bounds());
  REQUIRE_FALSE(global_only.ok());
  CHECK(global_only.error().message().find("global") != std::string::npos);
}

TEST_CASE("the global policy takes the request's changes and keeps the rest") {
  const AnchorPolicyOptions changed =
      GlobalPolicyChange(PolicyRequest([](wire::FrameBuilder& b) {
                           b.Add("n", 20).Add("adaptive", true).Add("n_max", 500);
                         }),
                         Bounds());
  CHECK(changed.default_n == 20);
  CHECK(changed.adaptive);
  CHECK(changed.n_min == 2);
  CHECK(changed.n_max == 500);

  // The policy itself refuses what is inconsistent (default_n below n_min).
  AnchorPolicy policy(Bounds());
  const AnchorPolicyOptions bad = GlobalPolicyChange(
      PolicyRequest([](wire::FrameBuilder& b) { b.Add("n", 1); }), policy.options());
  CHECK_FALSE(policy.SetOptions(bad).ok());
  CHECK(policy.options().default_n == 10);
}

TEST_CASE("the policy answer shows the global options and a channel's effective N") {
  AnchorPolicy policy(Bounds());
  const Json global = PolicyJson(policy, nullptr);
  CHECK(global.Find("default_n")->as_number() == 10);
  CHECK(global.Find("n_min")->as_number() == 2);
  CHECK(global.Find("adaptive")->as_bool() == false);
  CHECK(global.Find("channel") == nullptr);

  ChannelRecord record;
  record.channel_id = "c";
  record.strategy_n = 30;
  const Json strategy = PolicyJson(policy, &record);
  CHECK(strategy.Find("channel")->as_string() == "c");
  CHECK(strategy.Find("strategy_n")->as_number() == 30);
  CHECK(strategy.Find("n_override") == nullptr);
  CHECK(strategy.Find("n")->as_number() ==
        static_cast<double>(policy.EffectiveN(30, std::nullopt)));
  record.n_override = 5;
  const Json overridden = PolicyJson(policy, &record);
  CHECK(overridden.Find("n_override")->as_number() == 5);
  CHECK(overridden.Find("n")->as_number() == static_cast<double>(policy.EffectiveN(30, 5)));
}

TEST_CASE(
    "health: the store's error only while it fails; degraded unless chain and store are fine") {
  HealthFacts facts;
  facts.did = "did:key:tcc";
  facts.channels = 3;
  facts.channels_open = 2;
  facts.rejected = {{"conflict", 4}};
  facts.auth_failures = {{"wrong_nonce", 1}};
  facts.anchoring.queued_items = 9;
  facts.policy = Json::Object();
  Json healthy = HealthJson(facts);
  CHECK(healthy.Find("channels_open")->as_number() == 2);
  CHECK(healthy.Find("rejected")->Find("conflict")->as_number() == 4);
  CHECK(healthy.Find("auth")->Find("failures")->Find("wrong_nonce")->as_number() == 1);
  CHECK(healthy.Find("anchoring")->Find("queued")->as_number() == 9);
  CHECK(healthy.Find("store")->Find("ok")->as_bool());
  CHECK(healthy.Find("store")->Find("error") == nullptr);
  AddChainHealth(healthy, chain::AdapterStatus{.adapter = "local", .height = 12}, true);
  CHECK(healthy.Find("chain")->Find("height")->as_number() == 12);
  CHECK(healthy.Find("status")->as_string() == "ok");

  facts.store_ok = false;
  facts.store_error = "No space left on device";
  facts.store_failed_for_ms = 1500;
  Json failing = HealthJson(facts);
  CHECK(failing.Find("store")->Find("error")->as_string() == "No space left on device");
  CHECK(failing.Find("store")->Find("failed_for_ms")->as_number() == 1500);
  AddChainHealth(failing, chain::AdapterStatus{.adapter = "local"}, false);
  CHECK(failing.Find("status")->as_string() == "degraded");

  Json chain_down = HealthJson(HealthFacts{});
  AddChainHealth(chain_down, Error(ErrorCode::kUnavailable, "connection refused"), true);
  CHECK_FALSE(chain_down.Find("chain")->Find("ok")->as_bool());
  CHECK(chain_down.Find("chain")->Find("error")->as_string().find("connection refused") !=
        std::string::npos);
  CHECK(chain_down.Find("status")->as_string() == "degraded");
}

TEST_CASE("control: global policy changes are merged into what is stored, and read back checked") {
  Json stored = Json::Object();
  MergePolicyChange(
      PolicyRequest([](wire::FrameBuilder& b) { b.Add("n", 40).Add("adaptive", true); }), stored);
  MergePolicyChange(PolicyRequest([](wire::FrameBuilder& b) { b.Add("n_max", 500); }), stored);
  MergePolicyChange(PolicyRequest([](wire::FrameBuilder& b) { b.Add("n", 30); }), stored);
  Json read = ReadStoredPolicy(stored.Serialize()).value();
  AnchorPolicyOptions options;  // the configuration's: adaptive off, n_min 1
  options.default_n = 10;
  options = ApplyStoredPolicy(read, options);
  CHECK(options.default_n == 30);
  CHECK(options.adaptive);
  CHECK(options.n_min == 1);  // never set live: the configuration's
  CHECK(options.n_max == 500);

  for (const char* bad :
       {"[1]", "{\"n\": 0}", "{\"n\": 2.5}", "{\"adaptive\": 1}", "{\"factor\": 2}", "{\"n\":"}) {
    CAPTURE(bad);
    auto refused = ReadStoredPolicy(bad);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().message().find("global policy") != std::string::npos);
  }
}

}  // namespace
}  // namespace tcc::controller::control
