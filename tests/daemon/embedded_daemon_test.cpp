// The TCC embedded in-process, as a chain node written in C++ would run it: Daemon::Start, the
// control API opening a channel for a recorded TIC, N changed live, and a close that anchors the
// last TSC at once.
#include <doctest/doctest.h>

#include "daemon_test_util.h"
#include "tcc/controller/daemon.h"

namespace tcc::testing {
namespace {

using client::MessageType;

TEST_CASE("embedded Daemon: control opens a channel, N changes live, close anchors the last TSC") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 60);

  controller::DaemonConfig config = LocalDaemonConfig(dir);
  config.auto_open = false;  // the node opens channels itself
  config.anchoring.interval = std::chrono::milliseconds(50);
  auto daemon = Unwrap(controller::Daemon::Start(config), "start");
  CHECK(daemon->did() == trade.tcc_did());

  client::ConnectOptions options;
  options.endpoint = daemon->control_endpoint();
  options.tcc_did = daemon->did();
  options.client_key = wire::CurveKeyPair::FromDidKey(
      Unwrap(did::KeyPair::ReadFile(daemon->admin_key_file()), "admin"));
  auto control = Unwrap(client::Connection::Open(std::move(options)), "control");

  // Not open until asked.
  auto provider = ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.provider);
  auto early = provider->Join(trade.channel_id);
  REQUIRE_FALSE(early.ok());
  CHECK(early.error().code() == ErrorCode::kNotFound);
  auto unknown = control->Request(MessageType::kControlOpen, {{"tic", std::string(64, 'b')}});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code() == ErrorCode::kNotFound);

  auto opened =
      Unwrap(control->Request(MessageType::kControlOpen, {{"tic", trade.channel_id}}), "open");
  const Json& state = wire::ObjectMember(opened, "channel");
  CHECK(state.GetString("state").value() == "open");
  CHECK(state.GetNumber("n").value() == 60);  // the TIC's settlement strategy
  // Opening again is idempotent.
  CHECK(control->Request(MessageType::kControlOpen, {{"tic", trade.channel_id}}).ok());

  // N per channel, live; out of bounds is refused.
  auto policy = Unwrap(
      control->Request(MessageType::kControlPolicy, {{"channel", trade.channel_id}, {"n", 5}}),
      "policy");
  CHECK(wire::ObjectMember(policy, "policy").GetNumber("n").value() == 5);
  // A request the decoder refuses still gets its error matched to it (not a timeout).
  auto empty_policy = control->Request(MessageType::kControlPolicy, {});
  REQUIRE_FALSE(empty_policy.ok());
  CHECK(empty_policy.error().code() == ErrorCode::kInvalidArgument);
  auto out_of_bounds =
      control->Request(MessageType::kControlPolicy, {{"channel", trade.channel_id}, {"n", 20000}});
  REQUIRE_FALSE(out_of_bounds.ok());
  CHECK(out_of_bounds.error().code() == ErrorCode::kInvalidArgument);

  auto consumer = ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.consumer);
  JoinWhenOpen(*provider, trade.channel_id);
  JoinWhenOpen(*consumer, trade.channel_id);
  std::string prev = trade.channel_id;
  for (std::uint64_t seq = 1; seq <= 12; ++seq) {
    client::IssuedTsc issued = SettleOnce(trade, *provider, *consumer, seq, prev);
    prev = vc::CredentialHash(issued.tsc).value();
  }
  // Leaves at 5 and 10 reach the chain on their own.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!provider->GetEvidence(trade.channel_id, 10).ok() &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(Unwrap(provider->GetEvidence(trade.channel_id, 5), "evidence 5").anchored_seq == 5);
  CHECK(Unwrap(provider->GetEvidence(trade.channel_id, 7), "evidence 7").anchored_seq == 10);
  auto not_yet = provider->GetEvidence(trade.channel_id, 12);
  REQUIRE_FALSE(not_yet.ok());
  CHECK(not_yet.error().code() == ErrorCode::kUnavailable);

  // Closing anchors TSC 12 at once and ends settlement.
  auto closed = Unwrap(
      control->Request(MessageType::kControlClose, {{"channel", trade.channel_id}}), "close");
  CHECK(wire::ObjectMember(closed, "channel").GetString("state").value() == "closed");
  client::Message event = AwaitEvent(*consumer, MessageType::kEventChannel);
  CHECK(wire::ObjectMember(event, "state").GetString("state").value() == "closed");
  const auto anchored_by = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!provider->GetEvidence(trade.channel_id, 12).ok() &&
         std::chrono::steady_clock::now() < anchored_by) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  client::EvidenceReply last = Unwrap(provider->GetEvidence(trade.channel_id, 12), "evidence 12");
  CHECK(last.bundle.item.seq == 12);
  CHECK(HexEncode(last.bundle.item.tsc_hash) == prev);
  auto after_close = consumer->Submit(trade.channel_id, trade.Cosign(trade.Proposal(13, prev)));
  REQUIRE_FALSE(after_close.ok());
  CHECK(after_close.error().code() == ErrorCode::kConflict);

  auto health = Unwrap(control->Request(MessageType::kControlHealth, {}), "health");
  const Json& body = wire::ObjectMember(health, "health");
  CHECK(body.GetNumber("issued").value() == 12);
  CHECK(body.Find("anchoring")->GetNumber("leaves").value() >= 3);
  daemon->Stop();
  CHECK(daemon->Wait().ok());
}

