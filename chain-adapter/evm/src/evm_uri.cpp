// evm+http(s):// URIs <-> EvmOptions.
#include <optional>
#include <string>

#include "tcc/chain/evm_adapter.h"
#include "tcc/common/decimal.h"

namespace tcc::chain {
namespace {

constexpr std::string_view kKnown =
    "contract, key, chain_id, confirmations, gas_price, poll_ms, request_timeout_ms, "
    "write_timeout_ms, log_range";

Result<std::uint64_t> Number(std::string_view name, std::string_view text, std::uint64_t min,
                             std::uint64_t max) {
  const std::optional<std::uint64_t> value = ParseDecimal<std::uint64_t>(text);
  if (!value || *value < min || *value > max) {
    return Error(ErrorCode::kInvalidArgument,
                 "evm URI parameter " + std::string(name) + "='" + std::string(text.substr(0, 40)) +
                     "' must be an integer in " + std::to_string(min) + ".." + std::to_string(max));
  }
  return *value;
}

Result<std::chrono::milliseconds> Millis(std::string_view name, std::string_view text) {
  TCC_ASSIGN_OR_RETURN(std::uint64_t ms, Number(name, text, 1, 3'600'000));
  return std::chrono::milliseconds(ms);
}

}  // namespace

Result<EvmOptions> ParseEvmUri(std::string_view uri) {
  std::string_view rest;
  std::string scheme;
  if (uri.starts_with("evm+http://")) {
    scheme = "http://";
    rest = uri.substr(11);
  } else if (uri.starts_with("evm+https://")) {
    scheme = "https://";
    rest = uri.substr(12);
  } else {
    return Error(ErrorCode::kInvalidArgument, "not an evm+http:// or evm+https:// URI");
  }
  std::string_view query;
  if (std::size_t mark = rest.find('?'); mark != std::string_view::npos) {
    query = rest.substr(mark + 1);
    rest = rest.substr(0, mark);
  }
  if (rest.empty() || rest.front() == '/') {
    return Error(ErrorCode::kInvalidArgument, "evm URI needs HOST:PORT, e.g. evm+http://127.0.0.1:8545?...");
  }
  EvmOptions options;
  options.rpc_url = scheme + std::string(rest);
  while (!query.empty()) {
    std::size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) {
      return Error(ErrorCode::kInvalidArgument, "evm URI parameter '" + std::string(pair) + "' has no value");
    }
    std::string_view name = pair.substr(0, eq);
    std::string_view value = pair.substr(eq + 1);
    if (name == "contract") {
      TCC_ASSIGN_OR_RETURN(options.contract, evm::ParseAddress(value));
    } else if (name == "key") {
      if (value.empty()) return Error(ErrorCode::kInvalidArgument, "evm URI key= is empty");
      options.key_file = std::string(value);
    } else if (name == "chain_id") {
      TCC_ASSIGN_OR_RETURN(options.chain_id, Number(name, value, 1, std::uint64_t(1) << 60));
    } else if (name == "confirmations") {
      TCC_ASSIGN_OR_RETURN(options.confirmations, Number(name, value, 1, 1000));
    } else if (name == "gas_price") {
      TCC_ASSIGN_OR_RETURN(options.gas_price, Number(name, value, 0, UINT64_MAX));
    } else if (name == "poll_ms") {
      TCC_ASSIGN_OR_RETURN(options.poll_interval, Millis(name, value));
    } else if (name == "request_timeout_ms") {
      TCC_ASSIGN_OR_RETURN(options.request_timeout, Millis(name, value));
    } else if (name == "write_timeout_ms") {
      TCC_ASSIGN_OR_RETURN(options.write_timeout, Millis(name, value));
    } else if (name == "log_range") {
      TCC_ASSIGN_OR_RETURN(options.log_range, Number(name, value, 1, 1'000'000));
    } else {
      return Error(ErrorCode::kInvalidArgument, "unknown evm URI parameter '" +
                                                    std::string(name.substr(0, 40)) +
                                                    "' (known: " + std::string(kKnown) + ")");
    }
  }
  if (!options.contract) {
    return Error(ErrorCode::kInvalidArgument, "evm URI needs contract=0xADDRESS (the TccRegistry)");
  }
  if (options.key_file.empty()) {
    return Error(ErrorCode::kInvalidArgument, "evm URI needs key=PATH (the account key file, 0600)");
  }
  return options;
}

std::string EvmUri(const EvmOptions& options) {
  std::string uri = "evm+" + options.rpc_url + "?";
  if (options.contract) uri += "contract=" + evm::AddressHex(*options.contract) + "&";
  uri += "key=" + options.key_file;
  if (options.chain_id) uri += "&chain_id=" + std::to_string(*options.chain_id);
  const EvmOptions defaults;
  if (options.confirmations != defaults.confirmations) {
    uri += "&confirmations=" + std::to_string(options.confirmations);
  }
  if (options.gas_price) uri += "&gas_price=" + std::to_string(*options.gas_price);
  if (options.poll_interval != defaults.poll_interval) {
    uri += "&poll_ms=" + std::to_string(options.poll_interval.count());
  }
  if (options.request_timeout != defaults.request_timeout) {
    uri += "&request_timeout_ms=" + std::to_string(options.request_timeout.count());
  }
  if (options.write_timeout != defaults.write_timeout) {
    uri += "&write_timeout_ms=" + std::to_string(options.write_timeout.count());
  }
  if (options.log_range != defaults.log_range) uri += "&log_range=" + std::to_string(options.log_range);
  return uri;
}

}  // namespace tcc::chain
