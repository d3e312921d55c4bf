#include "tcc/common/json.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>

#include "tcc/common/secure_memory.h"

namespace tcc {

std::optional<std::uint64_t> JsonInteger(double number, std::uint64_t min, std::uint64_t max) {
  max = std::min(max, kMaxJsonInteger);
  // Both bounds convert to double exactly (at most 2^53 - 1), and NaN fails every comparison, so
  // only an integral value inside them reaches the cast.
  if (!(number >= static_cast<double>(min) && number <= static_cast<double>(max)) ||
      std::floor(number) != number) {
    return std::nullopt;
  }
  return static_cast<std::uint64_t>(number);
}

namespace {

namespace od = simdjson::ondemand;

Error ParseError(simdjson::error_code code) {
  return Error(ErrorCode::kParse, std::string("invalid JSON: ") + simdjson::error_message(code));
}

// simdjson already rejects invalid UTF-8 and unpaired escaped surrogates; this catches the
// encoded-surrogate (CESU-8) byte sequences ED A0..BF that a strict UTF-8 decoder must refuse
// but that unescaping could never produce, as defense in depth.
bool HasEncodedSurrogate(std::string_view text) {
  for (size_t i = 0; i + 1 < text.size(); ++i) {
    if (static_cast<unsigned char>(text[i]) == 0xED &&
        (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0xA0) {
      return true;
    }
  }
  return false;
}

Status CheckDuplicateKeys(const JsonObject& members) {
  auto duplicate = [](std::string_view key) {
    return Error(ErrorCode::kParse, "invalid JSON: duplicate object key \"" + std::string(key) + "\"");
  };
  if (members.size() <= 16) {
    for (size_t i = 1; i < members.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (members[i].first == members[j].first) return duplicate(members[i].first);
      }
    }
    return OkStatus();
  }
  std::vector<std::string_view> keys;
  keys.reserve(members.size());
  for (const auto& member : members) keys.push_back(member.first);
  std::sort(keys.begin(), keys.end());
  auto it = std::adjacent_find(keys.begin(), keys.end());
  if (it != keys.end()) return duplicate(*it);
  return OkStatus();
}

class Converter {
 public:
  explicit Converter(size_t max_depth) : max_depth_(max_depth) {}

  // Node is od::document (top level) or od::value; both offer the same accessors.
  template <typename Node>
  Result<Json> Convert(Node& node, size_t depth) {
    od::json_type type;
    if (auto error = node.type().get(type)) return ParseError(error);
    switch (type) {
      case od::json_type::object: return ConvertObject(node, depth);
      case od::json_type::array: return ConvertArray(node, depth);
      case od::json_type::number: {
        double number;
        if (auto error = node.get_double().get(number)) return ParseError(error);
        if (!std::isfinite(number)) {
          return Error(ErrorCode::kParse, "invalid JSON: number out of the IEEE double range");
        }
        return Json(number);
      }
      case od::json_type::string: {
        std::string_view text;
        if (auto error = node.get_string().get(text)) return ParseError(error);
        if (HasEncodedSurrogate(text)) {
          return Error(ErrorCode::kParse, "invalid JSON: string contains a surrogate code point");
        }
        return Json(text);
      }
      case od::json_type::boolean: {
        bool value;
        if (auto error = node.get_bool().get(value)) return ParseError(error);
        return Json(value);
      }
      case od::json_type::null: {
        bool is_null;
        if (auto error = node.is_null().get(is_null)) return ParseError(error);
        if (!is_null) return Error(ErrorCode::kParse, "invalid JSON: bad literal");
        return Json();
      }
    }
    return Error(ErrorCode::kParse, "invalid JSON: unknown value type");
  }

 private:
  Status CheckDepth(size_t depth) const {
    if (depth >= max_depth_) {
      return Error(ErrorCode::kResourceExhausted,
                   "invalid JSON: nesting deeper than " + std::to_string(max_depth_) + " levels");
    }
    return OkStatus();
  }

