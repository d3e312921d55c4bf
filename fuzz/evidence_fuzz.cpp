// Evidence-bundle decoding (tcc/chain/evidence.h): bundles arrive from tccd, from files and from
// other parties. Properties: the decoder never crashes and refuses only with kParse or
// kInvalidArgument; a decoded bundle serializes to text that decodes to an equal bundle, and
// whose serialization is the same text again; offline verification never crashes, and its
// verdict survives the round trip.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "tcc/chain/evidence.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc;
  auto bundle = chain::ParseEvidenceBundle(fuzz::AsText(data, size));
  if (!bundle.ok()) {
    const ErrorCode code = bundle.error().code();
    fuzz::Require(code == ErrorCode::kParse || code == ErrorCode::kInvalidArgument ||
                      code == ErrorCode::kResourceExhausted,
                  "ParseEvidenceBundle refused with an undocumented code: " + bundle.error().ToString());
    return 0;
  }
  const bool verifies = chain::VerifyEvidenceBundle(*bundle).ok();
  const std::string text = chain::SerializeEvidenceBundle(*bundle);
  auto again = chain::ParseEvidenceBundle(text);
  fuzz::Require(again.ok(), "a decoded bundle's serialization does not decode: " +
                                (again.ok() ? std::string() : again.error().ToString()));
  fuzz::Require(*again == *bundle, "a decoded bundle does not round-trip");
  fuzz::Require(chain::SerializeEvidenceBundle(*again) == text, "serialization is not stable");
  fuzz::Require(chain::VerifyEvidenceBundle(*again).ok() == verifies, "verdict changed by a round trip");
  fuzz::Require(chain::EvidenceBundleFromJson(chain::EvidenceBundleToJson(*bundle)).ok(),
                "the JSON tree form does not decode");
  return 0;
}
