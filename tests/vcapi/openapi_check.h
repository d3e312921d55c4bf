// OpenApiCheck: checks an HTTP answer against the VC API's OpenAPI 3.1 document
// (tcc/vcapi/openapi.json): that the status is documented for the operation, that the content type
// is the documented one, and that a JSON body validates against the response's schema.
//
// The schema validator covers the part of JSON Schema 2020-12 the document uses ($ref to the
// document, type, const, enum, properties, required, additionalProperties, items, minItems,
// maxItems, minimum, pattern, anyOf, oneOf) and refuses any other keyword, so a keyword added to
// the document without support here fails the test instead of being skipped. Paths the document
// does not have must answer 404, and methods it does not list for a path 405, both with its Error
// schema. Immutable after construction; thread-safe.
#pragma once

#include <cmath>
#include <regex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/file.h"
#include "tcc/common/json.h"

namespace tcc::testing {

class OpenApiCheck {
 public:
  explicit OpenApiCheck(const std::string& path) {
    auto text = ReadFile(path);
    if (text.ok()) {
      auto parsed = Json::Parse(*text);
      if (parsed.ok()) document_ = std::move(parsed).value();
    }
  }

  const Json& document() const { return document_; }

  // Empty when the answer is what the document says; otherwise what differs.
  std::string Check(std::string_view method, std::string_view target, long status,
                    std::string_view content_type, std::string_view body) const {
    if (!document_.is_object()) return "the OpenAPI document did not load";
    std::string path(target.substr(0, target.find('?')));
    const std::string where = std::string(method) + " " + path + " " + std::to_string(status);
    const Json* item = FindPath(path);
    const Json* response = nullptr;
    if (item == nullptr || item->Find(Lower(method)) == nullptr) {
      const long expected = item == nullptr ? 404 : 405;
      if (status != expected && status != 429) {
        return where + ": not in the document, so " + std::to_string(expected) + " was expected";
      }
      return CheckBody(where, content_type, body, JsonRef("#/components/schemas/Error"));
    }
    const Json* responses = item->Find(Lower(method))->Find("responses");
    response = responses->Find(std::to_string(status));
    if (response == nullptr) response = responses->Find("default");
    if (response == nullptr) return where + ": status not documented for the operation";
    response = Resolve(*response);
    const Json* content = response->Find("content");
    if (content == nullptr) {
      return body.empty()
                 ? std::string()
                 : where + ": the document says no body, got " + std::string(body.substr(0, 200));
    }
    const std::string media(content_type.substr(0, content_type.find(';')));
    const Json* entry = content->Find(media);
    if (entry == nullptr)
      return where + ": content type " + std::string(content_type) + " is not documented";
    if (media != "application/json") return {};
    return CheckBody(where, content_type, body, *entry->Find("schema"));
  }

  // Empty when `value` validates against `schema`; otherwise the first violation, with its place.
  std::string Validate(const Json& value, const Json& schema, const std::string& at) const {
    if (schema.is_bool()) return schema.as_bool() ? std::string() : at + ": no value allowed";
    if (!schema.is_object()) return at + ": the schema is not an object";
    for (const auto& [keyword, argument] : schema.as_object()) {
      if (!Known().contains(keyword))
        return at + ": the validator does not know keyword " + keyword;
    }
    if (const Json* ref = schema.Find("$ref")) {
      const Json* target = Pointer(ref->as_string());
      if (target == nullptr) return at + ": unresolved $ref " + ref->as_string();
      if (auto problem = Validate(value, *target, at); !problem.empty()) return problem;
    }
    if (const Json* type = schema.Find("type")) {
      bool matches = false;
      if (type->is_string()) {
        matches = HasType(value, type->as_string());
      } else {
        for (const Json& one : type->as_array())
          matches = matches || HasType(value, one.as_string());
      }
      if (!matches) return at + ": " + Short(value) + " is not of type " + type->Serialize();
    }
    if (const Json* constant = schema.Find("const"); constant != nullptr && value != *constant) {
      return at + ": " + Short(value) + " is not " + constant->Serialize();
    }
    if (const Json* allowed = schema.Find("enum")) {
      bool found = false;
      for (const Json& one : allowed->as_array()) found = found || one == value;
      if (!found) return at + ": " + Short(value) + " is not one of " + allowed->Serialize();
    }
    if (const Json* minimum = schema.Find("minimum");
        minimum != nullptr && value.is_number() && value.as_number() < minimum->as_number()) {
      return at + ": " + Short(value) + " is below " + minimum->Serialize();
    }
    if (const Json* pattern = schema.Find("pattern"); pattern != nullptr && value.is_string()) {
      if (!std::regex_search(value.as_string(), std::regex(pattern->as_string()))) {
        return at + ": " + Short(value) + " does not match " + pattern->as_string();
      }
    }
    if (value.is_array()) {
      const std::size_t size = value.as_array().size();
      if (const Json* min = schema.Find("minItems");
          min != nullptr && static_cast<double>(size) < min->as_number()) {
        return at + ": fewer than " + min->Serialize() + " items";
      }
      if (const Json* max = schema.Find("maxItems");
          max != nullptr && static_cast<double>(size) > max->as_number()) {
        return at + ": more than " + max->Serialize() + " items";
      }
      if (const Json* items = schema.Find("items")) {
        for (std::size_t i = 0; i < size; ++i) {
          if (auto problem = Validate(value.as_array()[i], *items, at + "/" + std::to_string(i));
              !problem.empty()) {
            return problem;
          }
        }
      }
    }
    if (value.is_object()) {
      const Json* properties = schema.Find("properties");
      if (const Json* required = schema.Find("required")) {
        for (const Json& name : required->as_array()) {
          if (value.Find(name.as_string()) == nullptr)
            return at + ": member " + name.as_string() + " is missing";
        }
      }
      const Json* additional = schema.Find("additionalProperties");
      for (const auto& [name, member] : value.as_object()) {
        const Json* property = properties != nullptr ? properties->Find(name) : nullptr;
        const Json* member_schema = property != nullptr ? property : additional;
        if (member_schema == nullptr) continue;
        if (auto problem = Validate(member, *member_schema, at + "/" + name); !problem.empty()) {
          return member_schema == additional && additional->is_bool()
                     ? at + ": member " + name + " is not in the schema"
                     : problem;
        }
      }
    }
    if (const Json* any = schema.Find("anyOf")) {
      bool one_valid = false;
      for (const Json& option : any->as_array())
        one_valid = one_valid || Validate(value, option, at).empty();
      if (!one_valid) return at + ": " + Short(value) + " matches none of anyOf";
    }
    if (const Json* one = schema.Find("oneOf")) {
      int valid = 0;
      for (const Json& option : one->as_array())
        valid += Validate(value, option, at).empty() ? 1 : 0;
      if (valid != 1)
        return at + ": " + Short(value) + " matches " + std::to_string(valid) + " of oneOf";
    }
    return {};
  }