  template <typename Node>
  Result<Json> ConvertObject(Node& node, size_t depth) {
    TCC_RETURN_IF_ERROR(CheckDepth(depth));
    od::object object;
    if (auto error = node.get_object().get(object)) return ParseError(error);
    JsonObject members;
    for (auto field : object) {
      std::string_view key;
      if (auto error = field.unescaped_key().get(key)) return ParseError(error);
      if (HasEncodedSurrogate(key)) {
        return Error(ErrorCode::kParse, "invalid JSON: key contains a surrogate code point");
      }
      std::string owned_key(key);  // the key view dies when the value is read
      od::value value;
      if (auto error = field.value().get(value)) return ParseError(error);
      TCC_ASSIGN_OR_RETURN(Json child, Convert(value, depth + 1));
      members.emplace_back(std::move(owned_key), std::move(child));
    }
    TCC_RETURN_IF_ERROR(CheckDuplicateKeys(members));
    return Json(std::move(members));
  }

  template <typename Node>
  Result<Json> ConvertArray(Node& node, size_t depth) {
    TCC_RETURN_IF_ERROR(CheckDepth(depth));
    od::array array;
    if (auto error = node.get_array().get(array)) return ParseError(error);
    JsonArray elements;
    for (auto element : array) {
      od::value value;
      if (auto error = element.get(value)) return ParseError(error);
      TCC_ASSIGN_OR_RETURN(Json child, Convert(value, depth + 1));
      elements.push_back(std::move(child));
    }
    return Json(std::move(elements));
  }

  size_t max_depth_;
};

// The DOM parser picks the best SIMD kernel for the CPU at run time (On-Demand is bound to the
// compile-time target, which for generic x86-64 builds is the slow fallback), so it is the fast
// path. It refuses integers beyond 64 bits, which JSON allows and JavaScript reads as doubles;
// such documents take the On-Demand path, which parses them as doubles.
class DomConverter {
 public:
  explicit DomConverter(size_t max_depth) : max_depth_(max_depth) {}

  Result<Json> Convert(simdjson::dom::element element, size_t depth) {
    using simdjson::dom::element_type;
    switch (element.type()) {
      case element_type::OBJECT: {
        if (depth >= max_depth_) return DepthError();
        const simdjson::dom::object object(element);
        JsonObject members;
        members.reserve(object.size());
        for (auto field : object) {
          if (HasEncodedSurrogate(field.key)) {
            return Error(ErrorCode::kParse, "invalid JSON: key contains a surrogate code point");
          }
          TCC_ASSIGN_OR_RETURN(Json child, Convert(field.value, depth + 1));
          members.emplace_back(std::string(field.key), std::move(child));
        }
        TCC_RETURN_IF_ERROR(CheckDuplicateKeys(members));
        return Json(std::move(members));
      }
      case element_type::ARRAY: {
        if (depth >= max_depth_) return DepthError();
        const simdjson::dom::array array(element);
        JsonArray elements;
        elements.reserve(array.size());
        for (simdjson::dom::element child : array) {
          TCC_ASSIGN_OR_RETURN(Json converted, Convert(child, depth + 1));
          elements.push_back(std::move(converted));
        }
        return Json(std::move(elements));
      }
      case element_type::INT64: return Json(static_cast<double>(int64_t(element)));
      case element_type::UINT64: return Json(static_cast<double>(uint64_t(element)));
      case element_type::DOUBLE: return Json(double(element));
      case element_type::STRING: {
        std::string_view text(element);
        if (HasEncodedSurrogate(text)) {
          return Error(ErrorCode::kParse, "invalid JSON: string contains a surrogate code point");
        }
        return Json(text);
      }
      case element_type::BOOL: return Json(bool(element));
      case element_type::NULL_VALUE: return Json();
    }
    return Error(ErrorCode::kParse, "invalid JSON: unknown value type");
  }

