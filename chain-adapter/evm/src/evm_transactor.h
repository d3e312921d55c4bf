// Transactor: sends signed transactions from one account and waits for their receipts.
//
// It owns the account's nonce sequence: the next nonce is read from the node
// (eth_getTransactionCount "pending") on first use and after any nonce error, then tracked
// locally, and transactions are handed to the node in nonce order under one lock so concurrent
// writers never leave a gap. Transport failures are retried with backoff until the caller's
// deadline (a node that restarts is waited for); node errors are classified (nonce too low/high,
// underpriced, insufficient funds, revert) into clear tcc::Errors; the nodes' texts for them are
// listed in one place (evm_transactor.cpp). Receipt waits run in parallel outside the lock; a
// transaction that stays in the pool while the node's price passes it is replaced (same nonce,
// higher price). Thread-safe; shares the JsonRpcClient it is given.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include "tcc/chain/evm_json_rpc.h"
#include "tcc/chain/evm_adapter.h"
#include "tcc/common/thread_safety.h"

namespace tcc::chain::evm {

using Clock = std::chrono::steady_clock;

struct MinedTransaction {
  // The node no longer knows the transaction (dropped from its pool, or lost in a restart):
  // nothing landed; the caller decides whether to send again.
  bool lost = false;
  std::string tx_hash;
  std::uint64_t block = 0;
  Hash256 block_hash{};
  std::uint64_t gas_used = 0;
  std::optional<Address> created;  // contract creation: the new contract's address
};

// A revert reason ("conflict: ...") mapped to the error code its class names.
Error RevertError(std::string_view what, const std::string& reason);

class Transactor {
 public:
  Transactor(JsonRpcClient& rpc, AccountKey key, std::uint64_t chain_id, const EvmOptions& options);

  const Address& account() const { return key_.address(); }
  std::uint64_t chain_id() const { return chain_id_; }
  std::size_t pending() const { return pending_.load(); }

  // A JSON-RPC call that retries transport failures with backoff until `deadline`.
  Result<RpcReply> Call(std::string_view method, const Json& params, Clock::time_point deadline);
  Result<Json> CallOrFail(std::string_view method, const Json& params, Clock::time_point deadline);
  // eth_call of `data` on `to` at `block` (a number, or "latest"); a revert is an error with its
  // reason.
  Result<Bytes> ReadCall(const Address& to, const Bytes& data, Clock::time_point deadline,
                         const std::string& block = "latest");

  // Estimates gas (a revert there is returned with its reason and nothing is sent), signs, sends
  // and waits until the receipt is `confirmations` deep. A mined transaction that reverted is an
  // error with the revert reason.
  Result<MinedTransaction> Transact(std::string_view what, const std::optional<Address>& to,
                                    const Bytes& data, Clock::time_point deadline);

 private:
  struct Sent {
    std::string hash;
    std::uint64_t nonce = 0;
    std::uint64_t gas_price = 0;
    std::uint64_t gas_limit = 0;
  };
  Result<Sent> SignAndSend(const std::optional<Address>& to, const Bytes& data,
                           std::uint64_t gas_limit, Clock::time_point deadline);
  Result<MinedTransaction> AwaitReceipt(std::string_view what, const Sent& sent,
                                        const std::optional<Address>& to, const Bytes& data,
                                        Clock::time_point deadline);
  Result<std::uint64_t> GasPrice(Clock::time_point deadline) TCC_REQUIRES(send_mutex_);
  // A transaction of ours that stays in the pool while the node's price rose past it (the base
  // fee went up; a pool keeps it but no block takes it): the same nonce, data and gas limit
  // signed again at the higher of the node's price + 25 % and ours + 25 % and sent. Returns the
  // replacement, or nullopt when no raise is due or the node refused it (the caller keeps
  // waiting and asks again at its next check). Never with a fixed gas_price.
  std::optional<Sent> Replace(const Sent& stuck, const std::optional<Address>& to,
                              const Bytes& data);
  // True when our transaction with `nonce` waits in the pool behind a nonce gap: the chain's
  // count is below it and some nonce in between is not one of our transactions in flight.
  bool QueuedBehindGap(std::uint64_t nonce);
  Json CallObject(const std::optional<Address>& to, const Bytes& data) const;

  JsonRpcClient& rpc_;
  AccountKey key_;
  std::uint64_t chain_id_;
  EvmOptions options_;
  std::atomic<std::size_t> pending_{0};

  Mutex send_mutex_;  // guards the members below and orders sends by nonce
  std::optional<std::uint64_t> next_nonce_ TCC_GUARDED_BY(send_mutex_);
  // Nonces of sent transactions whose receipt is awaited.
  std::set<std::uint64_t> in_flight_ TCC_GUARDED_BY(send_mutex_);
  std::optional<std::uint64_t> gas_price_ TCC_GUARDED_BY(send_mutex_);
  Clock::time_point gas_price_read_ TCC_GUARDED_BY(send_mutex_){};
};

}  // namespace tcc::chain::evm
