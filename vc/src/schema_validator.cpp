// SchemaValidator::Validate and its kin: an instance walked against the compiled node graph of
// schema_compiled.h, every violation named by its JSON Pointer.
#include "tcc/vc/schema_validator.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "schema_compiled.h"
#include "tcc/common/time.h"

namespace tcc::vc {
namespace {

using namespace schema_internal;

constexpr std::size_t kMaxListedViolations = 20;
// multipleOf compares value / multipleOf with the nearest integer, relative to its size, so that
// decimal steps (0.01) accept what binary floating point makes of decimal amounts.
constexpr double kMultipleTolerance = 1e-9;

bool IsIntegral(double value) { return std::isfinite(value) && std::floor(value) == value; }

std::string_view SchemaTypeOf(const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull: return "null";
    case Json::Type::kBool: return "boolean";
    case Json::Type::kNumber: return IsIntegral(value.as_number()) ? "integer" : "number";
    case Json::Type::kString: return "string";
    case Json::Type::kArray: return "array";
    case Json::Type::kObject: return "object";
  }
  return "unknown";
}

bool TypeMatches(std::uint8_t types, const Json& value) {
  switch (value.type()) {
    case Json::Type::kNull: return types & kNullBit;
    case Json::Type::kBool: return types & kBooleanBit;
    case Json::Type::kNumber:
      return (types & kNumberBit) || ((types & kIntegerBit) && IsIntegral(value.as_number()));
    case Json::Type::kString: return types & kStringBit;
    case Json::Type::kArray: return types & kArrayBit;
    case Json::Type::kObject: return types & kObjectBit;
  }
  return false;
}

std::string TypeMaskText(std::uint8_t types) {
  std::string text;
  for (const auto& entry : kTypeNames) {
    if (!(types & entry.bit)) continue;
    if (!text.empty()) text += " or ";
    text += entry.name;
  }
  return text;
}

// JSON Schema equality: numbers by value, objects regardless of member order.
bool JsonEqual(const Json& a, const Json& b) {
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Json::Type::kNull: return true;
    case Json::Type::kBool: return a.as_bool() == b.as_bool();
    case Json::Type::kNumber: return a.as_number() == b.as_number();
    case Json::Type::kString: return a.as_string() == b.as_string();
    case Json::Type::kArray: {
      const auto& x = a.as_array();
      const auto& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (std::size_t i = 0; i < x.size(); ++i) {
        if (!JsonEqual(x[i], y[i])) return false;
      }
      return true;
    }
    case Json::Type::kObject: {
      const auto& x = a.as_object();
      if (x.size() != b.as_object().size()) return false;
      for (const auto& [key, value] : x) {
        const Json* other = b.Find(key);
        if (other == nullptr || !JsonEqual(value, *other)) return false;
      }
      return true;
    }
  }
  return false;
}