 private:
  Error DepthError() const {
    return Error(ErrorCode::kResourceExhausted,
                 "invalid JSON: nesting deeper than " + std::to_string(max_depth_) + " levels");
  }
  size_t max_depth_;
};

void AppendIndent(std::string& out, size_t depth) {
  out.push_back('\n');
  out.append(depth * 2, ' ');
}

void SerializeTo(std::string& out, const Json& value, bool pretty, size_t depth) {
  switch (value.type()) {
    case Json::Type::kNull: out += "null"; return;
    case Json::Type::kBool: out += value.as_bool() ? "true" : "false"; return;
    case Json::Type::kNumber: AppendJsonNumber(out, value.as_number()); return;
    case Json::Type::kString: AppendJsonString(out, value.as_string()); return;
    case Json::Type::kArray: {
      const auto& elements = value.as_array();
      out.push_back('[');
      for (size_t i = 0; i < elements.size(); ++i) {
        if (i != 0) out.push_back(',');
        if (pretty) AppendIndent(out, depth + 1);
        SerializeTo(out, elements[i], pretty, depth + 1);
      }
      if (pretty && !elements.empty()) AppendIndent(out, depth);
      out.push_back(']');
      return;
    }
    case Json::Type::kObject: {
      const auto& members = value.as_object();
      out.push_back('{');
      for (size_t i = 0; i < members.size(); ++i) {
        if (i != 0) out.push_back(',');
        if (pretty) AppendIndent(out, depth + 1);
        AppendJsonString(out, members[i].first);
        out += pretty ? ": " : ":";
        SerializeTo(out, members[i].second, pretty, depth + 1);
      }
      if (pretty && !members.empty()) AppendIndent(out, depth);
      out.push_back('}');
      return;
    }
  }
}

Error MemberError(std::string_view key, std::string_view expected, const Json* found) {
  if (found == nullptr) return Error(ErrorCode::kInvalidArgument, "missing member \"" + std::string(key) + "\"");
  return Error(ErrorCode::kInvalidArgument, "member \"" + std::string(key) + "\" must be " +
                                                std::string(expected) + ", not " +
                                                std::string(JsonTypeName(found->type())));
}

}  // namespace

namespace {

// The calling thread's parse scratch, reused from one Parse to the next: the padded copy of the
// text simdjson needs, and the DOM parser with its tape and string buffers.
struct ParseScratch {
  std::string buffer;
  simdjson::dom::parser dom_parser;
};

ParseScratch& ThreadParseScratch() {
  thread_local ParseScratch scratch;
  return scratch;
}

}  // namespace

Result<Json> Json::Parse(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error(ErrorCode::kResourceExhausted, "JSON text of " + std::to_string(text.size()) +
                                                    " bytes exceeds the limit of " +
                                                    std::to_string(limits.max_bytes));
  }
  ParseScratch& scratch = ThreadParseScratch();
  std::string& buffer = scratch.buffer;
  buffer.resize(text.size() + simdjson::SIMDJSON_PADDING);
  if (!text.empty()) std::memcpy(buffer.data(), text.data(), text.size());
  simdjson::dom::parser& dom_parser = scratch.dom_parser;
  simdjson::dom::element root;
  auto dom_error = dom_parser.parse(buffer.data(), text.size(), false).get(root);
  if (!dom_error) return DomConverter(limits.max_depth).Convert(root, 0);
  if (dom_error != simdjson::NUMBER_ERROR) return ParseError(dom_error);
  // A number the DOM parser refuses: an integer beyond 64 bits, or one out of the double range
  // (which the On-Demand path rejects with its own message).
  thread_local od::parser parser;
  od::document document;
  if (auto error = parser.iterate(buffer.data(), text.size(), buffer.size()).get(document)) {
    return ParseError(error);
  }
  Converter converter(limits.max_depth);
  TCC_ASSIGN_OR_RETURN(Json result, converter.Convert(document, 0));
  // Scalar roots check for trailing tokens themselves; containers leave the iterator after the
  // closing bracket, which must be the end of the input.
  if ((result.is_object() || result.is_array()) &&
      document.current_location().error() != simdjson::OUT_OF_BOUNDS) {
    return Error(ErrorCode::kParse, "invalid JSON: trailing content after the value");
  }
  return result;
}

