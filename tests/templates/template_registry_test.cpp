#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <vector>

#include "in_memory_template_registry.h"
#include "tcc/common/file.h"
#include "tcc/vc/template.h"
#include "test_util.h"

namespace tcc::vc {
namespace {

constexpr const char* kProvider = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
constexpr const char* kOther = "did:key:z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT";

Json ExampleJson(const std::string& name) { return testing::ReadExampleJson(name); }

// The GPU-hour TST with some fields replaced.
Template Variant(std::uint32_t version, const std::string& owner = kProvider,
                 const std::string& title = "GPU hours: one-minute settlement",
                 const std::string& id = "example.gpu-hour.tst") {
  Json document = ExampleJson("gpu-hour.tst.json");
  document.Set("version", static_cast<double>(version));
  document.Set("owner", owner);
  document.Set("title", title);
  document.Set("id", id);
  auto parsed = Template::FromJson(document);
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

Template ExampleTemplate(const std::string& name) {
  auto parsed = Template::FromJson(ExampleJson(name));
  REQUIRE(parsed.ok());
  return parsed.value();
}

void ExpectError(const Result<PublishOutcome>& result, ErrorCode code, std::string_view fragment) {
  REQUIRE(!result.ok());
  CHECK(result.error().code() == code);
  CHECK_MESSAGE(result.error().message().find(fragment) != std::string::npos,
                result.error().message() << " lacks: " << fragment);
}

TEST_CASE("publish, get, latest") {
  testing::InMemoryTemplateRegistry registry;
  auto published = registry.Publish(Variant(1), kProvider);
  REQUIRE(published.ok());
  CHECK(*published == PublishOutcome::kPublished);
  auto got = registry.Get("example.gpu-hour.tst", 1);
  REQUIRE(got.ok());
  CHECK(got->content_hash() == Variant(1).content_hash());
  CHECK(*registry.Publish(Variant(2, kProvider, "v2"), kProvider) == PublishOutcome::kPublished);
  auto latest = registry.Latest("example.gpu-hour.tst");
  REQUIRE(latest.ok());
  CHECK(latest->version() == 2);
  CHECK(latest->title() == "v2");
  CHECK(registry.Get("example.gpu-hour.tst", 1)->title() == "GPU hours: one-minute settlement");
}

TEST_CASE("unknown ids and versions are kNotFound") {
  testing::InMemoryTemplateRegistry registry;
  CHECK(registry.Latest("nope").error().code() == ErrorCode::kNotFound);
  CHECK(registry.Get("nope", 1).error().code() == ErrorCode::kNotFound);
  REQUIRE(registry.Publish(Variant(1), kProvider).ok());
  CHECK(registry.Get("example.gpu-hour.tst", 2).error().code() == ErrorCode::kNotFound);
  CHECK(registry.Get("example.gpu-hour.tst", 0).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("a published version is immutable; identical re-publication is idempotent") {
  testing::InMemoryTemplateRegistry registry;
  REQUIRE(registry.Publish(Variant(1), kProvider).ok());
  CHECK(*registry.Publish(Variant(1), kProvider) == PublishOutcome::kAlreadyPublished);
  // Same content in another member order is the same content (the hash is over JCS).
  Json reordered = Json::Object();
  Template v1 = Variant(1);
  const JsonObject& members = v1.document().as_object();
  for (auto it = members.rbegin(); it != members.rend(); ++it) reordered.Set(it->first, it->second);
  auto same = Template::FromJson(reordered);
  REQUIRE(same.ok());
  CHECK(*registry.Publish(*same, kProvider) == PublishOutcome::kAlreadyPublished);

  auto changed = registry.Publish(Variant(1, kProvider, "changed"), kProvider);
  ExpectError(changed, ErrorCode::kConflict,
              "template \"example.gpu-hour.tst\" version 1 is already published with different "
              "content (content hash " + Variant(1).content_hash_hex() + ")");
  CHECK(registry.Get("example.gpu-hour.tst", 1)->title() == "GPU hours: one-minute settlement");
  CHECK(registry.Latest("example.gpu-hour.tst")->version() == 1);

  // Also once later versions exist.
  REQUIRE(registry.Publish(Variant(2, kProvider, "v2"), kProvider).ok());
  CHECK(*registry.Publish(Variant(1), kProvider) == PublishOutcome::kAlreadyPublished);
  ExpectError(registry.Publish(Variant(1, kProvider, "again"), kProvider), ErrorCode::kConflict,
              "already published with different content");
}

TEST_CASE("only the owner may publish") {
  testing::InMemoryTemplateRegistry registry;
  // The publisher must be the owner the document names.
  ExpectError(registry.Publish(Variant(1), kOther), ErrorCode::kPermissionDenied,
              std::string("publisher ") + kOther + " is not the owner named in the template (" +
                  kProvider + ")");
  CHECK(registry.Latest("example.gpu-hour.tst").error().code() == ErrorCode::kNotFound);
  REQUIRE(registry.Publish(Variant(1), kProvider).ok());
  // Another DID cannot take over the id by naming itself as owner of a new version...
  ExpectError(registry.Publish(Variant(2, kOther), kOther), ErrorCode::kPermissionDenied,
              std::string("the id belongs to ") + kProvider);
  // ...nor re-publish an existing version under its name.
  ExpectError(registry.Publish(Variant(1, kOther), kOther), ErrorCode::kPermissionDenied,
              "the id belongs to");
  // ...nor publish the owner's document itself.
  ExpectError(registry.Publish(Variant(2), kOther), ErrorCode::kPermissionDenied,
              "is not the owner");
  CHECK(registry.Latest("example.gpu-hour.tst")->version() == 1);
  // The owner can.
  CHECK(*registry.Publish(Variant(2), kProvider) == PublishOutcome::kPublished);
  // A different id is free for anyone.
  CHECK(registry.Publish(Variant(1, kOther, "mine", "other.gpu.tst"), kOther).ok());
}

TEST_CASE("versions follow each other from 1") {
  testing::InMemoryTemplateRegistry registry;
  ExpectError(registry.Publish(Variant(2), kProvider), ErrorCode::kConflict,
              "the next version must be 1 (the id has no published version)");
  REQUIRE(registry.Publish(Variant(1), kProvider).ok());
  ExpectError(registry.Publish(Variant(3), kProvider), ErrorCode::kConflict,
              "the next version must be 2 (latest published is 1)");
  CHECK(registry.Get("example.gpu-hour.tst", 3).error().code() == ErrorCode::kNotFound);
}

TEST_CASE("an id keeps its kind") {
  testing::InMemoryTemplateRegistry registry;
  REQUIRE(registry.Publish(Variant(1), kProvider).ok());
  Json tit = ExampleJson("gpu-hour.tit.json");
  tit.Set("id", "example.gpu-hour.tst");
  tit.Set("version", 2);
  auto candidate = Template::FromJson(tit);
  REQUIRE(candidate.ok());
  ExpectError(registry.Publish(*candidate, kProvider), ErrorCode::kConflict,
              "the id is a TST, not a TIT");
}

TEST_CASE("CheckPublish is the whole rule set, independent of any store") {
  Template v1 = Variant(1);
  Template v2 = Variant(2, kProvider, "v2");
  CHECK(*CheckPublish(v1, kProvider, nullptr, nullptr) == PublishOutcome::kPublished);
  CHECK(*CheckPublish(v1, kProvider, &v1, &v1) == PublishOutcome::kAlreadyPublished);
  CHECK(*CheckPublish(v2, kProvider, nullptr, &v1) == PublishOutcome::kPublished);
  CHECK(*CheckPublish(v1, kProvider, &v1, &v2) == PublishOutcome::kAlreadyPublished);
  CHECK(CheckPublish(v2, kProvider, nullptr, nullptr).error().code() == ErrorCode::kConflict);
  CHECK(CheckPublish(v1, "", nullptr, nullptr).error().code() == ErrorCode::kPermissionDenied);
}

TEST_CASE("list: sorted by id, filtered, paged") {
  testing::InMemoryTemplateRegistry registry;
  for (const char* name : {"gpu-hour.tit.json", "gpu-hour.tst.json", "tiered-time-of-day.tit.json",
                           "tiered-time-of-day.tst.json", "storage-lease.tit.json",
                           "storage-lease.tst.json"}) {
    REQUIRE(registry.Publish(ExampleTemplate(name), kProvider).ok());
  }
  REQUIRE(registry.Publish(Variant(2, kProvider, "v2"), kProvider).ok());
  REQUIRE(registry.Publish(Variant(1, kOther, "theirs", "a.other.tst"), kOther).ok());

  auto all = registry.List({});
  REQUIRE(all.ok());
  std::vector<std::string> ids;
  for (const auto& summary : *all) ids.push_back(summary.id);
  CHECK(ids == std::vector<std::string>{"a.other.tst", "example.gpu-hour.tit",
                                        "example.gpu-hour.tst", "example.storage-lease.tit",
                                        "example.storage-lease.tst", "example.tiered-cpu.tit",
                                        "example.tiered-cpu.tst"});
  CHECK((*all)[2].latest_version == 2);
  CHECK((*all)[2].latest_content_hash == Variant(2, kProvider, "v2").content_hash());
  CHECK((*all)[0].owner == kOther);

  TemplateQuery titles_of_provider;
  titles_of_provider.owner = kProvider;
  titles_of_provider.kind = TemplateKind::kTit;
  auto tits = registry.List(titles_of_provider);
  REQUIRE(tits.ok());
  CHECK(tits->size() == 3);
  for (const auto& summary : *tits) CHECK(summary.kind == TemplateKind::kTit);

  TemplateQuery page;
  page.limit = 3;
  auto first = registry.List(page);
  REQUIRE(first.ok());
  REQUIRE(first->size() == 3);
  page.after_id = first->back().id;
  auto second = registry.List(page);
  REQUIRE(second.ok());
  REQUIRE(second->size() == 3);
  CHECK(second->front().id == "example.storage-lease.tit");
  page.after_id = second->back().id;
  CHECK(registry.List(page)->size() == 1);
}

TEST_CASE("concurrent publishers of the same next version: exactly one wins") {
  testing::InMemoryTemplateRegistry registry;
  REQUIRE(registry.Publish(Variant(1), kProvider).ok());
  std::vector<Template> candidates;
  for (int i = 0; i < 8; ++i) candidates.push_back(Variant(2, kProvider, "v2-" + std::to_string(i)));
  std::vector<int> published(candidates.size(), 0);
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    threads.emplace_back([&, i] {
      auto result = registry.Publish(candidates[i], kProvider);
      published[i] = result.ok() && *result == PublishOutcome::kPublished;
    });
  }
  for (auto& thread : threads) thread.join();
  int winners = 0;
  for (int p : published) winners += p;
  CHECK(winners == 1);
  CHECK(registry.Latest("example.gpu-hour.tst")->version() == 2);
}

}  // namespace
}  // namespace tcc::vc
