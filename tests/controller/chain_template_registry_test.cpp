#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "chain/chain_test_util.h"
#include "test_util.h"
#include "tcc/chain/local_ledger.h"
#include "tcc/common/file.h"
#include "tcc/controller/chain_template_registry.h"
#include "tcc/vc/jcs.h"

namespace tcc::controller {
namespace {

using chain::testing::TempDir;

constexpr const char* kProvider = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
constexpr const char* kOther = "did:key:z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT";

std::shared_ptr<chain::ChainAdapter> OpenLedger(const std::string& path) {
  auto ledger = chain::LocalLedger::Open({.path = path});
  REQUIRE_MESSAGE(ledger.ok(), (ledger.ok() ? "" : ledger.error().ToString()));
  return std::shared_ptr<chain::ChainAdapter>(std::move(ledger).value());
}

Json ExampleJson(const std::string& name) { return testing::ReadExampleJson(name); }

vc::Template Example(const std::string& name) { return vc::Template::FromJson(ExampleJson(name)).value(); }

// The GPU-hour TST with its version, owner or title replaced.
vc::Template Variant(std::uint32_t version, const std::string& owner = kProvider,
                     const std::string& title = "GPU hours: one-minute settlement") {
  Json document = ExampleJson("gpu-hour.tst.json");
  document.Set("version", static_cast<double>(version));
  document.Set("owner", owner);
  document.Set("title", title);
  auto parsed = vc::Template::FromJson(document);
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

void ExpectError(const Result<vc::PublishOutcome>& result, ErrorCode code) {
  REQUIRE_FALSE(result.ok());
  CHECK_MESSAGE(result.error().code() == code, result.error().ToString());
}

TEST_CASE("templates round-trip through the chain, with their content hash") {
  TempDir dir;
  auto adapter = OpenLedger(dir.Sub("ledger"));
  ChainTemplateRegistry registry(adapter);
  for (const char* name : {"gpu-hour.tit.json", "gpu-hour.tst.json", "storage-lease.tit.json",
                           "storage-lease.tst.json", "tiered-time-of-day.tit.json", "tiered-time-of-day.tst.json"}) {
    CAPTURE(name);
    vc::Template original = Example(name);
    auto published = registry.PublishWithReceipt(original, kProvider);
    REQUIRE_MESSAGE(published.ok(), (published.ok() ? "" : published.error().ToString()));
    CHECK(published->outcome == vc::PublishOutcome::kPublished);
    CHECK(published->receipt.adapter == "local");

    auto got = registry.Get(original.id(), 1);
    REQUIRE(got.ok());
    CHECK(got->content_hash() == original.content_hash());
    CHECK(got->owner() == kProvider);
    // The record's hash is the hash credentials name.
    auto record = adapter->GetTemplate(original.id(), 1);
    REQUIRE(record.ok());
    CHECK(record->value.content_hash == original.content_hash());
    CHECK(AsChars(record->value.content) == vc::Canonicalize(original.document()).value());

    // Re-publishing identical content is an idempotent success with the original receipt.
    auto again = registry.PublishWithReceipt(original, kProvider);
    REQUIRE(again.ok());
    CHECK(again->outcome == vc::PublishOutcome::kAlreadyPublished);
    CHECK(again->receipt == published->receipt);
  }
  CHECK(registry.Get("example.gpu-hour.tit", 2).error().code() == ErrorCode::kNotFound);
  CHECK(registry.Get("example.gpu-hour.tit", 0).error().code() == ErrorCode::kNotFound);
  CHECK(registry.Latest("no.such.template").error().code() == ErrorCode::kNotFound);
  CHECK(registry.Latest("no.such.template").error().message().find("not registered on chain") !=
        std::string::npos);

  auto all = registry.List({});
  REQUIRE(all.ok());
  REQUIRE(all->size() == 6);
  CHECK(all->front().id == "example.gpu-hour.tit");
  auto tsts = registry.List({.kind = vc::TemplateKind::kTst});
  REQUIRE(tsts.ok());
  CHECK(tsts->size() == 3);
  auto page = registry.List({.after_id = "example.gpu-hour.tst", .limit = 2});
  REQUIRE(page.ok());
  REQUIRE(page->size() == 2);
  CHECK(page->front().id == "example.storage-lease.tit");
  CHECK(registry.List({.owner = std::string(kOther)}).value().empty());
}

TEST_CASE("publication rules hold on chain and a refused publish changes nothing") {
  TempDir dir;
  const std::string path = dir.Sub("ledger");
  {
    auto adapter = OpenLedger(path);
    ChainTemplateRegistry registry(adapter);
    REQUIRE(registry.Publish(Variant(1), kProvider).ok());
    auto height = adapter->Status().value().height;

    // Not the owner: the template names another owner, or the publisher is not its owner.
    ExpectError(registry.Publish(Variant(2, kOther), kOther), ErrorCode::kPermissionDenied);
    ExpectError(registry.Publish(Variant(2), kOther), ErrorCode::kPermissionDenied);
    // A published version is immutable; versions follow each other without gaps.
    ExpectError(registry.Publish(Variant(1, kProvider, "changed"), kProvider), ErrorCode::kConflict);
    ExpectError(registry.Publish(Variant(3), kProvider), ErrorCode::kConflict);
    CHECK(adapter->Status().value().height == height);
    CHECK(registry.Latest("example.gpu-hour.tst").value().version() == 1);

    auto v2 = registry.Publish(Variant(2, kProvider, "second"), kProvider);
    REQUIRE(v2.ok());
    CHECK(*v2 == vc::PublishOutcome::kPublished);
  }
  // After a restart the registry reads the same versions back.
  auto adapter = OpenLedger(path);
  ChainTemplateRegistry registry(adapter);
  CHECK(registry.Latest("example.gpu-hour.tst").value().title() == "second");
  CHECK(registry.Get("example.gpu-hour.tst", 1).value().content_hash() == Variant(1).content_hash());
  auto listed = registry.List({});
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().latest_version == 2);
  CHECK(listed->front().latest_content_hash == Variant(2, kProvider, "second").content_hash());
}

TEST_CASE("records that disagree with their content are rejected on read") {
  TempDir dir;
  auto adapter = OpenLedger(dir.Sub("ledger"));
  ChainTemplateRegistry registry(adapter);
  auto record = ChainTemplateRegistry::ToRecord(Example("gpu-hour.tit.json"));
  REQUIRE(record.ok());

  // Written past the registry, straight through the adapter.
  chain::TemplateVersion renamed = *record;
  renamed.id = "someone.elses.template";
  REQUIRE(adapter->PublishTemplate(renamed).ok());
  auto got = registry.Latest("someone.elses.template");
  REQUIRE_FALSE(got.ok());
  CHECK(got.error().code() == ErrorCode::kVerificationFailed);
  CHECK(got.error().message().find("content has id") != std::string::npos);

  chain::TemplateVersion reowned = *record;
  reowned.owner_did = kOther;
  REQUIRE(adapter->PublishTemplate(reowned).ok());
  CHECK(registry.Latest("example.gpu-hour.tit").error().code() == ErrorCode::kVerificationFailed);
  // A list over a bad record fails loudly rather than skipping it.
  CHECK(registry.List({}).error().code() == ErrorCode::kVerificationFailed);

  // Not canonical: the author's pretty-printed bytes hash differently from the template.
  auto pretty = ReadFile(std::string(TCC_SCHEMAS_DIR) + "/examples/gpu-hour.tst.json").value();
  chain::TemplateVersion raw{"example.gpu-hour.tst", 1, kProvider, Bytes(pretty.begin(), pretty.end()),
                             Sha256(pretty)};
  CHECK(ChainTemplateRegistry::FromRecord(raw).error().message().find("canonical") != std::string::npos);
}

}  // namespace
}  // namespace tcc::controller