const Json* Json::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& member : as_object()) {
    if (member.first == key) return &member.second;
  }
  return nullptr;
}

Json* Json::Find(std::string_view key) {
  return const_cast<Json*>(static_cast<const Json*>(this)->Find(key));
}

Json& Json::Set(std::string_view key, Json value) {
  if (Json* existing = Find(key)) {
    *existing = std::move(value);
    return *existing;
  }
  auto& members = as_object();
  members.emplace_back(std::string(key), std::move(value));
  return members.back().second;
}

bool Json::Erase(std::string_view key) {
  auto& members = as_object();
  auto it = std::find_if(members.begin(), members.end(),
                         [&](const JsonMember& member) { return member.first == key; });
  if (it == members.end()) return false;
  members.erase(it);
  return true;
}

Result<std::string_view> Json::GetString(std::string_view key) const {
  const Json* found = Find(key);
  if (found == nullptr || !found->is_string()) return MemberError(key, "a string", found);
  return std::string_view(found->as_string());
}

Result<double> Json::GetNumber(std::string_view key) const {
  const Json* found = Find(key);
  if (found == nullptr || !found->is_number()) return MemberError(key, "a number", found);
  return found->as_number();
}

Result<std::uint64_t> Json::GetInteger(std::string_view key, std::uint64_t min,
                                       std::uint64_t max) const {
  TCC_ASSIGN_OR_RETURN(double number, GetNumber(key));
  if (std::optional<std::uint64_t> value = JsonInteger(number, min, max)) return *value;
  std::string shown = "not a finite number";
  if (std::isfinite(number)) shown = "not " + Json(number).Serialize();
  return Error(ErrorCode::kInvalidArgument,
               "member \"" + std::string(key) + "\" must be an integer from " +
                   std::to_string(min) + " to " + std::to_string(max) + ", " + shown);
}

Result<std::uint64_t> Json::GetIntegerOr(std::string_view key, std::uint64_t fallback) const {
  if (!Contains(key)) return fallback;
  return GetInteger(key);
}

std::string Json::StringOr(std::string_view key, std::string_view fallback) const {
  const Json* member = Find(key);
  if (member == nullptr || !member->is_string() || member->as_string().empty()) {
    return std::string(fallback);
  }
  return member->as_string();
}

Result<const JsonObject*> Json::GetObject(std::string_view key) const {
  const Json* found = Find(key);
  if (found == nullptr || !found->is_object()) return MemberError(key, "an object", found);
  return &found->as_object();
}

Result<const JsonArray*> Json::GetArray(std::string_view key) const {
  const Json* found = Find(key);
  if (found == nullptr || !found->is_array()) return MemberError(key, "an array", found);
  return &found->as_array();
}

std::string Json::Serialize() const {
  std::string out;
  SerializeTo(out, *this, false, 0);
  return out;
}

void Json::AppendTo(std::string& out) const { SerializeTo(out, *this, false, 0); }

std::string Json::SerializePretty() const {
  std::string out;
  SerializeTo(out, *this, true, 0);
  return out;
}

std::string_view JsonTypeName(Json::Type type) {
  switch (type) {
    case Json::Type::kNull: return "null";
    case Json::Type::kBool: return "a boolean";
    case Json::Type::kNumber: return "a number";
    case Json::Type::kString: return "a string";
    case Json::Type::kArray: return "an array";
    case Json::Type::kObject: return "an object";
  }
  return "unknown";
}

