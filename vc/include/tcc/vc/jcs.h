// JCS: the JSON Canonicalization Scheme of RFC 8785.
//
// Canonical form = members sorted by their names' UTF-16 code units, no insignificant whitespace,
// strings with minimal escaping, numbers in ECMAScript form. Canonicalize() works on an already
// parsed tree (tcc::Json, which the strict parser guarantees is free of duplicate keys, lone
// surrogates and invalid UTF-8); CanonicalizeText() parses and canonicalizes, and reports any of
// those defects as an error. A tree built in code can still hold NaN or an infinity, which have no
// canonical form: canonicalizing one is an error. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::vc {

Result<std::string> Canonicalize(const Json& value);
// Appends the canonical form to out (lets hot paths reuse one buffer). On error, out holds a
// partial result the caller must discard.
Status AppendCanonical(std::string& out, const Json& value);
// The canonical form of an object without one of its members (e.g. a document without its
// "proof"), without copying the tree. `object` must be an object.
Status AppendCanonicalWithout(std::string& out, const Json& object, std::string_view omitted_member);
Result<std::string> CanonicalizeText(std::string_view json_text, const JsonLimits& limits = {});

// True when a sorts before b in UTF-16 code-unit order (RFC 8785 section 3.2.3).
bool Utf16Less(std::string_view a, std::string_view b);

}  // namespace tcc::vc
