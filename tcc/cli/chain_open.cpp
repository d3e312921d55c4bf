#include "chain_open.h"

#include <filesystem>
#include <iostream>
#include <string_view>
#include <utility>

#include "command_line.h"
#include "tcc/chain/factory.h"
#include "tcc/client/tccd_chain.h"
#include "tcc/did/did_key.h"
#include "tcc/wire/transport.h"
#include "tccd_client.h"

namespace tcc::cli {
namespace {

constexpr std::string_view kTccdScheme = "tccd:";

Result<client::TccdChainOptions> DataDirOptions(const std::string& data_dir) {
  if (data_dir.empty()) return UsageError("tccd: needs a data directory (tccd:DIR) or an endpoint");
  client::TccdChainOptions options;
  TCC_ASSIGN_OR_RETURN(DataDirEndpoints endpoints, ReadEndpoints(data_dir));
  options.connect.endpoint = endpoints.control;
  options.connect.tcc_did = endpoints.did;  // tccd may run with a --key outside DIR
  auto admin = did::KeyPair::ReadFile(data_dir + "/admin.key");
  if (!admin.ok()) return std::move(admin).error().WithContext("tccd's admin key");
  options.connect.client_key = wire::CurveKeyPair::FromDidKey(*admin);
  return options;
}

// tccd:ENDPOINT?tcc=DID&key=FILE[&channel=ID]; values are taken as written (no %-escapes), so a
// key file whose path holds '&' is reached through a symlink.
Result<client::TccdChainOptions> EndpointOptions(std::string_view rest) {
  const std::size_t question = rest.find('?');
  const std::string endpoint(rest.substr(0, question));
  TCC_RETURN_IF_ERROR(CheckEndpoint(endpoint, "tccd:"));
  std::string tcc, key_file, channel;
  std::string_view query =
      question == std::string_view::npos ? std::string_view() : rest.substr(question + 1);
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const std::size_t equals = pair.find('=');
    const std::string_view name = pair.substr(0, equals);
    const std::string value(equals == std::string_view::npos ? std::string_view()
                                                             : pair.substr(equals + 1));
    if (name == "tcc") {
      tcc = value;
    } else if (name == "key") {
      key_file = value;
    } else if (name == "channel") {
      channel = value;
    } else {
      return UsageError("tccd: knows tcc=, key= and channel=, not \"" + std::string(pair) + "\"");
    }
  }
  if (tcc.empty() || key_file.empty()) return UsageError("tccd:ENDPOINT needs ?tcc=DID&key=FILE");
  TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
  client::TccdChainOptions options;
  options.connect.endpoint = endpoint;
  options.connect.tcc_did = tcc;
  if (channel.empty()) {
    options.connect.client_key = wire::CurveKeyPair::FromDidKey(key);
  } else {
    TCC_RETURN_IF_ERROR(tccd_client::CheckChannelId(channel, "tccd: channel="));
    options.channel = channel;
    options.member_key = std::make_shared<const did::KeyPair>(std::move(key));
  }
  return options;
}

Result<std::shared_ptr<chain::ChainAdapter>> OpenTccd(const std::string& uri) {
  const std::string_view rest = std::string_view(uri).substr(kTccdScheme.size());
  Result<client::TccdChainOptions> options = rest.find("://") != std::string_view::npos
                                                 ? EndpointOptions(rest)
                                                 : DataDirOptions(std::string(rest));
  if (!options.ok()) return std::move(options).error().WithContext("--chain " + uri);
  auto adapter = client::OpenTccdChain(std::move(options).value());
  if (!adapter.ok()) return std::move(adapter).error().WithContext("--chain " + uri);
  return std::shared_ptr<chain::ChainAdapter>(std::move(adapter).value());
}

}  // namespace

std::string ChainHelp(bool required) {
  std::string text = required ? "The chain to use (required; there is no default). Forms: "
                              : "Also check against this chain (no default). Forms: ";
  for (const std::string& form : chain::SupportedChainUris()) text += form + ", ";
  return text +
         "tccd:DIR (the chain of the tccd running on DIR), "
         "tccd:ENDPOINT?tcc=DID&key=FILE[&channel=ID]. "
         "A local: ledger a running tccd holds is reached through that tccd.";
}

Result<std::shared_ptr<chain::ChainAdapter>> OpenCliChain(const std::string& uri,
                                                          ChainAccess access) {
  if (uri.empty()) return MissingOption("--chain URI");
  if (uri.starts_with(kTccdScheme)) return OpenTccd(uri);
  auto adapter = chain::OpenChainAdapter(uri, {.create_if_missing = access == ChainAccess::kWrite});
  if (!adapter.ok() && adapter.error().code() == ErrorCode::kUnavailable &&
      uri.starts_with("local:")) {
    // The ledger is locked: if a tccd running on its parent directory holds it (DIR/ledger is the
    // default layout), the same chain is reached through that tccd.
    auto local = chain::ParseLocalUri(uri);
    if (local.ok()) {
      std::filesystem::path ledger = std::filesystem::path(local->path).lexically_normal();
      if (!ledger.has_filename()) ledger = ledger.parent_path();  // "DIR/ledger/"
      std::string data_dir = ledger.parent_path().string();
      if (data_dir.empty()) data_dir = ".";
      if (ReadEndpoints(data_dir).ok()) {
        std::cerr << "tcc: " << uri << " is held by the tccd running on " << data_dir
                  << "; going through it (tccd:" << data_dir << ")\n";
        return OpenTccd(std::string(kTccdScheme) + data_dir);
      }
    }
    return std::move(adapter).error().WithContext(
        "--chain " + uri +
        " (a running tccd holds it? --chain tccd:DATA_DIR goes through that tccd)");
  }
  if (!adapter.ok()) return std::move(adapter).error().WithContext("--chain " + uri);
  return std::shared_ptr<chain::ChainAdapter>(std::move(adapter).value());
}

}  // namespace tcc::cli
