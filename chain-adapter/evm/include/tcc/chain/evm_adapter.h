// EvmAdapter: the ChainAdapter for Ethereum-compatible consortium chains (Hyperledger Besu with
// QBFT/IBFT, GoQuorum, geth with clique, FISCO BCOS >= 3.9 through its web3 RPC), reached over
// JSON-RPC/HTTP and backed by the TccRegistry contract (chain-adapter/evm/TccRegistry.sol).
//
//   evm+http://HOST:PORT[/PATH]?contract=0xADDRESS&key=KEYFILE[&chain_id=N&confirmations=K
//       &gas_price=WEI&poll_ms=T&request_timeout_ms=T&write_timeout_ms=T&log_range=B]
//
// Writes are raw transactions signed locally with the account key in KEYFILE (secp256k1, mode
// 0600; see AccountKey) and sent with eth_sendRawTransaction: legacy EIP-155 transactions, gas
// from eth_estimateGas (which also surfaces revert reasons before anything is sent), gas price
// from the URI or eth_gasPrice. A write returns once its receipt is `confirmations` blocks deep.
// Nonces come from eth_getTransactionCount("pending") at first use and after any nonce error,
// and are tracked locally in between, so a restarted adapter (or a second one on the same key,
// though that is not recommended) continues without gaps. Transport failures (node down or
// restarting) are retried with backoff until `write_timeout`; a transaction the node forgot is
// re-sent. Every write first reads the record it would create and, once landed, reads it back:
// a retry of a write that already landed returns the original record and receipt, never a
// second one, and the contract refuses conflicting values itself.
//
// Receipts name the block and transaction that first recorded a value: adapter "evm", height =
// block number, tx = 0x transaction hash, block hash, block time in ms. Events are read with
// eth_getLogs; the cursor is "BLOCK.LOG_INDEX" of the last log handed out.
//
// The adapter owns its RPC connections and account key. All methods are thread-safe; writes from
// many threads are pipelined (nonces assigned in order, receipts awaited in parallel). The
// destructor waits for writes in progress (each bounded by write_timeout).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tcc/chain/chain_adapter.h"
#include "tcc/chain/evm_primitives.h"

namespace tcc::chain {

struct EvmOptions {
  std::string rpc_url;   // http://HOST:PORT[/PATH] or https://...
  std::string key_file;  // the account key (AccountKey::FromFile)
  // The TccRegistry instance; required by EvmAdapter::Open, ignored by DeployEvmRegistry.
  std::optional<evm::Address> contract;
  // When set, the node's eth_chainId must match (protects against a wrong endpoint).
  std::optional<std::uint64_t> chain_id;
  // Blocks a receipt must be deep before a write returns: 1 (in a block) suits instant-finality
  // BFT chains (QBFT, IBFT 2.0, PBFT); probabilistic ones (clique) want more.
  std::uint64_t confirmations = 1;
  std::optional<std::uint64_t> gas_price;  // wei; empty: ask the node (eth_gasPrice)
  std::chrono::milliseconds poll_interval{200};       // receipts and event long polls, at most
  std::chrono::milliseconds request_timeout{10'000};  // one HTTP request
  std::chrono::milliseconds write_timeout{60'000};    // one write, every retry included
  std::uint64_t log_range = 5'000;                    // blocks per eth_getLogs request
};

// Parses an evm+http:// or evm+https:// URI (form above); kInvalidArgument names the problem.
Result<EvmOptions> ParseEvmUri(std::string_view uri);
// The URI for `options` (the inverse of ParseEvmUri for the members it sets).
std::string EvmUri(const EvmOptions& options);

class EvmAdapter final : public ChainAdapter {
 public:
  // Reads the account key, checks the node (chain id) and that `contract` holds a TccRegistry.
  // kUnavailable if the node cannot be reached, kInvalidArgument for bad options or a contract
  // address without the registry.
  static Result<std::unique_ptr<EvmAdapter>> Open(const EvmOptions& options);
  ~EvmAdapter() override;
  EvmAdapter(const EvmAdapter&) = delete;
  EvmAdapter& operator=(const EvmAdapter&) = delete;

  std::string_view name() const override { return "evm"; }

  Result<Recorded<DidDocumentVersion>> RegisterDid(std::string_view did,
                                                   ByteView document) override;
  // Only the account that registered a DID may update it (kPermissionDenied otherwise): unlike
  // the single-operator embedded ledger, a consortium chain is written by several organizations.
  Result<Recorded<DidDocumentVersion>> UpdateDid(std::string_view did, ByteView document) override;
  Result<Recorded<DidDocumentVersion>> ResolveDid(std::string_view did,
                                                  std::optional<std::uint64_t> version) override;
  Result<Recorded<TemplateVersion>> PublishTemplate(const TemplateVersion& version) override;
  Result<Recorded<TemplateVersion>> GetTemplate(std::string_view id,
                                                std::optional<std::uint64_t> version) override;
  Result<std::vector<Recorded<TemplateVersion>>> ListTemplates(std::string_view id) override;
  Result<Recorded<TicDocument>> RecordTic(const TicDocument& tic) override;
  Result<Recorded<TicDocument>> GetTic(std::string_view tic_id) override;
  Result<EventPage> PollEvents(const EventQuery& query) override;
  Result<Recorded<BatchAnchor>> Anchor(const BatchAnchor& anchor) override;
  Result<Recorded<BatchAnchor>> FindAnchor(std::string_view batch_id) override;
  Result<Recorded<BatchAnchor>> FindAnchorByRoot(const Hash256& root) override;
  Result<AdapterStatus> Status() override;

  // Runs the contract's verifyInclusion view: OK when `path` proves evidence leaf `leaf` at
  // `index` in the `tree_size`-leaf tree whose root batch `batch_id` anchored, computed by the
  // chain itself (RFC 9162 hashing with the SHA-256 precompile); kVerificationFailed otherwise.
  tcc::Status VerifyInclusionOnChain(std::string_view batch_id, const Hash256& leaf,
                                     std::uint64_t index, std::uint64_t tree_size,
                                     std::span<const Hash256> path);

  // Gas used by the transaction of a receipt this adapter returned (for cost reports).
  Result<std::uint64_t> GasUsed(const ChainReceipt& receipt);

  const evm::Address& account() const;
  const evm::Address& contract() const;
  std::uint64_t chain_id() const;

 private:
  struct Impl;
  explicit EvmAdapter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

struct EvmDeployment {
  evm::Address contract;
  std::uint64_t chain_id = 0;
  ChainReceipt receipt;
  std::string uri;  // an evm+http URI for the new registry with `options`' settings
};

// Deploys a new TccRegistry from the account in options.key_file (options.contract is ignored)
// and waits for it like any write. The bytecode is compiled into this library at build time.
Result<EvmDeployment> DeployEvmRegistry(const EvmOptions& options);

// The compiler and EVM version the embedded registry was built with ("0.8.28+commit...",
// "london"), for --version style reports.
std::string EvmRegistryBuildInfo();
// solc's "signature=selector" lines for the embedded registry (lets tests check that the
// adapter's own Keccak-256 selectors match the compiler's).
std::string_view EvmRegistryMethodIdentifiers();

}  // namespace tcc::chain
