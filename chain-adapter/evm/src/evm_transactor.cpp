#include "evm_transactor.h"

#include <algorithm>
#include <cctype>
#include <span>
#include <thread>

#include "evm_abi.h"

namespace tcc::chain::evm {
namespace {

constexpr auto kFirstBackoff = std::chrono::milliseconds(50);
constexpr auto kMaxBackoff = std::chrono::milliseconds(1000);
// How often gas prices are re-read from the node when the URI does not fix one.
constexpr auto kGasPriceMaxAge = std::chrono::seconds(5);
// Send attempts for one transaction after nonce or price errors, before giving up.
constexpr int kMaxSendAttempts = 8;

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool Mentions(const std::string& lower, std::span<const std::string_view> needles) {
  for (std::string_view needle : needles) {
    if (lower.find(needle) != std::string::npos) return true;
  }
  return false;
}

std::string ReasonOf(const RpcError& error) {
  if (auto data = ParsePrefixedHex(error.data); data.ok()) {
    std::string reason = RevertReason(*data);
    if (!reason.empty()) return reason;
  }
  std::string message = error.message;
  // "execution reverted: conflict: ..." (geth, anvil) carries the reason in the message too.
  constexpr std::string_view kPrefix = "execution reverted: ";
  if (message.starts_with(kPrefix)) return message.substr(kPrefix.size());
  return message;
}

bool IsRevert(const RpcError& error) {
  return error.code == 3 || Lower(error.message).find("revert") != std::string::npos ||
         RevertReason(ParsePrefixedHex(error.data).ok() ? *ParsePrefixedHex(error.data) : Bytes())
                 .size() > 0;
}

Result<std::uint64_t> QuantityOf(const Json& json, std::string_view what) {
  if (!json.is_string()) return Error(ErrorCode::kParse, std::string(what) + " is not a hex quantity");
  return ParseQuantity(json.as_string());
}

Result<Hash256> HashOf(const Json& json, std::string_view what) {
  if (!json.is_string()) return Error(ErrorCode::kParse, std::string(what) + " is not hex data");
  TCC_ASSIGN_OR_RETURN(Bytes bytes, ParsePrefixedHex(json.as_string()));
  if (bytes.size() != 32) return Error(ErrorCode::kParse, std::string(what) + " is not 32 bytes");
  Hash256 hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

// What nodes answer eth_sendRawTransaction with, lower-cased, in the one place that knows the
// spellings: geth/Besu/Hardhat/anvil texts for the same refusal differ (docs/evm.md, "Nodes
// tested").
constexpr std::string_view kAlreadyKnown[] = {"already known", "known transaction",
                                              "already imported", "already in the pool"};
constexpr std::string_view kNonceTooLow[] = {"nonce too low", "nonce is too low", "old nonce",
                                             "nonce too small"};
constexpr std::string_view kNonceTooHigh[] = {"nonce too high", "nonce gap", "future",
                                              "nonce is too high"};
// Hardhat says "Transaction gasPrice (P) is too low for the next block, ...".
constexpr std::string_view kUnderpriced[] = {"underpriced",
                                             "fee too low",
                                             "gas price too low",
                                             "less than block base fee",
                                             "max fee per gas less than",
                                             "gas price below",
                                             "is too low for the next block"};
// Hardhat says "Sender doesn't have enough funds to send tx. ...", and only at the send.
constexpr std::string_view kInsufficientFunds[] = {"insufficient funds",
                                                   "doesn't have enough funds"};

void SleepUntilAtMost(Clock::duration pause, Clock::time_point deadline) {
  Clock::time_point wake = std::min(Clock::now() + pause, deadline);
  std::this_thread::sleep_until(wake);
}

}  // namespace

Error RevertError(std::string_view what, const std::string& reason) {
  struct Class {
    std::string_view prefix;
    ErrorCode code;
  };
  static constexpr Class kClasses[] = {
      {"invalid:", ErrorCode::kInvalidArgument},  {"conflict:", ErrorCode::kConflict},
      {"exists:", ErrorCode::kAlreadyExists},     {"notfound:", ErrorCode::kNotFound},
      {"permission:", ErrorCode::kPermissionDenied},
  };
  for (const Class& candidate : kClasses) {
    if (reason.starts_with(candidate.prefix)) {
      return Error(candidate.code, std::string(what) + ": the registry refused it (" + reason + ")");
    }
  }
  return Error(ErrorCode::kInternal,
               std::string(what) + ": the transaction reverted" +
                   (reason.empty() ? std::string(" without a reason") : " (" + reason + ")"));
}

Transactor::Transactor(JsonRpcClient& rpc, AccountKey key, std::uint64_t chain_id,
                       const EvmOptions& options)
    : rpc_(rpc), key_(std::move(key)), chain_id_(chain_id), options_(options) {}

Result<RpcReply> Transactor::Call(std::string_view method, const Json& params,
                                  Clock::time_point deadline) {
  auto backoff = std::chrono::duration_cast<Clock::duration>(kFirstBackoff);
  while (true) {
    auto reply = rpc_.Call(method, params);
    if (reply.ok() || reply.error().code() != ErrorCode::kUnavailable || Clock::now() >= deadline) {
      return reply;
    }
    SleepUntilAtMost(backoff, deadline);
    backoff = std::min<Clock::duration>(backoff * 2, kMaxBackoff);
  }
}

Result<Json> Transactor::CallOrFail(std::string_view method, const Json& params,
                                    Clock::time_point deadline) {
  TCC_ASSIGN_OR_RETURN(RpcReply reply, Call(method, params, deadline));
  if (reply.error) {
    return Error(ErrorCode::kUnavailable, std::string(method) + " failed at " + rpc_.url() + ": " +
                                              reply.error->message);
  }
  return std::move(reply.result);
}

Json Transactor::CallObject(const std::optional<Address>& to, const Bytes& data) const {
  Json call = Json::Object();
  call.Set("from", AddressHex(key_.address()));
  if (to) call.Set("to", AddressHex(*to));
  call.Set("data", PrefixedHex(data));
  return call;
}

Result<Bytes> Transactor::ReadCall(const Address& to, const Bytes& data,
                                   Clock::time_point deadline, const std::string& block) {
  Json params = Json::Array();
  params.PushBack(CallObject(to, data));
  params.PushBack(block);
  TCC_ASSIGN_OR_RETURN(RpcReply reply, Call("eth_call", params, deadline));
  if (reply.error) {
    if (IsRevert(*reply.error)) return RevertError("eth_call", ReasonOf(*reply.error));
    return Error(ErrorCode::kUnavailable, "eth_call failed at " + rpc_.url() + ": " +
                                              reply.error->message);
  }
  if (!reply.result.is_string()) return Error(ErrorCode::kParse, "eth_call result is not hex data");
  return ParsePrefixedHex(reply.result.as_string());
}

Result<std::uint64_t> Transactor::GasPrice(Clock::time_point deadline) {
  if (options_.gas_price) return *options_.gas_price;
  if (gas_price_ && Clock::now() - gas_price_read_ < kGasPriceMaxAge) return *gas_price_;
  TCC_ASSIGN_OR_RETURN(Json price, CallOrFail("eth_gasPrice", Json::Array(), deadline));
  TCC_ASSIGN_OR_RETURN(std::uint64_t fresh, QuantityOf(price, "eth_gasPrice"));
  // Never go below a price the node already made us raise to.
  gas_price_ = std::max(fresh, gas_price_.value_or(0));
  gas_price_read_ = Clock::now();
  return *gas_price_;
}

Result<MinedTransaction> Transactor::Transact(std::string_view what,
                                              const std::optional<Address>& to, const Bytes& data,
                                              Clock::time_point deadline) {
  Json params = Json::Array();
  params.PushBack(CallObject(to, data));
  TCC_ASSIGN_OR_RETURN(RpcReply estimate, Call("eth_estimateGas", params, deadline));
  if (estimate.error) {
    if (IsRevert(*estimate.error)) return RevertError(what, ReasonOf(*estimate.error));
    std::string lower = Lower(estimate.error->message);
    if (Mentions(lower, kInsufficientFunds)) {
      return Error(ErrorCode::kResourceExhausted,
                   std::string(what) + ": account " + AddressHex(account()) +
                       " cannot pay for gas (" + estimate.error->message + ")");
    }
    return Error(ErrorCode::kUnavailable,
                 std::string(what) + ": eth_estimateGas failed: " + estimate.error->message);
  }
  TCC_ASSIGN_OR_RETURN(std::uint64_t gas, QuantityOf(estimate.result, "eth_estimateGas"));
  // Estimates are exact for the state they ran on; leave room for storage that changed since.
  std::uint64_t gas_limit = gas + gas / 4 + 10'000;

  pending_.fetch_add(1);
  struct Release {
    std::atomic<std::size_t>& pending;
    ~Release() { pending.fetch_sub(1); }
  } release{pending_};
  TCC_ASSIGN_OR_RETURN(Sent sent, SignAndSend(to, data, gas_limit, deadline));
  return AwaitReceipt(what, sent, to, data, deadline);
}

Result<Transactor::Sent> Transactor::SignAndSend(const std::optional<Address>& to, const Bytes& data,
                                                 std::uint64_t gas_limit,
                                                 Clock::time_point deadline) {
  MutexLock lock(send_mutex_);
  std::string last_problem;
  for (int attempt = 0; attempt < kMaxSendAttempts; ++attempt) {
    if (!next_nonce_) {
      Json params = Json::Array();
      params.PushBack(AddressHex(account()));
      params.PushBack("pending");
      TCC_ASSIGN_OR_RETURN(Json count, CallOrFail("eth_getTransactionCount", params, deadline));
      TCC_ASSIGN_OR_RETURN(next_nonce_, QuantityOf(count, "eth_getTransactionCount"));
    }
    TCC_ASSIGN_OR_RETURN(std::uint64_t gas_price, GasPrice(deadline));
    LegacyTransaction tx{*next_nonce_, gas_price, gas_limit, to, 0, data, chain_id_};
    TCC_ASSIGN_OR_RETURN(Bytes raw, key_.SignTransaction(tx));
    std::string hash = PrefixedHex(Keccak256(raw));
    Json params = Json::Array();
    params.PushBack(PrefixedHex(raw));
    // A transport failure here leaves it open whether the node took the transaction; resending
    // the same bytes is safe (same hash), which is what Call's retries do.
    TCC_ASSIGN_OR_RETURN(RpcReply reply, Call("eth_sendRawTransaction", params, deadline));
    if (!reply.error) {
      in_flight_.insert(*next_nonce_);
      return Sent{hash, (*next_nonce_)++, gas_price, gas_limit};
    }
    std::string lower = Lower(reply.error->message);
    last_problem = reply.error->message;
    if (Mentions(lower, kAlreadyKnown)) {
      in_flight_.insert(*next_nonce_);
      return Sent{hash, (*next_nonce_)++, gas_price, gas_limit};
    }
    if (Mentions(lower, kNonceTooLow)) {
      // Either an earlier attempt of this very transaction landed, or another writer used the
      // nonce: only the first counts as sent.
      Json by_hash = Json::Array();
      by_hash.PushBack(hash);
      auto known = Call("eth_getTransactionByHash", by_hash, deadline);
      if (known.ok() && !known->error && known->result.is_object()) {
        in_flight_.insert(*next_nonce_);
        Sent sent{hash, *next_nonce_, gas_price, gas_limit};
        next_nonce_.reset();
        return sent;
      }
      next_nonce_.reset();
      continue;
    }
    if (Mentions(lower, kNonceTooHigh)) {
      next_nonce_.reset();
      continue;
    }
    if (Mentions(lower, kUnderpriced)) {
      if (options_.gas_price) {
        return Error(ErrorCode::kInvalidArgument,
                     "the node refuses gas_price=" + std::to_string(*options_.gas_price) +
                         " as underpriced (" + reply.error->message + "); raise it in the URI");
      }
      // The cached price is stale (the base fee rose since it was read, or a transaction with
      // this nonce sits in the pool and needs a replacement price): take the node's current
      // price if it is higher, and at least 25 % more than the refused one, which is what pools
      // ask of a replacement (geth 10 %, Besu and anvil accept 25 % too).
      std::uint64_t raised = gas_price + gas_price / 4 + 1;
      if (auto fresh = CallOrFail("eth_gasPrice", Json::Array(), deadline); fresh.ok()) {
        if (auto price = QuantityOf(*fresh, "eth_gasPrice"); price.ok()) {
          raised = std::max(raised, *price + *price / 4 + 1);
        }
      }
      gas_price_ = raised;
      gas_price_read_ = Clock::now();
      continue;
    }
    if (Mentions(lower, kInsufficientFunds)) {
      return Error(ErrorCode::kResourceExhausted,
                   "account " + AddressHex(account()) + " cannot pay for gas (" +
                       reply.error->message + ")");
    }
    if (IsRevert(*reply.error)) return RevertError("eth_sendRawTransaction", ReasonOf(*reply.error));
    return Error(ErrorCode::kUnavailable, "the node refused the transaction: " + reply.error->message);
  }
  return Error(ErrorCode::kUnavailable, "the node kept refusing the transaction after " +
                                            std::to_string(kMaxSendAttempts) +
                                            " attempts (nonce or price): " + last_problem);
}

bool Transactor::QueuedBehindGap(std::uint64_t nonce) {
  // The node's "pending" count cannot tell: anvil counts queued transactions in it, geth does
  // not. What this adapter sent itself is known here, so the test is node-independent.
  Json params = Json::Array();
  params.PushBack(AddressHex(account()));
  params.PushBack("latest");
  auto count = rpc_.Call("eth_getTransactionCount", params);
  if (!count.ok() || count->error) return false;
  auto mined = QuantityOf(count->result, "eth_getTransactionCount");
  if (!mined.ok() || *mined >= nonce) return false;
  MutexLock lock(send_mutex_);
  for (std::uint64_t missing = *mined; missing < nonce; ++missing) {
    if (!in_flight_.contains(missing)) return true;
  }
  return false;
}

std::optional<Transactor::Sent> Transactor::Replace(const Sent& stuck,
                                                    const std::optional<Address>& to,
                                                    const Bytes& data) {
  if (options_.gas_price) return std::nullopt;
  auto fresh = rpc_.Call("eth_gasPrice", Json::Array());
  if (!fresh.ok() || fresh->error) return std::nullopt;
  auto price = QuantityOf(fresh->result, "eth_gasPrice");
  if (!price.ok() || *price <= stuck.gas_price) return std::nullopt;
  Sent replacement = stuck;
  replacement.gas_price =
      std::max(*price + *price / 4 + 1, stuck.gas_price + stuck.gas_price / 4 + 1);
  LegacyTransaction tx{stuck.nonce, replacement.gas_price, stuck.gas_limit, to, 0, data, chain_id_};
  auto raw = key_.SignTransaction(tx);
  if (!raw.ok()) return std::nullopt;
  replacement.hash = PrefixedHex(Keccak256(*raw));
  Json params = Json::Array();
  params.PushBack(PrefixedHex(*raw));
  auto reply = rpc_.Call("eth_sendRawTransaction", params);
  if (!reply.ok()) return std::nullopt;
  if (reply->error && !Mentions(Lower(reply->error->message), kAlreadyKnown)) {
    // "nonce too low": the stuck one (or another of ours) was mined meanwhile; "underpriced":
    // the pool wants more. Either way the next check decides again.
    return std::nullopt;
  }
  MutexLock lock(send_mutex_);
  // Later sends start from the raised price instead of being refused for it first.
  gas_price_ = std::max(gas_price_.value_or(0), replacement.gas_price);
  gas_price_read_ = Clock::now();
  return replacement;
}

Result<MinedTransaction> Transactor::AwaitReceipt(std::string_view what, const Sent& sent,
                                                  const std::optional<Address>& to,
                                                  const Bytes& data, Clock::time_point deadline) {
  struct Landed {
    Transactor& self;
    std::uint64_t nonce;
    ~Landed() {
      MutexLock lock(self.send_mutex_);
      self.in_flight_.erase(nonce);
    }
  } in_flight{*this, sent.nonce};
  // Every version of the transaction sent with this nonce, the newest last: once replaced at a
  // higher price either may be mined (a pool may already have handed the old one to a block).
  std::vector<Sent> versions = {sent};
  // A transaction the node has not mined after this long is asked about; if the node does not
  // know it any more it is reported lost (and the nonce is re-read before the next send).
  const auto lost_after = std::max<Clock::duration>(10 * options_.poll_interval, std::chrono::seconds(2));
  Clock::time_point checked = Clock::now();
  auto pause = std::chrono::duration_cast<Clock::duration>(std::chrono::milliseconds(1));
  MinedTransaction mined;
  while (true) {
    Result<RpcReply> reply = Error(ErrorCode::kInternal, "no receipt asked for");
    for (auto version = versions.rbegin(); version != versions.rend(); ++version) {
      Json by_hash = Json::Array();
      by_hash.PushBack(version->hash);
      reply = rpc_.Call("eth_getTransactionReceipt", by_hash);
      mined.tx_hash = version->hash;
      if (!reply.ok() || reply->error || !reply->result.is_null()) break;
    }
    if (reply.ok() && !reply->error && reply->result.is_object()) {
      const Json& receipt = reply->result;
      const Json* status = receipt.Find("status");
      const Json* block = receipt.Find("blockNumber");
      const Json* block_hash = receipt.Find("blockHash");
      const Json* gas_used = receipt.Find("gasUsed");
      if (status == nullptr || block == nullptr || block_hash == nullptr || gas_used == nullptr) {
        return Error(ErrorCode::kParse,
                     "receipt of " + mined.tx_hash + " lacks status/block/gasUsed");
      }
      TCC_ASSIGN_OR_RETURN(std::uint64_t ok, QuantityOf(*status, "receipt status"));
      TCC_ASSIGN_OR_RETURN(mined.block, QuantityOf(*block, "receipt block"));
      TCC_ASSIGN_OR_RETURN(mined.block_hash, HashOf(*block_hash, "receipt block hash"));
      TCC_ASSIGN_OR_RETURN(mined.gas_used, QuantityOf(*gas_used, "receipt gasUsed"));
      if (const Json* created = receipt.Find("contractAddress"); created && created->is_string()) {
        TCC_ASSIGN_OR_RETURN(mined.created, ParseAddress(created->as_string()));
      }
      if (ok != 1) {
        // Replay the call for its reason; the state that made it revert is usually still there.
        std::string reason;
        if (to) {
          auto replay = ReadCall(*to, data, deadline);
          if (!replay.ok())
            return std::move(replay).error().WithContext(std::string(what) + " (" + mined.tx_hash +
                                                         ")");
        }
        return RevertError(std::string(what) + " (" + mined.tx_hash + ", out of gas?)", reason);
      }
      if (options_.confirmations <= 1) return mined;
      // Deep enough, and still in the canonical chain?
      TCC_ASSIGN_OR_RETURN(Json head, CallOrFail("eth_blockNumber", Json::Array(), deadline));
      TCC_ASSIGN_OR_RETURN(std::uint64_t height, QuantityOf(head, "eth_blockNumber"));
      if (height + 1 >= mined.block + options_.confirmations) return mined;
    } else if (reply.ok() && !reply->error && reply->result.is_null() &&
               Clock::now() - checked > lost_after) {
      Json by_hash = Json::Array();
      by_hash.PushBack(versions.back().hash);
      auto known = rpc_.Call("eth_getTransactionByHash", by_hash);
      if (known.ok() && !known->error && known->result.is_null()) {
        MutexLock lock(send_mutex_);
        next_nonce_.reset();
        mined.lost = true;
        return mined;
      }
      // Known but queued behind a gap: the transactions before it were taken back (a
      // reorganization or a reverted node dropped them), so the account's pending count stops
      // below this nonce and nothing will ever fill it. Treat it as lost; the write loop re-reads
      // and sends again from the chain's count. (A later write of ours may still fill the gap and
      // let this one through; every registry write is idempotent, so that lands nothing twice.)
      if (known.ok() && !known->error && known->result.is_object()) {
        if (QueuedBehindGap(sent.nonce)) {
          MutexLock lock(send_mutex_);
          next_nonce_.reset();
          mined.lost = true;
          return mined;
        }
        // Waiting in the pool while the node's price passed it: replace it, same nonce.
        if (auto replacement = Replace(versions.back(), to, data)) versions.push_back(*replacement);
      }
      checked = Clock::now();
    }
    if (Clock::now() >= deadline) {
      return Error(ErrorCode::kUnavailable,
                   std::string(what) + ": transaction " + versions.back().hash +
                       " was not confirmed in time" +
                       (reply.ok() ? std::string() : " (" + reply.error().message() + ")"));
    }
    SleepUntilAtMost(pause, deadline);
    pause = std::min<Clock::duration>(pause * 2, options_.poll_interval);
  }
}

}  // namespace tcc::chain::evm
