#include "vc_api_start.h"

#include <optional>
#include <string>
#include <utility>

#include "tcc/controller/log.h"
#include "tcc/did/document.h"

namespace tcc::controller {

Result<std::unique_ptr<vcapi::Server>> StartVcApi(const vcapi::ServerOptions& options,
                                                  const std::string& issuer_key_file,
                                                  VcApiParts parts) {
  if (options.listen.empty()) return std::unique_ptr<vcapi::Server>();
  std::optional<did::KeyPair> issuer_key;
  const std::string& key_file = issuer_key_file;
  if (!key_file.empty()) {
    auto read = did::KeyPair::ReadFile(key_file);
    if (!read.ok()) return std::move(read).error().WithContext("vc-api issuer key " + key_file);
    if (read->public_key() == parts.tcc_key.public_key()) {
      return Error(ErrorCode::kInvalidArgument,
                   "vc-api issuer key " + key_file +
                       " is the TCC's own key, which signs settlements only; create a separate "
                       "issuer key (tcc key new --out FILE) for --vc-api-issuer-key");
    }
    issuer_key = std::move(read).value();
  }
  if (!options.token_file.empty() && !issuer_key) {
    return Error(ErrorCode::kInvalidArgument,
                 "vc-api: issuing (--vc-api-token-file) needs an issuer key of its own "
                 "(--vc-api-issuer-key FILE, config vc_api.issuer_key_file); the TCC key signs "
                 "settlements only");
  }
  auto service = std::make_shared<const vcapi::CredentialService>(vcapi::CredentialService::Parts{
      did::DidDocument::ForDidKey(parts.tcc_key.public_key()), std::move(issuer_key),
      std::move(parts.resolver), std::move(parts.templates), std::move(parts.adapter),
      std::move(parts.evidence)});
  DaemonMetrics& metrics = parts.metrics;
  vcapi::ServerHooks hooks;
  hooks.on_request = [&metrics](std::string_view endpoint) { metrics.VcApiRequest(endpoint); };
  hooks.on_rejected = [&metrics](std::string_view, ErrorCode code) {
    metrics.VcApiRejected(ErrorCodeName(code));
  };
  hooks.on_log = [](std::string_view message) {
    Log(LogLevel::kWarning, "vc-api", {{"message", message}});
  };
  return vcapi::Server::Start(options, std::move(service), std::move(hooks));
}

}  // namespace tcc::controller
