#include "tcc/vc/template.h"

#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tcc/common/file.h"
#include "tcc/vc/jcs.h"
#include "test_util.h"

namespace tcc::vc {
namespace {

constexpr const char* kProvider = "did:key:z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw";
constexpr const char* kConsumer = "did:key:z6MkiaMbhXHNA4eJVCCj8dbzKzTgYDKf6crKgHVHid1F1WCT";

const char* const kExampleTemplates[] = {
    "gpu-hour.tit.json",           "gpu-hour.tst.json",       "tiered-time-of-day.tit.json",
    "tiered-time-of-day.tst.json", "storage-lease.tit.json", "storage-lease.tst.json",
};

std::string ReadSchemaFile(const std::string& relative) {
  auto content = ReadFile(std::string(TCC_SCHEMAS_DIR) + "/" + relative);
  REQUIRE_MESSAGE(content.ok(), relative);
  return content.value();
}

Json ReadSchemaJson(const std::string& relative) {
  auto parsed = Json::Parse(ReadSchemaFile(relative));
  REQUIRE_MESSAGE(parsed.ok(), relative << ": " << (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

Template Example(const std::string& name) {
  auto parsed = Template::Parse(ReadSchemaFile("examples/" + name));
  REQUIRE_MESSAGE(parsed.ok(), name << ": " << (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

void ExpectRejected(const Json& document, std::string_view fragment) {
  auto parsed = Template::FromJson(document);
  REQUIRE_MESSAGE(!parsed.ok(), document.Serialize());
  CHECK(parsed.error().code() == ErrorCode::kInvalidArgument);
  CHECK_MESSAGE(parsed.error().message().find(fragment) != std::string::npos,
                parsed.error().message() << " lacks: " << fragment);
}

TEST_CASE("the embedded meta-schemas are the files in schemas/ and compile") {
  CHECK(TemplateMetaSchemaText(TemplateKind::kTit) ==
        ReadSchemaFile("tit-template.schema.json"));
  CHECK(TemplateMetaSchemaText(TemplateKind::kTst) ==
        ReadSchemaFile("tst-template.schema.json"));
  for (TemplateKind kind : {TemplateKind::kTit, TemplateKind::kTst}) {
    auto schema = Json::Parse(TemplateMetaSchemaText(kind));
    REQUIRE(schema.ok());
    CHECK(SchemaValidator::Compile(*schema).ok());
  }
}

TEST_CASE("every example template is valid against its meta-schema and compiles") {
  for (const char* name : kExampleTemplates) {
    CAPTURE(name);
    Json document = ReadSchemaJson(std::string("examples/") + name);
    const std::string kind = document.Find("kind")->as_string();
    auto meta = SchemaValidator::Compile(ReadSchemaJson(kind == "TIT" ? "tit-template.schema.json"
                                                                      : "tst-template.schema.json"));
    REQUIRE(meta.ok());
    for (const auto& violation : meta->Validate(document)) FAIL_CHECK(violation.ToString());
    Template parsed = Example(name);
    CHECK(parsed.kind() == (kind == "TIT" ? TemplateKind::kTit : TemplateKind::kTst));
    CHECK(parsed.owner() == kProvider);
    CHECK(parsed.version() == 1);
    // Every EFSC field of the kind is declared and required.
    for (std::string_view member : CoreClaimMembers(parsed.kind())) {
      CHECK(parsed.claim_schema().Find("properties")->Contains(member));
    }
  }
}

TEST_CASE("sample claims validate or fail exactly as schemas/examples/claims/cases.json says") {
  Json manifest = ReadSchemaJson("examples/claims/cases.json");
  const JsonArray& cases = manifest.Find("cases")->as_array();
  CHECK(cases.size() >= 10);
  int valid = 0;
  for (const Json& test_case : cases) {
    std::string template_name = test_case.Find("template")->as_string();
    std::string claim_name = test_case.Find("claim")->as_string();
    CAPTURE(template_name);
    CAPTURE(claim_name);
    Template tmpl = Example(template_name);
    Json claim = ReadSchemaJson("examples/" + claim_name);
    std::vector<std::string> expected;
    for (const Json& pair : test_case.Find("violations")->as_array()) {
      expected.push_back(pair.as_array()[0].as_string() + " " + pair.as_array()[1].as_string());
    }
    std::vector<std::string> actual;
    std::string messages;
    for (const auto& violation : tmpl.claim_validator().Validate(claim)) {
      const std::string& schema_path = violation.schema_path;
      actual.push_back(violation.instance_path + " " +
                       schema_path.substr(schema_path.rfind('/') + 1));
      messages += "\n  " + violation.ToString();
    }
    INFO("violations:" << messages);
    CHECK(actual == expected);
    CHECK(tmpl.claim_validator().IsValid(claim) == expected.empty());
    valid += expected.empty();
  }
  CHECK(valid >= 6);  // each example template has at least one valid claim
}

TEST_CASE("settlement claims carry channel, seq and prev in every example TST") {
  for (const char* name : {"gpu-hour.tst.json", "tiered-time-of-day.tst.json",
                           "storage-lease.tst.json"}) {
    CAPTURE(name);
    Template tst = Example(name);
    Json claim = ReadSchemaJson(std::string("examples/claims/") +
                                (std::string(name) == "gpu-hour.tst.json"       ? "gpu-hour"
                                 : std::string(name) == "storage-lease.tst.json" ? "storage-lease"
                                                                                  : "tiered") +
                                ".tsc-claim.json");
    for (std::string_view member : SettlementLinkMembers()) CHECK(claim.Contains(member));
    CHECK(tst.claim_validator().IsValid(claim));
  }
}

TEST_CASE("template accessors and the content hash") {
  Template tit = Example("gpu-hour.tit.json");
  CHECK(tit.id() == "example.gpu-hour.tit");
  CHECK(tit.kind() == TemplateKind::kTit);
  CHECK(TemplateKindName(tit.kind()) == "TIT");
  CHECK(TemplateKindName(TemplateKind::kTst) == "TST");
  CHECK(tit.title() == "GPU hours, billed per GPU-hour, settled every minute");
  CHECK(tit.claim_schema() == *tit.document().Find("claimSchema"));
  auto canonical = Canonicalize(tit.document());
  REQUIRE(canonical.ok());
  CHECK(tit.content_hash() == Sha256(*canonical));
  CHECK(tit.content_hash_hex() == HexEncode(tit.content_hash()));
  CHECK(tit.content_hash_hex().size() == 64);

  // The hash is over the canonical form: member order and whitespace do not matter...
  Json reordered = Json::Object();
  const JsonObject& members = tit.document().as_object();
  for (auto it = members.rbegin(); it != members.rend(); ++it) reordered.Set(it->first, it->second);
  auto same = Template::Parse(reordered.SerializePretty());
  REQUIRE(same.ok());
  CHECK(same->content_hash() == tit.content_hash());
  // ...but any change of content does.
  Json retitled = tit.document();
  retitled.Set("title", "GPU hours");
  auto changed = Template::FromJson(retitled);
  REQUIRE(changed.ok());
  CHECK(changed->content_hash() != tit.content_hash());
}

TEST_CASE("template documents are checked against the meta-schema of their kind") {
  const Json tit = ReadSchemaJson("examples/gpu-hour.tit.json");
  const Json tst = ReadSchemaJson("examples/gpu-hour.tst.json");
  auto with = [](Json document, std::string_view key, Json value) {
    document.Set(key, std::move(value));
    return document;
  };
  auto without = [](Json document, std::string_view key) {
    document.Erase(key);
    return document;
  };
  ExpectRejected(Json("x"), "template: a template document must be a JSON object");
  ExpectRejected(without(tit, "kind"), "template: member \"kind\" must be \"TIT\" or \"TST\"");
  ExpectRejected(with(tit, "kind", "TIC"), "member \"kind\" must be \"TIT\" or \"TST\"");
  ExpectRejected(without(tit, "owner"),
                 "template: TIT meta-schema: does not match the schema (1 violation): /owner: "
                 "required member \"owner\" is missing");
  ExpectRejected(with(tit, "owner", "provider-1"), "/owner: \"provider-1\" does not match");
  ExpectRejected(with(tit, "owner", "did:key:"), "/owner:");
  ExpectRejected(with(tit, "version", 0), "/version: must be >= 1, got 0");
  ExpectRejected(with(tit, "version", 1.5), "/version: expected integer, got number 1.5");
  ExpectRejected(with(tit, "version", "1"), "/version: expected integer");
  ExpectRejected(with(tit, "id", "-bad id"), "/id:");
  ExpectRejected(with(tit, "id", std::string(129, 'a')), "/id:");
  ExpectRejected(with(tit, "title", ""), "/title: must be at least 1 characters long");
  ExpectRejected(with(tit, "created", "2025-01-01T00:00:00Z"),
                 "/created: member \"created\" is not allowed");
  ExpectRejected(with(tit, "claimSchema", true), "/claimSchema: expected object, got boolean");
  // A TST document labelled TIT fails the TIT meta-schema (its claim lacks the TIT fields).
  ExpectRejected(with(tst, "kind", "TIT"),
                 "/claimSchema/properties/computeSpec: required member \"computeSpec\" is missing");
  // Several problems are all reported.
  auto parsed = Template::FromJson(with(with(tit, "version", 0), "owner", "x"));
  REQUIRE(!parsed.ok());
  CHECK(parsed.error().message().find("(2 violations)") != std::string::npos);
}

TEST_CASE("claim schemas must declare and require the EFSC fields") {
  const Json tit = ReadSchemaJson("examples/gpu-hour.tit.json");
  const Json tst = ReadSchemaJson("examples/gpu-hour.tst.json");
  auto edit_claim_schema = [](Json document, auto&& edit) {
    edit(*document.Find("claimSchema"));
    return document;
  };
  ExpectRejected(edit_claim_schema(tit, [](Json& s) { s.Find("properties")->Erase("tst"); }),
                 "/claimSchema/properties/tst: required member \"tst\" is missing");
  ExpectRejected(edit_claim_schema(tit, [](Json& s) { s.Set("type", "array"); }),
                 "/claimSchema/type: must equal \"object\"");
  ExpectRejected(edit_claim_schema(tit, [](Json& s) { s.Erase("required"); }),
                 "/claimSchema/required: required member \"required\" is missing");
  ExpectRejected(edit_claim_schema(tit,
                                   [](Json& s) {
                                     s.Find("properties")->Find("settlement")->Find("properties")->Erase("n");
                                   }),
                 "/claimSchema/properties/settlement/properties/n: required member \"n\"");
  ExpectRejected(edit_claim_schema(tit,
                                   [](Json& s) {
                                     s.Find("properties")->Set("provider", true);
                                   }),
                 "/claimSchema/properties/provider: expected object, got boolean");
  // Required-ness is checked in code (the subset has no `contains`).
  ExpectRejected(edit_claim_schema(tit,
                                   [](Json& s) {
                                     s.Set("required", Json(JsonArray{"provider", "consumer"}));
                                   }),
                 "template: the claim schema must require the EFSC TIT members: "
                 "/claimSchema/required lacks \"computeSpec\", /claimSchema/required lacks "
                 "\"unitPrice\"");
  ExpectRejected(edit_claim_schema(tit,
                                   [](Json& s) {
                                     s.Find("properties")->Find("tst")->Set(
                                         "required", Json(JsonArray{"id"}));
                                   }),
                 "/claimSchema/properties/tst/required lacks \"version\"");
  ExpectRejected(edit_claim_schema(tst,
                                   [](Json& s) {
                                     s.Set("required", Json(JsonArray{"provider", "consumer", "fee",
                                                                      "start", "end", "usage"}));
                                   }),
                 "EFSC TST members: /claimSchema/required lacks \"encryption\"");
}

TEST_CASE("a TST claim schema must admit channel, seq and prev") {
  const Json tst = ReadSchemaJson("examples/gpu-hour.tst.json");
  Json closed = tst;
  closed.Find("claimSchema")->Find("properties")->Erase("seq");
  closed.Find("claimSchema")->Find("properties")->Erase("prev");
  ExpectRejected(closed,
                 "the claim schema restricts additionalProperties, so it must declare the members "
                 "the TCC adds to settlement claims: \"seq\", \"prev\" missing");
  Json open = closed;
  open.Find("claimSchema")->Erase("additionalProperties");
  CHECK(Template::FromJson(open).ok());
  open.Find("claimSchema")->Set("additionalProperties", true);
  CHECK(Template::FromJson(open).ok());
  open.Find("claimSchema")->Set("additionalProperties", Json::Object());
  ExpectRejected(open, "must declare the members");
  // TITs carry no settlement links.
  CHECK(Template::FromJson(ReadSchemaJson("examples/gpu-hour.tit.json")).ok());
}

TEST_CASE("a claim schema that does not compile is rejected with its location") {
  Json tst = ReadSchemaJson("examples/gpu-hour.tst.json");
  tst.Find("claimSchema")->Find("properties")->Find("usage")->Set("pattern", "(");
  ExpectRejected(tst, "template: claimSchema: schema /properties/usage/pattern: invalid regular "
                      "expression");
  tst = ReadSchemaJson("examples/gpu-hour.tst.json");
  tst.Find("claimSchema")->Find("$defs")->Find("did")->Set("$ref", "#/$defs/did");
  ExpectRejected(tst, "template: claimSchema: schema /$defs/did: $ref forms a cycle");
  tst = ReadSchemaJson("examples/gpu-hour.tst.json");
  tst.Find("claimSchema")->Find("properties")->Find("fee")->Set("minimun", 0);
  ExpectRejected(tst, "unknown or unsupported keyword \"minimun\"");
}

TEST_CASE("Template::Parse enforces strict JSON and a size limit") {
  auto bad = Template::Parse("{\"kind\":\"TIT\",\"kind\":\"TST\"}");
  REQUIRE(!bad.ok());
  CHECK(bad.error().code() == ErrorCode::kParse);
  CHECK(bad.error().message().find("template: ") == 0);
  auto huge = Template::Parse(std::string(kMaxTemplateBytes + 1, ' '));
  REQUIRE(!huge.ok());
  CHECK(huge.error().code() == ErrorCode::kResourceExhausted);
  CHECK(!Template::Parse("").ok());
}

TEST_CASE("a programmatic document with NaN is rejected, not hashed") {
  Json tit = ReadSchemaJson("examples/gpu-hour.tit.json");
  tit.Find("claimSchema")->Set("default", std::nan(""));
  auto parsed = Template::FromJson(tit);
  CHECK(!parsed.ok());
}

TEST_CASE("copies share the compiled template") {
  Template original = Example("storage-lease.tst.json");
  Template copy = original;
  CHECK(&copy.document() == &original.document());
  CHECK(copy.content_hash() == original.content_hash());
}

}  // namespace
}  // namespace tcc::vc
