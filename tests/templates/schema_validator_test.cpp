#include "tcc/vc/schema_validator.h"

#include <doctest/doctest.h>

#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tcc/common/file.h"
#include "test_util.h"

namespace tcc::vc {
namespace {

Json ParseJson(std::string_view text) {
  auto parsed = Json::Parse(text);
  REQUIRE_MESSAGE(parsed.ok(), text << ": " << (parsed.ok() ? "" : parsed.error().ToString()));
  return parsed.value();
}

SchemaValidator CompileOk(std::string_view schema) {
  auto validator = SchemaValidator::Compile(ParseJson(schema));
  REQUIRE_MESSAGE(validator.ok(), schema << ": "
                                         << (validator.ok() ? "" : validator.error().ToString()));
  return validator.value();
}

// Compiling must fail with kInvalidArgument and a message naming `fragment` (location + reason).
void ExpectBadSchema(std::string_view schema, std::string_view fragment,
                     ErrorCode code = ErrorCode::kInvalidArgument) {
  auto validator = SchemaValidator::Compile(ParseJson(schema));
  REQUIRE_MESSAGE(!validator.ok(), schema);
  CHECK(validator.error().code() == code);
  CHECK_MESSAGE(validator.error().message().find(fragment) != std::string::npos,
                validator.error().message() << " lacks: " << fragment);
}

using PathAndKeyword = std::pair<std::string, std::string>;

std::string LastToken(const std::string& pointer) {
  return pointer.substr(pointer.rfind('/') + 1);
}

// Validates and returns (instance path, failing keyword) pairs; also checks that IsValid() and
// Check() agree with Validate().
std::vector<PathAndKeyword> Failures(const SchemaValidator& validator, std::string_view instance) {
  Json value = ParseJson(instance);
  std::vector<Violation> violations = validator.Validate(value);
  CHECK(validator.IsValid(value) == violations.empty());
  Status status = validator.Check(value);
  CHECK(status.ok() == violations.empty());
  if (!status.ok()) CHECK(status.error().code() == ErrorCode::kVerificationFailed);
  std::vector<PathAndKeyword> out;
  for (const auto& violation : violations) {
    CHECK(!violation.message.empty());
    out.emplace_back(violation.instance_path, LastToken(violation.schema_path));
  }
  return out;
}

std::vector<PathAndKeyword> Failures(std::string_view schema, std::string_view instance) {
  return Failures(CompileOk(schema), instance);
}

using Expected = std::vector<PathAndKeyword>;

TEST_CASE("type: every name, integer versus number, unions") {
  struct Row {
    const char* type;
    const char* instance;
    bool valid;
  };
  const Row rows[] = {
      {"null", "null", true},         {"null", "0", false},
      {"boolean", "true", true},      {"boolean", "1", false},
      {"object", "{}", true},         {"object", "[]", false},
      {"array", "[]", true},          {"array", "{}", false},
      {"number", "1.5", true},        {"number", "7", true},
      {"number", "\"7\"", false},     {"string", "\"x\"", true},
      {"string", "null", false},      {"integer", "7", true},
      {"integer", "7.0", true},       {"integer", "7.5", false},
      {"integer", "-0", true},        {"integer", "1e300", true},
  };
  for (const auto& row : rows) {
    CAPTURE(row.type);
    CAPTURE(row.instance);
    auto failures = Failures(std::string("{\"type\":\"") + row.type + "\"}", row.instance);
    CHECK(failures.empty() == row.valid);
    if (!row.valid) CHECK(failures == Expected{{"", "type"}});
  }
  CHECK(Failures(R"({"type":["string","null"]})", "null").empty());
  CHECK(Failures(R"({"type":["string","null"]})", "\"a\"").empty());
  CHECK(Failures(R"({"type":["string","null"]})", "3") == Expected{{"", "type"}});
}

TEST_CASE("type mismatch message names expected and actual, and skips the other keywords") {
  auto validator = CompileOk(R"({"type":["integer","null"],"minimum":5,"enum":[6,7]})");
  auto violations = validator.Validate(ParseJson("2.5"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].message == "expected null or integer, got number 2.5");
  CHECK(violations[0].schema_path == "/type");
  CHECK(violations[0].ToString() == "(root): expected null or integer, got number 2.5");
}

TEST_CASE("properties apply per member; paths name the member") {
  const char* schema = R"({"type":"object","properties":{
      "a":{"type":"string"},"b":{"type":"object","properties":{"c":{"type":"integer"}}}}})";
  CHECK(Failures(schema, R"({"a":"x","b":{"c":1},"other":true})").empty());
  CHECK(Failures(schema, R"({"a":1,"b":{"c":"no"}})") ==
        Expected{{"/a", "type"}, {"/b/c", "type"}});
  CHECK(Failures(schema, "[]") == Expected{{"", "type"}});
  // Without `type`, object keywords ignore non-objects.
  CHECK(Failures(R"({"properties":{"a":{"type":"string"}}})", "42").empty());
}