std::size_t CodePointCount(std::string_view utf8) {
  std::size_t count = 0;
  for (char c : utf8) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

std::string NumberText(double value) {
  std::string out;
  AppendJsonNumber(out, value);
  return out;
}

std::string ValueText(const Json& value) {
  if (value.is_string()) return Quoted(value.as_string());
  std::string text = value.Serialize();
  if (text.size() > kMaxQuotedBytes) {
    text = std::string(Truncated(text, kMaxQuotedBytes)) + "...";
  }
  return text;
}

// The instance path is a chain of stack frames, so descending costs no allocation; it becomes a
// string only when a violation is reported.
struct PathLink {
  const PathLink* parent;
  std::string_view key;
  std::size_t index;
  bool is_index;
};

std::string PathString(const PathLink* link) {
  std::vector<const PathLink*> links;
  for (; link != nullptr; link = link->parent) links.push_back(link);
  std::string out;
  for (auto it = links.rbegin(); it != links.rend(); ++it) {
    if ((*it)->is_index) {
      out += '/';
      out += std::to_string((*it)->index);
    } else {
      AppendPointerToken(out, (*it)->key);
    }
  }
  return out;
}

// The object whose member a run leaves out (CheckWithout), and that member's name.
struct Omitted {
  const Json* object = nullptr;
  std::string_view member;
};

class Run {
 public:
  // violations == nullptr: stop at the first violation and build no messages.
  Run(const std::vector<Node>& nodes, std::vector<Violation>* violations, Omitted omitted = {})
      : nodes_(nodes), violations_(violations), omitted_(omitted) {}

  bool failed() const { return failed_; }

  void Visit(std::uint32_t index, const Json& value, const PathLink* path) {
    const Node& node = nodes_[index];
    if (node.rejects_all) {
      Fail(node.location, path, [] { return std::string("no value is allowed here"); });
      return;
    }
    if (node.ref != kNoNode) {
      Visit(node.ref, value, path);
      if (Stopped()) return;
    }
    if (node.types != 0 && !TypeMatches(node.types, value)) {
      // The other keywords would only restate the mismatch.
      FailAt(node, "type", path, [&] {
        std::string got(SchemaTypeOf(value));
        if (value.is_number() || value.is_string()) got += " " + ValueText(value);
        return "expected " + TypeMaskText(node.types) + ", got " + got;
      });
      return;
    }
    if (node.const_value && !JsonEqual(*node.const_value, Compared(value))) {
      FailAt(node, "const", path, [&] {
        return "must equal " + ValueText(*node.const_value) + ", got " + ValueText(Compared(value));
      });
      if (Stopped()) return;
    }
    if (node.enum_values) {
      bool found =
          std::any_of(node.enum_values->begin(), node.enum_values->end(),
                      [&](const Json& option) { return JsonEqual(option, Compared(value)); });
      if (!found) {
        FailAt(node, "enum", path, [&] {
          return "must be one of " + ValueText(Json(*node.enum_values)) + ", got " +
                 ValueText(Compared(value));
        });
        if (Stopped()) return;
      }
    }
    if (!node.any_of.empty() || !node.one_of.empty()) {
      VisitBranches(node, value, path);
      if (Stopped()) return;
    }
    switch (value.type()) {
      case Json::Type::kNumber: return VisitNumber(node, value.as_number(), path);
      case Json::Type::kString: return VisitString(node, value.as_string(), path);
      case Json::Type::kArray: return VisitArray(node, value.as_array(), path);
      case Json::Type::kObject: return VisitObject(node, value.as_object(), path);
      default: return;
    }
  }

 private:
  bool Stopped() const { return failed_ && violations_ == nullptr; }

  // The value as the schema sees it: the omitting object without its member. Only const and enum
  // compare whole values, so only they need the copy, made once and only if they meet the object.
  const Json& Compared(const Json& value) {
    if (&value != omitted_.object) return value;
    if (!omitted_copy_) {
      omitted_copy_ = Json::Object();
      for (const auto& [key, member] : value.as_object()) {
        if (key != omitted_.member) omitted_copy_->as_object().emplace_back(key, member);
      }
    }
    return *omitted_copy_;
  }

  static std::string Keyword(const Node& node, std::string_view keyword) {
    return ChildLocation(node.location, keyword);
  }

  template <typename MessageFn>
  void Fail(std::string_view schema_path, const PathLink* path, MessageFn&& message) {
    failed_ = true;
    if (violations_ == nullptr) return;
    violations_->push_back({PathString(path), std::string(schema_path), message()});
  }
  // Keeps schema paths free of string building on the valid path: only failures compute them.
  template <typename MessageFn>
  void FailAt(const Node& node, std::string_view keyword, const PathLink* path,
              MessageFn&& message) {
    failed_ = true;
    if (violations_ == nullptr) return;
    violations_->push_back({PathString(path), Keyword(node, keyword), message()});
  }

  // How many of `branches` the value matches, counting no further than `enough`.
  std::size_t Matches(const std::vector<std::uint32_t>& branches, const Json& value,
                      const PathLink* path, std::size_t enough) const {
    std::size_t matched = 0;
    for (std::uint32_t branch : branches) {
      Run trial(nodes_, nullptr, omitted_);
      trial.Visit(branch, value, path);
      if (!trial.failed() && ++matched >= enough) break;
    }
    return matched;
  }

  void VisitBranches(const Node& node, const Json& value, const PathLink* path) {
    if (!node.any_of.empty() && Matches(node.any_of, value, path, 1) == 0) {
      FailAt(node, "anyOf", path, [&] {
        return "must match at least one of the " + std::to_string(node.any_of.size()) +
               " schemas in anyOf, matched none";
      });
      if (Stopped()) return;
    }
    if (!node.one_of.empty()) {
      const std::size_t matched = Matches(node.one_of, value, path, 2);
      if (matched != 1) {
        FailAt(node, "oneOf", path, [&] {
          return "must match exactly one of the " + std::to_string(node.one_of.size()) +
                 " schemas in oneOf, matched " +
                 (matched == 0 ? std::string("none") : std::string("more than one"));
        });
      }
    }
  }

  void VisitNumber(const Node& node, double number, const PathLink* path) {
    if (node.multiple_of) {
      const double quotient = number / *node.multiple_of;
      const bool whole =
          std::isfinite(quotient) && std::abs(quotient - std::round(quotient)) <=
                                         kMultipleTolerance * std::max(1.0, std::abs(quotient));
      if (!whole) {
        FailAt(node, "multipleOf", path, [&] {
          return "must be a multiple of " + NumberText(*node.multiple_of) + ", got " +
                 NumberText(number);
        });
        if (Stopped()) return;
      }
    }
    if (node.minimum && !(number >= *node.minimum)) {
      FailBound(node, "minimum", ">=", *node.minimum, number, path);
      if (Stopped()) return;
    }
    if (node.maximum && !(number <= *node.maximum)) {
      FailBound(node, "maximum", "<=", *node.maximum, number, path);
      if (Stopped()) return;
    }
    if (node.exclusive_minimum && !(number > *node.exclusive_minimum)) {
      FailBound(node, "exclusiveMinimum", ">", *node.exclusive_minimum, number, path);
      if (Stopped()) return;
    }
    if (node.exclusive_maximum && !(number < *node.exclusive_maximum)) {
      FailBound(node, "exclusiveMaximum", "<", *node.exclusive_maximum, number, path);
    }
  }

  void FailBound(const Node& node, std::string_view keyword, std::string_view relation,
                 double bound, double number, const PathLink* path) {
    FailAt(node, keyword, path, [&] {
      return "must be " + std::string(relation) + " " + NumberText(bound) + ", got " +
             NumberText(number);
    });
  }

  void VisitString(const Node& node, const std::string& text, const PathLink* path) {
    if (node.min_length || node.max_length) {
      std::size_t length = CodePointCount(text);
      if (node.min_length && length < *node.min_length) {
        FailAt(node, "minLength", path, [&] {
          return "must be at least " + std::to_string(*node.min_length) +
                 " characters long, got " + std::to_string(length);
        });
        if (Stopped()) return;
      }
      if (node.max_length && length > *node.max_length) {
        FailAt(node, "maxLength", path, [&] {
          return "must be at most " + std::to_string(*node.max_length) +
                 " characters long, got " + std::to_string(length);
        });
        if (Stopped()) return;
      }
    }
    if (node.pattern && !re2::RE2::PartialMatch(text, *node.pattern)) {
      FailAt(node, "pattern", path, [&] {
        return Quoted(text) + " does not match the pattern " + Quoted(node.pattern->pattern());
      });
      if (Stopped()) return;
    }
    if (node.date_time) {
      if (auto time = ParseRfc3339(text); !time.ok()) {
        FailAt(node, "format", path, [&] { return time.error().message(); });
      }
    }
  }

  void VisitArray(const Node& node, const JsonArray& elements, const PathLink* path) {
    if (node.min_items && elements.size() < *node.min_items) {
      FailAt(node, "minItems", path, [&] {
        return "must have at least " + std::to_string(*node.min_items) + " items, got " +
               std::to_string(elements.size());
      });
      if (Stopped()) return;
    }
    if (node.max_items && elements.size() > *node.max_items) {
      FailAt(node, "maxItems", path, [&] {
        return "must have at most " + std::to_string(*node.max_items) + " items, got " +
               std::to_string(elements.size());
      });
      if (Stopped()) return;
    }
    if (node.items == kNoNode) return;
    for (std::size_t i = 0; i < elements.size(); ++i) {
      PathLink link{path, {}, i, true};
      Visit(node.items, elements[i], &link);
      if (Stopped()) return;
    }
  }

  void VisitObject(const Node& node, const JsonObject& members, const PathLink* path) {
    if (node.properties.empty() && node.additional == kNoNode) return;
    // Which required members were seen; one word covers every realistic schema.
    std::uint64_t seen_word = 0;
    std::vector<bool> seen_many(node.required.size() > 64 ? node.required.size() : 0);
    std::size_t seen = 0;
    const bool omitting = omitted_.object != nullptr && &members == &omitted_.object->as_object();
    for (const auto& [key, member] : members) {
      if (omitting && key == omitted_.member) continue;
      PathLink link{path, key, 0, false};
      const PropertyEntry* entry = node.FindProperty(key);
      if (entry != nullptr && entry->required_slot >= 0) {
        auto slot = static_cast<std::size_t>(entry->required_slot);
        bool already = seen_many.empty() ? (seen_word >> slot) & 1 : seen_many[slot];
        if (!already) {
          ++seen;
          if (seen_many.empty()) {
            seen_word |= std::uint64_t{1} << slot;
          } else {
            seen_many[slot] = true;
          }
        }
      }
      if (entry != nullptr && entry->schema != kNoNode) {
        Visit(entry->schema, member, &link);
      } else if (node.additional != kNoNode) {
        if (nodes_[node.additional].rejects_all) {
          // Named through an init-capture: clang before 16 cannot capture a structured binding.
          FailAt(node, "additionalProperties", &link, [&, &name = key] {
            return "member " + Quoted(name) + " is not allowed (additionalProperties is false)";
          });
        } else {
          Visit(node.additional, member, &link);
        }
      }
      if (Stopped()) return;
    }
    if (seen == node.required.size()) return;
    for (std::size_t slot = 0; slot < node.required.size(); ++slot) {
      bool present = seen_many.empty() ? (seen_word >> slot) & 1 : seen_many[slot];
      if (present) continue;
      const std::string& name = node.required[slot];
      PathLink link{path, name, 0, false};
      FailAt(node, "required", &link,
             [&] { return "required member " + Quoted(name) + " is missing"; });
      if (Stopped()) return;
    }
  }

  const std::vector<Node>& nodes_;
  std::vector<Violation>* violations_;
  Omitted omitted_;
  std::optional<Json> omitted_copy_;
  bool failed_ = false;
};

}  // namespace

