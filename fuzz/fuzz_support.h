// Shared pieces of the libFuzzer targets and their seed generator: fixed keys and templates (so
// generated seeds verify against what the fuzzers load), a fixed clock (so a verdict depends on
// the input only), and the way a broken property is reported.
//
// Everything here is read-only after first use and safe from any thread, though libFuzzer runs
// one input at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/common/time.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/template.h"

namespace tcc::fuzz {

inline std::string_view AsText(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A property every input must keep was broken: print why and abort, which libFuzzer records as a
// crash together with the input.
[[noreturn]] inline void PropertyFailed(const std::string& what) {
  std::fprintf(stderr, "fuzz property violated: %s\n", what.c_str());
  std::abort();
}

inline void Require(bool condition, const std::string& what) {
  if (!condition) PropertyFailed(what);
}

// Unwraps a result the harness itself depends on (files of schemas/, fixed keys).
template <typename T>
T Expect(Result<T> result, const std::string& what) {
  if (!result.ok()) PropertyFailed(what + ": " + result.error().ToString());
  return std::move(result).value();
}

// Deterministic party keys: 0 = provider, 1 = consumer, 2 = TCC.
enum class Party : std::uint8_t { kProvider = 0, kConsumer = 1, kTcc = 2 };

inline const did::KeyPair& FixedKey(Party party) {
  static const did::KeyPair provider = Expect(did::KeyPair::FromSeed(Bytes(32, 0x11)), "provider key");
  static const did::KeyPair consumer = Expect(did::KeyPair::FromSeed(Bytes(32, 0x22)), "consumer key");
  static const did::KeyPair tcc = Expect(did::KeyPair::FromSeed(Bytes(32, 0x33)), "TCC key");
  switch (party) {
    case Party::kProvider: return provider;
    case Party::kConsumer: return consumer;
    case Party::kTcc: return tcc;
  }
  std::abort();
}

inline std::string FixedDid(Party party) { return did::DidKeyFromPublicKey(FixedKey(party).public_key()); }

// The verdicts of the fuzzers are taken at this instant; seeds are created before it.
inline Timestamp FixedNow() { return Expect(ParseRfc3339("2026-06-01T00:00:00Z"), "fixed clock"); }
inline constexpr std::string_view kSeedCreated = "2026-01-01T00:00:00Z";

inline Json ReadExampleJson(const std::string& relative) {
  const std::string path = std::string(TCC_SCHEMAS_DIR) + "/examples/" + relative;
  return Expect(Json::Parse(Expect(ReadFile(path), "read " + path)), "parse " + path);
}

// An example template of schemas/examples/ published by the fixed provider.
inline vc::Template ExampleTemplate(const std::string& file) {
  Json document = ReadExampleJson(file);
  document.Set("owner", FixedDid(Party::kProvider));
  return Expect(vc::Template::FromJson(document), "template " + file);
}

}  // namespace tcc::fuzz
