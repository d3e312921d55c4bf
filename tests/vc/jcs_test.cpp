#include "tcc/vc/jcs.h"

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>

#include "test_util.h"

namespace tcc::vc {
namespace {

using testing::ReadVector;
using testing::ReadVectorJson;

std::string MustCanonicalize(std::string_view text) {
  auto canonical = CanonicalizeText(text);
  REQUIRE_MESSAGE(canonical.ok(), text << ": " << (canonical.ok() ? "" : canonical.error().ToString()));
  return canonical.value();
}

TEST_CASE("RFC 8785 section 3.2.2-3.2.4: primitive example, byte for byte") {
  Json examples = ReadVectorJson("jcs/rfc8785/rfc8785-examples.json");
  const Json& primitive = *examples.Find("section-3.2.2-to-3.2.4");
  std::string canonical = MustCanonicalize(ReadVector("jcs/rfc8785/primitive.input.json"));
  CHECK(canonical == ReadVector("jcs/rfc8785/primitive.output.json"));
  CHECK(canonical == primitive.GetString("expectedCanonical").value());
  CHECK(HexEncode(AsBytes(canonical)) == primitive.GetString("expectedUtf8Hex").value());
}

TEST_CASE("RFC 8785 section 3.2.3: property sorting by UTF-16 code units") {
  Json examples = ReadVectorJson("jcs/rfc8785/rfc8785-examples.json");
  Json canonical = Json::Parse(MustCanonicalize(ReadVector("jcs/rfc8785/sorting.input.json"))).value();
  const JsonArray& expected = examples.Find("section-3.2.3-sorting")->Find("expectedValueOrder")->as_array();
  const JsonObject& members = canonical.as_object();
  REQUIRE(members.size() == expected.size());
  for (size_t i = 0; i < members.size(); ++i) CHECK(members[i].second == expected[i]);
}

TEST_CASE("RFC 8785 Appendix B: every number sample") {
  Json examples = ReadVectorJson("jcs/rfc8785/rfc8785-examples.json");
  const JsonArray& samples = examples.Find("appendix-B")->Find("samples")->as_array();
  REQUIRE(samples.size() > 20);
  for (const Json& sample : samples) {
    Bytes bits = HexDecode(sample.GetString("ieee754Hex").value()).value();
    uint64_t word = 0;
    for (uint8_t byte : bits) word = word << 8 | byte;
    double value = std::bit_cast<double>(word);
    auto canonical = Canonicalize(Json(value));
    const Json& expected = *sample.Find("expected");
    INFO(sample.GetString("ieee754Hex").value());
    if (expected.is_null()) {
      REQUIRE_FALSE(canonical.ok());
      CHECK(canonical.error().message().find("NaN and Infinity") != std::string::npos);
    } else {
      CHECK(canonical.value() == expected.as_string());
      // The canonical text must parse back to the same double.
      CHECK(Json::Parse(canonical.value()).value().as_number() == value);
    }
  }
}

TEST_CASE("a refusal deep inside an object does not disturb the next canonicalization") {
  // The sorted members of nested objects share one scratch stack per thread (jcs.cpp), which an
  // error returned from inside a nested object leaves part way.
  Json nested = Json::Parse(R"({"b":{"y":1,"x":[{"q":2,"p":3}]},"a":0})").value();
  Json bad = nested;
  bad.Find("b")->Find("x")->as_array()[0].Set("r", Json(std::numeric_limits<double>::infinity()));
  CHECK_FALSE(Canonicalize(bad).ok());
  CHECK(Canonicalize(nested).value() == R"({"a":0,"b":{"x":[{"p":3,"q":2}],"y":1}})");
  // A document wider than the stack keeps is written correctly, and so is the next small one.
  Json wide = Json::Object();
  for (int i = 9999; i >= 0; --i) wide.Set("k" + std::to_string(100000 + i), Json(i));
  const std::string canonical = Canonicalize(wide).value();
  CHECK(canonical.rfind(R"({"k100000":0,"k100001":1,)", 0) == 0);
  CHECK(canonical.size() > 10000 * 10);
  CHECK(Canonicalize(nested).value() == R"({"a":0,"b":{"x":[{"p":3,"q":2}],"y":1}})");
}

TEST_CASE("cyberphone test data: input -> output and outhex, byte for byte") {
  for (const char* name : {"arrays", "french", "structures", "unicode", "values", "weird"}) {
    INFO(name);
    std::string base = std::string("jcs/cyberphone-testdata/");
    std::string canonical = MustCanonicalize(ReadVector(base + "input/" + name + ".json"));
    CHECK(canonical == ReadVector(base + "output/" + name + ".json"));
    std::string outhex = ReadVector(base + "outhex/" + name + ".txt");
    std::string compact;
    for (char c : outhex) {
      if (std::isxdigit(static_cast<unsigned char>(c))) compact.push_back(static_cast<char>(std::tolower(c)));
    }
    CHECK(HexEncode(AsBytes(canonical)) == compact);
  }
}

void CheckExtraVectors(const std::string& file, bool wrap_in_array) {
  Json vectors = ReadVectorJson(file);
  size_t checked = 0;
  for (const Json& vector : vectors.Find("vectors")->as_array()) {
    std::string input(vector.GetString("input").value());
    if (wrap_in_array) input = "[" + input + "]";
    const Json& expected = *vector.Find("expected");
    INFO(file << ": " << input);
    auto canonical = CanonicalizeText(input);
    if (expected.is_null()) {
      CHECK_FALSE(canonical.ok());
    } else {
      std::string want = expected.as_string();
      if (wrap_in_array) want = "[" + want + "]";
      REQUIRE(canonical.ok());
      CHECK(canonical.value() == want);
      if (const Json* hex = vector.Find("expectedUtf8Hex")) {
        CHECK(HexEncode(AsBytes(canonical.value())) == hex->as_string());
      }
    }
    ++checked;
  }
  CHECK(checked > 5);
}

TEST_CASE("extra vectors: numbers, strings, structures; rejections included") {
  CheckExtraVectors("jcs/extra/numbers.json", true);
  CheckExtraVectors("jcs/extra/strings.json", false);
  CheckExtraVectors("jcs/extra/structures.json", false);
}

TEST_CASE("canonical form is idempotent and independent of input order") {
  std::string a = MustCanonicalize(R"({"b":[3,{"z":1,"y":"\u00e9"}],"a":1e2})");
  std::string b = MustCanonicalize(R"({ "a" : 100.0, "b" : [ 3, { "y" : "é", "z" : 1 } ] })");
  CHECK(a == b);
  CHECK(MustCanonicalize(a) == a);
}

TEST_CASE("a member inserted at its recorded place gives the canonical text of the whole object") {
  // The inserted member first, last, in the middle, alone, and among names that sort by UTF-16.
  const char* const kObjects[] = {R"({"b":1,"c":[2,{"z":3}]})",
                                  R"({"a":1,"b":{"c":2}})",
                                  R"({"a":1,"z":"x"})",
                                  R"({})",
                                  R"({"\u00e9":1,"a":2})",
                                  R"({"\ud83d\ude00":1,"\uff61":2})",
                                  R"({"m":{},"proofs":[],"pro":null})"};
  const Json value = Json::Parse(R"({"k":[1,"\u00e9"],"a":true})").value();
  const std::string canonical_value = Canonicalize(value).value();
  for (const char* text : kObjects) {
    for (const char* name : {"a", "m", "proof", "zz", "\xEF\xBD\xA0"}) {
      INFO(text << " + " << name);
      const Json object = Json::Parse(text).value();
      std::string out = "prefix";
      CanonicalLayout layout;
      REQUIRE(AppendCanonicalWithout(out, object, name, layout).ok());
      Json without = object;
      without.Erase(name);  // where the object has the member already, it is left out
      CHECK(out == "prefix" + Canonicalize(without).value());
      InsertCanonicalMember(out, layout, name, canonical_value);
      Json whole = object;  // the layout's names point into `object`, which stays as it is
      whole.Set(name, value);
      CHECK(out == "prefix" + Canonicalize(whole).value());
      // Every member's recorded span still holds its canonical value.
      REQUIRE(layout.members.size() == whole.as_object().size());
      for (const CanonicalLayout::Member& member : layout.members) {
        INFO(member.name);
        CHECK(out.substr(member.begin, member.end - member.begin) ==
              Canonicalize(*whole.Find(member.name)).value());
      }
    }
  }
  CanonicalLayout layout;
  std::string out;
  CHECK_FALSE(AppendCanonicalWithout(out, Json::Parse("[1]").value(), "proof", layout).ok());
}

TEST_CASE("Utf16Less orders supplementary characters before U+E000..U+FFFF") {
  CHECK(Utf16Less("a", "b"));
  CHECK(Utf16Less("", "a"));
  CHECK(Utf16Less("a", "ab"));
  CHECK_FALSE(Utf16Less("ab", "ab"));
  CHECK(Utf16Less("\xF0\x9F\x98\x80", "\xEF\xBD\xA1"));   // U+1F600 < U+FF61 in UTF-16
  CHECK_FALSE(Utf16Less("\xEF\xBD\xA1", "\xF0\x9F\x98\x80"));
  CHECK(Utf16Less("\xC3\xA9", "\xE2\x82\xAC"));            // U+00E9 < U+20AC
  // ASCII against a multi-byte character at the first difference, either way round.
  CHECK(Utf16Less("a\x7F", "a\xC3\xA9"));
  CHECK_FALSE(Utf16Less("a\xC3\xA9", "a\x7F"));
  CHECK(Utf16Less("z", "\xF0\x9F\x98\x80"));
  CHECK_FALSE(Utf16Less("\xEF\xBD\xA1", "z"));
}

}  // namespace
}  // namespace tcc::vc
