#include "tcc/controller/chain_resolver.h"

#include <utility>

#include "tcc/common/bytes.h"
#include "tcc/common/json.h"

namespace tcc::controller {

ChainDidResolver::ChainDidResolver(std::shared_ptr<chain::ChainAdapter> adapter)
    : adapter_(std::move(adapter)) {}

Result<did::DidDocument> ChainDidResolver::Resolve(std::string_view did) {
  auto recorded = adapter_->ResolveDid(did, std::nullopt);
  if (!recorded.ok()) {
    // kNotFound keeps its code so routers and caches see an ordinary unknown DID.
    return std::move(recorded).error().WithContext("resolve " + std::string(did) + " on chain");
  }
  // The chain stores bytes; anyone who could write them is untrusted until they parse and name
  // the DID they are stored under.
  auto invalid = [&](std::string_view why) {
    return Error(ErrorCode::kInvalidArgument,
                 "chain record of " + std::string(did) + " (version " +
                     std::to_string(recorded->value.version) +
                     ") is not a valid DID document: " + std::string(why));
  };
  auto json = Json::Parse(AsChars(recorded->value.document));
  if (!json.ok()) return invalid(json.error().message());
  auto document = did::DidDocument::FromJson(*json);
  if (!document.ok()) return invalid(document.error().message());
  if (document->id != did) return invalid("its id is " + document->id);
  return std::move(document).value();
}

std::shared_ptr<did::CachingResolver> MakeChainResolver(
    std::shared_ptr<chain::ChainAdapter> adapter, const ChainResolverOptions& options) {
  auto router = std::make_shared<did::MethodRouter>();
  router->Register("key", std::make_shared<did::DidKeyResolver>());
  router->RegisterDefault(std::make_shared<ChainDidResolver>(std::move(adapter)));
  return std::make_shared<did::CachingResolver>(std::move(router), options.ttl,
                                                options.max_entries);
}

}  // namespace tcc::controller
