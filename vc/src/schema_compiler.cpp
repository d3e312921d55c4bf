// SchemaValidator::Compile: a schema's keywords checked and turned into the node graph of
// schema_compiled.h.
#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "schema_compiled.h"
#include "tcc/vc/schema_validator.h"

namespace tcc::vc {
namespace {

using namespace schema_internal;

constexpr std::string_view kDialect2020 = "https://json-schema.org/draft/2020-12/schema";
// RE2 programs beyond this are refused; real claim patterns (DIDs, amounts) need a few KB.
constexpr std::int64_t kRegexMaxMemory = 1 << 20;

std::string Where(std::string_view location) {
  return "schema " + (location.empty() ? std::string("(root)") : std::string(location));
}

Error SchemaError(std::string_view location, std::string_view what) {
  return Error(ErrorCode::kInvalidArgument, Where(location) + ": " + std::string(what));
}

// Reads a JSON Pointer fragment ("#/a/b", percent-encoded as in a URI) into tokens.
Result<std::vector<std::string>> ParseLocalRef(std::string_view ref, std::string_view location) {
  if (ref.empty() || ref[0] != '#') {
    return SchemaError(location, "$ref " + Quoted(ref) +
                                     " is not a local reference; only \"#\" and \"#/...\" "
                                     "JSON Pointers into this schema are supported");
  }
  std::string pointer;
  for (std::size_t i = 1; i < ref.size(); ++i) {
    if (ref[i] != '%') {
      pointer.push_back(ref[i]);
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= ref.size()) {
      return SchemaError(location, "$ref " + Quoted(ref) + " has a truncated %-escape");
    }
    int high = hex(ref[i + 1]);
    int low = hex(ref[i + 2]);
    if (high < 0 || low < 0) {
      return SchemaError(location, "$ref " + Quoted(ref) + " has an invalid %-escape");
    }
    pointer.push_back(static_cast<char>(high * 16 + low));
    i += 2;
  }
  std::vector<std::string> tokens;
  if (pointer.empty()) return tokens;
  if (pointer[0] != '/') {
    return SchemaError(location, "$ref " + Quoted(ref) +
                                     " uses a plain-name fragment; only JSON Pointers are "
                                     "supported (use $defs and \"#/$defs/name\")");
  }
  std::size_t start = 1;
  while (true) {
    std::size_t end = pointer.find('/', start);
    std::string_view raw = std::string_view(pointer).substr(
        start, end == std::string::npos ? std::string::npos : end - start);
    std::string token;
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] != '~') {
        token.push_back(raw[i]);
      } else if (i + 1 < raw.size() && (raw[i + 1] == '0' || raw[i + 1] == '1')) {
        token.push_back(raw[i + 1] == '0' ? '~' : '/');
        ++i;
      } else {
        return SchemaError(location, "$ref " + Quoted(ref) + " has an invalid ~ escape");
      }
    }
    tokens.push_back(std::move(token));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return tokens;
}

// A JSON Pointer array index: digits without a leading zero.
std::optional<std::size_t> ArrayIndex(std::string_view token) {
  if (token.empty() || token.size() > 9 || (token.size() > 1 && token[0] == '0')) return {};
  std::size_t index = 0;
  auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), index);
  if (error != std::errc() || end != token.data() + token.size()) return {};
  return index;
}

class Compiler {
 public:
  Compiler(const Json& root, const SchemaLimits& limits) : root_(root), limits_(limits) {}