TEST_CASE("required: a missing member is reported at its own path, after the present ones") {
  const char* schema = R"({"type":"object","required":["x","y","z"],
      "properties":{"x":{"type":"string"},"y":{"type":"string"}}})";
  CHECK(Failures(schema, R"({"x":"1","y":"2","z":3})").empty());
  auto validator = CompileOk(schema);
  auto violations = validator.Validate(ParseJson(R"({"y":2})"));
  REQUIRE(violations.size() == 3);
  CHECK(violations[0].instance_path == "/y");
  CHECK(violations[1].instance_path == "/x");
  CHECK(violations[1].schema_path == "/required");
  CHECK(violations[1].message == "required member \"x\" is missing");
  CHECK(violations[2].instance_path == "/z");
}

TEST_CASE("required with more than 64 names") {
  std::string required;
  std::string full;
  for (int i = 0; i < 100; ++i) {
    required += (i ? "," : "") + std::string("\"m") + std::to_string(i) + "\"";
    full += (i ? "," : "") + std::string("\"m") + std::to_string(i) + "\":" + std::to_string(i);
  }
  auto validator = CompileOk("{\"required\":[" + required + "]}");
  CHECK(Failures(validator, "{" + full + "}").empty());
  CHECK(Failures(validator, R"({"m0":0,"m70":1})").size() == 98);
  // A tree built in code may repeat a member; repeats must not count twice.
  Json repeated = ParseJson(R"({"m0":0})");
  const Json zero(0);
  for (int i = 0; i < 99; ++i) repeated.as_object().emplace_back("m0", zero);
  CHECK(validator.Validate(repeated).size() == 99);
}

TEST_CASE("additionalProperties: false and as a schema") {
  const char* closed = R"({"properties":{"a":{}},"additionalProperties":false})";
  CHECK(Failures(closed, R"({"a":1})").empty());
  auto violations = CompileOk(closed).Validate(ParseJson(R"({"a":1,"b":2,"c":3})"));
  REQUIRE(violations.size() == 2);
  CHECK(violations[0].instance_path == "/b");
  CHECK(violations[0].schema_path == "/additionalProperties");
  CHECK(violations[0].message == "member \"b\" is not allowed (additionalProperties is false)");
  CHECK(Failures(R"({"properties":{"a":{}},"additionalProperties":{"type":"integer"}})",
                 R"({"a":"any","b":2,"c":"x"})") == Expected{{"/c", "type"}});
  // A name that is only required (not in properties) is still an additional property.
  CHECK(Failures(R"({"required":["a"],"additionalProperties":false})", R"({"a":1})") ==
        Expected{{"/a", "additionalProperties"}});
  CHECK(Failures(R"({"properties":{"a":{}},"additionalProperties":true})", R"({"z":1})").empty());
}

TEST_CASE("enum and const use JSON equality") {
  const char* schema = R"({"enum":["a",1,null,{"k":[1,2],"j":true}]})";
  CHECK(Failures(schema, "\"a\"").empty());
  CHECK(Failures(schema, "1.0").empty());
  CHECK(Failures(schema, "null").empty());
  CHECK(Failures(schema, R"({"j":true,"k":[1,2]})").empty());  // member order is irrelevant
  CHECK(Failures(schema, R"({"j":true,"k":[2,1]})") == Expected{{"", "enum"}});
  CHECK(Failures(schema, R"({"j":true})") == Expected{{"", "enum"}});
  CHECK(Failures(schema, "\"b\"") == Expected{{"", "enum"}});
  CHECK(Failures(schema, "false") == Expected{{"", "enum"}});
  auto violations = CompileOk(R"({"enum":["x","y"]})").Validate(ParseJson("\"z\""));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].message == R"(must be one of ["x","y"], got "z")");

  CHECK(Failures(R"({"const":{"a":[1,"b"]}})", R"({"a":[1,"b"]})").empty());
  CHECK(Failures(R"({"const":{"a":[1,"b"]}})", R"({"a":[1,"b"],"c":0})") ==
        Expected{{"", "const"}});
  CHECK(Failures(R"({"const":60})", "60.0").empty());
  violations = CompileOk(R"({"const":60})").Validate(ParseJson("61"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].message == "must equal 60, got 61");
}

TEST_CASE("numeric bounds are inclusive or exclusive as named") {
  const char* schema =
      R"({"minimum":0,"maximum":10,"exclusiveMinimum":-1,"exclusiveMaximum":10.5})";
  CHECK(Failures(schema, "0").empty());
  CHECK(Failures(schema, "10").empty());
  CHECK(Failures(schema, "\"not a number\"").empty());
  CHECK(Failures(schema, "-0.5") == Expected{{"", "minimum"}});
  CHECK(Failures(schema, "10.25") == Expected{{"", "maximum"}});
  CHECK(Failures(R"({"exclusiveMinimum":0})", "0") == Expected{{"", "exclusiveMinimum"}});
  CHECK(Failures(R"({"exclusiveMinimum":0})", "1e-9").empty());
  CHECK(Failures(R"({"exclusiveMaximum":100})", "100") == Expected{{"", "exclusiveMaximum"}});
  CHECK(Failures(R"({"minimum":5,"exclusiveMinimum":5})", "4") ==
        Expected{{"", "minimum"}, {"", "exclusiveMinimum"}});
  auto violations = CompileOk(R"({"minimum":0})").Validate(ParseJson(R"({"x":-5})"));
  CHECK(violations.empty());
  violations = CompileOk(R"({"properties":{"gpuSeconds":{"minimum":0}}})")
                   .Validate(ParseJson(R"({"gpuSeconds":-5})"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].ToString() == "/gpuSeconds: must be >= 0, got -5");
  CHECK(violations[0].schema_path == "/properties/gpuSeconds/minimum");
}

