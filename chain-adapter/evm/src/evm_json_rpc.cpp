#include "tcc/chain/evm_json_rpc.h"

#include <curl/curl.h>

#include <atomic>
#include <cmath>
#include <optional>
#include <vector>

#include "tcc/common/thread_safety.h"

namespace tcc::chain::evm {
namespace {

// Logs of a whole block range can be large; anything beyond this is refused, not buffered.
constexpr std::size_t kMaxReplyBytes = 64u << 20;

struct Sink {
  std::string body;
  bool overflow = false;
};

std::size_t Collect(char* data, std::size_t size, std::size_t count, void* user) {
  auto* sink = static_cast<Sink*>(user);
  std::size_t bytes = size * count;
  if (sink->body.size() + bytes > kMaxReplyBytes) {
    sink->overflow = true;
    return 0;
  }
  sink->body.append(data, bytes);
  return bytes;
}

void InitializeCurlOnce() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

struct JsonRpcClient::Pool {
  Mutex mutex;
  std::vector<CURL*> idle TCC_GUARDED_BY(mutex);
  std::atomic<std::uint64_t> next_id{1};

  ~Pool() {
    for (CURL* handle : idle) curl_easy_cleanup(handle);
  }
  CURL* Take() {
    {
      MutexLock lock(mutex);
      if (!idle.empty()) {
        CURL* handle = idle.back();
        idle.pop_back();
        return handle;
      }
    }
    return curl_easy_init();
  }
  void Give(CURL* handle) {
    MutexLock lock(mutex);
    if (idle.size() < 16) {
      idle.push_back(handle);
    } else {
      curl_easy_cleanup(handle);
    }
  }
};

JsonRpcClient::JsonRpcClient(std::string url, std::chrono::milliseconds timeout)
    : url_(std::move(url)), timeout_(timeout), pool_(std::make_unique<Pool>()) {
  InitializeCurlOnce();
}

JsonRpcClient::~JsonRpcClient() = default;

Result<RpcReply> JsonRpcClient::Call(std::string_view method, Json params) {
  std::uint64_t id = pool_->next_id.fetch_add(1);
  Json request = Json::Object();
  request.Set("jsonrpc", "2.0");
  request.Set("id", id);
  request.Set("method", method);
  request.Set("params", std::move(params));
  std::string body = request.Serialize();

  CURL* handle = pool_->Take();
  if (handle == nullptr) return Error(ErrorCode::kInternal, "curl_easy_init failed");
  Sink sink;
  curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  curl_easy_reset(handle);
  curl_easy_setopt(handle, CURLOPT_URL, url_.c_str());
  curl_easy_setopt(handle, CURLOPT_POST, 1L);
  curl_easy_setopt(handle, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(handle, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(handle, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(handle, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(timeout_.count()));
  curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
  CURLcode code = curl_easy_perform(handle);
  long status = 0;
  curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  pool_->Give(handle);

  const std::string where = std::string(method) + " at " + url_;
  if (sink.overflow) {
    return Error(ErrorCode::kResourceExhausted,
                 where + ": reply is over " + std::to_string(kMaxReplyBytes) + " bytes");
  }
  if (code != CURLE_OK) {
    return Error(ErrorCode::kUnavailable, where + ": " + curl_easy_strerror(code));
  }
  // Nodes answer JSON-RPC errors with 200 (geth, anvil) or 4xx/5xx with a JSON body (Besu for
  // some); a body that is not JSON-RPC with an error status is a transport failure.
  auto parsed = Json::Parse(sink.body, {.max_bytes = kMaxReplyBytes, .max_depth = 64});
  if (!parsed.ok() || !parsed->is_object()) {
    if (status >= 400) {
      return Error(ErrorCode::kUnavailable, where + ": HTTP status " + std::to_string(status));
    }
    return Error(ErrorCode::kParse, where + ": reply is not JSON: " +
                                        (parsed.ok() ? "not an object" : parsed.error().message()));
  }
  RpcReply reply;
  if (const Json* error = parsed->Find("error"); error != nullptr && !error->is_null()) {
    RpcError rpc_error;
    if (error->is_object()) {
      if (const Json* c = error->Find("code"); c && c->is_number()) {
        // The node wrote it: converted checked (codes are negative, -32000 and below); a code that
        // is no integer within 2^53 stays 0, unknown.
        const double number = c->as_number();
        if (const std::optional<std::uint64_t> magnitude = JsonInteger(std::fabs(number))) {
          const auto value = static_cast<std::int64_t>(*magnitude);
          rpc_error.code = number < 0 ? -value : value;
        }
      }
      if (const Json* m = error->Find("message"); m && m->is_string()) rpc_error.message = m->as_string();
      if (const Json* d = error->Find("data"); d) {
        // geth, Besu and anvil put a revert's return data here as hex; Hardhat's node wraps it as
        // {"message": ..., "data": "0x..."}. Either way `data` holds the hex from here on.
        const Json* inner = d->is_object() ? d->Find("data") : nullptr;
        if (inner != nullptr && inner->is_string()) {
          rpc_error.data = inner->as_string();
        } else {
          rpc_error.data = d->is_string() ? d->as_string() : d->Serialize();
        }
      }
    } else {
      rpc_error.message = error->Serialize();
    }
    reply.error = std::move(rpc_error);
    return reply;
  }
  Json* result = parsed->Find("result");
  if (result == nullptr) return Error(ErrorCode::kParse, where + ": reply has neither result nor error");
  reply.result = std::move(*result);
  return reply;
}

Result<Json> JsonRpcClient::CallOrFail(std::string_view method, Json params) {
  TCC_ASSIGN_OR_RETURN(RpcReply reply, Call(method, std::move(params)));
  if (reply.error) {
    return Error(ErrorCode::kUnavailable, std::string(method) + " failed at " + url_ + ": " +
                                              reply.error->message);
  }
  return std::move(reply.result);
}

}  // namespace tcc::chain::evm