  Result<std::uint32_t> Compile(const Json& schema, const std::string& location,
                                std::size_t depth) {
    if (auto it = state_.find(location); it != state_.end()) {
      if (it->second.in_progress) return CycleError(location);
      return it->second.index;
    }
    if (depth > limits_.max_depth) {
      return Error(ErrorCode::kResourceExhausted,
                   Where(location) + ": nesting (counting $ref hops) exceeds " +
                       std::to_string(limits_.max_depth) + " levels");
    }
    if (nodes_.size() >= limits_.max_nodes) {
      return Error(ErrorCode::kResourceExhausted, Where(location) + ": the schema has more than " +
                                                      std::to_string(limits_.max_nodes) +
                                                      " subschemas");
    }
    auto index = static_cast<std::uint32_t>(nodes_.size());
    nodes_.emplace_back();
    heights_.push_back(0);
    applied_.push_back({});
    state_[location] = {index, true};
    stack_.push_back(location);
    Node node;
    node.location = location;
    TCC_RETURN_IF_ERROR(Fill(node, schema, location, depth));
    // Memoized definitions can be reached from deeper places than where they were compiled, so
    // `depth` alone does not bound validation; the height of the finished (acyclic) graph does.
    std::size_t height = HeightOf(node);
    if (height > limits_.max_depth) {
      return Error(ErrorCode::kResourceExhausted,
                   Where(location) + ": nesting (counting $ref hops) exceeds " +
                       std::to_string(limits_.max_depth) + " levels");
    }
    heights_[index] = height;
    // anyOf/oneOf apply several subschemas to one value, and branches whose members have branches
    // multiply: bounding the subschemas that can apply to any one value bounds validation work by
    // the size of the claim, whatever the template.
    const Applied applied = AppliedOf(node);
    if (std::max(applied.here, applied.below) > limits_.max_nodes) {
      return Error(ErrorCode::kResourceExhausted,
                   Where(location) + ": more than " + std::to_string(limits_.max_nodes) +
                       " subschemas would apply to one value (through $ref, anyOf and oneOf)");
    }
    applied_[index] = applied;
    nodes_[index] = std::move(node);
    stack_.pop_back();
    state_[location].in_progress = false;
    return index;
  }

  std::vector<Node> TakeNodes() { return std::move(nodes_); }

 private:
  struct State {
    std::uint32_t index;
    bool in_progress;
  };

  // Longest chain of nested subschemas from this node; its children are all finished (no cycles).
  std::size_t HeightOf(const Node& node) const {
    std::size_t below = 0;
    auto visit = [&](std::uint32_t child) {
      if (child != kNoNode) below = std::max(below, heights_[child]);
    };
    visit(node.ref);
    visit(node.additional);
    visit(node.items);
    for (const auto& entry : node.properties) visit(entry.schema);
    for (std::uint32_t branch : node.any_of) visit(branch);
    for (std::uint32_t branch : node.one_of) visit(branch);
    return below + 1;
  }

  // Upper bounds of how many subschemas apply when this node checks a value: to the value itself
  // (the node, its $ref and branches, transitively) and to any one value inside it (the most any
  // member or element schema brings, summed over every node applied here).
  struct Applied {
    std::size_t here = 0;
    std::size_t below = 0;
  };
  Applied AppliedOf(const Node& node) const {
    const std::size_t cap = limits_.max_nodes + 1;  // saturate: only "over the limit" matters
    std::size_t inside = 0;                         // this node's own member and element schemas
    auto deepest = [&](std::uint32_t child) {
      if (child != kNoNode)
        inside = std::max(inside, std::max(applied_[child].here, applied_[child].below));
    };
    deepest(node.additional);
    deepest(node.items);
    for (const auto& entry : node.properties) deepest(entry.schema);
    Applied total{1, inside};
    auto add = [&](std::uint32_t same_value) {
      if (same_value == kNoNode) return;
      total.here = std::min(total.here + applied_[same_value].here, cap);
      total.below = std::min(total.below + applied_[same_value].below, cap);
    };
    add(node.ref);
    for (std::uint32_t branch : node.any_of) add(branch);
    for (std::uint32_t branch : node.one_of) add(branch);
    return total;
  }

  Error CycleError(const std::string& location) const {
    std::string chain;
    auto start = std::find(stack_.begin(), stack_.end(), location);
    for (auto it = start; it != stack_.end(); ++it) chain += "#" + *it + " -> ";
    chain += "#" + location;
    return SchemaError(stack_.empty() ? location : stack_.back(),
                       "$ref forms a cycle (" + chain + "); recursive schemas are not supported");
  }

