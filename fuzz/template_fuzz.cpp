// Template compilation (tcc/vc/template.h, schema_validator.h): providers publish templates, so
// their documents and claim schemas are hostile input to every TCC and party. Each input is tried
// as a whole template document (meta-schema check, EFSC field check, compilation) and, when it is
// a JSON object, as a bare claim schema handed to the compiler. Properties: nothing crashes or
// runs away (RE2 patterns, acyclic $ref, node and depth limits); a compiled validator's three
// answers agree (IsValid == Validate().empty() == Check().ok()) on the example claims and on the
// input document itself; a template that compiles re-parses from its canonical form with the same
// content hash.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_support.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/schema_validator.h"
#include "tcc/vc/template.h"

namespace {

const std::vector<tcc::Json>& SampleClaims() {
  static const std::vector<tcc::Json> claims = [] {
    std::vector<tcc::Json> loaded;
    for (const char* file : {"claims/gpu-hour.tsc-claim.json", "claims/gpu-hour.tic-claim.json",
                             "claims/tiered.tic-claim.bad.json", "claims/storage-lease.tsc-claim.json"}) {
      loaded.push_back(tcc::fuzz::ReadExampleJson(file));
    }
    return loaded;
  }();
  return claims;
}

void CheckAgreement(const tcc::vc::SchemaValidator& validator, const tcc::Json& instance) {
  const bool valid = validator.IsValid(instance);
  const bool no_violations = validator.Validate(instance).empty();
  const bool checked = validator.Check(instance).ok();
  tcc::fuzz::Require(valid == no_violations && valid == checked,
                     "IsValid, Validate and Check disagree");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc;
  const std::string_view text = fuzz::AsText(data, size);
  auto parsed_template = vc::Template::Parse(text);
  if (parsed_template.ok()) {
    const vc::Template& compiled = *parsed_template;
    for (const Json& claim : SampleClaims()) CheckAgreement(compiled.claim_validator(), claim);
    auto canonical = fuzz::Expect(vc::Canonicalize(compiled.document()), "canonical template");
    auto again = vc::Template::Parse(canonical);
    fuzz::Require(again.ok() && again->content_hash() == compiled.content_hash(),
                  "a compiled template does not re-parse from its canonical form with the same hash");
  }

  auto document = Json::Parse(text, JsonLimits{vc::kMaxTemplateBytes, 64});
  if (!document.ok() || !(document->is_object() || document->is_bool())) return 0;
  auto validator = vc::SchemaValidator::Compile(*document);
  if (!validator.ok()) return 0;
  for (const Json& claim : SampleClaims()) CheckAgreement(*validator, claim);
  CheckAgreement(*validator, *document);
  return 0;
}