TEST_CASE("multipleOf: integers and decimal steps") {
  CHECK(Failures(R"({"multipleOf":5})", "15").empty());
  CHECK(Failures(R"({"multipleOf":5})", "0").empty());
  CHECK(Failures(R"({"multipleOf":5})", "-10").empty());
  CHECK(Failures(R"({"multipleOf":5})", "\"x\"").empty());
  CHECK(Failures(R"({"multipleOf":5})", "12") == Expected{{"", "multipleOf"}});
  // Cents: 0.38 / 0.01 is 37.99999... in binary floating point, and must still pass.
  CHECK(Failures(R"({"multipleOf":0.01})", "0.38").empty());
  CHECK(Failures(R"({"multipleOf":0.01})", "19.99").empty());
  CHECK(Failures(R"({"multipleOf":0.01})", "0.385") == Expected{{"", "multipleOf"}});
  CHECK(Failures(R"({"multipleOf":0.5})", "1e300").empty());
  auto violations =
      CompileOk(R"({"properties":{"n":{"multipleOf":10}}})").Validate(ParseJson(R"({"n":25})"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].ToString() == "/n: must be a multiple of 10, got 25");
  CHECK(violations[0].schema_path == "/properties/n/multipleOf");
}

TEST_CASE("anyOf and oneOf: at least one, exactly one") {
  const char* any =
      R"({"anyOf":[{"type":"integer","minimum":10},{"type":"string","pattern":"^[0-9]+$"}]})";
  CHECK(Failures(any, "12").empty());
  CHECK(Failures(any, "\"7\"").empty());
  CHECK(Failures(any, "3") == Expected{{"", "anyOf"}});
  CHECK(Failures(any, "\"seven\"") == Expected{{"", "anyOf"}});
  const char* one = R"({"oneOf":[{"type":"integer"},{"type":"number","minimum":5}]})";
  CHECK(Failures(one, "2").empty());                       // integer only
  CHECK(Failures(one, "5.5").empty());                     // number >= 5 only
  CHECK(Failures(one, "7") == Expected{{"", "oneOf"}});    // both
  CHECK(Failures(one, "1.5") == Expected{{"", "oneOf"}});  // neither
  auto violations = CompileOk(one).Validate(ParseJson("7"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].ToString() ==
        "(root): must match exactly one of the 2 schemas in oneOf, matched more than one");
  violations = CompileOk(one).Validate(ParseJson("1.5"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].ToString() ==
        "(root): must match exactly one of the 2 schemas in oneOf, matched none");
  // A tagged union of claim shapes, through $defs, beside other keywords; paths name the member.
  const char* tagged = R"({"type":"object","required":["pricing"],"properties":{"pricing":{"oneOf":[
      {"$ref":"#/$defs/flat"},{"$ref":"#/$defs/tiered"}]}},
      "$defs":{"flat":{"type":"object","required":["kind","price"],"additionalProperties":false,
                       "properties":{"kind":{"const":"flat"},"price":{"type":"string"}}},
               "tiered":{"type":"object","required":["kind","tiers"],"additionalProperties":false,
                         "properties":{"kind":{"const":"tiered"},"tiers":{"type":"array","minItems":1}}}}})";
  CHECK(Failures(tagged, R"({"pricing":{"kind":"flat","price":"2.85"}})").empty());
  CHECK(Failures(tagged, R"({"pricing":{"kind":"tiered","tiers":[1]}})").empty());
  CHECK(Failures(tagged, R"({"pricing":{"kind":"tiered","price":"2.85"}})") ==
        Expected{{"/pricing", "oneOf"}});
  // The branches' own violations are not reported: only the combinator's.
  CHECK(Failures(R"({"anyOf":[{"minimum":1}],"maximum":0})", "0.5") ==
        Expected{{"", "anyOf"}, {"", "maximum"}});
}

TEST_CASE("anyOf/oneOf that would multiply validation work are refused at compile time") {
  // Each level offers two branches whose member is the next level: 2^20 subschemas would apply to
  // the innermost value. Refused, whatever the claim; a few levels compile.
  auto levels = [](int count) {
    std::string schema = "{\"$defs\":{";
    for (int i = 0; i < count; ++i) {
      std::string next = "{\"$ref\":\"#/$defs/l" + std::to_string(i + 1) + "\"}";
      schema += (i ? "," : "") + std::string("\"l") + std::to_string(i) +
                "\":{\"anyOf\":[{\"properties\":{\"a\":" + next +
                "}},{\"properties\":{\"a\":" + next + "}}]}";
    }
    schema +=
        ",\"l" + std::to_string(count) + "\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/l0\"}";
    return schema;
  };
  ExpectBadSchema(levels(20), "subschemas would apply to one value", ErrorCode::kResourceExhausted);
  auto validator = CompileOk(levels(6));
  CHECK(Failures(validator, R"({"a":{"a":{"a":{"a":{"a":{"a":1}}}}}})").empty());
  CHECK(Failures(validator, R"({"a":{"a":{"a":{"a":{"a":{"a":"x"}}}}}})") ==
        Expected{{"", "anyOf"}});
}