 private:
  static const std::set<std::string, std::less<>>& Known() {
    static const std::set<std::string, std::less<>> keywords = {
        "$ref", "type", "const", "enum", "properties", "required", "additionalProperties", "items",
        "minItems", "maxItems", "minimum", "pattern", "anyOf", "oneOf",
        // annotations
        "description", "title", "examples"};
    return keywords;
  }

  static std::string Lower(std::string_view text) {
    std::string lower(text);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }

  static Json JsonRef(const std::string& pointer) {
    Json ref = Json::Object();
    ref.Set("$ref", pointer);
    return ref;
  }

  static std::string Short(const Json& value) { return value.Serialize().substr(0, 120); }

  static bool HasType(const Json& value, const std::string& type) {
    if (type == "object") return value.is_object();
    if (type == "array") return value.is_array();
    if (type == "string") return value.is_string();
    if (type == "boolean") return value.is_bool();
    if (type == "null") return value.is_null();
    if (type == "number") return value.is_number();
    if (type == "integer")
      return value.is_number() && std::floor(value.as_number()) == value.as_number();
    return false;
  }

  std::string CheckBody(const std::string& where, std::string_view content_type,
                        std::string_view body, const Json& schema) const {
    if (!content_type.starts_with("application/json")) {
      return where + ": content type " + std::string(content_type) + ", not application/json";
    }
    auto parsed = Json::Parse(body);
    if (!parsed.ok()) return where + ": the body is not JSON: " + std::string(body.substr(0, 200));
    auto problem = Validate(*parsed, schema, "");
    return problem.empty() ? problem : where + ": body" + problem;
  }

  // The path item whose template matches `path` ({name} matches one non-empty segment).
  const Json* FindPath(const std::string& path) const {
    for (const auto& [name, item] : document_.Find("paths")->as_object()) {
      if (Matches(name, path)) return &item;
    }
    return nullptr;
  }

  static bool Matches(std::string_view pattern, std::string_view path) {
    while (!pattern.empty() && !path.empty()) {
      if (pattern.front() == '{') {
        const std::size_t close = pattern.find('}');
        const std::size_t end = std::min(path.find('/'), path.size());
        if (end == 0) return false;
        pattern.remove_prefix(close + 1);
        path.remove_prefix(end);
      } else {
        if (pattern.front() != path.front()) return false;
        pattern.remove_prefix(1);
        path.remove_prefix(1);
      }
    }
    return pattern.empty() && path.empty();
  }

  // "#/components/schemas/Name": the document's part it names.
  const Json* Pointer(const std::string& pointer) const {
    if (!pointer.starts_with("#/")) return nullptr;
    const Json* at = &document_;
    std::string_view rest = std::string_view(pointer).substr(2);
    while (at != nullptr && !rest.empty()) {
      const std::size_t slash = std::min(rest.find('/'), rest.size());
      at = at->Find(std::string(rest.substr(0, slash)));
      rest.remove_prefix(std::min(slash + 1, rest.size()));
    }
    return at;
  }

  const Json* Resolve(const Json& maybe_ref) const {
    const Json* ref = maybe_ref.Find("$ref");
    return ref != nullptr ? Pointer(ref->as_string()) : &maybe_ref;
  }

  Json document_;
};

}  // namespace tcc::testing

#include <doctest/doctest.h>

#include <atomic>

#include "http_client.h"

namespace tcc::testing {

// The document in the source tree (TCC_OPENAPI_PATH, set by tests/vcapi/CMakeLists.txt).
inline const OpenApiCheck& VcApiDocument() {
  static const OpenApiCheck check(TCC_OPENAPI_PATH);
  return check;
}

// How many answers CheckEveryAnswer has checked.
inline std::atomic<std::size_t>& CheckedAnswers() {
  static std::atomic<std::size_t> checked{0};
  return checked;
}

// From now on every answer an HttpClient receives (but tccd's /metrics) is checked against the
// document: a test that receives an undocumented answer fails.
inline void CheckEveryAnswer() {
  HttpClient::observer() = [](std::string_view method, std::string_view path,
                              const HttpResponse& response) {
    if (response.status == 0 || path == "/metrics") return;  // no answer, or not the VC API
    const std::string problem =
        VcApiDocument().Check(method, path, response.status, response.content_type, response.body);
    CHECK_MESSAGE(problem.empty(), problem);
    ++CheckedAnswers();
  };
}

}  // namespace tcc::testing
