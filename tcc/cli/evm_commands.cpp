// tcc evm key new, tcc evm deploy: set up an EVM chain for the evm+http adapter (docs/evm.md):
// an account key for tccd to sign its transactions with, and the TccRegistry contract it writes to.
#include <charconv>
#include <iostream>

#include "command_line.h"
#include "tcc/chain/evm_adapter.h"
#include "tcc/chain/evm_primitives.h"

namespace tcc::cli {
namespace {

Result<std::uint64_t> ParseCount(const std::string& flag, const std::string& text, std::uint64_t min) {
  std::uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < min) {
    return UsageError(flag + " must be an integer of at least " + std::to_string(min) + ", not \"" + text + "\"");
  }
  return value;
}

int RunEvmKeyNew(std::span<const std::string> arguments) {
  std::string out;
  bool force = false;
  CommandLine command_line("evm key new",
                           "Create a secp256k1 account key for the EVM adapter (64 hex digits, mode 0600,\n"
                           "the form Besu and geth use) and print its address. Fund that address on the\n"
                           "chain (genesis allocation, a transfer) unless the network is gas-free.");
  command_line.Option("out", "FILE", "Where to write the key (required).", &out)
      .Flag("force", "Overwrite an existing file.", &force);
  return RunCommand(command_line, "evm key new", arguments, [&]() -> Status {
    if (out.empty()) return MissingOption("--out FILE");
    chain::evm::AccountKey key = chain::evm::AccountKey::Generate();
    TCC_RETURN_IF_ERROR(key.WriteFile(out, force));
    std::cout << chain::evm::AddressHex(key.address()) << "\n";
    return OkStatus();
  });
}

int RunEvmDeploy(std::span<const std::string> arguments) {
  std::string rpc, key, chain_id, gas_price, confirmations = "1";
  CommandLine command_line("evm deploy",
                           "Deploy a new TccRegistry contract from the account in --key, wait for its\n"
                           "receipt, and print its address and the evm+http URI to pass as --chain to tccd\n"
                           "and tcc. The contract is embedded in tcc: " +
                               chain::EvmRegistryBuildInfo() + ".");
  command_line.Option("rpc", "URL", "The node's JSON-RPC endpoint, http://HOST:PORT (required).", &rpc)
      .Option("key", "FILE", "The deploying account's key file, mode 0600 (required; tcc evm key new).", &key)
      .Option("chain-id", "N", "Refuse a node whose eth_chainId differs.", &chain_id)
      .Option("gas-price", "WEI", "Gas price (default: the node's eth_gasPrice; 0 on gas-free chains).",
              &gas_price)
      .Option("confirmations", "K", "Blocks the deployment must be deep before it counts (default 1).",
              &confirmations);
  return RunCommand(command_line, "evm deploy", arguments, [&]() -> Status {
    if (rpc.empty()) return MissingOption("--rpc URL");
    if (key.empty()) return MissingOption("--key FILE");
    chain::EvmOptions options;
    options.rpc_url = rpc;
    options.key_file = key;
    if (!chain_id.empty()) {
      TCC_ASSIGN_OR_RETURN(options.chain_id, ParseCount("--chain-id", chain_id, 1));
    }
    if (!gas_price.empty()) {
      TCC_ASSIGN_OR_RETURN(options.gas_price, ParseCount("--gas-price", gas_price, 0));
    }
    TCC_ASSIGN_OR_RETURN(options.confirmations, ParseCount("--confirmations", confirmations, 1));
    TCC_ASSIGN_OR_RETURN(chain::EvmDeployment deployment, chain::DeployEvmRegistry(options));
    std::cout << "contract " << chain::evm::AddressHex(deployment.contract) << "\n"
              << "chain_id " << deployment.chain_id << "\n"
              << "block " << deployment.receipt.height << " tx " << deployment.receipt.tx << "\n"
              << "uri " << deployment.uri << "\n";
    return OkStatus();
  });
}

}  // namespace

std::vector<Command> EvmCommands() {
  return {
      {"evm key new", "create an EVM account key file (0600) and print its address", RunEvmKeyNew},
      {"evm deploy", "deploy the TccRegistry contract and print its evm+http URI", RunEvmDeploy},
  };
}

}  // namespace tcc::cli
