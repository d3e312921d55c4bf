#include "tcc/chain/factory.h"

#include "deferred_adapter.h"

#include <optional>
#include <string>

#include "tcc/chain/evm_adapter.h"
#include "tcc/chain/ledger_format.h"
#include "tcc/common/decimal.h"

namespace tcc::chain {
namespace {

using Opener = Result<std::unique_ptr<ChainAdapter>> (*)(std::string_view uri, const ChainOpenOptions& open_options);

Result<std::unique_ptr<ChainAdapter>> OpenLocal(std::string_view uri, const ChainOpenOptions& open_options) {
  TCC_ASSIGN_OR_RETURN(LocalLedgerOptions options, ParseLocalUri(uri));
  options.create_if_missing = open_options.create_if_missing;
  TCC_ASSIGN_OR_RETURN(std::unique_ptr<LocalLedger> ledger, LocalLedger::Open(options));
  return std::unique_ptr<ChainAdapter>(std::move(ledger));
}

Result<std::unique_ptr<ChainAdapter>> OpenEvm(std::string_view uri, const ChainOpenOptions&) {
  TCC_ASSIGN_OR_RETURN(EvmOptions options, ParseEvmUri(uri));
  TCC_ASSIGN_OR_RETURN(std::unique_ptr<EvmAdapter> adapter, EvmAdapter::Open(options));
  return std::unique_ptr<ChainAdapter>(std::move(adapter));
}

struct Scheme {
  std::string_view scheme;
  std::string_view form;
  Opener open;
};

// One row per adapter.
constexpr Scheme kSchemes[] = {
    {"local", "local:PATH[?entries_per_block=M&block_interval_ms=T&max_pending=P]", OpenLocal},
    {"evm+http", "evm+http://HOST:PORT?contract=0xADDRESS&key=KEYFILE[&chain_id=N&confirmations=K...]", OpenEvm},
    {"evm+https", "evm+https://HOST:PORT?contract=0xADDRESS&key=KEYFILE[...]", OpenEvm},
};

std::string SupportedList() {
  std::string list;
  for (const Scheme& scheme : kSchemes) {
    if (!list.empty()) list += ", ";
    list += scheme.form;
  }
  return list;
}

Result<std::uint64_t> ParseParameter(std::string_view name, std::string_view text,
                                     std::uint64_t min, std::uint64_t max) {
  const std::optional<std::uint64_t> value = ParseDecimal<std::uint64_t>(text);
  if (!value || *value < min || *value > max) {
    return Error(ErrorCode::kInvalidArgument,
                 "local: parameter " + std::string(name) + "='" + std::string(text) +
                     "' must be an integer in " + std::to_string(min) + ".." +
                     std::to_string(max));
  }
  return *value;
}

}  // namespace

Result<LocalLedgerOptions> ParseLocalUri(std::string_view uri) {
  constexpr std::string_view kPrefix = "local:";
  if (!uri.starts_with(kPrefix)) {
    return Error(ErrorCode::kInvalidArgument, "not a local: URI: " + std::string(uri));
  }
  std::string_view rest = uri.substr(kPrefix.size());
  std::string_view query;
  if (std::size_t mark = rest.find('?'); mark != std::string_view::npos) {
    query = rest.substr(mark + 1);
    rest = rest.substr(0, mark);
  }
  if (rest.empty()) {
    return Error(ErrorCode::kInvalidArgument, "local: URI needs a path, e.g. local:/var/lib/tcc/ledger");
  }
  LocalLedgerOptions options;
  options.path = std::string(rest);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument,
                   "local: parameter '" + std::string(pair) + "' has no value");
    }
    std::string_view name = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    if (name == "entries_per_block") {
      TCC_ASSIGN_OR_RETURN(options.max_entries_per_block,
                           ParseParameter(name, value, 1, ledger::kMaxEntriesPerBlock));
    } else if (name == "block_interval_ms") {
      TCC_ASSIGN_OR_RETURN(std::uint64_t ms, ParseParameter(name, value, 0, 60'000));
      options.block_interval = std::chrono::milliseconds(ms);
    } else if (name == "max_pending") {
      TCC_ASSIGN_OR_RETURN(options.max_pending, ParseParameter(name, value, 1, 1u << 24));
    } else {
      return Error(ErrorCode::kInvalidArgument,
                   "unknown local: parameter '" + std::string(name) +
                       "' (known: entries_per_block, block_interval_ms, max_pending)");
    }
  }
  return options;
}

Result<std::unique_ptr<ChainAdapter>> OpenChainAdapter(std::string_view uri, const ChainOpenOptions& open_options) {
  std::size_t colon = uri.find(':');
  std::string_view scheme = colon == std::string_view::npos ? std::string_view() : uri.substr(0, colon);
  for (const Scheme& candidate : kSchemes) {
    if (candidate.scheme == scheme) return candidate.open(uri, open_options);
  }
  return Error(ErrorCode::kInvalidArgument,
               "unsupported chain URI '" + std::string(uri.substr(0, 200)) +
                   "'; supported: " + SupportedList());
}

Result<std::unique_ptr<ChainAdapter>> OpenChainAdapterOrDefer(std::string_view uri, const ChainOpenOptions& open_options,
                                                              std::chrono::milliseconds retry_interval, bool* deferred) {
  *deferred = false;
  auto opened = OpenChainAdapter(uri, open_options);
  if (opened.ok() || opened.error().code() != ErrorCode::kUnavailable) return opened;
  *deferred = true;
  const std::string name = uri.starts_with("evm+") ? "evm" : std::string(uri.substr(0, uri.find(':')));
  return std::unique_ptr<ChainAdapter>(std::make_unique<DeferredChainAdapter>(
      std::string(uri), open_options, name, std::move(opened).error(), retry_interval));
}

std::vector<std::string> SupportedChainUris() {
  std::vector<std::string> forms;
  for (const Scheme& scheme : kSchemes) forms.emplace_back(scheme.form);
  return forms;
}

}  // namespace tcc::chain
