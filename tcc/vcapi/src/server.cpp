#include "tcc/vcapi/server.h"

#include <arpa/inet.h>
#include <civetweb.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/common/thread_safety.h"
#include "tcc/common/secure_memory.h"
#include "tcc/common/sha256.h"
#include "tcc/common/thread_pool.h"
#include "server_threads.h"
#include "static_content.h"
#include "tls.h"

namespace tcc::vcapi {
namespace {

constexpr std::size_t kMaxTokenFileBytes = 4096;
constexpr std::size_t kMinTokenBytes = 16;
constexpr std::string_view kEvidencePrefix = "/evidence/";
// A refused request's unread body is drained up to this many times the body limit.
constexpr std::size_t kDrainFactor = 4;
// The most a single mg_read of a body asks for.
constexpr std::size_t kReadChunk = 64 * 1024;

Error Invalid(std::string message) { return Error(ErrorCode::kInvalidArgument, std::move(message)); }

int StatusFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kParse: return 400;
    case ErrorCode::kPermissionDenied: return 403;
    case ErrorCode::kNotFound: return 404;
    case ErrorCode::kConflict:
    case ErrorCode::kAlreadyExists: return 409;
    case ErrorCode::kResourceExhausted: return 413;
    case ErrorCode::kVerificationFailed: return 422;
    case ErrorCode::kUnavailable: return 503;
    case ErrorCode::kIo:
    case ErrorCode::kInternal: return 500;
  }
  return 500;
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return status < 500 ? "Client Error" : "Internal Server Error";
  }
}

// One HTTP answer; `error` is set for every refusal (it feeds the rejection hook).
struct Answer {
  int status = 200;
  std::string body;
  std::optional<ErrorCode> error;
  std::string extra_headers;  // complete "Name: value\r\n" lines
  bool close = false;         // the request body was not read: the connection cannot be reused
  std::string content_type = "application/json";  // empty: no body
  std::string_view cache_control = "no-store";
};

Json ErrorJson(const Error& error) {
  Json detail = Json::Object();
  detail.Set("code", ErrorCodeName(error.code()));
  detail.Set("message", error.message());
  Json body = Json::Object();
  body.Set("error", std::move(detail));
  return body;
}

Answer Refuse(int status, const Error& error, Json body = Json()) {
  if (body.is_null()) body = ErrorJson(error);
  return Answer{status, body.Serialize(), error.code(), {}, false};
}

Answer FromResult(const Result<Json>& result, int ok_status, std::string_view endpoint) {
  if (result.ok()) return Answer{ok_status, result->Serialize(), std::nullopt, {}, false};
  const Error& error = result.error();
  Json body = ErrorJson(error);
  // A VC API client reads `verified`; errors it cannot act on still say why in `error`.
  if (endpoint == kVerifyEndpoint && error.code() == ErrorCode::kVerificationFailed) {
    body.Set("verified", false);
    Json errors = Json::Array();
    errors.PushBack(*body.Find("error"));
    body.Set("errors", std::move(errors));
  }
  return Refuse(StatusFor(error.code()), error, std::move(body));
}

// A connection's identity while it is open: its peer's address and port.
std::string PeerKey(std::string_view address, std::uint16_t port) {
  return std::string(address) + " " + std::to_string(port);
}

// A TCP connection to the VC API: its descriptor and its peer.
struct OpenConnection {
  int socket = -1;
  std::string source;  // the peer's address
  std::string peer;    // PeerKey
};