TEST_CASE("string lengths count code points, not bytes") {
  const char* schema = R"({"minLength":2,"maxLength":3})";
  CHECK(Failures(schema, "\"ab\"").empty());
  CHECK(Failures(schema, "\"h\u00e9\u00e9\"").empty());   // 3 code points, 5 bytes
  CHECK(Failures(schema, "\"\U0001F600\U0001F600\"").empty());  // 2 code points, 8 bytes
  CHECK(Failures(schema, "\"a\"") == Expected{{"", "minLength"}});
  CHECK(Failures(schema, "\"abcd\"") == Expected{{"", "maxLength"}});
  CHECK(Failures(schema, "12345").empty());
  auto violations = CompileOk(schema).Validate(ParseJson("\"a\""));
  CHECK(violations[0].message == "must be at least 2 characters long, got 1");
}

TEST_CASE("pattern is an unanchored RE2 search") {
  CHECK(Failures(R"({"pattern":"b+"})", "\"abbc\"").empty());
  CHECK(Failures(R"({"pattern":"^b+$"})", "\"abbc\"") == Expected{{"", "pattern"}});
  CHECK(Failures(R"({"pattern":"^[0-9]{3}$"})", "\"123\"").empty());
  CHECK(Failures(R"({"pattern":"^\\p{L}+$"})", "\"\u00e9t\u00e9\"").empty());  // UTF-8 aware
  CHECK(Failures(R"({"pattern":"^.$"})", "\"\u00e9\"").empty());
  CHECK(Failures(R"({"pattern":"x"})", "17").empty());
  auto violations = CompileOk(R"({"pattern":"^did:"})").Validate(ParseJson("\"uri:x\""));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].message == R"("uri:x" does not match the pattern "^did:")");
  // Pathological for backtracking engines, linear for RE2.
  std::string long_a(100000, 'a');
  CHECK(Failures(R"({"pattern":"^(a+)+$"})", "\"" + long_a + "b\"") == Expected{{"", "pattern"}});
}

TEST_CASE("long values are cut in messages") {
  std::string long_text(1000, 'x');
  auto violations = CompileOk(R"({"pattern":"^y"})").Validate(Json(long_text));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].message.size() < 200);
  CHECK(violations[0].message.find("...\"") != std::string::npos);
}

TEST_CASE("format date-time follows RFC 3339") {
  const char* schema = R"({"format":"date-time"})";
  for (const char* good : {"2025-03-01T09:16:00Z", "2025-03-01t09:16:00z",
                           "2024-02-29T23:59:59.123456+08:00", "2025-12-31T00:00:00-00:30"}) {
    CAPTURE(good);
    CHECK(Failures(schema, std::string("\"") + good + "\"").empty());
  }
  for (const char* bad : {"2025-02-29T00:00:00Z", "2025-13-01T00:00:00Z", "2025-03-01 09:16:00Z",
                          "2025-03-01T09:16:00", "2025-03-01T24:00:00Z", "2025-03-01T09:16:00.Z",
                          "2025-03-01T09:16:00+0800", "2025-3-1T09:16:00Z", "",
                          "2025-03-01T09:16:00Zjunk", "2025-06-30T23:59:60Z"}) {
    CAPTURE(bad);
    CHECK(Failures(schema, std::string("\"") + bad + "\"") == Expected{{"", "format"}});
  }
  CHECK(Failures(schema, "20250301").empty());  // formats apply to strings only
  auto violations = CompileOk(schema).Validate(Json("2025-02-30T00:00:00Z"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].message.find("2025-02-30T00:00:00Z") != std::string::npos);
}

TEST_CASE("items, minItems and maxItems; element paths are indices") {
  const char* schema = R"({"type":"array","minItems":1,"maxItems":3,
      "items":{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}})";
  CHECK(Failures(schema, R"([{"n":1},{"n":2}])").empty());
  CHECK(Failures(schema, "[]") == Expected{{"", "minItems"}});
  CHECK(Failures(schema, R"([{"n":1},{"n":1},{"n":1},{"n":1}])") == Expected{{"", "maxItems"}});
  CHECK(Failures(schema, R"([{"n":1},{"n":"2"},{}])") ==
        Expected{{"/1/n", "type"}, {"/2/n", "required"}});
  CHECK(Failures(R"({"items":{"type":"string"}})", R"({"0":1})").empty());
}

TEST_CASE("instance paths escape ~ and / as JSON Pointer requires") {
  auto violations = CompileOk(R"({"additionalProperties":{"type":"string"}})")
                        .Validate(ParseJson(R"({"a/b":1,"c~d":2,"":3})"));
  REQUIRE(violations.size() == 3);
  CHECK(violations[0].instance_path == "/a~1b");
  CHECK(violations[1].instance_path == "/c~0d");
  CHECK(violations[2].instance_path == "/");
  auto by_schema = CompileOk(R"({"properties":{"a/b":{"type":"string"}}})");
  violations = by_schema.Validate(ParseJson(R"({"a/b":1})"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].schema_path == "/properties/a~1b/type");
}