  Status Fill(Node& node, const Json& schema, const std::string& location, std::size_t depth) {
    if (schema.is_bool()) {
      node.rejects_all = !schema.as_bool();
      return OkStatus();
    }
    if (!schema.is_object()) {
      return SchemaError(location, "a schema must be an object or a boolean, not " +
                                       std::string(JsonTypeName(schema.type())));
    }
    for (const auto& [keyword, value] : schema.as_object()) {
      std::string at = ChildLocation(location, keyword);
      TCC_RETURN_IF_ERROR(Keyword(node, keyword, value, location, at, depth));
    }
    return BuildPropertyTable(node, schema, location, depth);
  }

  Status Keyword(Node& node, const std::string& keyword, const Json& value,
                 const std::string& location, const std::string& at, std::size_t depth) {
    if (keyword == "type") return ParseType(node, value, at);
    if (keyword == "properties") {
      if (!value.is_object()) return SchemaError(at, "must be an object of schemas");
      return OkStatus();  // compiled with `required` in BuildPropertyTable
    }
    if (keyword == "required") {
      if (!value.is_array()) return SchemaError(at, "must be an array of strings");
      std::unordered_set<std::string_view> names;
      for (std::size_t i = 0; i < value.as_array().size(); ++i) {
        const Json& name = value.as_array()[i];
        if (!name.is_string()) {
          return SchemaError(ChildLocation(at, std::to_string(i)), "must be a string");
        }
        if (!names.insert(name.as_string()).second) {
          return SchemaError(at, "names " + Quoted(name.as_string()) + " twice");
        }
        node.required.push_back(name.as_string());
      }
      return OkStatus();
    }
    if (keyword == "additionalProperties") return Sub(node.additional, value, at, depth);
    if (keyword == "items") {
      if (value.is_array()) {
        return SchemaError(at,
                           "must be one schema (the array form is draft-07 tuple "
                           "validation, which 2020-12 calls prefixItems and this subset "
                           "does not support)");
      }
      return Sub(node.items, value, at, depth);
    }
    if (keyword == "minItems") return ParseCount(node.min_items, value, at);
    if (keyword == "maxItems") return ParseCount(node.max_items, value, at);
    if (keyword == "minLength") return ParseCount(node.min_length, value, at);
    if (keyword == "maxLength") return ParseCount(node.max_length, value, at);
    if (keyword == "minimum") return ParseBound(node.minimum, value, at);
    if (keyword == "maximum") return ParseBound(node.maximum, value, at);
    if (keyword == "exclusiveMinimum") return ParseBound(node.exclusive_minimum, value, at);
    if (keyword == "exclusiveMaximum") return ParseBound(node.exclusive_maximum, value, at);
    if (keyword == "multipleOf") {
      if (!value.is_number() || !std::isfinite(value.as_number()) || value.as_number() <= 0) {
        return SchemaError(at, "must be a positive number");
      }
      node.multiple_of = value.as_number();
      return OkStatus();
    }
    if (keyword == "anyOf" || keyword == "oneOf") {
      if (!value.is_array() || value.as_array().empty())
        return SchemaError(at, "must be a non-empty array of schemas");
      auto& branches = keyword == "anyOf" ? node.any_of : node.one_of;
      for (std::size_t i = 0; i < value.as_array().size(); ++i) {
        std::uint32_t branch = kNoNode;
        TCC_RETURN_IF_ERROR(
            Sub(branch, value.as_array()[i], ChildLocation(at, std::to_string(i)), depth));
        branches.push_back(branch);
      }
      return OkStatus();
    }
    if (keyword == "enum") {
      if (!value.is_array() || value.as_array().empty()) {
        return SchemaError(at, "must be a non-empty array");
      }
      node.enum_values = value.as_array();
      return OkStatus();
    }
    if (keyword == "const") {
      node.const_value = value;
      return OkStatus();
    }
    if (keyword == "pattern") return ParsePattern(node, value, at);
    if (keyword == "format") {
      if (!value.is_string()) return SchemaError(at, "must be a string");
      if (value.as_string() != "date-time") {
        return SchemaError(at, "unsupported format " + Quoted(value.as_string()) +
                                   " (supported: \"date-time\"; use `pattern` for others)");
      }
      node.date_time = true;
      return OkStatus();
    }
    if (keyword == "$ref") return ParseRef(node, value, at, depth);
    if (keyword == "$defs") {
      if (!value.is_object()) return SchemaError(at, "must be an object of schemas");
      for (const auto& [name, definition] : value.as_object()) {
        std::uint32_t ignored = kNoNode;
        TCC_RETURN_IF_ERROR(Sub(ignored, definition, ChildLocation(at, name), depth));
      }
      return OkStatus();
    }
    if (keyword == "$schema") {
      if (!location.empty()) return SchemaError(at, "is only allowed at the schema root");
      if (!value.is_string() || value.as_string() != kDialect2020) {
        return SchemaError(at, "must be \"" + std::string(kDialect2020) + "\"");
      }
      return OkStatus();
    }
    if (keyword == "$id") {
      if (!location.empty()) {
        return SchemaError(at,
                           "is only supported at the schema root (embedded resources "
                           "would change how $ref resolves)");
      }
      if (!value.is_string()) return SchemaError(at, "must be a string");
      return OkStatus();
    }
    if (keyword == "$comment" || keyword == "title" || keyword == "description") {
      if (!value.is_string()) return SchemaError(at, "must be a string");
      return OkStatus();
    }
    if (keyword == "examples") {
      if (!value.is_array()) return SchemaError(at, "must be an array");
      return OkStatus();
    }
    if (keyword == "default") return OkStatus();
    return SchemaError(location, "unknown or unsupported keyword " + Quoted(keyword));
  }

