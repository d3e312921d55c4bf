#include "control_api.h"

#include <utility>

namespace tcc::controller::control {

Json PolicyJson(const AnchorPolicy& policy, const ChannelRecord* channel) {
  Json answer = Json::Object();
  const AnchorPolicyOptions& options = policy.options();
  answer.Set("default_n", options.default_n);
  answer.Set("n_min", options.n_min);
  answer.Set("n_max", options.n_max);
  answer.Set("adaptive", options.adaptive);
  answer.Set("factor", policy.factor());
  if (channel != nullptr) {
    answer.Set("channel", channel->channel_id);
    answer.Set("strategy_n", channel->strategy_n);
    if (channel->n_override) answer.Set("n_override", *channel->n_override);
    answer.Set("n", policy.EffectiveN(channel->strategy_n, channel->n_override));
  }
  return answer;
}

Result<std::optional<std::uint64_t>> ChannelPolicyChange(const wire::Message& message,
                                                         const AnchorPolicyOptions& options) {
  if (wire::OptionalBool(message, "adaptive") || wire::OptionalUint(message, "n_min") ||
      wire::OptionalUint(message, "n_max")) {
    return Error(ErrorCode::kInvalidArgument,
                 "adaptive, n_min and n_max are global; only n can be set per channel");
  }
  const auto n = wire::OptionalUint(message, "n");
  if (n && (*n < options.n_min || *n > options.n_max)) {
    return Error(ErrorCode::kInvalidArgument, "n must be within [" + std::to_string(options.n_min) +
                                                  ", " + std::to_string(options.n_max) + "]");
  }
  return n;
}

AnchorPolicyOptions GlobalPolicyChange(const wire::Message& message, AnchorPolicyOptions options) {
  if (auto n = wire::OptionalUint(message, "n")) options.default_n = *n;
  if (auto adaptive = wire::OptionalBool(message, "adaptive")) options.adaptive = *adaptive;
  if (auto n_min = wire::OptionalUint(message, "n_min")) options.n_min = *n_min;
  if (auto n_max = wire::OptionalUint(message, "n_max")) options.n_max = *n_max;
  return options;
}

void MergePolicyChange(const wire::Message& message, Json& stored) {
  if (auto n = wire::OptionalUint(message, "n")) stored.Set("n", *n);
  if (auto adaptive = wire::OptionalBool(message, "adaptive")) stored.Set("adaptive", *adaptive);
  if (auto n_min = wire::OptionalUint(message, "n_min")) stored.Set("n_min", *n_min);
  if (auto n_max = wire::OptionalUint(message, "n_max")) stored.Set("n_max", *n_max);
}

Result<Json> ReadStoredPolicy(std::string_view text) {
  auto parsed = Json::Parse(text);
  if (!parsed.ok()) return std::move(parsed).error().WithContext("the stored global policy");
  Json stored = std::move(parsed).value();
  if (!stored.is_object()) return Error(ErrorCode::kParse, "the stored global policy is not a JSON object");
  for (const auto& [name, value] : stored.as_object()) {
    if (name == "adaptive") {
      if (!value.is_bool()) return Error(ErrorCode::kParse, "the stored global policy's adaptive is not a boolean");
    } else if (name == "n" || name == "n_min" || name == "n_max") {
      auto number = stored.GetInteger(name, 1);
      if (!number.ok()) return std::move(number).error().WithContext("the stored global policy");
    } else {
      return Error(ErrorCode::kParse, "the stored global policy has an unknown member \"" + name + "\"");
    }
  }
  return stored;
}

AnchorPolicyOptions ApplyStoredPolicy(const Json& stored, AnchorPolicyOptions options) {
  if (auto n = stored.GetInteger("n", 1); n.ok()) options.default_n = *n;
  if (const Json* adaptive = stored.Find("adaptive"); adaptive != nullptr && adaptive->is_bool()) {
    options.adaptive = adaptive->as_bool();
  }
  if (auto n_min = stored.GetInteger("n_min", 1); n_min.ok()) options.n_min = *n_min;
  if (auto n_max = stored.GetInteger("n_max", 1); n_max.ok()) options.n_max = *n_max;
  return options;
}

Json HealthJson(const HealthFacts& facts) {
  Json health = Json::Object();
  health.Set("did", facts.did);
  health.Set("listen", facts.listen);
  health.Set("control", facts.control);
  health.Set("channels_open", facts.channels_open);
  health.Set("channels", facts.channels);
  health.Set("connections", facts.connections);
  health.Set("unauthenticated_connections", facts.unauthenticated_connections);
  health.Set("peer_queued_bytes", facts.peer_queued_bytes);
  health.Set("issued", facts.issued);
  health.Set("replayed", facts.replayed);
  health.Set("dropped_events", facts.dropped_events);
  Json rejected = Json::Object();
  for (const auto& [reason, count] : facts.rejected) rejected.Set(reason, count);
  health.Set("rejected", std::move(rejected));
  Json auth = Json::Object();
  auth.Set("ok", facts.auth_ok);
  Json failures = Json::Object();
  for (const auto& [reason, count] : facts.auth_failures) failures.Set(reason, count);
  auth.Set("failures", std::move(failures));
  health.Set("auth", std::move(auth));
  const AnchorStats& anchoring = facts.anchoring;
  Json anchor = Json::Object();
  anchor.Set("batches", anchoring.batches_anchored);
  anchor.Set("leaves", anchoring.leaves_anchored);
  anchor.Set("queued", static_cast<std::uint64_t>(anchoring.queued_items));
  anchor.Set("in_flight", static_cast<std::uint64_t>(anchoring.in_flight_items));
  anchor.Set("adapter_errors", anchoring.adapter_errors);
  anchor.Set("last_root", anchoring.last_root_hex);
  anchor.Set("last_height", anchoring.last_height);
  anchor.Set("last_latency_ms",
             static_cast<double>(anchoring.last_anchor_latency.count()) / 1000.0);
  anchor.Set("last_error", anchoring.last_error);
  health.Set("anchoring", std::move(anchor));
  health.Set("policy", facts.policy);
  Json store = Json::Object();
  store.Set("ok", facts.store_ok);
  if (!facts.store_ok) {
    store.Set("error", facts.store_error);
    store.Set("failed_for_ms", facts.store_failed_for_ms);
  }
  store.Set("readable", facts.store_read_error.empty());
  if (!facts.store_read_error.empty()) store.Set("read_error", facts.store_read_error);
  Json refused = Json::Object();
  for (const auto& [id, error] : facts.refused_channels) refused.Set(id, error);
  store.Set("refused_channels", std::move(refused));
  store.Set("backup_running", facts.backup_running);
  store.Set("write_failures", facts.store_write_failures);
  store.Set("reopens", facts.store_reopens);
  store.Set("group_commits", facts.group_commits);
  store.Set("commits", facts.commits);
  health.Set("store", std::move(store));
  Json recovering = Json::Array();
  for (const Json& channel : facts.recovering) recovering.PushBack(channel);
  health.Set("recovering", std::move(recovering));
  return health;
}

void AddChainHealth(Json& health, const Result<chain::AdapterStatus>& status, bool store_ok) {
  Json chain = Json::Object();
  chain.Set("ok", status.ok());
  if (status.ok()) {
    chain.Set("adapter", status->adapter);
    chain.Set("height", status->height);
    chain.Set("pending", static_cast<std::uint64_t>(status->pending));
  } else {
    chain.Set("error", status.error().ToString());
  }
  health.Set("chain", std::move(chain));
  const Json* recovering = health.Find("recovering");
  const bool any_recovering =
      recovering != nullptr && recovering->is_array() && !recovering->as_array().empty();
  health.Set("status", !(status.ok() && store_ok) ? "degraded" : any_recovering ? "recovering" : "ok");
}

}  // namespace tcc::controller::control