TEST_CASE("embedded Daemon: a global policy set live survives a restart; a per-channel one too") {
  TempDir dir;
  Trade trade;
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  trade.Record(dir.Sub("ledger"), 60);
  controller::DaemonConfig config = LocalDaemonConfig(dir);
  auto control_of = [](controller::Daemon& daemon) {
    client::ConnectOptions options;
    options.endpoint = daemon.control_endpoint();
    options.tcc_did = daemon.did();
    options.client_key = wire::CurveKeyPair::FromDidKey(
        Unwrap(did::KeyPair::ReadFile(daemon.admin_key_file()), "admin"));
    return Unwrap(client::Connection::Open(std::move(options)), "control");
  };
  auto global_policy = [](client::Connection& control) {
    Json health = wire::ObjectMember(
        Unwrap(control.Request(MessageType::kControlHealth, {}), "health"), "health");
    return *health.Find("policy");
  };
  {
    auto daemon = Unwrap(controller::Daemon::Start(config), "start");
    auto control = control_of(*daemon);
    JoinWhenOpen(*ConnectParty(daemon->listen_endpoint(), daemon->did(), trade.provider),
                 trade.channel_id);
    auto set = Unwrap(
        control->Request(MessageType::kControlPolicy, {{"n", 25}, {"adaptive", true}}), "global");
    CHECK(wire::ObjectMember(set, "policy").GetNumber("default_n").value() == 25);
    REQUIRE(control->Request(MessageType::kControlPolicy, {{"n_max", 900}}).ok());
    REQUIRE(control->Request(MessageType::kControlPolicy, {{"channel", trade.channel_id}, {"n", 7}})
                .ok());
    daemon->Stop();
    REQUIRE(daemon->Wait().ok());
  }
  auto daemon = Unwrap(controller::Daemon::Start(config), "restart");
  auto control = control_of(*daemon);
  const Json policy = global_policy(*control);
  CHECK(policy.GetNumber("default_n").value() == 25);
  CHECK(policy.Find("adaptive")->as_bool());
  CHECK(policy.GetNumber("n_max").value() == 900);
  CHECK(policy.GetNumber("n_min").value() ==
        controller::AnchorPolicyOptions{}.n_min);  // never set live
  auto list = Unwrap(control->Request(MessageType::kControlList, {}), "list");
  const Json* channels = list.body.Find("channels");
  REQUIRE((channels != nullptr && channels->is_array() && channels->as_array().size() == 1));
  CHECK(channels->as_array()[0].GetNumber("n").value() == 7);  // the channel's override, kept
  daemon->Stop();
  CHECK(daemon->Wait().ok());
}

}  // namespace
}  // namespace tcc::testing
