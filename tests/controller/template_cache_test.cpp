// TemplateCache over a real embedded ledger and a real channel store: a template is fetched from
// the chain once, then served from memory; a daemon restarted against a chain that does not have
// it (unreachable, or another ledger) still gets it from the store's copy; a damaged copy is
// ignored in favour of the chain.
#include "template_cache.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "chain/chain_test_util.h"
#include "tcc/chain/local_ledger.h"
#include "test_util.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;

constexpr const char* kProvider = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";

std::shared_ptr<chain::ChainAdapter> OpenLedger(const std::string& path) {
  auto ledger = chain::LocalLedger::Open({.path = path});
  REQUIRE_MESSAGE(ledger.ok(), (ledger.ok() ? "" : ledger.error().ToString()));
  return std::shared_ptr<chain::ChainAdapter>(std::move(ledger).value());
}

std::unique_ptr<ChannelStore> OpenStore(const std::string& path) {
  auto store = ChannelStore::Open(path);
  REQUIRE_MESSAGE(store.ok(), (store.ok() ? "" : store.error().ToString()));
  return std::move(store).value();
}

vc::Template Published(chain::ChainAdapter& adapter) {
  auto tst = vc::Template::FromJson(testing::ReadExampleJson("gpu-hour.tst.json"));
  REQUIRE(tst.ok());
  ChainTemplateRegistry registry(
      std::shared_ptr<chain::ChainAdapter>(&adapter, [](chain::ChainAdapter*) {}));
  REQUIRE(registry.Publish(*tst, kProvider).ok());
  return std::move(tst).value();
}

TEST_CASE("fetched from the chain once, then from memory, and copied into the store") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  const vc::Template tst = Published(*ledger);
  auto store = OpenStore(dir.Sub("store"));
  TemplateCache cache(ledger, *store);

  auto first = cache.Get(tst.id(), tst.version());
  REQUIRE_MESSAGE(first.ok(), (first.ok() ? "" : first.error().ToString()));
  CHECK((*first)->id() == tst.id());
  CHECK((*first)->content_hash() == tst.content_hash());
  auto again = cache.Get(tst.id(), tst.version());
  REQUIRE(again.ok());
  CHECK(again->get() == first->get());  // the same compiled template
  CHECK(store->GetValue("template:" + tst.id() + "@" + std::to_string(tst.version())).ok());

  auto missing = cache.Get(tst.id(), tst.version() + 1);
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
}

TEST_CASE("after a restart the store's copy serves a template the chain cannot give") {
  TempDir dir;
  auto ledger = OpenLedger(dir.Sub("ledger"));
  const vc::Template tst = Published(*ledger);
  auto store = OpenStore(dir.Sub("store"));
  REQUIRE(TemplateCache(ledger, *store).Get(tst.id(), tst.version()).ok());

  // Another chain that never saw the template stands for one that cannot be reached.
  auto empty = OpenLedger(dir.Sub("other-ledger"));
  TemplateCache restarted(empty, *store);
  auto recovered = restarted.Get(tst.id(), tst.version());
  REQUIRE_MESSAGE(recovered.ok(), (recovered.ok() ? "" : recovered.error().ToString()));
  CHECK((*recovered)->content_hash() == tst.content_hash());

  // A damaged copy is not used: the chain is asked, and without the template there it is an error.
  const std::string copy = "template:" + tst.id() + "@" + std::to_string(tst.version());
  REQUIRE(store->PutValue(copy, "{\"not\":\"a template\"}").ok());
  CHECK_FALSE(TemplateCache(empty, *store).Get(tst.id(), tst.version()).ok());
  // With the template on the chain, the damaged copy is replaced by a good one.
  REQUIRE(TemplateCache(ledger, *store).Get(tst.id(), tst.version()).ok());
  CHECK(TemplateCache(empty, *store).Get(tst.id(), tst.version()).ok());
}

}  // namespace
}  // namespace tcc::controller
