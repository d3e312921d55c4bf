#include "tcc/common/json.h"

#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <string>
#include <vector>

#include "tcc/common/json_object_reader.h"

namespace tcc {
namespace {

std::string RoundTrip(std::string_view text) {
  auto parsed = Json::Parse(text);
  REQUIRE_MESSAGE(parsed.ok(), text);
  return parsed->Serialize();
}

ErrorCode ParseErrorCode(std::string_view text) {
  auto parsed = Json::Parse(text);
  REQUIRE_MESSAGE(!parsed.ok(), text);
  return parsed.error().code();
}

// AppendJsonString skips 8 bytes at a time where none needs escaping: every character that does
// is placed at every offset of two texts (plain ASCII; multi-byte UTF-8 and DEL among ASCII), and
// the result is compared with a byte-at-a-time escaper written from RFC 8785's rules.
TEST_CASE("AppendJsonString escapes what RFC 8785 escapes, wherever it falls in a word") {
  auto expected = [](std::string_view text) {
    static const std::map<unsigned char, std::string> kShortForms = {
        {'"', "\\\""}, {'\\', "\\\\"}, {'\b', "\\b"}, {'\f', "\\f"},
        {'\n', "\\n"}, {'\r', "\\r"},  {'\t', "\\t"}};
    std::string out = "\"";
    for (unsigned char c : text) {
      if (auto short_form = kShortForms.find(c); short_form != kShortForms.end()) {
        out += short_form->second;
      } else if (c < 0x20) {
        out += "\\u00";
        out += "0123456789abcdef"[c >> 4];
        out += "0123456789abcdef"[c & 0xf];
      } else {
        out += static_cast<char>(c);
      }
    }
    return out + "\"";
  };
  std::vector<std::string> specials = {
      "\"", "\\", "\b", "\f", "\n", "\r", "\t", std::string(1, '\0'), "\x01", "\x1f"};
  for (const std::string& filler :
       {std::string("did:key:z6Mk-base58-0123"),
        std::string("\xc3\xa9\xe2\x82\xac \x7f~ \xf0\x9f\x98\x80 ab !#$%")}) {
    for (const std::string& special : specials) {
      for (std::size_t at = 0; at <= filler.size(); ++at) {
        std::string text = filler.substr(0, at) + special + filler.substr(at);
        std::string out;
        AppendJsonString(out, text);
        CHECK_MESSAGE(out == expected(text), "escape at offset " << at);
        // Two of them, the second in the same or the next word.
        text.insert(std::min(text.size(), at + 3), special);
        out.clear();
        AppendJsonString(out, text);
        CHECK_MESSAGE(out == expected(text), "escapes at offsets " << at << " and " << at + 3);
      }
    }
    std::string out;
    AppendJsonString(out, filler);
    CHECK(out == expected(filler));
  }
  std::string out;
  AppendJsonString(out, "");
  CHECK(out == "\"\"");
}

TEST_CASE("Json parses every type and keeps member order") {
  CHECK(RoundTrip(R"({"b":1,"a":[true,false,null,"x",1.5,{}]})") ==
        R"({"b":1,"a":[true,false,null,"x",1.5,{}]})");
  CHECK(RoundTrip("  \"top\"  ") == "\"top\"");
  CHECK(RoundTrip("42") == "42");
  CHECK(RoundTrip("null") == "null");
  CHECK(RoundTrip("[]") == "[]");
}

TEST_CASE("Json rejects what a strict parser must") {
  CHECK(ParseErrorCode(R"({"a":1,"a":2})") == ErrorCode::kParse);
  CHECK(ParseErrorCode("\"\\ud800\"") == ErrorCode::kParse);
  CHECK(ParseErrorCode("\"\\udc00\"") == ErrorCode::kParse);
  CHECK(ParseErrorCode("\"\xff\"") == ErrorCode::kParse);
  CHECK(ParseErrorCode("\"\xed\xa0\x80\"") == ErrorCode::kParse);
  CHECK(ParseErrorCode("NaN") == ErrorCode::kParse);
  CHECK(ParseErrorCode("[Infinity]") == ErrorCode::kParse);
  CHECK(ParseErrorCode("1e400") == ErrorCode::kParse);
  CHECK(ParseErrorCode("[1,]") == ErrorCode::kParse);
  CHECK(ParseErrorCode("{} {}") == ErrorCode::kParse);
  CHECK(ParseErrorCode("") == ErrorCode::kParse);
  CHECK(ParseErrorCode("[1 2]") == ErrorCode::kParse);
  CHECK(ParseErrorCode("{\"a\" 1}") == ErrorCode::kParse);
  CHECK(ParseErrorCode("01") == ErrorCode::kParse);
}

TEST_CASE("Json enforces size and depth limits") {
  std::string deep(100, '[');
  deep += std::string(100, ']');
  CHECK(ParseErrorCode(deep) == ErrorCode::kResourceExhausted);
  CHECK(Json::Parse(deep, {.max_bytes = 1000, .max_depth = 128}).ok());
  CHECK(Json::Parse("[1,2,3]", {.max_bytes = 4}).error().code() == ErrorCode::kResourceExhausted);
}

TEST_CASE("Json accepts big integers as doubles, as JavaScript does") {
  CHECK(RoundTrip("[123456789012345678901234567890]") == "[1.2345678901234568e+29]");
  CHECK(RoundTrip("[-0]") == "[0]");
}

TEST_CASE("Json member helpers explain what is wrong") {
  Json object = Json::Parse(R"({"name":"x","count":3,"list":[],"nested":{}})").value();
  CHECK(object.GetString("name").value() == "x");
  CHECK(object.GetNumber("count").value() == 3);
  CHECK(object.GetArray("list").ok());
  CHECK(object.GetObject("nested").ok());
  CHECK(object.GetString("count").error().message() == "member \"count\" must be a string, not a number");
  CHECK(object.GetString("absent").error().message() == "missing member \"absent\"");
  object.Set("name", "y");
  object.Set("added", true);
  CHECK(object.Serialize() == R"({"name":"y","count":3,"list":[],"nested":{},"added":true})");
  CHECK(object.Erase("list"));
  CHECK_FALSE(object.Erase("list"));
}

TEST_CASE("JsonInteger converts only integers in range, never by casting what does not fit") {
  CHECK(JsonInteger(0.0) == 0u);
  CHECK(JsonInteger(-0.0) == 0u);
  CHECK(JsonInteger(42.0) == 42u);
  CHECK(JsonInteger(9007199254740991.0) == kMaxJsonInteger);
  // Undefined behaviour for a static_cast to uint64_t, or a silently wrong value.
  for (double bad :
       {-1.0, -0.5, 0.5, 1.5, 9007199254740992.0, 1.8446744073709552e19, 1e300, -1e300,
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
        std::numeric_limits<double>::quiet_NaN()}) {
    CAPTURE(bad);
    CHECK_FALSE(JsonInteger(bad).has_value());
  }
  CHECK(JsonInteger(5.0, 1, 5) == 5u);
  CHECK_FALSE(JsonInteger(0.0, 1).has_value());
  CHECK_FALSE(JsonInteger(6.0, 1, 5).has_value());
  // A max above 2^53 - 1 is clamped: beyond it doubles skip integers.
  CHECK_FALSE(JsonInteger(9007199254740992.0, 0, ~std::uint64_t{0}).has_value());

  Json object = Json::Parse(R"({"seq":7,"big":1e300,"neg":-1,"half":2.5,"text":"7"})").value();
  CHECK(object.GetInteger("seq").value() == 7);
  CHECK(object.GetInteger("big").error().message() ==
        "member \"big\" must be an integer from 0 to 9007199254740991, not 1e+300");
  CHECK(object.GetInteger("neg").error().message() ==
        "member \"neg\" must be an integer from 0 to 9007199254740991, not -1");
  CHECK(object.GetInteger("half", 1, 10).error().message() ==
        "member \"half\" must be an integer from 1 to 10, not 2.5");
  CHECK(object.GetInteger("text").error().message() ==
        "member \"text\" must be a number, not a string");
  CHECK(object.GetInteger("absent").error().code() == ErrorCode::kInvalidArgument);
}

TEST_CASE("optional members: GetIntegerOr and StringOr") {
  Json object = Json::Parse(R"({"n":3,"neg":-1,"text":"7","empty":"","name":"alice"})").value();
  CHECK(object.GetIntegerOr("n", 9).value() == 3);
  CHECK(object.GetIntegerOr("absent", 9).value() == 9);
  // Present but wrong is an error, not the fallback: a bad count is refused, not read as 0.
  CHECK(object.GetIntegerOr("neg", 0).error().message() ==
        "member \"neg\" must be an integer from 0 to 9007199254740991, not -1");
  CHECK(object.GetIntegerOr("text", 0).error().message() ==
        "member \"text\" must be a number, not a string");
  CHECK(Json(5).GetIntegerOr("n", 4).value() == 4);  // not an object: nothing is present

  CHECK(object.StringOr("name", "-") == "alice");
  CHECK(object.StringOr("absent", "-") == "-");
  CHECK(object.StringOr("empty", "-") == "-");
  CHECK(object.StringOr("n", "") == "");  // not a string
  CHECK(Json("alice").StringOr("name", "-") == "-");
}

TEST_CASE("Json pretty output indents and round-trips") {
  Json value = Json::Parse(R"({"a":[1,{"b":null}],"c":{}})").value();
  std::string pretty = value.SerializePretty();
  CHECK(pretty == "{\n  \"a\": [\n    1,\n    {\n      \"b\": null\n    }\n  ],\n  \"c\": {}\n}");
  CHECK(Json::Parse(pretty).value() == value);
}

TEST_CASE("Json equality ignores object member order but not array order") {
  auto parse = [](std::string_view text) { return Json::Parse(text).value(); };
  CHECK(parse(R"({"a":1,"b":{"x":[1,2],"y":null}})") == parse(R"({"b":{"y":null,"x":[1,2]},"a":1})"));
  CHECK_FALSE(parse(R"({"a":1,"b":2})") == parse(R"({"a":1,"b":3})"));
  CHECK_FALSE(parse(R"({"a":1,"b":2})") == parse(R"({"a":1})"));
  CHECK_FALSE(parse(R"({"a":1})") == parse(R"({"a":1,"b":2})"));
  CHECK_FALSE(parse(R"([1,2])") == parse(R"([2,1])"));
  CHECK_FALSE(parse(R"({"a":"1"})") == parse(R"({"a":1})"));
}

TEST_CASE("JsonObjectReader reads members strictly and names what is wrong") {
  const Json record = Json::Parse(R"({"name":"x","count":3,"hash":"ab","extra":true})").value();
  JsonObjectReader reader(record, "test record");
  REQUIRE(reader.CheckIsObject().ok());
  CHECK(reader.String("name").value() == "x");
  CHECK(reader.Integer("count", 1, 3).value() == 3);
  CHECK(reader.OptionalInteger("absent").value() == std::nullopt);
  CHECK(reader.LowerHex("hash", 2).value() == "ab");
  CHECK(reader.Finish().error().message() == "test record: unknown member \"extra\"");
  CHECK(reader.Integer("count", 4, 9).error().message() == "test record: member \"count\" must be an integer in 4..9");
  CHECK(reader.String("count").error().code() == ErrorCode::kInvalidArgument);
  CHECK(reader.LowerHex("hash", 4).error().message() == "test record: member \"hash\" must be 4 lowercase hex digits");
  CHECK(reader.Integer("missing").error().message() == "test record: missing member \"missing\"");
  CHECK_FALSE(JsonObjectReader(Json::Array(), "list").CheckIsObject().ok());
}

}  // namespace
}  // namespace tcc
