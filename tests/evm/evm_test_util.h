// EvmChain: an EVM node (anvil, or Hardhat's with TCC_EVM_NODE=hardhat: evm_node.h) with a funded
// account key file and a freshly deployed TccRegistry, the starting point of every EVM test.
// On anvil, node().Stop()/Start() restart the node on the same port and state. When the chosen
// node is not installed the test binary exits 77 (skipped), never passes.
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "chain/chain_test_util.h"
#include "evm_node.h"
#include "tcc/chain/evm_adapter.h"

namespace tcc::chain::testing {

// Polls `condition` until it holds or `limit` passes; the tests wait for states, never for times.
inline bool WaitUntil(const std::function<bool()>& condition,
                      std::chrono::milliseconds limit = std::chrono::seconds(30)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

class EvmChain {
 public:
  explicit EvmChain(unsigned block_time_s = 0)
      : node_({.state_file = dir_.Sub("anvil-state.json"),
               .block_time_s = block_time_s,
               .kind = ChosenKind(),
               .work_dir = dir_.Sub("hardhat")}) {
    std::string started = node_.Start();
    REQUIRE_MESSAGE(started.empty(), started);
    options_.rpc_url = node_.rpc_url();
    options_.key_file = NewFundedKey("account.key");
    options_.poll_interval = std::chrono::milliseconds(50);
    options_.write_timeout = std::chrono::seconds(60);
    Deploy();
  }

  // A new registry on the same node (a clean slate for the next check).
  void Deploy() {
    auto deployed = DeployEvmRegistry(options_);
    REQUIRE_MESSAGE(deployed.ok(), deployed.error().ToString());
    options_.contract = deployed->contract;
    options_.chain_id = deployed->chain_id;
    deployment_ = *deployed;
  }

  // Writes a new account key file (0600) and funds the account on the node.
  std::string NewFundedKey(const std::string& name) {
    std::string path = dir_.Sub(name);
    evm::AccountKey key = evm::AccountKey::Generate();
    REQUIRE(key.WriteFile(path).ok());
    Status funded = node_.Fund(key.address());
    REQUIRE_MESSAGE(funded.ok(), funded.error().ToString());
    return path;
  }

  std::unique_ptr<EvmAdapter> Open(const EvmOptions& options) {
    auto adapter = EvmAdapter::Open(options);
    REQUIRE_MESSAGE(adapter.ok(), adapter.error().ToString());
    return std::move(adapter).value();
  }
  std::unique_ptr<EvmAdapter> Open() { return Open(options_); }

  // The account's transactions so far (its next nonce) at the latest block.
  std::uint64_t TransactionCount(const evm::Address& account) {
    Json params = Json::Array();
    params.PushBack(evm::AddressHex(account));
    params.PushBack("latest");
    auto count = node_.Call("eth_getTransactionCount", params);
    REQUIRE(count.ok());
    return evm::ParseQuantity(count->as_string()).value();
  }

  // The account's count including the node's pool ("pending").
  std::uint64_t PendingCount(const evm::Address& account) {
    auto count = node_.Call("eth_getTransactionCount", JsonArray{Json(evm::AddressHex(account)), Json("pending")});
    REQUIRE(count.ok());
    return evm::ParseQuantity(count->as_string()).value();
  }

  // The node TCC_EVM_NODE names; a node that is not installed skips the whole binary.
  static EvmNodeKind ChosenKind() {
    auto kind = EvmNode::KindFromEnvironment();
    REQUIRE_MESSAGE(kind.has_value(), "TCC_EVM_NODE must be anvil or hardhat");
    if (!EvmNode::Installed(*kind)) {
      std::cerr << "SKIP: the " << (*kind == EvmNodeKind::kAnvil ? "anvil" : "hardhat")
                << " node is not installed (scripts/install-npm-tools.sh)\n";
      std::_Exit(77);
    }
    return *kind;
  }

  // Mines one block now (evm_mine) and returns the new head.
  std::uint64_t Mine() {
    REQUIRE(node_.Call("evm_mine", Json::Array()).ok());
    auto head = node_.Call("eth_blockNumber", Json::Array());
    REQUIRE(head.ok());
    return evm::ParseQuantity(head->as_string()).value();
  }

  EvmNode& node() { return node_; }
  const EvmOptions& options() const { return options_; }
  EvmOptions& options() { return options_; }
  const EvmDeployment& deployment() const { return deployment_; }
  const TempDir& dir() const { return dir_; }
  std::string uri() const { return EvmUri(options_); }

 private:
  TempDir dir_;
  EvmNode node_;
  EvmOptions options_;
  EvmDeployment deployment_;
};

}  // namespace tcc::chain::testing