TEST_CASE("$ref to $defs, with siblings, chains and escaped names") {
  const char* schema = R"({
    "$defs": {
      "did": {"type":"string","pattern":"^did:"},
      "strict did": {"$ref":"#/$defs/did","maxLength":10},
      "a/b": {"type":"integer"},
      "nested": {"$defs": {"inner": {"const": 1}}}
    },
    "properties": {
      "p": {"$ref":"#/$defs/did"},
      "q": {"$ref":"#/$defs/strict%20did"},
      "r": {"$ref":"#/$defs/a~1b"},
      "s": {"$ref":"#/$defs/nested/$defs/inner"},
      "t": {"$ref":"#/properties/r"}
    }})";
  auto validator = CompileOk(schema);
  CHECK(Failures(validator, R"({"p":"did:x","q":"did:y","r":1,"s":1,"t":2})").empty());
  CHECK(Failures(validator, R"({"p":"x","q":"did:abcdefghij","r":1.5,"s":2,"t":"x"})") ==
        Expected{{"/p", "pattern"}, {"/q", "maxLength"}, {"/r", "type"}, {"/s", "const"},
                 {"/t", "type"}});
  // Violations found through a $ref name the referenced location.
  auto violations = validator.Validate(ParseJson(R"({"p":"x"})"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].schema_path == "/$defs/did/pattern");
  // `#` is the whole schema; fine when it does not recurse.
  CHECK(Failures(R"({"$defs":{"root":{"$ref":"#/$defs/x"},"x":{"type":"null"}},
                     "$ref":"#/$defs/root"})", "1") == Expected{{"", "type"}});
}

TEST_CASE("boolean schemas") {
  CHECK(Failures("true", R"({"anything":[1]})").empty());
  CHECK(Failures("false", "null") == Expected{{"", ""}});
  auto violations =
      CompileOk(R"({"properties":{"gone":false}})").Validate(ParseJson(R"({"gone":1})"));
  REQUIRE(violations.size() == 1);
  CHECK(violations[0].instance_path == "/gone");
  CHECK(violations[0].schema_path == "/properties/gone");
  CHECK(violations[0].message == "no value is allowed here");
  CHECK(Failures(R"({"items":false})", "[]").empty());
  CHECK(Failures(R"({"items":false})", "[0]") == Expected{{"/0", "items"}});
}

TEST_CASE("every violation is reported; IsValid stops at the first") {
  const char* schema = R"({"type":"object","additionalProperties":false,"required":["a","b"],
      "properties":{"a":{"type":"integer","minimum":0,"maximum":5,"enum":[1,2,3]},
                    "b":{"type":"array","items":{"type":"string","minLength":2}}}})";
  auto failures = Failures(schema, R"({"a":7,"b":["x","yy",3,"z"],"c":0})");
  CHECK(failures == Expected{{"/a", "enum"},
                             {"/a", "maximum"},
                             {"/b/0", "minLength"},
                             {"/b/2", "type"},
                             {"/b/3", "minLength"},
                             {"/c", "additionalProperties"}});
  auto validator = CompileOk(schema);
  Status status = validator.Check(ParseJson(R"({"a":7,"b":[]})"));
  REQUIRE(!status.ok());
  CHECK(status.error().message() ==
        "does not match the schema (2 violations): /a: must be one of [1,2,3], got 7; "
        "/a: must be <= 5, got 7");
}

TEST_CASE("Check lists at most 20 violations") {
  auto validator = CompileOk(R"({"items":{"type":"string"}})");
  JsonArray many(30, Json(1));
  Status status = validator.Check(Json(many));
  REQUIRE(!status.ok());
  CHECK(status.error().message().find("(30 violations)") != std::string::npos);
  CHECK(status.error().message().find("and 10 more") != std::string::npos);
}

TEST_CASE("annotations are accepted and ignored") {
  CHECK(Failures(R"({"$schema":"https://json-schema.org/draft/2020-12/schema",
                     "$id":"urn:example:x","$comment":"c","title":"t","description":"d",
                     "default":5,"examples":[1,2],"type":"integer"})", "3")
            .empty());
}

TEST_CASE("validators are shareable across threads") {
  auto validator = CompileOk(R"({"properties":{"n":{"type":"integer","minimum":0}},
                                  "additionalProperties":{"pattern":"^ok$"}})");
  SchemaValidator copy = validator;
  Json good = ParseJson(R"({"n":3,"x":"ok"})");
  Json bad = ParseJson(R"({"n":-3,"x":"no"})");
  std::vector<std::thread> threads;
  std::vector<int> errors(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        if (!copy.IsValid(good) || copy.Validate(bad).size() != 2) ++errors[t];
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(errors == std::vector<int>(4, 0));
}

