// Json: an owned JSON value tree, parsed strictly and serialized in one canonical style.
//
// Parsing uses simdjson and is strict: invalid UTF-8, lone surrogates (escaped or not), duplicate
// object keys, numbers outside the IEEE double range, trailing content, and input beyond the size
// or nesting limits are errors that name the problem. Numbers are IEEE doubles, as in JavaScript
// and RFC 8785. Objects keep their members in insertion (or document) order; canonical key order
// is the JCS serializer's business (tcc/vc/jcs.h).
//
// Serialization writes strings and numbers exactly as RFC 8785 does (minimal escaping, ECMAScript
// number formatting), so a compact serialization of a tree with sorted members is canonical.
//
// A Json is a value type: copying deep-copies. Concurrent reads are safe; mutation needs external
// synchronization. Parse() is thread-safe (each thread has its own parser).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "tcc/common/result.h"

namespace tcc {

// JSON numbers are doubles: beyond 2^53 - 1 integers stop being exact.
inline constexpr std::uint64_t kMaxJsonInteger = 9007199254740991ull;

// The one conversion of a JSON number to an integer: `number` if it is an integer in [min, max]
// (max at most kMaxJsonInteger), else nullopt (a fraction, a negative below min, NaN, an infinity,
// anything above max). Casting such a double to an integer type is undefined behaviour, and the
// numbers come from parties, files and the chain, so no code casts them itself.
std::optional<std::uint64_t> JsonInteger(double number, std::uint64_t min = 0,
                                         std::uint64_t max = kMaxJsonInteger);

class Json;
using JsonArray = std::vector<Json>;
using JsonMember = std::pair<std::string, Json>;
using JsonObject = std::vector<JsonMember>;

struct JsonLimits {
  std::size_t max_bytes = 16u << 20;
  std::size_t max_depth = 64;
};

class Json {
 public:
  enum class Type : std::uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

  Json() = default;
  Json(std::nullptr_t) {}                                        // NOLINT: implicit by design
  Json(bool value) : value_(value) {}                            // NOLINT
  Json(double value) : value_(value) {}                          // NOLINT
  Json(int value) : value_(static_cast<double>(value)) {}        // NOLINT
  Json(std::int64_t value) : value_(static_cast<double>(value)) {}  // NOLINT
  Json(std::uint64_t value) : value_(static_cast<double>(value)) {}  // NOLINT
  Json(std::string value) : value_(std::move(value)) {}          // NOLINT
  Json(std::string_view value) : value_(std::string(value)) {}   // NOLINT
  Json(const char* value) : value_(std::string(value)) {}        // NOLINT
  Json(JsonArray value) : value_(std::move(value)) {}            // NOLINT
  Json(JsonObject value) : value_(std::move(value)) {}           // NOLINT

  static Json Array() { return Json(JsonArray{}); }
  static Json Object() { return Json(JsonObject{}); }

  static Result<Json> Parse(std::string_view text, const JsonLimits& limits = {});

  Type type() const { return static_cast<Type>(value_.index()); }
  bool is_null() const { return type() == Type::kNull; }
  bool is_bool() const { return type() == Type::kBool; }
  bool is_number() const { return type() == Type::kNumber; }
  bool is_string() const { return type() == Type::kString; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_object() const { return type() == Type::kObject; }

  // Typed access; calling the wrong one is a bug (asserts). Use the Get* members for input.
  bool as_bool() const { return std::get<bool>(value_); }
  double as_number() const { return std::get<double>(value_); }
  const std::string& as_string() const { return std::get<std::string>(value_); }
  std::string& as_string() { return std::get<std::string>(value_); }
  const JsonArray& as_array() const { return std::get<JsonArray>(value_); }
  JsonArray& as_array() { return std::get<JsonArray>(value_); }
  const JsonObject& as_object() const { return std::get<JsonObject>(value_); }
  JsonObject& as_object() { return std::get<JsonObject>(value_); }

  // Object members. Find returns nullptr when absent or when this is not an object.
  const Json* Find(std::string_view key) const;
  Json* Find(std::string_view key);
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  // Replaces the member's value if present, else appends it. This must be an object.
  Json& Set(std::string_view key, Json value);
  bool Erase(std::string_view key);
  // Appends to an array. This must be an array.
  void PushBack(Json value) { as_array().push_back(std::move(value)); }

  // Input validation helpers: a clear error naming the member and what was wrong.
  Result<std::string_view> GetString(std::string_view key) const;
  Result<double> GetNumber(std::string_view key) const;
  // The member as JsonInteger reads it; the error names the member and the range.
  Result<std::uint64_t> GetInteger(std::string_view key, std::uint64_t min = 0,
                                   std::uint64_t max = kMaxJsonInteger) const;
  // An optional count: `fallback` when the member is absent, else as GetInteger reads it.
  Result<std::uint64_t> GetIntegerOr(std::string_view key, std::uint64_t fallback) const;
  // For showing an optional text member: its value when it is a non-empty string, else `fallback`.
  std::string StringOr(std::string_view key, std::string_view fallback) const;
  Result<const JsonObject*> GetObject(std::string_view key) const;
  Result<const JsonArray*> GetArray(std::string_view key) const;

  // Compact, member order kept.
  std::string Serialize() const;
  // The same text, appended to `out`.
  void AppendTo(std::string& out) const;
  // Indented for people (2 spaces), member order kept, trailing newline not included.
  std::string SerializePretty() const;

  // JSON equality: objects are equal when they have the same members, in any order (a document
  // read back in its RFC 8785 form equals the one written); arrays compare in order.
  friend bool operator==(const Json& a, const Json& b);

 private:
  std::variant<std::monostate, bool, double, std::string, JsonArray, JsonObject> value_;
};

std::string_view JsonTypeName(Json::Type type);

// RFC 8785 string serialization: quotes, \" \\ \b \f \n \r \t, other controls as \u00xx,
// everything else as raw UTF-8. The input must be valid UTF-8.
void AppendJsonString(std::string& out, std::string_view utf8);
// Overwrites the calling thread's parse scratch (the padded copy of the text and the parser's
// string buffer) after Parse() read secret text of `secret_bytes` bytes, such as a key file, so no
// copy of it outlives the parse there. The parsed tree is the caller's to wipe.
void WipeJsonParseScratch(std::size_t secret_bytes);

// ECMAScript Number::toString (RFC 8785 section 3.2.2.3). NaN and infinities, which only a tree
// built in code can hold, are written as null, as JSON.stringify does; JCS rejects them instead.
void AppendJsonNumber(std::string& out, double value);

}  // namespace tcc
