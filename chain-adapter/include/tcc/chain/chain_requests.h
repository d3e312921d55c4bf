// Chain requests: ChainAdapter calls as JSON, so that one process that holds a chain (tccd and
// its embedded ledger) can serve it to others over tccd's endpoints (wire's chain.read and
// chain.write, docs/tccd.md "Chain requests").
//
// Two halves over the same JSON forms. ServeChainRequest is the server's: it reads a request's
// arguments strictly (every member typed, unknown members refused, ids and sizes checked by the
// adapter's own Validate* rules), calls the adapter and renders the result. MakeRequestAdapter
// is the client's: a ChainAdapter whose every call becomes one request through `call`, and whose
// answers are read as strictly as a peer's input. Binary values (DID documents, template and TIC
// contents) travel as lowercase hex; receipts in the evidence bundle's form (evidence.h).
//
// The functions are pure apart from the adapter they call; the adapter MakeRequestAdapter returns
// is as thread-safe as `call` (it adds no state of its own).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tcc/chain/chain_adapter.h"
#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::chain {

// Every ChainAdapter call but PollEvents (a daemon's own event feed is not served).
enum class ChainOp {
  kStatus,
  kResolveDid,
  kGetTemplate,
  kListTemplates,
  kGetTic,
  kFindAnchor,
  kFindAnchorByRoot,
  // writes
  kRegisterDid,
  kUpdateDid,
  kPublishTemplate,
  kRecordTic,
  kAnchor,
};

std::string_view ChainOpName(ChainOp op);  // "resolve_did", ...
std::optional<ChainOp> ChainOpFromName(std::string_view name);
bool IsChainWrite(ChainOp op);

// Runs one request on `adapter`: `args` is the request's argument object. Returns the result
// object, or the adapter's error (kInvalidArgument naming the member for malformed arguments,
// before the adapter is touched). A result larger than `max_result_bytes` serialized is
// kResourceExhausted rather than a frame the transport would refuse.
Result<Json> ServeChainRequest(ChainAdapter& adapter, ChainOp op, const Json& args,
                               std::size_t max_result_bytes);

// Sends one request and returns the result object (or the error the server answered with).
using ChainCall = std::function<Result<Json>(ChainOp op, Json args)>;

// A ChainAdapter over `call`; `name` is the served adapter's name (its receipts carry it).
// PollEvents is kPermissionDenied: events are the serving daemon's.
std::unique_ptr<ChainAdapter> MakeRequestAdapter(std::string name, ChainCall call);

}  // namespace tcc::chain