TEST_CASE("bad schemas are rejected at compile time, naming the location") {
  // Unknown or unsupported keywords, including typos that would weaken a template.
  ExpectBadSchema(R"({"properties":{"a":{"minimun":1}}})",
                  "schema /properties/a: unknown or unsupported keyword \"minimun\"");
  ExpectBadSchema(R"({"allOf":[{}]})", "schema (root): unknown or unsupported keyword \"allOf\"");
  ExpectBadSchema(R"({"not":{}})", "schema (root): unknown or unsupported keyword \"not\"");
  ExpectBadSchema(R"({"oneOf":[]})", "schema /oneOf: must be a non-empty array of schemas");
  ExpectBadSchema(R"({"anyOf":{}})", "schema /anyOf: must be a non-empty array of schemas");
  ExpectBadSchema(R"({"anyOf":[{"minimun":1}]})",
                  "schema /anyOf/0: unknown or unsupported keyword \"minimun\"");
  ExpectBadSchema(R"({"multipleOf":0})", "schema /multipleOf: must be a positive number");
  ExpectBadSchema(R"({"multipleOf":-2})", "schema /multipleOf: must be a positive number");
  ExpectBadSchema(R"({"multipleOf":"1"})", "schema /multipleOf: must be a positive number");
  ExpectBadSchema(R"({"$anchor":"x"})", "unknown or unsupported keyword \"$anchor\"");
  // Keyword value types.
  ExpectBadSchema(R"({"type":"float"})", "schema /type: unknown type \"float\"");
  ExpectBadSchema(R"({"type":["string","string"]})", "schema /type/1: repeats \"string\"");
  ExpectBadSchema(R"({"type":[]})", "schema /type: must be a type name or a non-empty array");
  ExpectBadSchema(R"({"type":[1]})", "schema /type/0: must be a type name string");
  ExpectBadSchema(R"({"properties":[]})", "schema /properties: must be an object of schemas");
  ExpectBadSchema(R"({"properties":{"a":3}})",
                  "schema /properties/a: a schema must be an object or a boolean");
  ExpectBadSchema(R"({"required":"a"})", "schema /required: must be an array of strings");
  ExpectBadSchema(R"({"required":["a",1]})", "schema /required/1: must be a string");
  ExpectBadSchema(R"({"required":["a","a"]})", "schema /required: names \"a\" twice");
  ExpectBadSchema(R"({"additionalProperties":"no"})",
                  "schema /additionalProperties: a schema must be an object or a boolean");
  ExpectBadSchema(R"({"items":[{}]})", "schema /items: must be one schema");
  ExpectBadSchema(R"({"items":{"type":"x"}})", "schema /items/type: unknown type");
  ExpectBadSchema(R"({"minLength":-1})", "schema /minLength: must be a non-negative integer");
  ExpectBadSchema(R"({"maxLength":1.5})", "schema /maxLength: must be a non-negative integer");
  ExpectBadSchema(R"({"minItems":"1"})", "schema /minItems: must be a non-negative integer");
  ExpectBadSchema(R"({"maxItems":1e300})", "schema /maxItems: must be a non-negative integer");
  ExpectBadSchema(R"({"minimum":"0"})", "schema /minimum: must be a finite number");
  ExpectBadSchema(R"({"maximum":null})", "schema /maximum: must be a finite number");
  ExpectBadSchema(R"({"exclusiveMinimum":true})", "the boolean form is draft-04");
  ExpectBadSchema(R"({"exclusiveMaximum":[]})", "schema /exclusiveMaximum: must be a finite");
  ExpectBadSchema(R"({"enum":[]})", "schema /enum: must be a non-empty array");
  ExpectBadSchema(R"({"enum":"a"})", "schema /enum: must be a non-empty array");
  ExpectBadSchema(R"({"format":"email"})", "schema /format: unsupported format \"email\"");
  ExpectBadSchema(R"({"format":1})", "schema /format: must be a string");
  ExpectBadSchema(R"({"pattern":1})", "schema /pattern: must be a string");
  ExpectBadSchema(R"({"$defs":[]})", "schema /$defs: must be an object of schemas");
  ExpectBadSchema(R"({"title":1})", "schema /title: must be a string");
  ExpectBadSchema(R"({"description":{}})", "schema /description: must be a string");
  ExpectBadSchema(R"({"$comment":false})", "schema /$comment: must be a string");
  ExpectBadSchema(R"({"examples":1})", "schema /examples: must be an array");
  ExpectBadSchema(R"({"$schema":"http://json-schema.org/draft-07/schema#"})",
                  "schema /$schema: must be \"https://json-schema.org/draft/2020-12/schema\"");
  ExpectBadSchema(R"({"properties":{"a":{"$schema":"x"}}})",
                  "schema /properties/a/$schema: is only allowed at the schema root");
  ExpectBadSchema(R"({"$id":7})", "schema /$id: must be a string");
  ExpectBadSchema(R"({"$defs":{"x":{"$id":"urn:x"}}})",
                  "schema /$defs/x/$id: is only supported at the schema root");
  ExpectBadSchema("[]", "schema (root): a schema must be an object or a boolean");
  // Errors deep inside unused definitions still count.
  ExpectBadSchema(R"({"$defs":{"unused":{"properties":{"x":{"pattern":"("}}}}})",
                  "schema /$defs/unused/properties/x/pattern: invalid regular expression");
}

TEST_CASE("bad regular expressions are rejected with RE2's reason") {
  ExpectBadSchema(R"({"pattern":"(abc"})", "schema /pattern: invalid regular expression \"(abc\"");
  ExpectBadSchema(R"j({"pattern":"a(?=b)"})j", "no backreferences or lookaround");
  ExpectBadSchema(R"j({"pattern":"(a)\\1"})j", "invalid regular expression");
  ExpectBadSchema(R"({"pattern":"[z-a]"})", "invalid regular expression");
  ExpectBadSchema(R"({"pattern":"a{1001}"})", "invalid regular expression");
  ExpectBadSchema(R"j({"pattern":"((((a{100}){100}){100}){100})"})j", "schema /pattern");
  std::string long_pattern(2000, 'a');
  ExpectBadSchema("{\"pattern\":\"" + long_pattern + "\"}", "pattern longer than 1024 bytes",
                  ErrorCode::kResourceExhausted);
}

TEST_CASE("$ref must resolve locally and must not form a cycle") {
  ExpectBadSchema(R"({"$ref":"#/$defs/missing"})",
                  "schema /$ref: $ref \"#/$defs/missing\" does not resolve: \"$defs\" not found at #");
  ExpectBadSchema(R"({"$defs":{"a":{}},"properties":{"x":{"$ref":"#/$defs/b"}}})",
                  "schema /properties/x/$ref: $ref \"#/$defs/b\" does not resolve: \"b\" not "
                  "found at #/$defs");
  ExpectBadSchema(R"({"$ref":"https://example.com/schema.json"})", "is not a local reference");
  ExpectBadSchema(R"({"$ref":"other.json#/x"})", "is not a local reference");
  ExpectBadSchema(R"({"$ref":"#anchor"})", "uses a plain-name fragment");
  ExpectBadSchema(R"({"$defs":{"a":{}},"$ref":"#/$defs/a~2"})", "has an invalid ~ escape");
  ExpectBadSchema(R"({"$defs":{"a":{}},"$ref":"#/$defs/%zz"})", "has an invalid %-escape");
  ExpectBadSchema(R"({"$defs":{"a":{}},"$ref":"#/$defs/%4"})", "has a truncated %-escape");
  ExpectBadSchema(R"({"$ref":7})", "schema /$ref: must be a string");
  ExpectBadSchema(R"({"enum":[1],"$ref":"#/enum/3"})", "\"3\" not found at #/enum");
  ExpectBadSchema(R"({"enum":[1],"$ref":"#/enum/01"})", "\"01\" not found at #/enum");
  // Cycles: self, root, mutual, through properties and items.
  ExpectBadSchema(R"({"$defs":{"a":{"$ref":"#/$defs/a"}}})",
                  "$ref forms a cycle (#/$defs/a -> #/$defs/a)");
  ExpectBadSchema(R"({"properties":{"self":{"$ref":"#"}}})",
                  "$ref forms a cycle (# -> #/properties/self -> #)");
  ExpectBadSchema(R"({"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}}})",
                  "$ref forms a cycle (#/$defs/a -> #/$defs/b -> #/$defs/a)");
  ExpectBadSchema(R"({"$defs":{"node":{"properties":{"next":{"$ref":"#/$defs/node"}}}}})",
                  "recursive schemas are not supported");
  ExpectBadSchema(R"({"$defs":{"list":{"items":{"$ref":"#/$defs/list"}}}})", "forms a cycle");
}

TEST_CASE("compile limits") {
  std::string deep = "{\"$defs\":{";
  for (int i = 0; i < 200; ++i) {
    deep += (i ? "," : "") + std::string("\"d") + std::to_string(i) + "\":{\"$ref\":\"#/$defs/d" +
            std::to_string(i + 1) + "\"}";
  }
  deep += ",\"d200\":{}}}";
  ExpectBadSchema(deep, "exceeds 128 levels", ErrorCode::kResourceExhausted);
  SchemaLimits roomy;
  roomy.max_depth = 300;
  CHECK(SchemaValidator::Compile(ParseJson(deep), roomy).ok());

  // Definitions compiled shallow (in reverse order) and then chained: the chain is still bounded.
  std::string reversed = "{\"$defs\":{\"d200\":{}";
  for (int i = 199; i >= 0; --i) {
    reversed += ",\"d" + std::to_string(i) + "\":{\"$ref\":\"#/$defs/d" + std::to_string(i + 1) +
                "\"}";
  }
  reversed += "}}";
  ExpectBadSchema(reversed, "exceeds 128 levels", ErrorCode::kResourceExhausted);
  CHECK(SchemaValidator::Compile(ParseJson(reversed), roomy).ok());

  std::string wide = "{\"properties\":{";
  for (int i = 0; i < 50; ++i) wide += (i ? "," : "") + std::string("\"p") + std::to_string(i) + "\":{}";
  wide += "}}";
  SchemaLimits small;
  small.max_nodes = 20;
  auto validator = SchemaValidator::Compile(ParseJson(wide), small);
  REQUIRE(!validator.ok());
  CHECK(validator.error().code() == ErrorCode::kResourceExhausted);
  CHECK(validator.error().message().find("more than 20 subschemas") != std::string::npos);
}

TEST_CASE("shared definitions compile once") {
  // 20 levels that each reference the next twice: exponential if expanded, linear when shared.
  std::string schema = "{\"$defs\":{";
  for (int i = 0; i < 20; ++i) {
    std::string next = "#/$defs/l" + std::to_string(i + 1);
    schema += (i ? "," : "") + std::string("\"l") + std::to_string(i) +
              "\":{\"properties\":{\"a\":{\"$ref\":\"" + next + "\"},\"b\":{\"$ref\":\"" + next +
              "\"}}}";
  }
  schema += ",\"l20\":{\"type\":\"integer\"}},\"$ref\":\"#/$defs/l0\"}";
  auto validator = CompileOk(schema);
  CHECK(Failures(validator, R"({"a":{"b":{}}})").empty());
}

}  // namespace
}  // namespace tcc::vc

namespace tcc::vc {
namespace {

void CollectNodes(Json& value, std::vector<Json*>& out) {
  out.push_back(&value);
  if (value.is_array()) {
    for (auto& element : value.as_array()) CollectNodes(element, out);
  } else if (value.is_object()) {
    for (auto& member : value.as_object()) CollectNodes(member.second, out);
  }
}

// Fuzz smoke test: random single-node mutations of real claim schemas either compile or fail
// cleanly, and whatever compiles validates the real claims without crashing.
TEST_CASE("mutated schemas compile or fail cleanly") {
  const char* pairs[][2] = {{"gpu-hour.tst.json", "claims/gpu-hour.tsc-claim.json"},
                            {"tiered-time-of-day.tit.json", "claims/tiered.tic-claim.json"}};
  const Json replacements[] = {
      Json(), Json(true), Json(-1), Json(1.5), Json("("), Json("x"), Json::Array(), Json::Object(),
      ParseJson(R"({"$ref":"#"})"), ParseJson(R"({"type":"nope"})"), ParseJson(R"([1,"a"])"),
      ParseJson(R"({"$ref":"#/$defs/did"})"), ParseJson(R"({"pattern":"^[a-z]+$"})"),
  };
  std::uint64_t state = 0x9E3779B97F4A7C15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int compiled = 0;
  int rejected = 0;
  for (const auto& pair : pairs) {
    auto document = Json::Parse(*ReadFile(std::string(TCC_SCHEMAS_DIR) + "/examples/" + pair[0]));
    auto claim = Json::Parse(*ReadFile(std::string(TCC_SCHEMAS_DIR) + "/examples/" + pair[1]));
    REQUIRE(document.ok());
    REQUIRE(claim.ok());
    for (int i = 0; i < 1500; ++i) {
      Json schema = *document->Find("claimSchema");
      std::vector<Json*> nodes;
      CollectNodes(schema, nodes);
      for (int edits = 1 + static_cast<int>(next() % 3); edits > 0; --edits) {
        *nodes[next() % nodes.size()] = replacements[next() % std::size(replacements)];
        nodes.clear();
        CollectNodes(schema, nodes);
      }
      auto validator = SchemaValidator::Compile(schema);
      if (!validator.ok()) {
        CHECK(!validator.error().message().empty());
        ++rejected;
        continue;
      }
      ++compiled;
      std::vector<Violation> violations = validator->Validate(*claim);
      CHECK(validator->IsValid(*claim) == violations.empty());
      CHECK(validator->Validate(schema).size() < 100000);
    }
  }
  CHECK(compiled > 100);
  CHECK(rejected > 100);
}

TEST_CASE("CheckWithout answers as Check on a copy without the member, without making one") {
  // Every keyword that sees a whole object or its members: properties, required,
  // additionalProperties, const, enum, and anyOf/oneOf branches over the same object.
  const std::vector<std::string> schemas = {
      R"({"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false})",
      R"({"type":"object","required":["proof"]})",
      R"({"const":{"a":1}})",
      R"({"enum":[{"a":1},{"a":2,"proof":3}]})",
      R"({"anyOf":[{"required":["b"]},{"properties":{"a":{"const":1}},"additionalProperties":false}]})",
      R"({"oneOf":[{"const":{"a":1}},{"required":["proof"]}]})",
      R"({"type":"object","properties":{"a":{"type":"object","additionalProperties":false}}})",
  };
  const std::vector<std::string> instances = {
      R"({"a":1})",
      R"({"a":1,"proof":{}})",
      R"({"proof":[1,2]})",
      R"({"a":2,"proof":3})",
      R"({"a":"x","proof":1})",
      R"({"a":{"proof":1},"proof":1})",
      R"([1])",
      R"("proof")",
  };
  for (const std::string& schema : schemas) {
    const SchemaValidator validator = CompileOk(schema);
    for (const std::string& text : instances) {
      CAPTURE(schema);
      CAPTURE(text);
      const Json instance = ParseJson(text);
      Json without = instance;
      if (without.is_object()) without.Erase("proof");
      const Status expected = validator.Check(without);
      const Status got = validator.CheckWithout(instance, "proof");
      CHECK(got.ok() == expected.ok());
      if (!got.ok() && !expected.ok()) CHECK(got.error().message() == expected.error().message());
    }
  }
  // Only the named member of the object itself is left out, not members of that name below it.
  const SchemaValidator nested = CompileOk(schemas.back());
  CHECK_FALSE(nested.CheckWithout(ParseJson(R"({"a":{"proof":1}})"), "proof").ok());
}

}  // namespace
}  // namespace tcc::vc