// The process's TCP connections whose local port is `port`: those civetweb serves and those waiting
// in its accept queue. nullopt when the descriptors cannot be listed (/proc is not mounted).
std::optional<std::vector<OpenConnection>> ConnectionsToPort(std::uint16_t port) {
  DIR* directory = ::opendir("/proc/self/fd");
  if (directory == nullptr) return std::nullopt;
  std::vector<OpenConnection> connections;
  while (const dirent* entry = ::readdir(directory)) {
    int fd = -1;
    const std::string_view name = entry->d_name;
    if (std::from_chars(name.data(), name.data() + name.size(), fd).ec != std::errc()) continue;
    sockaddr_storage local{}, peer{};
    socklen_t local_size = sizeof local, peer_size = sizeof peer;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_size) != 0) continue;
    std::uint16_t local_port = 0;
    if (local.ss_family == AF_INET) {
      local_port = ntohs(reinterpret_cast<const sockaddr_in&>(local).sin_port);
    } else if (local.ss_family == AF_INET6) {
      local_port = ntohs(reinterpret_cast<const sockaddr_in6&>(local).sin6_port);
    }
    // The listening socket has the port too, but no peer.
    if (local_port != port ||
        ::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) {
      continue;
    }
    const void* peer_address = nullptr;
    std::uint16_t peer_port = 0;
    if (peer.ss_family == AF_INET) {
      peer_address = &reinterpret_cast<const sockaddr_in&>(peer).sin_addr;
      peer_port = ntohs(reinterpret_cast<const sockaddr_in&>(peer).sin_port);
    } else if (peer.ss_family == AF_INET6) {
      peer_address = &reinterpret_cast<const sockaddr_in6&>(peer).sin6_addr;
      peer_port = ntohs(reinterpret_cast<const sockaddr_in6&>(peer).sin6_port);
    } else {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {0};
    if (::inet_ntop(peer.ss_family, peer_address, text, sizeof text) == nullptr) continue;
    connections.push_back({fd, text, PeerKey(text, peer_port)});
  }
  ::closedir(directory);
  return connections;
}

std::string_view EndpointOf(std::string_view uri) {
  if (uri == "/credentials/verify") return kVerifyEndpoint;
  if (uri == "/credentials/issue") return kIssueEndpoint;
  if (uri.starts_with(kEvidencePrefix)) return kEvidenceEndpoint;
  if (uri == "/identity") return kIdentityEndpoint;
  if (uri == "/healthz") return kHealthEndpoint;
  if (uri == "/openapi.json" || uri == "/docs" || uri.starts_with("/docs/")) return kDocsEndpoint;
  return kOtherEndpoint;
}

}  // namespace

Result<std::string> NormalizeListenAddress(std::string_view listen) {
  std::string address(listen);
  std::size_t colon = address.rfind(':');
  if (colon == std::string::npos) {
    address = "127.0.0.1:" + address;
    colon = address.rfind(':');
  }
  const std::string_view port = std::string_view(address).substr(colon + 1);
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || error != std::errc() || end != port.data() + port.size() || value > 65535 || colon == 0) {
    return Invalid("the VC-API address must be ADDR:PORT or PORT (port 0 picks one), not \"" + std::string(listen) + "\"");
  }
  return address;
}

