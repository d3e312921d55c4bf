#include "tcc/chain/evm_adapter.h"

#include <algorithm>
#include <condition_variable>
#include <charconv>
#include <limits>
#include <map>
#include <thread>

#include "evm_abi.h"
#include "evm_artifact.h"
#include "evm_transactor.h"
#include "tcc/chain/evm_json_rpc.h"
#include "tcc/common/decimal.h"
#include "tcc/common/thread_safety.h"

namespace tcc::chain {

using evm::AbiCall;
using evm::AbiReader;
using evm::Address;
using evm::Clock;
using evm::Keccak256;

namespace {

// Event signatures of TccRegistry.sol; their topics are computed, not copied, so a change to the
// contract that is not mirrored here fails the registry test instead of silently matching nothing.
constexpr std::string_view kAnchoredEvent = "Anchored(bytes32,bytes32,uint64,string)";
constexpr std::string_view kDidUpdatedEvent = "DidUpdated(bytes32,uint64,string,bytes)";
constexpr std::string_view kTemplatePublishedEvent =
    "TemplatePublished(bytes32,uint64,string,string,bytes)";
constexpr std::string_view kTicRecordedEvent = "TicRecorded(bytes32,bytes32,string,string,bytes)";

constexpr std::uint32_t kWholeBlock = std::numeric_limits<std::uint32_t>::max();

Hash256 UintWord(std::uint64_t value) {
  Hash256 word{};
  for (int i = 0; i < 8; ++i) word[31 - i] = static_cast<std::uint8_t>(value >> (8 * i));
  return word;
}

Result<std::uint64_t> Quantity(const Json* json, std::string_view what) {
  if (json == nullptr || !json->is_string()) {
    return Error(ErrorCode::kParse, std::string(what) + " is missing or not a hex quantity");
  }
  return evm::ParseQuantity(json->as_string());
}

Result<Hash256> Hash(const Json* json, std::string_view what) {
  if (json == nullptr || !json->is_string()) {
    return Error(ErrorCode::kParse, std::string(what) + " is missing or not hex data");
  }
  TCC_ASSIGN_OR_RETURN(Bytes bytes, evm::ParsePrefixedHex(json->as_string()));
  if (bytes.size() != 32) return Error(ErrorCode::kParse, std::string(what) + " is not 32 bytes");
  Hash256 hash;
  std::copy(bytes.begin(), bytes.end(), hash.begin());
  return hash;
}

std::string HexTopic(const Hash256& topic) { return evm::PrefixedHex(topic); }

struct LogEntry {
  std::vector<Hash256> topics;
  Bytes data;
  std::uint64_t block = 0;
  std::uint32_t index = 0;
  Hash256 block_hash{};
  std::string tx_hash;
};

Result<LogEntry> ParseLog(const Json& log) {
  if (!log.is_object()) return Error(ErrorCode::kParse, "log entry is not an object");
  LogEntry entry;
  const Json* topics = log.Find("topics");
  if (topics == nullptr || !topics->is_array()) return Error(ErrorCode::kParse, "log lacks topics");
  for (const Json& topic : topics->as_array()) {
    TCC_ASSIGN_OR_RETURN(Hash256 hash, Hash(&topic, "log topic"));
    entry.topics.push_back(hash);
  }
  const Json* data = log.Find("data");
  if (data == nullptr || !data->is_string()) return Error(ErrorCode::kParse, "log lacks data");
  TCC_ASSIGN_OR_RETURN(entry.data, evm::ParsePrefixedHex(data->as_string()));
  TCC_ASSIGN_OR_RETURN(entry.block, Quantity(log.Find("blockNumber"), "log blockNumber"));
  TCC_ASSIGN_OR_RETURN(std::uint64_t index, Quantity(log.Find("logIndex"), "log logIndex"));
  if (index >= kWholeBlock) return Error(ErrorCode::kParse, "log index is out of range");
  entry.index = static_cast<std::uint32_t>(index);
  TCC_ASSIGN_OR_RETURN(entry.block_hash, Hash(log.Find("blockHash"), "log blockHash"));
  const Json* tx = log.Find("transactionHash");
  if (tx == nullptr || !tx->is_string()) return Error(ErrorCode::kParse, "log lacks transactionHash");
  entry.tx_hash = tx->as_string();
  if (const Json* removed = log.Find("removed"); removed && removed->is_bool() && removed->as_bool()) {
    return Error(ErrorCode::kUnavailable, "log was removed by a reorganization");
  }
  return entry;
}

Error Inconsistent(const std::string& what) {
  return Error(ErrorCode::kVerificationFailed,
               "the chain's event data does not match the registry state: " + what);
}

struct Position {
  std::uint64_t block = 0;
  std::uint32_t index = kWholeBlock;  // kWholeBlock: everything in `block` was handed out
  friend auto operator<=>(const Position&, const Position&) = default;
};

Result<Position> ParseCursor(std::string_view cursor, std::uint64_t deployed_at) {
  if (cursor.empty()) return Position{deployed_at - 1, kWholeBlock};
  const std::size_t dot = cursor.find('.');
  const auto block = ParseDecimal<decltype(Position::block)>(cursor.substr(0, dot));
  const auto index = ParseDecimal<decltype(Position::index)>(cursor.substr(dot + 1));
  if (dot == std::string_view::npos || !block || !index) {
    return Error(ErrorCode::kInvalidArgument, "event cursor '" + std::string(cursor.substr(0, 64)) +
                                                  "' is not one this adapter issued (BLOCK.LOG_INDEX)");
  }
  return Position{*block, *index};
}

std::string FormatCursor(const Position& position) {
  return std::to_string(position.block) + "." + std::to_string(position.index);
}

}  // namespace

struct EvmAdapter::Impl {
  EvmOptions options;
  std::unique_ptr<evm::JsonRpcClient> rpc;
  std::unique_ptr<evm::Transactor> transactor;
  Address contract{};
  std::uint64_t deployed_at = 1;

