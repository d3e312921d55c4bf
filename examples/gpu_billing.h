// What the two example programs share: the options both take, how they become a PartySession,
// and the billing rule both parties apply — the fee for a minute is the GPU-seconds used at the
// TIC's unit price, in cents, so the consumer can recompute every fee the provider proposes.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>

#include "tcc/client/party_session.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/common/time.h"

namespace gpu_billing {

struct Options {
  std::map<std::string, std::string> values{{"count", "10"}, {"interval", "200"}, {"timeout", "5000"}};
  std::string operator[](const std::string& name) const {
    auto found = values.find(name);
    return found == values.end() ? std::string() : found->second;
  }
  std::uint64_t Number(const std::string& name) const { return std::strtoull((*this)[name].c_str(), nullptr, 10); }
};

inline constexpr const char* kCommonUsage =
    "  --listen ENDPOINT   tccd's party endpoint, e.g. tcp://127.0.0.1:7700\n"
    "  --tcc DID           the TCC's DID (its key is the CURVE server key)\n"
    "  --key FILE          this party's key file\n"
    "  --channel ID        the channel id (the TIC's hash)\n"
    "  --tst FILE          the TST the claims follow\n"
    "  --tic FILE          the TIC (unit price, GPU count, start of billing)\n"
    "  --count N           stop after N settlements (default 10)\n"
    "  --timeout MS        per-request timeout; a silent tccd is reconnected to after it (default 5000)\n";

// Parses --name value pairs; prints `usage` and exits on --help, on an unknown option, or when one
// of the common options is missing.
inline Options ParseOptions(int argc, char** argv, const std::string& usage) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag.rfind("--", 0) != 0 || i + 1 >= argc) {
      std::cout << usage << kCommonUsage;
      std::exit(flag == "--help" ? 0 : 2);
    }
    options.values[flag.substr(2)] = argv[++i];
  }
  for (const char* required : {"listen", "tcc", "key", "channel", "tst", "tic"}) {
    if (options[required].empty()) {
      std::cerr << "missing --" << required << "\n" << usage << kCommonUsage;
      std::exit(2);
    }
  }
  return options;
}

inline tcc::Result<std::unique_ptr<tcc::client::PartySession>> JoinChannel(const Options& options) {
  TCC_ASSIGN_OR_RETURN(tcc::did::KeyPair key, tcc::did::KeyPair::ReadFile(options["key"]));
  TCC_ASSIGN_OR_RETURN(std::string tst_text, tcc::ReadFile(options["tst"]));
  tcc::client::PartySessionOptions session;
  session.connect.endpoint = options["listen"];
  session.connect.tcc_did = options["tcc"];
  session.connect.timeout = std::chrono::milliseconds(options.Number("timeout"));
  session.channel_id = options["channel"];
  session.key = std::make_shared<const tcc::did::KeyPair>(std::move(key));
  TCC_ASSIGN_OR_RETURN(session.tst, tcc::vc::Template::Parse(tst_text));
  return tcc::client::PartySession::Join(std::move(session));
}

// The terms of the trade both parties read from the TIC: the unit price per GPU-hour in cents
// ("2.85" USD -> 285), the GPUs rented, when billing starts, and the claims' encryption.
struct Terms {
  std::int64_t cents_per_gpu_hour = 0;
  std::string currency;
  std::int64_t gpu_count = 0;
  tcc::Timestamp start{};
  std::string encryption;
};

inline tcc::Result<Terms> ReadTerms(const std::string& tic_file) {
  TCC_ASSIGN_OR_RETURN(std::string text, tcc::ReadFile(tic_file));
  TCC_ASSIGN_OR_RETURN(tcc::Json tic, tcc::Json::Parse(text));
  const tcc::Json* claim = tic.Find("credentialSubject");
  const tcc::Json* price = claim != nullptr ? claim->Find("unitPrice") : nullptr;
  const tcc::Json* spec = claim != nullptr ? claim->Find("computeSpec") : nullptr;
  if (price == nullptr || spec == nullptr) {
    return tcc::Error(tcc::ErrorCode::kInvalidArgument, tic_file + ": not a GPU-hour TIC (no unitPrice or computeSpec)");
  }
  Terms terms;
  TCC_ASSIGN_OR_RETURN(std::string_view amount, price->GetString("amount"));
  terms.cents_per_gpu_hour = std::llround(std::strtod(std::string(amount).c_str(), nullptr) * 100);
  TCC_ASSIGN_OR_RETURN(std::string_view currency, price->GetString("currency"));
  terms.currency = currency;
  TCC_ASSIGN_OR_RETURN(const std::uint64_t gpu_count, spec->GetInteger("gpuCount", 1, 64));
  terms.gpu_count = static_cast<std::int64_t>(gpu_count);
  TCC_ASSIGN_OR_RETURN(std::string_view valid_from, tic.GetString("validFrom"));
  TCC_ASSIGN_OR_RETURN(terms.start, tcc::ParseRfc3339(std::string(valid_from)));
  TCC_ASSIGN_OR_RETURN(std::string_view encryption, claim->GetString("encryption"));
  terms.encryption = encryption;
  return terms;
}

// "0.38": the fee for `gpu_seconds`, rounded half up to the cent.
inline std::string FeeFor(const Terms& terms, std::int64_t gpu_seconds) {
  const std::int64_t cents = (gpu_seconds * terms.cents_per_gpu_hour + 1800) / 3600;
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%02lld", static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
  return text;
}

}  // namespace gpu_billing
