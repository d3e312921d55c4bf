#include "tcc/client/tccd_chain.h"

#include <chrono>
#include <mutex>
#include <utility>

#include "tcc/chain/chain_requests.h"
#include "tcc/client/channel_client.h"

namespace tcc::client {
namespace {

// The connection (and, on the party endpoint, the channel client holding it) behind the adapter.
class Link {
 public:
  Link(std::unique_ptr<Connection> connection, std::unique_ptr<ChannelClient> member)
      : connection_(std::move(connection)), member_(std::move(member)) {}

  Result<Json> Call(chain::ChainOp op, Json args) {
    std::lock_guard lock(mutex_);
    Connection& connection = member_ != nullptr ? member_->connection() : *connection_;
    const MessageType type =
        chain::IsChainWrite(op) ? MessageType::kChainWrite : MessageType::kChainRead;
    TCC_ASSIGN_OR_RETURN(Message reply,
                         connection.Request(type, {{"op", std::string(chain::ChainOpName(op))},
                                                   {"args", std::move(args)}}));
    // A member's connection also receives its channel's events, which no one here reads.
    if (member_ != nullptr) {
      while (true) {
        auto event = connection.NextEvent(std::chrono::milliseconds(0));
        if (!event.ok() || !event->has_value()) break;
      }
    }
    const Json* result = reply.body.Find("result");
    if (result == nullptr || !result->is_object()) {
      return Error(ErrorCode::kParse,
                   "tccd's answer to " + std::string(chain::ChainOpName(op)) + " has no result");
    }
    return *result;
  }

 private:
  std::mutex mutex_;
  std::unique_ptr<Connection> connection_;
  std::unique_ptr<ChannelClient> member_;
};

}  // namespace

Result<std::unique_ptr<chain::ChainAdapter>> OpenTccdChain(TccdChainOptions options) {
  std::unique_ptr<Connection> connection;
  std::unique_ptr<ChannelClient> member;
  if (options.channel) {
    if (options.member_key == nullptr)
      return Error(ErrorCode::kInvalidArgument, "joining a channel needs the member's key");
    TCC_ASSIGN_OR_RETURN(member,
                         ChannelClient::Connect(std::move(options.connect), options.member_key));
    auto joined = member->Join(*options.channel);
    if (!joined.ok())
      return std::move(joined).error().WithContext("join channel " + *options.channel);
  } else {
    TCC_ASSIGN_OR_RETURN(connection, Connection::Open(std::move(options.connect)));
  }
  auto link = std::make_shared<Link>(std::move(connection), std::move(member));
  chain::ChainCall call = [link](chain::ChainOp op, Json args) {
    return link->Call(op, std::move(args));
  };
  // The served adapter's name, which its receipts (and evidence bundles) carry.
  auto probe = chain::MakeRequestAdapter("tccd", call);
  TCC_ASSIGN_OR_RETURN(chain::AdapterStatus status, probe->Status());
  return chain::MakeRequestAdapter(status.adapter, std::move(call));
}

}  // namespace tcc::client