  Mutex mutex;
  // Number -> hash, time ms.
  std::map<std::uint64_t, std::pair<Hash256, std::uint64_t>> blocks TCC_GUARDED_BY(mutex);
  std::chrono::microseconds last_anchor_latency TCC_GUARDED_BY(mutex){0};
  std::uint64_t anchors TCC_GUARDED_BY(mutex) = 0;
  // The destructor waits for them (chain_adapter.h).
  std::size_t writes_in_flight TCC_GUARDED_BY(mutex) = 0;
  CondVar writes_done;

  // Counts one write as in flight for its lifetime.
  class WriteScope {
   public:
    explicit WriteScope(Impl& impl) : impl_(impl) {
      MutexLock lock(impl_.mutex);
      ++impl_.writes_in_flight;
    }
    ~WriteScope() {
      MutexLock lock(impl_.mutex);
      if (--impl_.writes_in_flight == 0) impl_.writes_done.NotifyAll();
    }
    WriteScope(const WriteScope&) = delete;
    WriteScope& operator=(const WriteScope&) = delete;

   private:
    Impl& impl_;
  };

  Clock::time_point Deadline() const { return Clock::now() + options.write_timeout; }
  Clock::time_point ReadDeadline() const { return Clock::now() + options.request_timeout; }

  // Every read the adapter decides on (is a record there? which one?) sees the registry as of the
  // newest block that is `confirmations` deep, never "latest": with K > 1 a record in a shallower
  // block is not reported, not taken as "already landed" by a write, and does not verify a
  // bundle, since a reorganization may still take it back.
  Result<AbiReader> View(const Bytes& call, Bytes& storage) {
    Clock::time_point deadline = ReadDeadline();
    std::string block = "latest";
    if (options.confirmations > 1) {
      TCC_ASSIGN_OR_RETURN(std::uint64_t confirmed, ConfirmedHead(deadline));
      if (confirmed < deployed_at) {
        // The registry itself is not that deep yet, so nothing in it is: answer as an empty
        // registry does (every view's outputs are static words, zero for "no record").
        storage.assign(8 * 32, 0);
        return AbiReader(storage);
      }
      block = evm::QuantityHex(confirmed);
    }
    TCC_ASSIGN_OR_RETURN(storage, transactor->ReadCall(contract, call, deadline, block));
    return AbiReader(storage);
  }
  Result<std::uint64_t> Head(Clock::time_point deadline);
  // The newest block `confirmations` deep (0 while the chain is shorter than that).
  Result<std::uint64_t> ConfirmedHead(Clock::time_point deadline) {
    TCC_ASSIGN_OR_RETURN(std::uint64_t head, Head(deadline));
    return head + 1 >= options.confirmations ? head + 1 - options.confirmations : 0;
  }
  Result<std::vector<LogEntry>> Logs(std::uint64_t from, std::uint64_t to,
                                     const Json& topics, Clock::time_point deadline);
  Result<ChainReceipt> ReceiptOf(const LogEntry& log, Clock::time_point deadline);
  // The one log of `event` with these key topics in `block` (where the registry says it is).
  Result<LogEntry> RecordLog(std::uint64_t block, std::string_view event,
                             const std::vector<Hash256>& keys, Clock::time_point deadline);

  Result<std::optional<Recorded<BatchAnchor>>> ReadAnchor(const Hash256& batch_key);
  Result<std::optional<Recorded<DidDocumentVersion>>> ReadDid(std::string_view did,
                                                              std::uint64_t version);
  Result<std::optional<Recorded<TemplateVersion>>> ReadTemplate(std::string_view id,
                                                                std::uint64_t version);
  Result<std::optional<Recorded<TicDocument>>> ReadTic(std::string_view tic_id);