std::string Violation::ToString() const {
  return (instance_path.empty() ? std::string("(root)") : instance_path) + ": " + message;
}

std::vector<Violation> SchemaValidator::Collect(const Json& instance,
                                                std::optional<std::string_view> omitted) const {
  std::vector<Violation> violations;
  Run run(compiled_->nodes, &violations, omitted ? Omitted{&instance, *omitted} : Omitted{});
  run.Visit(compiled_->root, instance, nullptr);
  return violations;
}

std::vector<Violation> SchemaValidator::Validate(const Json& instance) const {
  return Collect(instance, std::nullopt);
}

bool SchemaValidator::IsValid(const Json& instance) const {
  Run run(compiled_->nodes, nullptr);
  run.Visit(compiled_->root, instance, nullptr);
  return !run.failed();
}

namespace {

// OkStatus, or the violations as Check's one message.
Status Summarize(const std::vector<Violation>& violations) {
  if (violations.empty()) return OkStatus();
  std::string message = "does not match the schema (" + std::to_string(violations.size()) +
                        (violations.size() == 1 ? " violation): " : " violations): ");
  for (std::size_t i = 0; i < violations.size() && i < kMaxListedViolations; ++i) {
    if (i > 0) message += "; ";
    message += violations[i].ToString();
  }
  if (violations.size() > kMaxListedViolations) {
    message += "; and " + std::to_string(violations.size() - kMaxListedViolations) + " more";
  }
  return Error(ErrorCode::kVerificationFailed, std::move(message));
}

}  // namespace

Status SchemaValidator::Check(const Json& instance) const { return Summarize(Validate(instance)); }

Status SchemaValidator::CheckWithout(const Json& instance, std::string_view omitted) const {
  if (!instance.is_object()) return Check(instance);
  return Summarize(Collect(instance, omitted));
}

}  // namespace tcc::vc
