#include <functional>
#include <map>
#include <set>
#include <string>

#include "anchor_policy.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/controller/daemon.h"
#include "tcc/wire/protocol.h"

namespace tcc::controller {
namespace {

constexpr std::size_t kMaxConfigBytes = 1u << 20;

// Reads an object's members through a table of typed setters, so every member is checked the same
// way and an unknown member (a typo) is an error rather than silently ignored.
class MemberReader {
 public:
  MemberReader(const Json& object, std::string path) : object_(object), path_(std::move(path)) {}

  MemberReader& String(std::string_view name, std::string& out) {
    setters_[std::string(name)] = [this, &out](const Json& value, const std::string& where) -> Status {
      if (!value.is_string() || value.as_string().empty()) return Error(ErrorCode::kInvalidArgument, where + " must be a non-empty string");
      out = value.as_string();
      return OkStatus();
    };
    return *this;
  }
  MemberReader& Bool(std::string_view name, bool& out) {
    setters_[std::string(name)] = [&out](const Json& value, const std::string& where) -> Status {
      if (!value.is_bool()) return Error(ErrorCode::kInvalidArgument, where + " must be true or false");
      out = value.as_bool();
      return OkStatus();
    };
    return *this;
  }
  template <typename Integer>
  MemberReader& Uint(std::string_view name, Integer& out) {
    setters_[std::string(name)] = [&out](const Json& value, const std::string& where) -> Status {
      const std::optional<std::uint64_t> integer =
          value.is_number() ? JsonInteger(value.as_number()) : std::nullopt;
      if (!integer)
        return Error(ErrorCode::kInvalidArgument, where + " must be a non-negative integer");
      out = static_cast<Integer>(*integer);
      return OkStatus();
    };
    return *this;
  }
  // `minimum` 0 for a wait that may be switched off.
  MemberReader& Millis(std::string_view name, std::chrono::milliseconds& out,
                       std::uint64_t minimum = 1) {
    setters_[std::string(name)] = [&out, minimum](const Json& value,
                                                  const std::string& where) -> Status {
      const std::optional<std::uint64_t> ms =
          value.is_number() ? JsonInteger(value.as_number(), minimum, 86400000) : std::nullopt;
      if (!ms)
        return Error(ErrorCode::kInvalidArgument,
                     where + " must be a whole number of milliseconds from " +
                         std::to_string(minimum) + " to 86400000");
      out = std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
      return OkStatus();
    };
    return *this;
  }
  MemberReader& Number(std::string_view name, double& out) {
    setters_[std::string(name)] = [&out](const Json& value, const std::string& where) -> Status {
      if (!value.is_number() || value.as_number() <= 0) return Error(ErrorCode::kInvalidArgument, where + " must be a positive number");
      out = value.as_number();
      return OkStatus();
    };
    return *this;
  }
  MemberReader& Strings(std::string_view name, std::vector<std::string>& out) {
    setters_[std::string(name)] = [&out](const Json& value, const std::string& where) -> Status {
      if (!value.is_array()) return Error(ErrorCode::kInvalidArgument, where + " must be an array of strings");
      out.clear();
      for (const auto& item : value.as_array()) {
        if (!item.is_string()) return Error(ErrorCode::kInvalidArgument, where + " must be an array of strings");
        out.push_back(item.as_string());
      }
      return OkStatus();
    };
    return *this;
  }
  MemberReader& Object(std::string_view name, std::function<Status(MemberReader&)> read) {
    setters_[std::string(name)] = [read](const Json& value, const std::string& where) -> Status {
      if (!value.is_object()) return Error(ErrorCode::kInvalidArgument, where + " must be an object");
      MemberReader nested(value, where);
      return read(nested);
    };
    return *this;
  }

  Status Read() {
    if (!object_.is_object()) return Error(ErrorCode::kInvalidArgument, path_ + " must be an object");
    for (const auto& [name, value] : object_.as_object()) {
      const std::string where = path_.empty() ? name : path_ + "." + name;
      auto setter = setters_.find(name);
      if (setter == setters_.end()) return Error(ErrorCode::kInvalidArgument, "unknown config member " + where);
      TCC_RETURN_IF_ERROR(setter->second(value, where));
    }
    return OkStatus();
  }

