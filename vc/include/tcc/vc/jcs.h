// JCS: the JSON Canonicalization Scheme of RFC 8785.
//
// Canonical form = members sorted by their names' UTF-16 code units, no insignificant whitespace,
// strings with minimal escaping, numbers in ECMAScript form. Canonicalize() works on an already
// parsed tree (tcc::Json, which the strict parser guarantees is free of duplicate keys, lone
// surrogates and invalid UTF-8); CanonicalizeText() parses and canonicalizes, and reports any of
// those defects as an error. A tree built in code can still hold NaN or an infinity, which have no
// canonical form: canonicalizing one is an error. Pure functions, thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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

// Where an object's canonical text puts its members, as offsets into the output string: lets an
// issuer splice a proof into the canonical text it signed (JCS sorts members, so inserting one at
// its sorted place keeps the text canonical) and hash a member's value without canonicalizing it
// again.
struct CanonicalLayout {
  struct Member {
    std::string_view name;  // points into the canonicalized tree
    std::size_t begin = 0;  // the member's canonical value is out[begin, end)
    std::size_t end = 0;
  };
  std::size_t object_begin = 0;  // the object's '{'
  std::size_t omitted_at = 0;    // where the omitted member belongs (see InsertCanonicalMember)
  std::vector<Member> members;   // in canonical order
  const Member* Find(std::string_view name) const;
};
// AppendCanonicalWithout, recording the layout of the top-level object.
Status AppendCanonicalWithout(std::string& out, const Json& object, std::string_view omitted_member,
                              CanonicalLayout& layout);
// Inserts `"name":canonical_value` into canonical object text at layout.omitted_at (layout from
// AppendCanonicalWithout with `name` omitted; `canonical_value` already canonical), so that `out`
// holds what canonicalizing the object with that member gives. The layout's later offsets move
// with the text; the inserted member is added to it.
void InsertCanonicalMember(std::string& out, CanonicalLayout& layout, std::string_view name,
                           std::string_view canonical_value);

Result<std::string> CanonicalizeText(std::string_view json_text, const JsonLimits& limits = {});

// True when a sorts before b in UTF-16 code-unit order (RFC 8785 section 3.2.3).
bool Utf16Less(std::string_view a, std::string_view b);

}  // namespace tcc::vc