  // The write loop every record shares: read what landed; if nothing, transact and read back.
  // `landed` returns the record when this write's value is already on chain (an error when a
  // different value blocks it, nullopt when the transaction is still needed).
  template <typename T, typename Landed>
  Result<Recorded<T>> Write(std::string_view what, const Bytes& call, Landed landed,
                            bool* transacted = nullptr);
};

Result<std::uint64_t> EvmAdapter::Impl::Head(Clock::time_point deadline) {
  TCC_ASSIGN_OR_RETURN(Json head, transactor->CallOrFail("eth_blockNumber", Json::Array(), deadline));
  return Quantity(&head, "eth_blockNumber");
}

Result<std::vector<LogEntry>> EvmAdapter::Impl::Logs(std::uint64_t from, std::uint64_t to,
                                                     const Json& topics,
                                                     Clock::time_point deadline) {
  Json filter = Json::Object();
  filter.Set("address", evm::AddressHex(contract));
  filter.Set("fromBlock", evm::QuantityHex(from));
  filter.Set("toBlock", evm::QuantityHex(to));
  filter.Set("topics", topics);
  Json params = Json::Array();
  params.PushBack(std::move(filter));
  TCC_ASSIGN_OR_RETURN(Json result, transactor->CallOrFail("eth_getLogs", params, deadline));
  if (!result.is_array()) return Error(ErrorCode::kParse, "eth_getLogs result is not an array");
  std::vector<LogEntry> logs;
  for (const Json& log : result.as_array()) {
    TCC_ASSIGN_OR_RETURN(LogEntry entry, ParseLog(log));
    if (entry.block < from || entry.block > to) {
      return Error(ErrorCode::kParse, "eth_getLogs returned a log outside the requested blocks");
    }
    logs.push_back(std::move(entry));
  }
  std::sort(logs.begin(), logs.end(), [](const LogEntry& a, const LogEntry& b) {
    return std::tie(a.block, a.index) < std::tie(b.block, b.index);
  });
  return logs;
}

Result<ChainReceipt> EvmAdapter::Impl::ReceiptOf(const LogEntry& log, Clock::time_point deadline) {
  std::optional<std::pair<Hash256, std::uint64_t>> cached;
  {
    MutexLock lock(mutex);
    if (auto it = blocks.find(log.block); it != blocks.end()) cached = it->second;
  }
  // A cached block whose hash differs from the log's was reorganized away since it was cached
  // (the record moved to another block at the same height): read the block again. Only when
  // the fresh block still differs is the chain changing under this very read.
  if (cached && cached->first != log.block_hash) cached.reset();
  if (!cached) {
    Json params = Json::Array();
    params.PushBack(evm::QuantityHex(log.block));
    params.PushBack(false);
    TCC_ASSIGN_OR_RETURN(Json block, transactor->CallOrFail("eth_getBlockByNumber", params, deadline));
    if (!block.is_object()) {
      return Error(ErrorCode::kUnavailable, "block " + std::to_string(log.block) + " is not available");
    }
    TCC_ASSIGN_OR_RETURN(Hash256 hash, Hash(block.Find("hash"), "block hash"));
    TCC_ASSIGN_OR_RETURN(std::uint64_t seconds, Quantity(block.Find("timestamp"), "block timestamp"));
    cached = std::make_pair(hash, seconds * 1000);
    MutexLock lock(mutex);
    if (blocks.size() >= 4096) blocks.erase(blocks.begin());
    blocks[log.block] = *cached;
  }
  if (cached->first != log.block_hash) {
    return Error(ErrorCode::kUnavailable,
                 "block " + std::to_string(log.block) + " changed while it was read (reorganization)");
  }
  return ChainReceipt{"evm", log.block, log.tx_hash, log.block_hash, cached->second};
}

Result<LogEntry> EvmAdapter::Impl::RecordLog(std::uint64_t block, std::string_view event,
                                             const std::vector<Hash256>& keys,
                                             Clock::time_point deadline) {
  Json topics = Json::Array();
  topics.PushBack(HexTopic(evm::EventTopic(event)));
  for (const Hash256& key : keys) topics.PushBack(HexTopic(key));
  TCC_ASSIGN_OR_RETURN(std::vector<LogEntry> logs, Logs(block, block, topics, deadline));
  if (logs.empty()) {
    return Error(ErrorCode::kUnavailable,
                 "the registry records a value in block " + std::to_string(block) +
                     " but the node returns no " + std::string(event.substr(0, event.find('('))) +
                     " event there (are the node's logs pruned?)");
  }
  return std::move(logs.front());
}

Result<std::optional<Recorded<BatchAnchor>>> EvmAdapter::Impl::ReadAnchor(const Hash256& batch_key) {
  Bytes storage;
  TCC_ASSIGN_OR_RETURN(AbiReader state, View(AbiCall("getAnchor(bytes32)").Word(batch_key).Finish(), storage));
  TCC_ASSIGN_OR_RETURN(Hash256 root, state.Word(0));
  TCC_ASSIGN_OR_RETURN(std::uint64_t leaf_count, state.Uint(1));
  TCC_ASSIGN_OR_RETURN(std::uint64_t block, state.Uint(2));
  if (block == 0) return std::optional<Recorded<BatchAnchor>>();
  Clock::time_point deadline = ReadDeadline();
  TCC_ASSIGN_OR_RETURN(LogEntry log, RecordLog(block, kAnchoredEvent, {batch_key}, deadline));
  AbiReader data(log.data);
  TCC_ASSIGN_OR_RETURN(std::uint64_t logged_count, data.Uint(0));
  TCC_ASSIGN_OR_RETURN(std::string batch_id, data.Text(1));
  if (log.topics.size() != 3 || log.topics[2] != root || logged_count != leaf_count ||
      Keccak256(batch_id) != batch_key) {
    return Inconsistent("anchor in block " + std::to_string(block));
  }
  TCC_ASSIGN_OR_RETURN(ChainReceipt receipt, ReceiptOf(log, deadline));
  return std::optional(Recorded<BatchAnchor>{BatchAnchor{batch_id, root, leaf_count}, receipt});
}

Result<std::optional<Recorded<DidDocumentVersion>>> EvmAdapter::Impl::ReadDid(std::string_view did,
                                                                              std::uint64_t version) {
  Hash256 key = Keccak256(did);
  Bytes storage;
  TCC_ASSIGN_OR_RETURN(AbiReader state,
                       View(AbiCall("getDid(bytes32,uint64)").Word(key).Uint(version).Finish(), storage));
  TCC_ASSIGN_OR_RETURN(std::uint64_t latest, state.Uint(1));
  TCC_ASSIGN_OR_RETURN(Hash256 content_hash, state.Word(2));
  TCC_ASSIGN_OR_RETURN(std::uint64_t block, state.Uint(3));
  if (latest == 0) return Error(ErrorCode::kNotFound, "DID " + std::string(did) + " is not registered");
  if (block == 0) return std::optional<Recorded<DidDocumentVersion>>();
  std::uint64_t wanted = version == 0 ? latest : version;
  Clock::time_point deadline = ReadDeadline();
  TCC_ASSIGN_OR_RETURN(LogEntry log, RecordLog(block, kDidUpdatedEvent, {key, UintWord(wanted)}, deadline));
  AbiReader data(log.data);
  TCC_ASSIGN_OR_RETURN(std::string logged_did, data.Text(0));
  TCC_ASSIGN_OR_RETURN(Bytes document, data.Dynamic(1));
  if (logged_did != did || Keccak256(document) != content_hash) {
    return Inconsistent("DID " + std::string(did) + " version " + std::to_string(wanted));
  }
  TCC_ASSIGN_OR_RETURN(ChainReceipt receipt, ReceiptOf(log, deadline));
  return std::optional(Recorded<DidDocumentVersion>{
      DidDocumentVersion{std::string(did), wanted, std::move(document)}, receipt});
}

Result<std::optional<Recorded<TemplateVersion>>> EvmAdapter::Impl::ReadTemplate(std::string_view id,
                                                                                std::uint64_t version) {
  Hash256 key = Keccak256(id);
  Bytes storage;
  TCC_ASSIGN_OR_RETURN(AbiReader state,
                       View(AbiCall("getTemplate(bytes32,uint64)").Word(key).Uint(version).Finish(), storage));
  TCC_ASSIGN_OR_RETURN(std::uint64_t latest, state.Uint(1));
  TCC_ASSIGN_OR_RETURN(Hash256 content_hash, state.Word(2));
  TCC_ASSIGN_OR_RETURN(std::uint64_t block, state.Uint(3));
  if (latest == 0 || block == 0) return std::optional<Recorded<TemplateVersion>>();
  std::uint64_t wanted = version == 0 ? latest : version;
  Clock::time_point deadline = ReadDeadline();
  TCC_ASSIGN_OR_RETURN(LogEntry log,
                       RecordLog(block, kTemplatePublishedEvent, {key, UintWord(wanted)}, deadline));
  AbiReader data(log.data);
  TCC_ASSIGN_OR_RETURN(std::string logged_id, data.Text(0));
  TCC_ASSIGN_OR_RETURN(std::string owner, data.Text(1));
  TCC_ASSIGN_OR_RETURN(Bytes content, data.Dynamic(2));
  if (logged_id != id || Keccak256(content) != content_hash) {
    return Inconsistent("template " + std::string(id) + " version " + std::to_string(wanted));
  }
  TCC_ASSIGN_OR_RETURN(ChainReceipt receipt, ReceiptOf(log, deadline));
  Hash256 sha = Sha256(content);
  return std::optional(Recorded<TemplateVersion>{
      TemplateVersion{std::string(id), wanted, std::move(owner), std::move(content), sha}, receipt});
}

Result<std::optional<Recorded<TicDocument>>> EvmAdapter::Impl::ReadTic(std::string_view tic_id) {
  Hash256 key = Keccak256(tic_id);
  Bytes storage;
  TCC_ASSIGN_OR_RETURN(AbiReader state, View(AbiCall("getTic(bytes32)").Word(key).Finish(), storage));
  TCC_ASSIGN_OR_RETURN(Hash256 content_hash, state.Word(0));
  TCC_ASSIGN_OR_RETURN(std::uint64_t block, state.Uint(1));
  if (block == 0) return std::optional<Recorded<TicDocument>>();
  Clock::time_point deadline = ReadDeadline();
  TCC_ASSIGN_OR_RETURN(LogEntry log, RecordLog(block, kTicRecordedEvent, {key}, deadline));
  AbiReader data(log.data);
  TCC_ASSIGN_OR_RETURN(std::string logged_id, data.Text(0));
  TCC_ASSIGN_OR_RETURN(std::string tcc_did, data.Text(1));
  TCC_ASSIGN_OR_RETURN(Bytes content, data.Dynamic(2));
  // The registry hashes abi.encode(tccDid, content).
  Bytes encoded = AbiCall("").Dynamic(tcc_did).Dynamic(content).Arguments();
  if (logged_id != tic_id || Keccak256(encoded) != content_hash || log.topics.size() != 3 ||
      log.topics[2] != Keccak256(tcc_did)) {
    return Inconsistent("TIC " + std::string(tic_id));
  }
  TCC_ASSIGN_OR_RETURN(ChainReceipt receipt, ReceiptOf(log, deadline));
  return std::optional(Recorded<TicDocument>{
      TicDocument{std::string(tic_id), std::move(tcc_did), std::move(content)}, receipt});
}

template <typename T, typename Landed>
Result<Recorded<T>> EvmAdapter::Impl::Write(std::string_view what, const Bytes& call, Landed landed,
                                            bool* transacted) {
  WriteScope scope(*this);
  Clock::time_point deadline = Deadline();
  while (true) {
    // Reads retry a node that is down until the write's deadline, like the send does.
    Result<std::optional<Recorded<T>>> existing = landed();
    while (!existing.ok() && existing.error().code() == ErrorCode::kUnavailable &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(options.poll_interval);
      existing = landed();
    }
    if (!existing.ok()) return std::move(existing).error().WithContext(what);
    if (*existing) return std::move(**existing);
    TCC_ASSIGN_OR_RETURN(evm::MinedTransaction mined,
                         transactor->Transact(what, contract, call, deadline));
    if (transacted != nullptr) *transacted = true;
    if (mined.lost) continue;  // nothing landed: look again, then send again
    Result<std::optional<Recorded<T>>> after = landed();
    while (!after.ok() && after.error().code() == ErrorCode::kUnavailable && Clock::now() < deadline) {
      std::this_thread::sleep_for(options.poll_interval);
      after = landed();
    }
    if (!after.ok()) return std::move(after).error().WithContext(what);
    if (!*after) {
      return Error(ErrorCode::kConflict, std::string(what) + ": transaction " + mined.tx_hash +
                                             " was mined but the record it wrote is already superseded");
    }
    return std::move(**after);
  }
}

EvmAdapter::EvmAdapter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EvmAdapter::~EvmAdapter() {
  // Writes are bounded by write_timeout, so this wait is too.
  MutexLock lock(impl_->mutex);
  while (impl_->writes_in_flight != 0) impl_->writes_done.Wait(impl_->mutex);
}

namespace {

Result<std::uint64_t> NodeChainId(evm::JsonRpcClient& rpc, const EvmOptions& options) {
  TCC_ASSIGN_OR_RETURN(Json id, rpc.CallOrFail("eth_chainId", Json::Array()));
  TCC_ASSIGN_OR_RETURN(std::uint64_t chain_id, Quantity(&id, "eth_chainId"));
  if (options.chain_id && *options.chain_id != chain_id) {
    return Error(ErrorCode::kInvalidArgument,
                 "the node at " + options.rpc_url + " serves chain id " + std::to_string(chain_id) +
                     ", not the configured " + std::to_string(*options.chain_id));
  }
  return chain_id;
}

Status CheckOptions(const EvmOptions& options) {
  if (!options.rpc_url.starts_with("http://") && !options.rpc_url.starts_with("https://")) {
    return Error(ErrorCode::kInvalidArgument, "EVM RPC URL must start with http:// or https://");
  }
  if (options.key_file.empty()) {
    return Error(ErrorCode::kInvalidArgument, "the EVM adapter needs an account key file (key=PATH)");
  }
  if (options.confirmations == 0 || options.confirmations > 1000) {
    return Error(ErrorCode::kInvalidArgument, "confirmations must be 1..1000");
  }
  if (options.poll_interval.count() <= 0 || options.request_timeout.count() <= 0 ||
      options.write_timeout.count() <= 0 || options.log_range == 0) {
    return Error(ErrorCode::kInvalidArgument, "EVM intervals, timeouts and log range must be positive");
  }
  return OkStatus();
}

}  // namespace

Result<std::unique_ptr<EvmAdapter>> EvmAdapter::Open(const EvmOptions& options) {
  TCC_RETURN_IF_ERROR(CheckOptions(options));
  if (!options.contract) {
    return Error(ErrorCode::kInvalidArgument,
                 "the EVM adapter needs the registry address (contract=0x...); DeployEvmRegistry "
                 "creates one");
  }
  TCC_ASSIGN_OR_RETURN(evm::AccountKey key, evm::AccountKey::FromFile(options.key_file));
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->contract = *options.contract;
  impl->rpc = std::make_unique<evm::JsonRpcClient>(options.rpc_url, options.request_timeout);
  TCC_ASSIGN_OR_RETURN(std::uint64_t chain_id, NodeChainId(*impl->rpc, options));
  impl->transactor = std::make_unique<evm::Transactor>(*impl->rpc, std::move(key), chain_id, options);
  // Whether the registry exists is read at the latest block, not `confirmations` deep: a registry
  // deployed a moment ago is usable, and every record read through it still waits for depth.
  auto code = impl->transactor->ReadCall(impl->contract, AbiCall("deployedAt()").Finish(), impl->ReadDeadline());
  auto block = code.ok() ? AbiReader(*code).Uint(0) : Result<std::uint64_t>(code.error());
  if (!block.ok() || *block == 0) {
    return Error(ErrorCode::kInvalidArgument,
                 "no TccRegistry at " + evm::AddressHex(*options.contract) + " on " +
                     options.rpc_url +
                     (block.ok() ? std::string() : " (" + block.error().message() + ")"));
  }
  impl->deployed_at = *block;
  return std::unique_ptr<EvmAdapter>(new EvmAdapter(std::move(impl)));
}

const Address& EvmAdapter::account() const { return impl_->transactor->account(); }
const Address& EvmAdapter::contract() const { return impl_->contract; }
std::uint64_t EvmAdapter::chain_id() const { return impl_->transactor->chain_id(); }

Result<Recorded<DidDocumentVersion>> EvmAdapter::RegisterDid(std::string_view did, ByteView document) {
  TCC_RETURN_IF_ERROR(ValidateId(did, "DID"));
  TCC_RETURN_IF_ERROR(ValidateDocument(document, "DID document"));
  Bytes wanted(document.begin(), document.end());
  auto landed = [&]() -> Result<std::optional<Recorded<DidDocumentVersion>>> {
    auto first = impl_->ReadDid(did, 1);
    if (!first.ok() && first.error().code() == ErrorCode::kNotFound) {
      return std::optional<Recorded<DidDocumentVersion>>();
    }
    if (first.ok() && *first && (*first)->value.document != wanted) {
      return Error(ErrorCode::kAlreadyExists,
                   "DID " + std::string(did) + " is already registered with another document");
    }
    return first;
  };
  return impl_->Write<DidDocumentVersion>(
      "register DID " + std::string(did),
      AbiCall("registerDid(string,bytes)").Dynamic(did).Dynamic(document).Finish(), landed);
}

Result<Recorded<DidDocumentVersion>> EvmAdapter::UpdateDid(std::string_view did, ByteView document) {
  TCC_RETURN_IF_ERROR(ValidateId(did, "DID"));
  TCC_RETURN_IF_ERROR(ValidateDocument(document, "DID document"));
  Bytes wanted(document.begin(), document.end());
  auto landed = [&]() -> Result<std::optional<Recorded<DidDocumentVersion>>> {
    TCC_ASSIGN_OR_RETURN(auto latest, impl_->ReadDid(did, 0));
    // Updating to the document already current is the retry of an update that landed.
    if (latest && latest->value.document == wanted) return latest;
    return std::optional<Recorded<DidDocumentVersion>>();
  };
  return impl_->Write<DidDocumentVersion>(
      "update DID " + std::string(did),
      AbiCall("updateDid(string,bytes)").Dynamic(did).Dynamic(document).Finish(), landed);
}

Result<Recorded<DidDocumentVersion>> EvmAdapter::ResolveDid(std::string_view did,
                                                            std::optional<std::uint64_t> version) {
  TCC_RETURN_IF_ERROR(ValidateId(did, "DID"));
  if (version && *version == 0) {
    return Error(ErrorCode::kNotFound, "DID " + std::string(did) + " has no version 0");
  }
  TCC_ASSIGN_OR_RETURN(auto found, impl_->ReadDid(did, version.value_or(0)));
  if (!found) {
    return Error(ErrorCode::kNotFound,
                 "DID " + std::string(did) + " has no version " + std::to_string(version.value_or(0)));
  }
  return std::move(*found);
}

Result<Recorded<TemplateVersion>> EvmAdapter::PublishTemplate(const TemplateVersion& version) {
  TCC_RETURN_IF_ERROR(ValidateTemplateVersion(version));
  const std::string label = "template " + version.id;
  auto landed = [&]() -> Result<std::optional<Recorded<TemplateVersion>>> {
    TCC_ASSIGN_OR_RETURN(auto latest, impl_->ReadTemplate(version.id, 0));
    if (!latest) return latest;
    if (latest->value.owner_did != version.owner_did) {
      return Error(ErrorCode::kPermissionDenied,
                   label + " is owned by " + latest->value.owner_did + ", not " + version.owner_did);
    }
    TCC_ASSIGN_OR_RETURN(auto same, impl_->ReadTemplate(version.id, version.version));
    if (same && same->value != version) {
      return Error(ErrorCode::kConflict, label + " version " + std::to_string(version.version) +
                                             " is already published with other content");
    }
    return same;  // nullopt: the registry decides (newer version, or below the latest: conflict)
  };
  return impl_->Write<TemplateVersion>(
      "publish " + label,
      AbiCall("publishTemplate(string,uint64,string,bytes,bytes32)")
          .Dynamic(version.id)
          .Uint(version.version)
          .Dynamic(version.owner_did)
          .Dynamic(version.content)
          .Word(version.content_hash)
          .Finish(),
      landed);
}

Result<Recorded<TemplateVersion>> EvmAdapter::GetTemplate(std::string_view id,
                                                          std::optional<std::uint64_t> version) {
  TCC_RETURN_IF_ERROR(ValidateId(id, "template id"));
  if (version && *version == 0) {
    return Error(ErrorCode::kNotFound, "template " + std::string(id) + " has no version 0");
  }
  TCC_ASSIGN_OR_RETURN(auto found, impl_->ReadTemplate(id, version.value_or(0)));
  if (!found) {
    return Error(ErrorCode::kNotFound,
                 version ? "template " + std::string(id) + " has no version " + std::to_string(*version)
                         : "template " + std::string(id) + " is not published");
  }
  return std::move(*found);
}

Result<std::vector<Recorded<TemplateVersion>>> EvmAdapter::ListTemplates(std::string_view id) {
  if (!id.empty()) TCC_RETURN_IF_ERROR(ValidateId(id, "template id"));
  Clock::time_point deadline = impl_->ReadDeadline();
  TCC_ASSIGN_OR_RETURN(std::uint64_t head, impl_->ConfirmedHead(deadline));
  Json topics = Json::Array();
  topics.PushBack(HexTopic(evm::EventTopic(kTemplatePublishedEvent)));
  if (!id.empty()) topics.PushBack(HexTopic(Keccak256(id)));
  std::vector<std::pair<std::string, std::uint64_t>> found;
  for (std::uint64_t from = impl_->deployed_at; from <= head; from += impl_->options.log_range) {
    std::uint64_t to = std::min(head, from + impl_->options.log_range - 1);
    TCC_ASSIGN_OR_RETURN(std::vector<LogEntry> logs, impl_->Logs(from, to, topics, deadline));
    for (const LogEntry& log : logs) {
      AbiReader data(log.data);
      TCC_ASSIGN_OR_RETURN(std::string logged_id, data.Text(0));
      if (log.topics.size() != 3) return Inconsistent("template event topics");
      TCC_ASSIGN_OR_RETURN(std::uint64_t logged_version, AbiReader(log.topics[2]).Uint(0));
      found.emplace_back(std::move(logged_id), logged_version);
    }
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  // Each version is read back through the registry, which checks the event against its state.
  std::vector<Recorded<TemplateVersion>> versions;
  for (const auto& [template_id, template_version] : found) {
    TCC_ASSIGN_OR_RETURN(auto recorded, impl_->ReadTemplate(template_id, template_version));
    if (!recorded) return Inconsistent("template " + template_id + " has an event but no state");
    versions.push_back(std::move(*recorded));
  }
  return versions;
}

Result<Recorded<TicDocument>> EvmAdapter::RecordTic(const TicDocument& tic) {
  TCC_RETURN_IF_ERROR(ValidateTicDocument(tic));
  auto landed = [&]() -> Result<std::optional<Recorded<TicDocument>>> {
    TCC_ASSIGN_OR_RETURN(auto existing, impl_->ReadTic(tic.tic_id));
    if (existing && existing->value != tic) {
      return Error(ErrorCode::kConflict, "TIC " + tic.tic_id + " is already recorded differently");
    }
    return existing;
  };
  return impl_->Write<TicDocument>(
      "record TIC " + tic.tic_id,
      AbiCall("recordTic(string,string,bytes)").Dynamic(tic.tic_id).Dynamic(tic.tcc_did).Dynamic(tic.content).Finish(),
      landed);
}

Result<Recorded<TicDocument>> EvmAdapter::GetTic(std::string_view tic_id) {
  TCC_RETURN_IF_ERROR(ValidateId(tic_id, "TIC id"));
  TCC_ASSIGN_OR_RETURN(auto found, impl_->ReadTic(tic_id));
  if (!found) return Error(ErrorCode::kNotFound, "TIC " + std::string(tic_id) + " is not recorded");
  return std::move(*found);
}

Result<Recorded<BatchAnchor>> EvmAdapter::Anchor(const BatchAnchor& anchor) {
  TCC_RETURN_IF_ERROR(ValidateBatchAnchor(anchor));
  Impl::WriteScope scope(*impl_);  // covers the statistics update after the write too
  Hash256 key = Keccak256(anchor.batch_id);
  auto landed = [&]() -> Result<std::optional<Recorded<BatchAnchor>>> {
    TCC_ASSIGN_OR_RETURN(auto existing, impl_->ReadAnchor(key));
    if (existing && existing->value != anchor) {
      return Error(ErrorCode::kConflict,
                   "batch " + anchor.batch_id + " is already anchored with root " +
                       HexEncode(existing->value.root) + " over " +
                       std::to_string(existing->value.leaf_count) + " leaves");
    }
    return existing;
  };
  Clock::time_point started = Clock::now();
  bool transacted = false;
  auto recorded = impl_->Write<BatchAnchor>(
      "anchor batch " + anchor.batch_id,
      AbiCall("anchor(string,bytes32,uint64)").Dynamic(anchor.batch_id).Word(anchor.root).Uint(anchor.leaf_count).Finish(),
      landed, &transacted);
  if (recorded.ok() && transacted) {
    MutexLock lock(impl_->mutex);
    impl_->last_anchor_latency =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started);
    ++impl_->anchors;
  }
  return recorded;
}

Result<Recorded<BatchAnchor>> EvmAdapter::FindAnchor(std::string_view batch_id) {
  TCC_RETURN_IF_ERROR(ValidateId(batch_id, "batch id"));
  TCC_ASSIGN_OR_RETURN(auto found, impl_->ReadAnchor(Keccak256(batch_id)));
  if (!found) return Error(ErrorCode::kNotFound, "batch " + std::string(batch_id) + " is not anchored");
  return std::move(*found);
}

Result<Recorded<BatchAnchor>> EvmAdapter::FindAnchorByRoot(const Hash256& root) {
  Bytes storage;
  TCC_ASSIGN_OR_RETURN(AbiReader state,
                       impl_->View(AbiCall("getAnchorByRoot(bytes32)").Word(root).Finish(), storage));
  TCC_ASSIGN_OR_RETURN(Hash256 batch_key, state.Word(0));
  TCC_ASSIGN_OR_RETURN(std::uint64_t block, state.Uint(2));
  if (block == 0) {
    return Error(ErrorCode::kNotFound, "no batch is anchored with root " + HexEncode(root));
  }
  TCC_ASSIGN_OR_RETURN(auto found, impl_->ReadAnchor(batch_key));
  if (!found || found->value.root != root) return Inconsistent("anchor by root " + HexEncode(root));
  return std::move(*found);
}

Result<EventPage> EvmAdapter::PollEvents(const EventQuery& query) {
  TCC_ASSIGN_OR_RETURN(Position after, ParseCursor(query.cursor, impl_->deployed_at));
  if (query.max_events == 0) return Error(ErrorCode::kInvalidArgument, "max_events must be at least 1");
  if (query.wait.count() < 0) return Error(ErrorCode::kInvalidArgument, "wait must not be negative");
  Clock::time_point deadline = Clock::now() + query.wait;
  const Hash256 did_topic = evm::EventTopic(kDidUpdatedEvent);
  const Hash256 tic_topic = evm::EventTopic(kTicRecordedEvent);
  std::optional<Hash256> tcc_key;
  if (query.filter.tcc_did) tcc_key = Keccak256(*query.filter.tcc_did);
  Json topics = Json::Array();
  Json kinds = Json::Array();
  if (query.filter.did_updated) kinds.PushBack(HexTopic(did_topic));
  if (query.filter.tic_recorded) kinds.PushBack(HexTopic(tic_topic));
  topics.PushBack(std::move(kinds));
  EventPage page;
  page.next_cursor = FormatCursor(after);
  if (!query.filter.did_updated && !query.filter.tic_recorded) return page;
  while (true) {
    Clock::time_point request_deadline = impl_->ReadDeadline();
    // Only blocks `confirmations` deep are reported, so an event is never taken back.
    TCC_ASSIGN_OR_RETURN(std::uint64_t confirmed, impl_->ConfirmedHead(request_deadline));
    std::uint64_t from = after.index == kWholeBlock ? after.block + 1 : after.block;
    if (from <= confirmed) {
      std::uint64_t to = std::min(confirmed, from + impl_->options.log_range - 1);
      TCC_ASSIGN_OR_RETURN(std::vector<LogEntry> logs, impl_->Logs(from, to, topics, request_deadline));
      for (const LogEntry& log : logs) {
        Position here{log.block, log.index};
        if (here <= after) continue;
        if (page.events.size() >= query.max_events) {
          page.next_cursor = FormatCursor(after);
          return page;
        }
        after = here;
        if (log.topics.size() != 3) return Inconsistent("event topics");
        AbiReader data(log.data);
        if (log.topics[0] == did_topic) {
          TCC_ASSIGN_OR_RETURN(std::string did, data.Text(0));
          TCC_ASSIGN_OR_RETURN(std::uint64_t version, AbiReader(log.topics[2]).Uint(0));
          if (Keccak256(did) != log.topics[1]) return Inconsistent("DID event key");
          page.events.push_back(ChainEvent{ChainEventKind::kDidUpdated, did, {}, version, log.block});
        } else if (log.topics[0] == tic_topic) {
          if (tcc_key && log.topics[2] != *tcc_key) continue;
          TCC_ASSIGN_OR_RETURN(std::string tic_id, data.Text(0));
          TCC_ASSIGN_OR_RETURN(std::string tcc_did, data.Text(1));
          if (Keccak256(tic_id) != log.topics[1] || Keccak256(tcc_did) != log.topics[2]) {
            return Inconsistent("TIC event keys");
          }
          page.events.push_back(ChainEvent{ChainEventKind::kTicRecorded, tic_id, tcc_did, 0, log.block});
        }
      }
      after = Position{to, kWholeBlock};
      page.next_cursor = FormatCursor(after);
      if (!page.events.empty()) return page;
      if (to < confirmed) continue;  // more blocks to scan right away
    }
    if (Clock::now() >= deadline) return page;
    std::this_thread::sleep_until(std::min(deadline, Clock::now() + impl_->options.poll_interval));
  }
}

Result<AdapterStatus> EvmAdapter::Status() {
  TCC_ASSIGN_OR_RETURN(Json head, impl_->rpc->CallOrFail("eth_blockNumber", Json::Array()));
  AdapterStatus status;
  status.adapter = "evm";
  TCC_ASSIGN_OR_RETURN(status.height, Quantity(&head, "eth_blockNumber"));
  status.pending = impl_->transactor->pending();
  MutexLock lock(impl_->mutex);
  status.last_anchor_latency = impl_->last_anchor_latency;
  status.anchors = impl_->anchors;
  return status;
}

tcc::Status EvmAdapter::VerifyInclusionOnChain(std::string_view batch_id, const Hash256& leaf,
                                               std::uint64_t index, std::uint64_t tree_size,
                                               std::span<const Hash256> path) {
  TCC_RETURN_IF_ERROR(ValidateId(batch_id, "batch id"));
  Bytes storage;
  TCC_ASSIGN_OR_RETURN(AbiReader result,
                       impl_->View(AbiCall("verifyInclusion(bytes32,bytes32,uint64,uint64,bytes32[])")
                                       .Word(Keccak256(batch_id))
                                       .Word(leaf)
                                       .Uint(index)
                                       .Uint(tree_size)
                                       .WordArray(path)
                                       .Finish(),
                                   storage));
  TCC_ASSIGN_OR_RETURN(std::uint64_t verified, result.Uint(0));
  if (verified != 1) {
    return Error(ErrorCode::kVerificationFailed,
                 "the registry does not confirm leaf " + std::to_string(index) + " of batch " +
                     std::string(batch_id) + " (" + std::to_string(tree_size) + " leaves)");
  }
  return OkStatus();
}

Result<std::uint64_t> EvmAdapter::GasUsed(const ChainReceipt& receipt) {
  Json params = Json::Array();
  params.PushBack(receipt.tx);
  TCC_ASSIGN_OR_RETURN(Json result, impl_->rpc->CallOrFail("eth_getTransactionReceipt", params));
  if (!result.is_object()) return Error(ErrorCode::kNotFound, "no receipt for " + receipt.tx);
  return Quantity(result.Find("gasUsed"), "receipt gasUsed");
}

Result<EvmDeployment> DeployEvmRegistry(const EvmOptions& options) {
  TCC_RETURN_IF_ERROR(CheckOptions(options));
  TCC_ASSIGN_OR_RETURN(evm::AccountKey key, evm::AccountKey::FromFile(options.key_file));
  evm::JsonRpcClient rpc(options.rpc_url, options.request_timeout);
  TCC_ASSIGN_OR_RETURN(std::uint64_t chain_id, NodeChainId(rpc, options));
  evm::Transactor transactor(rpc, std::move(key), chain_id, options);
  TCC_ASSIGN_OR_RETURN(Bytes code, HexDecode(evm::kRegistryBytecodeHex));
  Clock::time_point deadline = Clock::now() + options.write_timeout;
  TCC_ASSIGN_OR_RETURN(evm::MinedTransaction mined,
                       transactor.Transact("deploy TccRegistry", std::nullopt, code, deadline));
  if (mined.lost || !mined.created) {
    return Error(ErrorCode::kUnavailable, "the registry deployment " + mined.tx_hash +
                                              " was dropped by the node; deploy again");
  }
  Json params = Json::Array();
  params.PushBack(evm::QuantityHex(mined.block));
  params.PushBack(false);
  TCC_ASSIGN_OR_RETURN(Json block, transactor.CallOrFail("eth_getBlockByNumber", params, deadline));
  TCC_ASSIGN_OR_RETURN(std::uint64_t seconds, Quantity(block.is_object() ? block.Find("timestamp") : nullptr,
                                                       "block timestamp"));
  EvmDeployment deployment;
  deployment.contract = *mined.created;
  deployment.chain_id = chain_id;
  deployment.receipt = ChainReceipt{"evm", mined.block, mined.tx_hash, mined.block_hash, seconds * 1000};
  EvmOptions with_contract = options;
  with_contract.contract = deployment.contract;
  with_contract.chain_id = chain_id;
  deployment.uri = EvmUri(with_contract);
  return deployment;
}

std::string EvmRegistryBuildInfo() {
  return std::string("TccRegistry compiled by solc ") + evm::kRegistrySolcVersion + " for EVM " +
         evm::kRegistryEvmVersion;
}

std::string_view EvmRegistryMethodIdentifiers() { return evm::kRegistryMethodIdentifiers; }

}  // namespace tcc::chain