 private:
  const Json& object_;
  std::string path_;
  std::map<std::string, std::function<Status(const Json&, const std::string&)>, std::less<>> setters_;
};

}  // namespace

Result<DaemonConfig> LoadDaemonConfig(const std::string& path) {
  TCC_ASSIGN_OR_RETURN(std::string text, ReadFile(path, {.max_bytes = kMaxConfigBytes}));
  auto json = Json::Parse(text);
  if (!json.ok()) return std::move(json).error().WithContext(path);
  DaemonConfig config;
  MemberReader reader(*json, "");
  reader.String("data_dir", config.data_dir)
      .String("key_file", config.key_file)
      .String("chain", config.chain_uri)
      .String("listen", config.listen)
      .String("control", config.control)
      .String("metrics", config.metrics)
      .Strings("admin_dids", config.admin_dids)
      .Uint("workers", config.workers)
      .Bool("auto_open", config.auto_open)
      .Millis("chain_poll_ms", config.chain_poll_wait)
      .Object("anchoring",
              [&](MemberReader& anchoring) {
                return anchoring.Millis("interval_ms", config.anchoring.interval)
                    .Uint("max_batch", config.anchoring.max_batch)
                    .Uint("default_n", config.policy.default_n)
                    .Uint("n_min", config.policy.n_min)
                    .Uint("n_max", config.policy.n_max)
                    .Bool("adaptive", config.policy.adaptive)
                    .Millis("target_latency_ms", config.policy.target_latency)
                    .Uint("backlog_high", config.policy.backlog_high)
                    .Uint("adapter_pending_high", config.policy.adapter_pending_high)
                    .Read();
              })
      .Object("vc_api",
              [&](MemberReader& vc_api) {
                return vc_api.String("listen", config.vc_api.listen)
                    .String("token_file", config.vc_api.token_file)
                    .String("issuer_key_file", config.vc_api_issuer_key_file)
                    .Uint("threads", config.vc_api.threads)
                    .Uint("max_connections", config.vc_api.max_connections)
                    .Uint("max_connections_per_source", config.vc_api.max_connections_per_source)
                    .Uint("max_body_bytes", config.vc_api.max_body_bytes)
                    .Millis("header_timeout_ms", config.vc_api.header_timeout)
                    .Millis("request_timeout_ms", config.vc_api.request_timeout)
                    .Strings("cors_origins", config.vc_api.cors_origins)
                    .String("swagger_ui_dir", config.vc_api.swagger_ui_dir)
                    .String("tls_certificate_file", config.vc_api.tls_certificate_file)
                    .String("tls_key_file", config.vc_api.tls_key_file)
                    .Read();
              })
      .Object("store",
              [&](MemberReader& store) {
                return store.Uint("group_commit_width", config.store.group_commit_width)
                    .Millis("group_commit_linger_ms", config.store.group_commit_linger)
                    .Millis("group_commit_idle_linger_ms", config.store.group_commit_idle_linger, 0)
                    .Read();
              })
      .Object("limits", [&](MemberReader& limits) {
        return limits.Uint("max_channels", config.limits.max_channels)
            .Uint("max_connections", config.limits.max_connections)
            .Uint("max_unauthenticated_connections", config.limits.max_unauthenticated_connections)
            .Millis("unauthenticated_timeout_ms", config.limits.unauthenticated_timeout)
            .Uint("max_connections_per_source", config.limits.max_connections_per_source)
            .Uint("max_challenges_per_connection", config.limits.max_challenges_per_connection)
            .Uint("max_requests_in_flight_per_connection", config.limits.max_requests_in_flight_per_connection)
            .Uint("max_queued_bytes_per_connection", config.limits.max_queued_bytes_per_connection)
            .Uint("max_queued_bytes_total", config.limits.max_queued_bytes_total)
            .Millis("idle_timeout_ms", config.limits.idle_timeout)
            .Millis("challenge_ttl_ms", config.limits.challenge_ttl)
            .Number("auth_rate_per_source", config.limits.auth_rate_per_source)
            .Uint("max_waiting_per_channel", config.limits.max_waiting_per_channel)
            .Read();
      });
  Status read = reader.Read();
  if (!read.ok()) return std::move(read).error().WithContext(path);
  return config;
}

Status FinishDaemonConfig(DaemonConfig& config) {
  if (config.data_dir.empty()) return Error(ErrorCode::kInvalidArgument, "a data directory is required (--data-dir)");
  if (config.key_file.empty()) config.key_file = config.data_dir + "/tcc.key";
  if (config.chain_uri.empty()) config.chain_uri = "local:" + config.data_dir + "/ledger";
  if (config.listen.empty() || config.control.empty()) {
    return Error(ErrorCode::kInvalidArgument, "the listen and control endpoints must be set");
  }
  if (config.listen == config.control && config.listen.find('*') == std::string::npos) {
    return Error(ErrorCode::kInvalidArgument, "the listen and control endpoints must differ");
  }
  TCC_RETURN_IF_ERROR(ValidateAnchorPolicyOptions(config.policy));
  if (config.anchoring.max_batch == 0) return Error(ErrorCode::kInvalidArgument, "anchoring.max_batch must be at least 1");
  if (config.store.group_commit_linger > std::chrono::seconds(1)) {
    return Error(ErrorCode::kInvalidArgument,
                 "store.group_commit_linger_ms must be at most 1000 (it adds to the latency of "
                 "every settlement while tccd is saturated)");
  }
  if (config.store.group_commit_idle_linger > std::chrono::milliseconds(100)) {
    return Error(ErrorCode::kInvalidArgument,
                 "store.group_commit_idle_linger_ms must be at most 100 (it adds to the latency of "
                 "every settlement below saturation)");
  }
  const DaemonLimits& limits = config.limits;
  if (limits.max_channels == 0 || limits.max_connections == 0 || limits.max_waiting_per_channel == 0 ||
      limits.max_unauthenticated_connections == 0 || limits.max_connections_per_source == 0 ||
      limits.max_challenges_per_connection == 0 || limits.max_requests_in_flight_per_connection == 0) {
    return Error(ErrorCode::kInvalidArgument, "limits must be at least 1");
  }
  // A peer must be able to hold the largest reply (a channel.sync page or relayed proposal).
  if (limits.max_queued_bytes_per_connection < 2 * wire::kMaxFrameBytes ||
      limits.max_queued_bytes_total < limits.max_queued_bytes_per_connection) {
    return Error(ErrorCode::kInvalidArgument,
                 "limits.max_queued_bytes_per_connection must be at least " + std::to_string(2 * wire::kMaxFrameBytes) +
                     " and at most limits.max_queued_bytes_total");
  }
  // An unadmitted connection must live long enough to answer its challenge.
  if (limits.unauthenticated_timeout <= limits.challenge_ttl) {
    return Error(ErrorCode::kInvalidArgument, "limits.unauthenticated_timeout_ms must exceed limits.challenge_ttl_ms");
  }
  if (!config.vc_api.listen.empty()) TCC_RETURN_IF_ERROR(vcapi::ValidateServerOptions(config.vc_api));
  return OkStatus();
}

}  // namespace tcc::controller