  Status Sub(std::uint32_t& target, const Json& schema, const std::string& at, std::size_t depth) {
    TCC_ASSIGN_OR_RETURN(target, Compile(schema, at, depth + 1));
    return OkStatus();
  }

  Status ParseType(Node& node, const Json& value, const std::string& at) {
    auto add = [&](const Json& name, const std::string& where) -> Status {
      if (!name.is_string()) return SchemaError(where, "must be a type name string");
      for (const auto& entry : kTypeNames) {
        if (name.as_string() != entry.name) continue;
        if (node.types & entry.bit) return SchemaError(where, "repeats " + Quoted(entry.name));
        node.types = static_cast<std::uint8_t>(node.types | entry.bit);
        return OkStatus();
      }
      return SchemaError(where, "unknown type " + Quoted(name.as_string()) +
                                    " (null, boolean, object, array, number, string, integer)");
    };
    if (value.is_string()) return add(value, at);
    if (!value.is_array() || value.as_array().empty()) {
      return SchemaError(at, "must be a type name or a non-empty array of them");
    }
    for (std::size_t i = 0; i < value.as_array().size(); ++i) {
      TCC_RETURN_IF_ERROR(add(value.as_array()[i], ChildLocation(at, std::to_string(i))));
    }
    return OkStatus();
  }

  static Status ParseCount(std::optional<std::size_t>& target, const Json& value,
                           const std::string& at) {
    const std::optional<std::uint64_t> count =
        value.is_number() ? JsonInteger(value.as_number()) : std::nullopt;
    if (!count) return SchemaError(at, "must be a non-negative integer");
    target = static_cast<std::size_t>(*count);
    return OkStatus();
  }

  static Status ParseBound(std::optional<double>& target, const Json& value,
                           const std::string& at) {
    if (!value.is_number() || !std::isfinite(value.as_number())) {
      return SchemaError(at, value.is_bool() ? "must be a number (the boolean form is draft-04)"
                                             : "must be a finite number");
    }
    target = value.as_number();
    return OkStatus();
  }

