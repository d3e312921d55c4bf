// Internal to tcc_vc: the compiled form of a JSON Schema, which schema_compiler.cpp builds and
// schema_validator.cpp walks, and the text helpers both use to name values and schema locations
// in messages. A compiled graph is immutable once built, so any number of threads may walk it.
#pragma once

#include <re2/re2.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/vc/schema_validator.h"

namespace tcc::vc {
namespace schema_internal {

constexpr std::uint32_t kNoNode = std::numeric_limits<std::uint32_t>::max();
// Long values are cut in messages so a hostile claim cannot inflate error output.
constexpr std::size_t kMaxQuotedBytes = 64;

// Bits of the `type` keyword; "integer" is its own bit because it accepts a subset of numbers.
enum TypeBit : std::uint8_t {
  kNullBit = 1,
  kBooleanBit = 2,
  kObjectBit = 4,
  kArrayBit = 8,
  kNumberBit = 16,
  kStringBit = 32,
  kIntegerBit = 64,
};

struct TypeName {
  std::string_view name;
  TypeBit bit;
};
constexpr TypeName kTypeNames[] = {
    {"null", kNullBit},       {"boolean", kBooleanBit}, {"object", kObjectBit},
    {"array", kArrayBit},     {"number", kNumberBit},   {"string", kStringBit},
    {"integer", kIntegerBit},
};

struct PropertyEntry {
  std::string name;
  std::uint32_t schema = kNoNode;  // kNoNode: named only by `required`, not by `properties`
  std::int32_t required_slot = -1;
};

struct Node {
  std::string location;  // JSON Pointer of this subschema
  bool rejects_all = false;
  std::uint8_t types = 0;  // 0 = any type
  std::uint32_t ref = kNoNode;
  // object
  std::vector<PropertyEntry> properties;  // sorted by name
  std::vector<std::string> required;      // schema order, for messages
  std::uint32_t additional = kNoNode;
  // array
  std::uint32_t items = kNoNode;
  std::optional<std::size_t> min_items, max_items;
  // number
  std::optional<double> minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
  // string
  std::optional<std::size_t> min_length, max_length;
  std::unique_ptr<re2::RE2> pattern;
  bool date_time = false;
  // any
  std::optional<JsonArray> enum_values;
  std::optional<Json> const_value;
  std::vector<std::uint32_t> any_of, one_of;  // branches applied to the same value

  const PropertyEntry* FindProperty(std::string_view name) const {
    // Claim objects are small; a scan that rejects on length first beats binary search there.
    if (properties.size() <= kLinearScanLimit) {
      for (const auto& entry : properties) {
        if (entry.name.size() == name.size() && entry.name == name) return &entry;
      }
      return nullptr;
    }
    auto it = std::lower_bound(
        properties.begin(), properties.end(), name,
        [](const PropertyEntry& entry, std::string_view key) { return entry.name < key; });
    return it != properties.end() && it->name == name ? &*it : nullptr;
  }

  static constexpr std::size_t kLinearScanLimit = 16;
};

// Cuts text to at most max_bytes without splitting a UTF-8 sequence.
std::string_view Truncated(std::string_view text, std::size_t max_bytes);
// A string as a JSON string, cut at kMaxQuotedBytes, so a hostile value cannot inflate a message.
std::string Quoted(std::string_view text);
// Appends "/token" with JSON Pointer escaping.
void AppendPointerToken(std::string& out, std::string_view token);
std::string ChildLocation(std::string_view parent, std::string_view token);

}  // namespace schema_internal

struct SchemaValidator::Compiled {
  std::vector<schema_internal::Node> nodes;
  std::uint32_t root = schema_internal::kNoNode;
};

}  // namespace tcc::vc