Status ValidateServerOptions(const ServerOptions& options) {
  TCC_RETURN_IF_ERROR(NormalizeListenAddress(options.listen));
  if (options.threads == 0 || options.threads > 1024) return Invalid("vc_api.threads must be between 1 and 1024");
  if (options.max_connections == 0 || options.max_connections > 1024) {
    return Invalid("vc_api.max_connections must be between 1 and 1024");
  }
  if (options.max_connections_per_source == 0 ||
      options.max_connections_per_source > options.max_connections) {
    return Invalid(
        "vc_api.max_connections_per_source must be between 1 and vc_api.max_connections");
  }
  if (options.max_body_bytes < 1024 || options.max_body_bytes > (64u << 20)) {
    return Invalid("vc_api.max_body_bytes must be between 1024 and 67108864");
  }
  if (options.request_timeout.count() < 1) return Invalid("vc_api.request_timeout_ms must be at least 1");
  if (options.header_timeout.count() < 1) {
    return Invalid("vc_api.header_timeout_ms must be at least 1");
  }
  if (options.tls_certificate_file.empty() != options.tls_key_file.empty()) {
    return Invalid("vc_api TLS needs both tls_certificate_file and tls_key_file");
  }
  for (const std::string& origin : options.cors_origins) {
    // An origin is scheme://host[:port], exactly as a browser sends it in Origin.
    const std::size_t scheme_end = origin.find("://");
    const std::string_view scheme = std::string_view(origin).substr(0, scheme_end);
    const bool valid =
        scheme_end != std::string::npos && (scheme == "http" || scheme == "https") &&
        origin.size() > scheme_end + 3 && origin.find('/', scheme_end + 3) == std::string::npos &&
        std::all_of(origin.begin(), origin.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    if (!valid) {
      return Invalid("vc_api.cors_origins: \"" + origin.substr(0, 100) +
                     "\" is not an origin (scheme://host[:port], e.g. https://app.example; no "
                     "wildcard, no path)");
    }
  }
  return OkStatus();
}

class Server::Impl {
 public:
  Impl(ServerOptions options, std::shared_ptr<const CredentialService> service, ServerHooks hooks)
      : options_(std::move(options)), service_(std::move(service)), hooks_(std::move(hooks)), executor_(options_.threads, "tcc-vcapi-work") {}

  ~Impl() {
    // civetweb's workers may be waiting on the executor: stop them first, then the executor.
    if (context_ != nullptr) mg_stop(context_);
    if (tls_initialized_) mg_exit_library();
    if (library_initialized_) mg_exit_library();
  }

  Status LoadStaticContent() {
    TCC_ASSIGN_OR_RETURN(static_, StaticContent::Load(options_.swagger_ui_dir));
    return OkStatus();
  }

  Status LoadToken() {
    if (options_.token_file.empty()) return OkStatus();
    auto text = ReadFile(options_.token_file, {.max_bytes = kMaxTokenFileBytes, .require_private = true});
    if (!text.ok()) return Invalid("vc-api token file: " + text.error().message());
    std::string token = std::move(text).value();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    const bool printable = std::all_of(token.begin(), token.end(), [](char c) { return c > 0x20 && c < 0x7f; });
    const std::size_t size = token.size();
    token_digest_ = Sha256(std::string_view(token));
    SecureWipe(token.data(), token.size());
    if (size < kMinTokenBytes || !printable) {
      token_digest_.reset();
      return Invalid("vc-api token file " + options_.token_file + ": the token must be at least " +
                     std::to_string(kMinTokenBytes) + " printable characters without spaces");
    }
    return OkStatus();
  }

  Status Bind() {
    TCC_ASSIGN_OR_RETURN(std::string address, NormalizeListenAddress(options_.listen));
    // Admission needs the port from the first connection on; port 0 is known once civetweb binds.
    unsigned configured_port = 0;
    const std::string_view port_text = std::string_view(address).substr(address.rfind(':') + 1);
    std::from_chars(port_text.data(), port_text.data() + port_text.size(), configured_port);
    port_ = static_cast<std::uint16_t>(configured_port);
    mg_init_library(0);
    library_initialized_ = true;
    const bool tls = !options_.tls_certificate_file.empty();
    if (tls) {
      TCC_RETURN_IF_ERROR(CheckTlsFiles(options_.tls_certificate_file, options_.tls_key_file));
      TCC_RETURN_IF_ERROR(EnableCivetwebTls());
      tls_initialized_ = true;
    }
    const std::string listening = tls ? address + "s" : address;
    // civetweb's request timeout bounds the headers from when it starts waiting for them (not per
    // read), and each single wait for body bytes; ReadBody bounds the body as a whole.
    const std::string threads = std::to_string(options_.max_connections);
    const std::string timeout =
        std::to_string(std::min(options_.header_timeout, options_.request_timeout).count());
    const char* config[] = {"listening_ports", listening.c_str(),
                            "ssl_protocol_version", "4",  // TLS 1.2 and later
                            "num_threads", threads.c_str(),
                            "request_timeout_ms", timeout.c_str(),
                            "keep_alive_timeout_ms", timeout.c_str(),
                            "enable_keep_alive", "yes",
                            "tcp_nodelay", "1",
                            "enable_directory_listing", "no",
                            // civetweb 1.15 answers every CORS preflight itself, for any origin,
                            // unless these are empty: CORS is decided here (cors_origins).
                            "access_control_allow_origin", "",
                            "access_control_allow_methods", "",
                            "access_control_allow_headers", "",
                            nullptr};
    mg_callbacks callbacks{};
    callbacks.log_message = [](const mg_connection* connection, const char* message) -> int {
      auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(connection)));
      if (self != nullptr && self->hooks_.on_log) self->hooks_.on_log(message);
      return 1;
    };
    callbacks.http_error = [](mg_connection* connection, int status, const char* message) -> int {
      // Errors civetweb finds itself (malformed request line, headers too large) answer in JSON too.
      auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(connection)));
      if (self == nullptr) return 1;
      const ErrorCode code = status == 413 ? ErrorCode::kResourceExhausted : ErrorCode::kInvalidArgument;
      std::string text = message != nullptr ? message : "bad request";
      // civetweb says "Malformed message" for bad headers and for headers cut off by its timeout.
      if (text == "Malformed message") {
        text =
            "the request line and headers are malformed, or were not complete within " +
            std::to_string(
                std::min(self->options_.header_timeout, self->options_.request_timeout).count()) +
            " ms (vc_api.header_timeout_ms)";
      }
      Answer answer = Refuse(status, Error(code, std::move(text)));
      answer.close = true;
      self->Send(connection, answer, kOtherEndpoint, std::nullopt);
      return 0;
    };
    // Loads the certificate and the key from their own files (civetweb itself wants both in one).
    callbacks.init_ssl = [](void* ssl_context, void* user_data) -> int {
      auto* self = static_cast<Impl*>(user_data);
      Status loaded = LoadTlsFiles(ssl_context, self->options_.tls_certificate_file, self->options_.tls_key_file);
      if (loaded.ok()) return 1;
      self->tls_error_ = loaded.error().message();
      return -1;
    };
    callbacks.init_connection = [](const mg_connection* connection, void**) -> int {
      auto* self = static_cast<Impl*>(mg_get_user_data(mg_get_context(connection)));
      if (self != nullptr) self->AdmitConnections();
      return 0;
    };
    char error_text[256] = {0};
    mg_error_data error{nullptr, error_text, sizeof error_text};
    mg_init_data init{&callbacks, this, config};
    context_ = mg_start2(&init, &error);
    if (context_ == nullptr) {
      if (!tls_error_.empty()) return Invalid(tls_error_);
      return Error(ErrorCode::kUnavailable, "vc-api: cannot serve on " + address + ": " + error_text);
    }
    mg_set_request_handler(context_, "/", &Impl::HandleThunk, this);
    mg_server_port ports[4];
    const int count = mg_get_server_ports(context_, 4, ports);
    if (count < 1) return Error(ErrorCode::kUnavailable, "vc-api: nothing listening on " + address);
    bound_address_ = address.substr(0, address.rfind(':')) + ":" + std::to_string(ports[0].port);
    port_ = static_cast<std::uint16_t>(ports[0].port);
    return OkStatus();
  }

  const std::string& bound_address() const { return bound_address_; }

 private:
  static int HandleThunk(mg_connection* connection, void* self) {
    return static_cast<Impl*>(self)->Handle(connection);
  }

  // Admits each new connection to the VC API, or refuses it at once when its source address
  // already has max_connections_per_source admitted: a 429 is written to its socket, which is then
  // shut down, so civetweb drops it without waiting for a request line.
  //
  // civetweb 1.15 offers no better place: its init_connection callback (where this runs, on the
  // worker that is about to read the connection's request) can neither refuse a connection nor see
  // its address, and keeps its socket private. Without this, a source over its limit would still
  // hold a worker with a deliberately slow request line until the header timeout. So the
  // connections are found among the process's sockets by their local port: a few dozen at most
  // (civetweb holds max_connections plus its accept queue), looked at once per new connection. A
  // connection is admitted or refused once, the first time it is seen; one that is gone is
  // forgotten.
  void AdmitConnections() {
    const std::uint16_t port = port_.load();
    if (port == 0) return;  // still starting: nothing to compare with
    MutexLock lock(admission_mutex_);
    auto connections = ConnectionsToPort(port);
    if (!connections) {
      if (!admission_unavailable_logged_ && hooks_.on_log) {
        hooks_.on_log(
            "vc-api: /proc/self/fd cannot be read; max_connections_per_source is not enforced");
      }
      admission_unavailable_logged_ = true;
      return;
    }
    std::unordered_map<std::string, Admission> still_open;
    std::unordered_map<std::string, std::size_t> admitted_by_source;
    for (const OpenConnection& connection : *connections) {
      auto known = admitted_.find(connection.peer);
      if (known == admitted_.end()) continue;
      still_open.emplace(connection.peer, Admission{known->second.admitted, connection.socket});
      if (known->second.admitted) ++admitted_by_source[connection.source];
    }
    for (const OpenConnection& connection : *connections) {
      if (still_open.contains(connection.peer)) continue;
      std::size_t& admitted = admitted_by_source[connection.source];
      const bool admit = admitted < options_.max_connections_per_source;
      still_open.emplace(connection.peer, Admission{admit, connection.socket});
      if (admit) {
        ++admitted;
        continue;
      }
      Answer answer = Refuse(
          429,
          Error(ErrorCode::kResourceExhausted,
                "this address already has " + std::to_string(options_.max_connections_per_source) +
                    " connections open to the VC API (vc_api.max_connections_per_source)"));
      answer.close = true;
      if (hooks_.on_rejected) hooks_.on_rejected(kOtherEndpoint, *answer.error);
      // Over TLS the handshake has not happened yet: the refusal is the closed connection.
      if (!tls_initialized_) {
        const std::string response = Format(answer);
        (void)::send(connection.socket, response.data(), response.size(),
                     MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      ::shutdown(connection.socket, SHUT_RDWR);
    }
    admitted_ = std::move(still_open);
  }

  int Handle(mg_connection* connection) {
    // The body's deadline: however steadily a client trickles, a request ends request_timeout after
    // its headers (each single wait for bytes is bounded by civetweb's timeout as well).
    const auto deadline = std::chrono::steady_clock::now() + options_.request_timeout;
    const mg_request_info* request = mg_get_request_info(connection);
    const std::string_view method = request->request_method != nullptr ? request->request_method : "";
    const std::string_view uri = request->local_uri != nullptr ? request->local_uri : "";
    const std::string_view endpoint = EndpointOf(uri);
    std::string_view routed = endpoint;
    Answer answer = Route(connection, request, method, uri, routed, deadline);
    if (hooks_.on_request) hooks_.on_request(routed);
    if (method != "OPTIONS") {
      if (const std::string* origin = AllowedOrigin(connection)) {
        answer.extra_headers += "Access-Control-Allow-Origin: " + *origin + "\r\nVary: Origin\r\n";
      }
    }
    return Send(connection, answer, routed, deadline);
  }

  Answer Route(mg_connection* connection, const mg_request_info* request, std::string_view method,
               std::string_view uri, std::string_view& endpoint,
               std::chrono::steady_clock::time_point deadline) {
    const bool post = endpoint == kVerifyEndpoint || endpoint == kIssueEndpoint;
    if (endpoint == kDocsEndpoint && static_.Find(uri) == nullptr) {
      if (!static_.docs_missing().empty() && uri.starts_with("/docs")) {
        return Refuse(404, Error(ErrorCode::kNotFound, static_.docs_missing()));
      }
      endpoint = kOtherEndpoint;  // an unknown asset
    }
    if (endpoint == kOtherEndpoint) {
      // The path is echoed only when it is printable ASCII: answers must stay valid JSON (UTF-8).
      const std::string_view shown = uri.substr(0, 200);
      const bool printable = std::all_of(shown.begin(), shown.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
      return Refuse(404, Error(ErrorCode::kNotFound, "no such resource" + (printable ? " " + std::string(shown) : "") +
                                                         " (POST /credentials/verify, POST /credentials/issue, "
                                                         "GET /evidence/{tsc-hash}, GET /identity, GET /healthz, "
                                                         "GET /openapi.json, GET /docs)"));
    }
    if (method == "OPTIONS") return Preflight(connection, post);
    if (method != (post ? "POST" : "GET")) {
      Answer answer = Refuse(405, Invalid(std::string(uri) + " accepts " + (post ? "POST" : "GET") + " only"));
      answer.extra_headers = std::string("Allow: ") + (post ? "POST" : "GET") + "\r\n";
      // A request to the wrong method may carry a body we will not read.
      answer.close = request->content_length != 0;
      return answer;
    }
    if (endpoint == kIdentityEndpoint) return Answer{200, service_->HandleIdentity().Serialize(), std::nullopt, {}, false};
    if (endpoint == kDocsEndpoint) {
      const StaticResource& resource = *static_.Find(uri);
      Answer answer{200, resource.body, std::nullopt, {}, false};
      answer.content_type = resource.content_type;
      answer.cache_control = "max-age=300";
      return answer;
    }
    if (endpoint == kHealthEndpoint) {
      // The chain adapter's status may take a round trip: not on civetweb's small stacks.
      return executor_.Run([&] {
        CredentialService::Health health = service_->HandleHealth();
        Answer answer{health.ready ? 200 : 503, health.body.Serialize(), std::nullopt, {}, false};
        if (!health.ready) answer.error = ErrorCode::kUnavailable;
        return answer;
      });
    }
    if (endpoint == kEvidenceEndpoint) {
      const std::string_view hash = uri.substr(kEvidencePrefix.size());
      return executor_.Run(
          [&] { return FromResult(service_->HandleEvidence(hash), 200, endpoint); });
    }
    if (endpoint == kIssueEndpoint) {
      if (auto refused = Authorize(connection)) return std::move(*refused);
    }
    std::string body;
    if (auto refused = ReadBody(connection, request, body, deadline)) return std::move(*refused);
    // Parsing, handling and serializing all recurse into the document, so all of them, and the
    // document's destruction, happen on the executor's full stack (see executor_).
    return executor_.Run([&]() -> Answer {
      auto json = Json::Parse(body, {.max_bytes = options_.max_body_bytes, .max_depth = 64});
      if (!json.ok()) {
        return Refuse(400, Error(ErrorCode::kParse,
                                 "the request body is not JSON: " + json.error().message()));
      }
      if (endpoint == kVerifyEndpoint) {
        return FromResult(service_->HandleVerify(*json), 200, endpoint);
      }
      return FromResult(service_->HandleIssue(*json), 201, endpoint);
    });
  }

  // The request's Origin when it is one of cors_origins; nullptr otherwise (CORS is off by default).
  const std::string* AllowedOrigin(mg_connection* connection) const {
    const char* origin = mg_get_header(connection, "Origin");
    if (origin == nullptr) return nullptr;
    auto found = std::find(options_.cors_origins.begin(), options_.cors_origins.end(), origin);
    return found != options_.cors_origins.end() ? &*found : nullptr;
  }

  // A CORS preflight: allowed for the configured origins only. Answering other origins without the
  // Access-Control-Allow-* headers would be enough for a browser, but a 403 tells a developer why.
  Answer Preflight(mg_connection* connection, bool post) {
    const std::string* origin = AllowedOrigin(connection);
    if (origin == nullptr) {
      Answer answer = Refuse(
          403, Error(ErrorCode::kPermissionDenied,
                     options_.cors_origins.empty()
                         ? "cross-origin requests are not enabled on this endpoint (vc_api.cors_origins)"
                         : "this origin is not one of vc_api.cors_origins"));
      answer.close = mg_get_request_info(connection)->content_length > 0;
      return answer;
    }
    Answer answer{204, {}, std::nullopt, {}, false};
    answer.content_type.clear();
    answer.extra_headers = "Access-Control-Allow-Origin: " + *origin +
                           "\r\nAccess-Control-Allow-Methods: " + (post ? "POST" : "GET") +
                           "\r\nAccess-Control-Allow-Headers: Content-Type, Authorization"
                           "\r\nAccess-Control-Max-Age: 600\r\nVary: Origin\r\n";
    answer.close = mg_get_request_info(connection)->content_length > 0;
    return answer;
  }

  // Refuses a body of unknown length (chunked), and one larger than the limit before anything is
  // read; gives up at the deadline however steadily the body trickles in.
  std::optional<Answer> ReadBody(mg_connection* connection, const mg_request_info* request,
                                 std::string& body,
                                 std::chrono::steady_clock::time_point deadline) {
    const std::size_t limit = options_.max_body_bytes;
    if (request->content_length < 0) {
      if (mg_get_header(connection, "Transfer-Encoding") == nullptr) {
        return Refuse(400, Invalid("the request has no body (a JSON object is expected)"));
      }
      // A length known up front is what lets the limit refuse a body before reading it, and keeps
      // the reading simple; VC API clients send JSON documents, whose length they know.
      Answer answer = Refuse(
          411, Invalid("a request body needs a Content-Length (chunked bodies are not accepted)"));
      answer.close = true;
      return answer;
    }
    if (request->content_length > static_cast<long long>(limit)) {
      Answer answer = Refuse(413, Error(ErrorCode::kResourceExhausted,
                                        "the request body is larger than the limit of " + std::to_string(limit) + " bytes"));
      answer.close = true;
      return answer;
    }
    const auto length = static_cast<std::size_t>(request->content_length);
    body.resize(length);
    const ReadDeadlines::Watch watch(read_deadlines_, SocketOf(*request), deadline);
    for (std::size_t read = 0; read < length;) {
      const int got =
          mg_read(connection, body.data() + read, std::min<std::size_t>(length - read, kReadChunk));
      if (std::chrono::steady_clock::now() >= deadline) {
        Answer answer = Refuse(408, Error(ErrorCode::kResourceExhausted,
                                          "the request body was not complete within " +
                                              std::to_string(options_.request_timeout.count()) +
                                              " ms of its headers (vc_api.request_timeout_ms)"));
        answer.close = true;
        return answer;
      }
      if (got < 0) {
        Answer answer = Refuse(400, Invalid("the request body could not be read"));
        answer.close = true;
        return answer;
      }
      read +=
          static_cast<std::size_t>(got);  // 0: a wait that timed out; try again until the deadline
    }
    if (body.empty()) return Refuse(400, Invalid("the request has no body (a JSON object is expected)"));
    return std::nullopt;
  }

  // The socket of a connection being served on this thread, as admission saw it; -1 if unknown.
  int SocketOf(const mg_request_info& request) {
    MutexLock lock(admission_mutex_);
    auto found = admitted_.find(
        PeerKey(request.remote_addr, static_cast<std::uint16_t>(request.remote_port)));
    return found != admitted_.end() && found->second.admitted ? found->second.socket : -1;
  }

  std::optional<Answer> Authorize(mg_connection* connection) {
    if (!token_digest_) {
      Answer answer = Refuse(403, Error(ErrorCode::kPermissionDenied,
                                        "issuing is disabled on this endpoint (tccd "
                                        "--vc-api-token-file and --vc-api-issuer-key enable it)"));
      answer.close = true;  // the body stays unread
      return answer;
    }
    const char* header = mg_get_header(connection, "Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    const std::string_view value = header != nullptr ? header : "";
    if (value.size() <= kBearer.size() || !value.starts_with(kBearer)) {
      Answer answer = Refuse(401, Error(ErrorCode::kPermissionDenied, "issuing needs an Authorization: Bearer token"));
      answer.extra_headers = "WWW-Authenticate: Bearer realm=\"tcc-vc-api\"\r\n";
      answer.close = true;
      return answer;
    }
    const Sha256Digest presented = Sha256(value.substr(kBearer.size()));
    if (!ConstantTimeEqual(presented, *token_digest_)) {
      Answer answer = Refuse(401, Error(ErrorCode::kPermissionDenied, "the bearer token is not valid"));
      answer.extra_headers = "WWW-Authenticate: Bearer realm=\"tcc-vc-api\", error=\"invalid_token\"\r\n";
      answer.close = true;
      return answer;
    }
    return std::nullopt;
  }

  // `drain_until`: after a refusal that leaves the body unread, read and drop what the client is
  // still sending, up to a bound and until then at most, before the connection closes: closing a
  // socket with unread data makes the kernel answer with a reset, which can destroy the response
  // before the client reads it.
  int Send(mg_connection* connection, const Answer& answer, std::string_view endpoint,
           std::optional<std::chrono::steady_clock::time_point> drain_until) {
    if (answer.error && hooks_.on_rejected) hooks_.on_rejected(endpoint, *answer.error);
    if (answer.close) mg_disable_keep_alive(connection);
    const std::string response = Format(answer);
    mg_write(connection, response.data(), response.size());
    if (answer.close && drain_until) DrainBody(connection, *drain_until);
    return answer.status;
  }

  // The whole response in one buffer: a separate small body write would wait for the client's
  // delayed ACK (Nagle).
  static std::string Format(const Answer& answer) {
    std::string response =
        "HTTP/1.1 " + std::to_string(answer.status) + " " +
        std::string(ReasonPhrase(answer.status)) + "\r\n" +
        (answer.content_type.empty() ? "" : "Content-Type: " + answer.content_type + "\r\n") +
        "Cache-Control: " + std::string(answer.cache_control) +
        "\r\n" +
        // RFC 9110: no Content-Length on a 204.
        (answer.status == 204 ? "" : "Content-Length: " + std::to_string(answer.body.size()) + "\r\n") +
        answer.extra_headers +
        (answer.close ? "Connection: close\r\n" : "") + "\r\n";
    response += answer.body;
    return response;
  }

  void DrainBody(mg_connection* connection, std::chrono::steady_clock::time_point until) {
    const std::size_t bound = kDrainFactor * options_.max_body_bytes;
    const mg_request_info* request = mg_get_request_info(connection);
    // A chunked body (refused with 411) announces no length: it is drained like the others, up to
    // the bound, until civetweb's mg_read reports its last chunk (0).
    const bool chunked =
        request->content_length < 0 && mg_get_header(connection, "Transfer-Encoding") != nullptr;
    // No body, or one not worth waiting for.
    if (!chunked &&
        (request->content_length < 0 || request->content_length > static_cast<long long>(bound))) {
      return;
    }
    const ReadDeadlines::Watch watch(read_deadlines_, SocketOf(*request), until);
    char buffer[16384];
    for (std::size_t drained = 0; drained < bound && std::chrono::steady_clock::now() < until;) {
      const int got = mg_read(connection, buffer, sizeof buffer);
      if (got < 0) break;
      drained += static_cast<std::size_t>(got);
      if (got == 0 && (chunked || drained >= static_cast<std::size_t>(request->content_length))) {
        break;
      }
    }
  }

  ServerOptions options_;
  std::shared_ptr<const CredentialService> service_;
  ReadDeadlines read_deadlines_;
  std::atomic<std::uint16_t> port_{0};  // the bound port, once known
  Mutex admission_mutex_;
  struct Admission {
    bool admitted = false;
    int socket = -1;  // valid while the connection is open
  };
  // Open connections by PeerKey.
  std::unordered_map<std::string, Admission> admitted_ TCC_GUARDED_BY(admission_mutex_);
  bool admission_unavailable_logged_ TCC_GUARDED_BY(admission_mutex_) = false;
  ServerHooks hooks_;
  std::optional<Sha256Digest> token_digest_;
  StaticContent static_;
  bool library_initialized_ = false;
  bool tls_initialized_ = false;
  std::string tls_error_;  // why init_ssl refused the files
  mg_context* context_ = nullptr;
  std::string bound_address_;
  // Runs the credential work on threads with the platform's default stack. civetweb's workers
  // have a small fixed stack (Debian builds it with 100 KiB), and verifying a TIC or TSC compiles
  // its template's schema recursively: under AddressSanitizer that overflowed a worker's stack and
  // took tccd down. civetweb's threads only read the request and write the answer.
  ThreadPool executor_;
};

Result<std::unique_ptr<Server>> Server::Start(const ServerOptions& options, std::shared_ptr<const CredentialService> service,
                                              ServerHooks hooks) {
  TCC_RETURN_IF_ERROR(ValidateServerOptions(options));
  if (!options.token_file.empty() && service->issuer_did().empty()) {
    return Invalid("vc-api: a token file enables issuing, which needs an issuer key of its own");
  }
  auto impl = std::make_unique<Impl>(options, std::move(service), std::move(hooks));
  TCC_RETURN_IF_ERROR(impl->LoadToken());
  TCC_RETURN_IF_ERROR(impl->LoadStaticContent());
  TCC_RETURN_IF_ERROR(impl->Bind());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() = default;
const std::string& Server::bound_address() const { return impl_->bound_address(); }

}  // namespace tcc::vcapi
