// SchemaValidator: a JSON Schema (2020-12 subset) compiled once and then checked against many claims.
//
// Templates (TIT/TST, "Claim Protocol Types") describe their claims with JSON Schema. Compile()
// turns a schema into an immutable validator; every schema error (unknown keyword, keyword of the
// wrong type, invalid regex, `$ref` that does not resolve or that forms a cycle, unsupported
// format) is found at compile time and named by its JSON Pointer into the schema, so a template that
// compiles cannot fail later for schema reasons. Validate() then reports every violation in a claim,
// each with the JSON Pointer of the offending value (e.g. `/usage/gpuSeconds`).
//
// Supported keywords: `type` (including "integer"), `properties`, `required`,
// `additionalProperties`, `items` (one schema for all elements), `minItems`/`maxItems`, `enum`,
// `const`, `minimum`/`maximum`, `exclusiveMinimum`/`exclusiveMaximum`, `multipleOf` (to a relative
// 1e-9, so decimal steps such as 0.01 work), `anyOf`/`oneOf`, `minLength`/`maxLength`
// (counted in Unicode code points), `pattern`, `format: "date-time"` (asserted, not just annotated,
// by tcc::ParseRfc3339: RFC 3339 with range checks; leap seconds are refused because claim times
// must map to instants), `$ref` to a local JSON Pointer (`#`, `#/$defs/name`), `$defs`, boolean
// schemas, and the annotations `$schema`, `$id` (root only), `$comment`, `title`, `description`,
// `default`, `examples`. Anything else is rejected rather than silently ignored, so a typo such as
// `"minimun"` cannot weaken a template.
//
// Choices that differ from full JSON Schema: `$ref` graphs must be acyclic (claims are flat business
// records; refusing recursion bounds validation work by the size of the claim, as does a bound on
// how many subschemas can apply to one value, which anyOf/oneOf branches multiply); `pattern` uses RE2,
// which matches in linear time whatever the pattern (templates come from providers, so catastrophic
// backtracking must be impossible) and supports ECMA-262's common subset — backreferences and
// lookaround are rejected at compile time.
//
// A SchemaValidator is immutable after Compile(); copies share the compiled form. All const members
// are thread-safe and may run concurrently on any number of threads.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::vc {

struct SchemaLimits {
  std::size_t max_nodes = 10000;          // compiled subschemas
  std::size_t max_depth = 128;            // nesting, counting `$ref` hops
  std::size_t max_pattern_bytes = 1024;   // length of one `pattern`
};

struct Violation {
  std::string instance_path;  // JSON Pointer into the claim; "" is the claim itself
  std::string schema_path;    // JSON Pointer into the schema, ending at the failing keyword
  std::string message;

  // "/usage/gpuSeconds: must be >= 0, got -5", with "(root)" for the empty path.
  std::string ToString() const;
  friend bool operator==(const Violation&, const Violation&) = default;
};

class SchemaValidator {
 public:
  // Fails with kInvalidArgument (or kResourceExhausted for limits) naming the schema location.
  [[nodiscard]] static Result<SchemaValidator> Compile(const Json& schema,
                                                       const SchemaLimits& limits = {});

  // Every violation, in document order of the claim; empty when the claim is valid.
  std::vector<Violation> Validate(const Json& instance) const;
  // Stops at the first violation and allocates nothing; for hot paths that only need yes/no.
  bool IsValid(const Json& instance) const;
  // OkStatus, or kVerificationFailed "does not match the schema (N violations): /a: ...; /b: ..."
  // (the first 20 listed); callers add context such as WithContext("claim").
  Status Check(const Json& instance) const;
  // Check of the object `instance` as if it lacked its member `omitted` (a claim is checked
  // without its proof, which templates do not describe), without copying it.
  Status CheckWithout(const Json& instance, std::string_view omitted) const;

  struct Compiled;  // the compiled node graph (implementation detail, opaque to users)

 private:
  explicit SchemaValidator(std::shared_ptr<const Compiled> compiled)
      : compiled_(std::move(compiled)) {}

  // Validate, leaving out the member `omitted` of `instance` when one is named.
  std::vector<Violation> Collect(const Json& instance,
                                 std::optional<std::string_view> omitted) const;

  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace tcc::vc
