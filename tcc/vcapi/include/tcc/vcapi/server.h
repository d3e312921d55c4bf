// Server: the VC-API endpoint over HTTP/1.1 (civetweb), a thin layer over CredentialService.
//
//   POST /credentials/verify  {"verifiableCredential": VC, "options": {"checks": [...]}}
//        200 {"verified": true, ...} | 400 malformed request | 422 {"verified": false, "error": ...}
//   POST /credentials/issue   {"credential": {...}, "options": {}}   Authorization: Bearer TOKEN
//        201 {"verifiableCredential": VC} | 400 invalid credential | 401 no/bad token | 403 disabled
//   GET  /evidence/{tsc-hash} 200 the evidence bundle once anchored | 404 before
//   GET  /identity            200 the TCC's DID document
//
// Every response, errors included, is JSON ({"error": {"code", "message"}} on failure) with
// Content-Type: application/json. Limits: at most `threads` requests are handled at once (civetweb
// worker threads; more connections wait in the accept queue), a body over `max_body_bytes` is
// refused with 413 before it is read (Content-Length) or as soon as it exceeds the limit (chunked),
// and a request must arrive within `request_timeout`. Issuing is off unless a token file is given
// (Start refuses a token file when the service has no issuer key);
// the token is compared in constant time (sodium_memcmp over SHA-256 digests).
//
// Ownership: the server shares the service; destroying it stops accepting, finishes the requests in
// progress and joins the worker threads. The hooks run on worker threads and must be thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "tcc/common/result.h"
#include "tcc/vcapi/credential_service.h"

namespace tcc::vcapi {

struct ServerOptions {
  // "ADDR:PORT", or "PORT" alone for loopback (127.0.0.1); port 0 picks a free one. Empty: off.
  std::string listen;
  // A file (mode 0600) holding the bearer token for POST /credentials/issue. Empty: issuing is off.
  std::string token_file;
  std::size_t threads = 4;
  std::size_t max_body_bytes = 1u << 20;
  std::chrono::milliseconds request_timeout{10000};
};

// "PORT" -> "127.0.0.1:PORT"; checks the port is a number up to 65535. kInvalidArgument otherwise.
Result<std::string> NormalizeListenAddress(std::string_view listen);
// The checks Start makes before binding (address form and limits), for config validation.
Status ValidateServerOptions(const ServerOptions& options);

// Endpoint names used by the hooks: a fixed set, fit for metric labels.
inline constexpr std::string_view kVerifyEndpoint = "verify";
inline constexpr std::string_view kIssueEndpoint = "issue";
inline constexpr std::string_view kEvidenceEndpoint = "evidence";
inline constexpr std::string_view kIdentityEndpoint = "identity";
inline constexpr std::string_view kOtherEndpoint = "other";

struct ServerHooks {
  std::function<void(std::string_view endpoint)> on_request;
  // Every non-2xx answer, with the error code behind it (ErrorCodeName is a bounded label set).
  std::function<void(std::string_view endpoint, ErrorCode code)> on_rejected;
  // civetweb's own error messages (bind failures, broken connections).
  std::function<void(std::string_view message)> on_log;
};

class Server {
 public:
  // Binds and starts the worker threads. kInvalidArgument for bad options or an unreadable token
  // file, kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<Server>> Start(const ServerOptions& options,
                                               std::shared_ptr<const CredentialService> service,
                                               ServerHooks hooks = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // "ADDR:PORT" actually bound.
  const std::string& bound_address() const;

  class Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tcc::vcapi
