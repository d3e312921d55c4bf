// JsonRpcClient: Ethereum JSON-RPC 2.0 over HTTP(S) with libcurl, used by the EVM adapter and
// by tools and tests that talk to a node directly (node health, test-node controls).
//
// Transport failures (refused connection, timeout, HTTP error status, a reply that is not a
// JSON-RPC response) are kUnavailable or kParse errors; an error object from the node is a normal
// reply (RpcReply::error) so the caller can read its code, message and revert data. The client
// keeps a small pool of curl handles (kept-alive connections) and is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::chain::evm {

struct RpcError {
  std::int64_t code = 0;
  std::string message;
  std::string data;  // "0x..." revert data when the node supplies it, else its text
};

struct RpcReply {
  Json result;
  std::optional<RpcError> error;
};

class JsonRpcClient {
 public:
  JsonRpcClient(std::string url, std::chrono::milliseconds timeout);
  ~JsonRpcClient();
  JsonRpcClient(const JsonRpcClient&) = delete;
  JsonRpcClient& operator=(const JsonRpcClient&) = delete;

  const std::string& url() const { return url_; }
  Result<RpcReply> Call(std::string_view method, Json params);
  // Call, with a node error turned into kUnavailable carrying the node's message.
  Result<Json> CallOrFail(std::string_view method, Json params);

 private:
  struct Pool;
  std::string url_;
  std::chrono::milliseconds timeout_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace tcc::chain::evm