  Status ParsePattern(Node& node, const Json& value, const std::string& at) const {
    if (!value.is_string()) return SchemaError(at, "must be a string");
    const std::string& source = value.as_string();
    if (source.size() > limits_.max_pattern_bytes) {
      return Error(ErrorCode::kResourceExhausted, Where(at) + ": pattern longer than " +
                                                      std::to_string(limits_.max_pattern_bytes) +
                                                      " bytes");
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_never_capture(true);
    options.set_max_mem(kRegexMaxMemory);
    try {
      auto regex = std::make_unique<re2::RE2>(source, options);
      if (!regex->ok()) {
        return SchemaError(at, "invalid regular expression " + Quoted(source) + ": " +
                                   regex->error() +
                                   " (RE2 syntax: no backreferences or lookaround)");
      }
      node.pattern = std::move(regex);
    } catch (const std::exception& e) {
      return Error(ErrorCode::kResourceExhausted,
                   Where(at) + ": cannot compile pattern: " + std::string(e.what()));
    }
    return OkStatus();
  }

  Status ParseRef(Node& node, const Json& value, const std::string& at, std::size_t depth) {
    if (!value.is_string()) return SchemaError(at, "must be a string");
    TCC_ASSIGN_OR_RETURN(auto tokens, ParseLocalRef(value.as_string(), at));
    const Json* target = &root_;
    std::string target_location;
    for (const auto& token : tokens) {
      const Json* next = nullptr;
      if (target->is_object()) {
        next = target->Find(token);
      } else if (target->is_array()) {
        auto index = ArrayIndex(token);
        if (index && *index < target->as_array().size()) {
          next = &target->as_array()[*index];
        }
      }
      if (next == nullptr) {
        return SchemaError(at, "$ref " + Quoted(value.as_string()) +
                                   " does not resolve: " + Quoted(token) + " not found at " +
                                   (target_location.empty() ? "#" : "#" + target_location));
      }
      AppendPointerToken(target_location, token);
      target = next;
    }
    return Sub(node.ref, *target, target_location, depth);
  }

  Status BuildPropertyTable(Node& node, const Json& schema, const std::string& location,
                            std::size_t depth) {
    if (const Json* properties = schema.Find("properties")) {
      std::string at = ChildLocation(location, "properties");
      for (const auto& [name, subschema] : properties->as_object()) {
        PropertyEntry entry{name, kNoNode, -1};
        TCC_RETURN_IF_ERROR(Sub(entry.schema, subschema, ChildLocation(at, name), depth));
        node.properties.push_back(std::move(entry));
      }
    }
    auto by_name = [](const PropertyEntry& a, const PropertyEntry& b) { return a.name < b.name; };
    std::sort(node.properties.begin(), node.properties.end(), by_name);
    std::size_t declared = node.properties.size();
    for (std::size_t slot = 0; slot < node.required.size(); ++slot) {
      const std::string& name = node.required[slot];
      auto end = node.properties.begin() + static_cast<std::ptrdiff_t>(declared);
      auto it = std::lower_bound(node.properties.begin(), end, PropertyEntry{name}, by_name);
      if (it != end && it->name == name) {
        it->required_slot = static_cast<std::int32_t>(slot);
      } else {
        node.properties.push_back(PropertyEntry{name, kNoNode, static_cast<std::int32_t>(slot)});
      }
    }
    std::sort(node.properties.begin(), node.properties.end(), by_name);
    return OkStatus();
  }

  const Json& root_;
  SchemaLimits limits_;
  std::vector<Node> nodes_;
  std::vector<std::size_t> heights_;  // per node, see HeightOf
  std::vector<Applied> applied_;      // per node, see AppliedOf
  std::unordered_map<std::string, State> state_;
  std::vector<std::string> stack_;
};

}  // namespace

Result<SchemaValidator> SchemaValidator::Compile(const Json& schema, const SchemaLimits& limits) {
  Compiler compiler(schema, limits);
  TCC_ASSIGN_OR_RETURN(std::uint32_t root, compiler.Compile(schema, "", 0));
  auto compiled = std::make_shared<Compiled>();
  compiled->nodes = compiler.TakeNodes();
  compiled->root = root;
  return SchemaValidator(std::move(compiled));
}

}  // namespace tcc::vc