namespace {

// Whether any of the 8 bytes at `at` must be escaped: a control (below 0x20), '"' or '\\'. Exact
// when it answers no, which is what lets the scan below skip the block. (Bytes of 0x80 and above,
// UTF-8 sequences, never count: their high bit clears the test's.)
bool BlockNeedsEscape(const char* at) {
  constexpr std::uint64_t kOnes = 0x0101010101010101u;
  constexpr std::uint64_t kHighs = 0x8080808080808080u;
  std::uint64_t block;
  std::memcpy(&block, at, sizeof block);
  const auto has_zero = [](std::uint64_t x) { return (x - kOnes) & ~x & kHighs; };
  const std::uint64_t below_space = (block - kOnes * 0x20) & ~block & kHighs;
  return (below_space | has_zero(block ^ (kOnes * '"')) | has_zero(block ^ (kOnes * '\\'))) != 0;
}

}  // namespace

void AppendJsonString(std::string& out, std::string_view utf8) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < utf8.size(); ++i) {
    // Most text (DIDs, base58, hashes, dates) needs no escape: skip it a word at a time.
    while (i + 8 <= utf8.size() && !BlockNeedsEscape(utf8.data() + i)) i += 8;
    if (i == utf8.size()) break;
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(utf8.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xf]);
    }
  }
  out.append(utf8.data() + run_start, utf8.size() - run_start);
  out.push_back('"');
}

void AppendJsonNumber(std::string& out, double value) {
  if (!std::isfinite(value)) {
    out += "null";
    return;
  }
  if (value == 0) {  // also -0
    out.push_back('0');
    return;
  }
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // Shortest round-trip digits (what ECMAScript requires), read from scientific form d.ddde±x.
  char buffer[32];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  (void)error;  // cannot fail: the buffer fits any double
  char digits[20];
  int digit_count = 0;
  const char* p = buffer;
  for (; p < end && *p != 'e'; ++p) {
    if (*p != '.') digits[digit_count++] = *p;
  }
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), end, exponent);
  int n = exponent + 1;  // value = 0.digits * 10^n
  int k = digit_count;
  if (k <= n && n <= 21) {
    out.append(digits, static_cast<size_t>(k));
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, static_cast<size_t>(n));
    out.push_back('.');
    out.append(digits + n, static_cast<size_t>(k - n));
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out.append(digits, static_cast<size_t>(k));
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits + 1, static_cast<size_t>(k - 1));
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    out += std::to_string(std::abs(n - 1));
  }
}

bool operator==(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::kArray: {
      const JsonArray& left = a.as_array();
      const JsonArray& right = b.as_array();
      return std::equal(left.begin(), left.end(), right.begin(), right.end());
    }
    case Json::Type::kObject: {
      const JsonObject& left = a.as_object();
      if (left.size() != b.as_object().size()) return false;
      // Keys are unique (the parser and Set keep them so), so same size + each found equal suffices.
      for (const auto& [key, value] : left) {
        const Json* other = b.Find(key);
        if (other == nullptr || !(value == *other)) return false;
      }
      return true;
    }
    default:
      return a.value_ == b.value_;
  }
}

void WipeJsonParseScratch(std::size_t secret_bytes) {
  ParseScratch& scratch = ThreadParseScratch();
  // The DOM parser writes the strings of a document into its string buffer from the start, each
  // as a 4-byte length, its bytes and a NUL: at most 2.5 x the text's size for any text. Parsing
  // one string three times as long as the secret text overwrites all of them.
  std::string filler(3 * secret_bytes + 2, 'x');
  filler.front() = '"';
  filler.back() = '"';
  (void)Json::Parse(filler);
  // The padded copy of the text, over all the memory it ever used.
  scratch.buffer.resize(scratch.buffer.capacity());
  SecureWipe(scratch.buffer.data(), scratch.buffer.size());
}

}  // namespace tcc
