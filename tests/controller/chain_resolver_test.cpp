#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "chain/chain_test_util.h"
#include "chain_watch.h"
#include "controller/did_document_for.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;

std::shared_ptr<chain::ChainAdapter> OpenLedger(const TempDir& dir) {
  auto ledger = chain::LocalLedger::Open({.path = dir.Sub("ledger")});
  REQUIRE_MESSAGE(ledger.ok(), (ledger.ok() ? "" : ledger.error().ToString()));
  return std::shared_ptr<chain::ChainAdapter>(std::move(ledger).value());
}

did::KeyPair NewKey() { return did::KeyPair::Generate(); }

using testing::DocumentFor;

std::string FirstKey(const did::DidDocument& document) {
  REQUIRE_FALSE(document.verification_methods.empty());
  return document.verification_methods.front().public_key_multibase;
}

constexpr const char* kAlice = "did:web:provider.example:alice";

TEST_CASE("ChainDidResolver reads registered documents and validates them") {
  TempDir dir;
  auto adapter = OpenLedger(dir);
  auto key = NewKey();
  REQUIRE(adapter->RegisterDid(kAlice, AsBytes(DocumentFor(kAlice, key))).ok());

  ChainDidResolver resolver(adapter);
  auto resolved = resolver.Resolve(kAlice);
  REQUIRE_MESSAGE(resolved.ok(), (resolved.ok() ? "" : resolved.error().ToString()));
  CHECK(resolved->id == kAlice);
  CHECK(resolved->Ed25519KeyFor(resolved->authentication.front(), did::Relationship::kAuthentication).ok());

  auto unknown = resolver.Resolve("did:web:nobody.example");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code() == ErrorCode::kNotFound);

  // Bytes on chain are untrusted: not JSON, not a DID document, or another DID's document.
  REQUIRE(adapter->RegisterDid("did:web:junk.example", AsBytes(std::string("not json"))).ok());
  REQUIRE(adapter->RegisterDid("did:web:shape.example", AsBytes(std::string(R"({"id":1})"))).ok());
  REQUIRE(adapter->RegisterDid("did:web:mallory.example", AsBytes(DocumentFor(kAlice, key))).ok());
  for (const char* bad : {"did:web:junk.example", "did:web:shape.example", "did:web:mallory.example"}) {
    auto result = resolver.Resolve(bad);
    REQUIRE_FALSE(result.ok());
    CHECK(result.error().code() == ErrorCode::kInvalidArgument);
    CHECK(result.error().message().find(bad) != std::string::npos);
  }
  CHECK(resolver.Resolve("did:web:mallory.example").error().message().find("its id is") != std::string::npos);
}

TEST_CASE("composed resolver: did:key locally, others from the chain, cached") {
  TempDir dir;
  auto adapter = OpenLedger(dir);
  auto key = NewKey();
  REQUIRE(adapter->RegisterDid(kAlice, AsBytes(DocumentFor(kAlice, key))).ok());
  auto resolver = MakeChainResolver(adapter);

  // did:key never touches the chain: it is not registered there.
  std::string did_key = did::DidKeyFromPublicKey(key.public_key());
  auto local = resolver->Resolve(did_key);
  REQUIRE(local.ok());
  CHECK(local->id == did_key);

  REQUIRE(resolver->Resolve(kAlice).ok());
  REQUIRE(resolver->Resolve(kAlice).ok());
  CHECK(resolver->stats().hits == 1);
  CHECK(resolver->Resolve("did:web:nobody.example").error().code() == ErrorCode::kNotFound);
}

TEST_CASE("ChainWatcher invalidates a cached document after UpdateDid") {
  TempDir dir;
  auto adapter = OpenLedger(dir);
  auto old_key = NewKey();
  auto new_key = NewKey();
  REQUIRE(adapter->RegisterDid(kAlice, AsBytes(DocumentFor(kAlice, old_key))).ok());
  auto resolver = MakeChainResolver(adapter, {.ttl = std::chrono::hours(1)});
  ChainWatcher watcher(adapter, resolver);

  // The registration is version 1, reported as an update too.
  auto first = watcher.PollOnce();
  REQUIRE(first.ok());
  CHECK(*first == 1);

  auto before = resolver->Resolve(kAlice);
  REQUIRE(before.ok());
  const std::string old_multibase = FirstKey(*before);

  auto updated = adapter->UpdateDid(kAlice, AsBytes(DocumentFor(kAlice, new_key)));
  REQUIRE(updated.ok());
  CHECK(updated->value.version == 2);

  // Until the watcher runs, the cache (1 h TTL) still serves the old document.
  CHECK(FirstKey(resolver->Resolve(kAlice).value()) == old_multibase);

  auto polled = watcher.PollOnce();
  REQUIRE(polled.ok());
  CHECK(*polled == 1);
  auto after = resolver->Resolve(kAlice);
  REQUIRE(after.ok());
  CHECK(FirstKey(*after) != old_multibase);
  CHECK(after->ToJson().Serialize() == DocumentFor(kAlice, new_key));

  // Nothing new: no invalidation. A watcher resumed from the saved cursor sees nothing either,
  // while one starting from scratch replays both events.
  CHECK(watcher.PollOnce().value() == 0);
  ChainWatcher resumed(adapter, resolver, watcher.cursor());
  CHECK(resumed.PollOnce().value() == 0);
  ChainWatcher fresh(adapter, resolver);
  CHECK(fresh.PollOnce().value() == 2);

  // TIC events are not the watcher's business.
  REQUIRE(adapter->RecordTic({"tic-1", "did:web:tcc.example", Bytes{'{', '}'}}).ok());
  CHECK(watcher.PollOnce().value() == 0);
}

}  // namespace
}  // namespace tcc::controller
