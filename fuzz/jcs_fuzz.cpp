// JSON parsing and RFC 8785 canonicalization. Properties, for every input the strict parser
// accepts: canonicalization succeeds (a parsed tree has no NaN or infinity); the canonical text
// parses back to an equal tree and canonicalizes to the same bytes (a fixed point);
// CanonicalizeText gives the same bytes in one step; the compact serialization also parses back
// to an equal tree. Inputs the parser refuses must be refused by CanonicalizeText too.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "tcc/vc/jcs.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc;
  const std::string_view text = fuzz::AsText(data, size);
  auto parsed = Json::Parse(text);
  auto in_one_step = vc::CanonicalizeText(text);
  if (!parsed.ok()) {
    fuzz::Require(!in_one_step.ok(), "CanonicalizeText accepted what Json::Parse refused");
    return 0;
  }
  auto canonical = vc::Canonicalize(*parsed);
  fuzz::Require(canonical.ok(), "a parsed tree does not canonicalize: " +
                                    (canonical.ok() ? std::string() : canonical.error().ToString()));
  fuzz::Require(in_one_step.ok() && *in_one_step == *canonical,
                "CanonicalizeText differs from Parse + Canonicalize");

  auto reparsed = Json::Parse(*canonical);
  fuzz::Require(reparsed.ok(), "the canonical form does not parse: " +
                                   (reparsed.ok() ? std::string() : reparsed.error().ToString()));
  fuzz::Require(*reparsed == *parsed, "the canonical form parses to a different tree");
  auto again = vc::Canonicalize(*reparsed);
  fuzz::Require(again.ok() && *again == *canonical, "canonicalization is not a fixed point");

  auto compact = Json::Parse(parsed->Serialize());
  fuzz::Require(compact.ok() && *compact == *parsed, "Serialize does not round-trip");
  auto pretty = Json::Parse(parsed->SerializePretty());
  fuzz::Require(pretty.ok() && *pretty == *parsed, "SerializePretty does not round-trip");
  return 0;
}
