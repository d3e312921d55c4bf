// Server: the VC-API endpoint over HTTP/1.1 (civetweb), a thin layer over CredentialService.
//
//   POST /credentials/verify  {"verifiableCredential": VC, "options": {"checks": [...]}}
//        200 {"verified": true, ...} | 400 malformed request | 422 {"verified": false, "error": ...}
//   POST /credentials/issue   {"credential": {...}, "options": {}}   Authorization: Bearer TOKEN
//        201 {"verifiableCredential": VC} | 400 invalid credential | 401 no/bad token | 403 disabled
//   GET  /evidence/{tsc-hash} 200 the evidence bundle once anchored | 404 before
//   GET  /identity            200 the TCC's DID document
//   GET  /healthz             200 {"status": "ready", ...} | 503 {"status": "degraded", "reasons"}
//   GET  /openapi.json        the OpenAPI 3.1 document of all of these (tcc/vcapi/openapi.json)
//   GET  /docs                Swagger UI for it (swagger-ui-dist, installed with tccd; no CDN)
//   OPTIONS any of the above  CORS preflight, for the origins in `cors_origins` only
//
// Every response but the Swagger UI page and its assets, errors included, is JSON
// ({"error": {"code", "message"}} on failure) with Content-Type: application/json. Issuing is off
// unless a token file is given (Start refuses a token file when the service has no issuer key); the
// token is compared in constant time (sodium_memcmp over SHA-256 digests). With a certificate and
// key the port speaks TLS only (civetweb's OpenSSL support; tls.h); CORS is off unless origins are
// listed.
//
// Limits, so that a few slow or greedy clients cannot deny the endpoint to everyone else:
// `max_connections` connections are served at once (civetweb worker threads; more wait in the
// accept queue), one source address holds at most `max_connections_per_source` of them (one more is
// answered 429 and closed before its request is read), the request line and headers must arrive
// within `header_timeout` and the body within `request_timeout` after them (408 otherwise, however
// steadily the client dribbles), a body over `max_body_bytes` is refused with 413 before it is read
// (by its Content-Length; a body without one is refused with 411), and parsing and credential work
// run on `threads` threads of their own, so slow connections never hold them.
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
#include <vector>

#include "tcc/common/result.h"
#include "tcc/vcapi/credential_service.h"

namespace tcc::vcapi {

struct ServerOptions {
  // "ADDR:PORT", or "PORT" alone for loopback (127.0.0.1); port 0 picks a free one. Empty: off.
  std::string listen;
  // A file (mode 0600) holding the bearer token for POST /credentials/issue. Empty: issuing is off.
  std::string token_file;
  // Requests parsed and handled (verify, issue, evidence) at once; more wait their turn.
  std::size_t threads = 4;
  // Connections served at once, slow ones included (civetweb worker threads, idle but cheap).
  std::size_t max_connections = 64;
  // Connections one source address may hold; the next is answered 429 and closed at once.
  std::size_t max_connections_per_source = 8;
  std::size_t max_body_bytes = 1u << 20;
  // The request line and headers must arrive within this (and an idle kept-alive connection is
  // closed after it); it is also the longest single wait for body bytes. A header_timeout longer
  // than request_timeout is cut to it.
  std::chrono::milliseconds header_timeout{5000};
  // The body must be complete this long after the headers, however steadily it trickles in.
  std::chrono::milliseconds request_timeout{10000};
  // Browser origins ("https://app.example:8080") that may call the API across origins: their
  // preflights are answered and their responses carry Access-Control-Allow-Origin. Empty: CORS off.
  std::vector<std::string> cors_origins;
  // TLS (HTTPS only on the port) with the certificate chain and the private key (mode 0600) of
  // these PEM files, TLS 1.2 at least. Both empty: plain HTTP.
  std::string tls_certificate_file;
  std::string tls_key_file;
  // The swagger-ui-dist files GET /docs serves. Empty: the directory tccd's install fills
  // (share/tcc/swagger-ui), and /docs is 404 when it is not there.
  std::string swagger_ui_dir;
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
inline constexpr std::string_view kHealthEndpoint = "healthz";
inline constexpr std::string_view kDocsEndpoint = "docs";  // /openapi.json, /docs and its assets
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
