#include "tcc/vc/jcs.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace tcc::vc {
namespace {

// Decodes the code point starting at text[i]; the text is valid UTF-8 (parser guarantee).
char32_t DecodeAt(std::string_view text, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char lead = byte(i);
  if (lead < 0x80) return lead;
  if (lead < 0xE0) return (char32_t(lead & 0x1F) << 6) | (byte(i + 1) & 0x3F);
  if (lead < 0xF0) {
    return (char32_t(lead & 0x0F) << 12) | (char32_t(byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F);
  }
  return (char32_t(lead & 0x07) << 18) | (char32_t(byte(i + 1) & 0x3F) << 12) |
         (char32_t(byte(i + 2) & 0x3F) << 6) | (byte(i + 3) & 0x3F);
}

// The first UTF-16 code unit of a code point, then the second (0 when there is none).
std::pair<char16_t, char16_t> Utf16Units(char32_t code_point) {
  if (code_point < 0x10000) return {static_cast<char16_t>(code_point), 0};
  char32_t offset = code_point - 0x10000;
  return {static_cast<char16_t>(0xD800 + (offset >> 10)), static_cast<char16_t>(0xDC00 + (offset & 0x3FF))};
}

// The members of every object being written, in canonical order: one stack per thread, each
// object's stretch above its parent's (indices, not iterators: a nested object may grow it), so
// canonicalizing allocates nothing once the stack has grown to the deepest document's size.
std::vector<const JsonMember*>& SortedMembersStack() {
  thread_local std::vector<const JsonMember*> stack;
  return stack;
}

// Gives an object's stretch of the stack back on every path out of it.
class StackStretch {
 public:
  static constexpr std::size_t kKeptMembers = 4096;

  explicit StackStretch(std::vector<const JsonMember*>& stack)
      : stack_(stack), begin_(stack.size()) {}
  ~StackStretch() {
    stack_.resize(begin_);
    // A huge document's stretch is not kept for the rest of the thread's life.
    if (begin_ == 0 && stack_.capacity() > kKeptMembers) stack_.shrink_to_fit();
  }
  StackStretch(const StackStretch&) = delete;
  StackStretch& operator=(const StackStretch&) = delete;
  std::size_t begin() const { return begin_; }

 private:
  std::vector<const JsonMember*>& stack_;
  std::size_t begin_;
};

Status AppendCanonicalTo(std::string& out, const Json& value, std::string_view omitted_member = {},
                         bool omit = false, CanonicalLayout* layout = nullptr) {
  switch (value.type()) {
    case Json::Type::kArray: {
      out.push_back('[');
      bool first = true;
      for (const Json& element : value.as_array()) {
        if (!first) out.push_back(',');
        first = false;
        TCC_RETURN_IF_ERROR(AppendCanonicalTo(out, element));
      }
      out.push_back(']');
      return OkStatus();
    }
    case Json::Type::kObject: {
      const JsonObject& members = value.as_object();
      // Sorting pointers keeps the tree untouched (it may be shared by readers).
      std::vector<const JsonMember*>& sorted = SortedMembersStack();
      const StackStretch stretch(sorted);
      for (const JsonMember& member : members) {
        if (!(omit && member.first == omitted_member)) sorted.push_back(&member);
      }
      const std::size_t end = sorted.size();
      std::sort(
          sorted.begin() + static_cast<std::ptrdiff_t>(stretch.begin()), sorted.end(),
          [](const JsonMember* a, const JsonMember* b) { return Utf16Less(a->first, b->first); });
      if (layout != nullptr) {
        layout->object_begin = out.size();
        layout->omitted_at = out.size() + 1;
        layout->members.clear();
        layout->members.reserve(end - stretch.begin() + 1);
      }
      out.push_back('{');
      for (std::size_t i = stretch.begin(); i < end; ++i) {
        const JsonMember* member = sorted[i];
        if (i != stretch.begin()) out.push_back(',');
        AppendJsonString(out, member->first);
        out.push_back(':');
        const std::size_t begin = out.size();
        TCC_RETURN_IF_ERROR(AppendCanonicalTo(out, member->second));
        if (layout != nullptr) {
          layout->members.push_back({member->first, begin, out.size()});
          if (Utf16Less(member->first, omitted_member)) layout->omitted_at = out.size();
        }
      }
      out.push_back('}');
      return OkStatus();
    }
    case Json::Type::kNull: out += "null"; return OkStatus();
    case Json::Type::kBool: out += value.as_bool() ? "true" : "false"; return OkStatus();
    case Json::Type::kNumber:
      if (!std::isfinite(value.as_number())) {
        return Error(ErrorCode::kInvalidArgument,
                     "NaN and Infinity have no canonical JSON form (RFC 8785 section 3.2.2.3)");
      }
      AppendJsonNumber(out, value.as_number());
      return OkStatus();
    case Json::Type::kString: AppendJsonString(out, value.as_string()); return OkStatus();
  }
  return OkStatus();
}

}  // namespace

bool Utf16Less(std::string_view a, std::string_view b) {
  size_t common = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < common && a[i] == b[i]) ++i;
  if (i == common) return a.size() < b.size();
  // An ASCII byte at the first difference sorts as itself in either order (keys are mostly ASCII).
  const auto byte_a = static_cast<unsigned char>(a[i]), byte_b = static_cast<unsigned char>(b[i]);
  if (byte_a < 0x80 || byte_b < 0x80) return byte_a < byte_b;
  // UTF-8 byte order is code point order; UTF-16 order differs only where a supplementary code
  // point (surrogate pair, 0xD800..) meets one in U+E000..U+FFFF, so compare by code units.
  while (i > 0 && (static_cast<unsigned char>(a[i]) & 0xC0) == 0x80) --i;
  auto units_a = Utf16Units(DecodeAt(a, i));
  auto units_b = Utf16Units(DecodeAt(b, i));
  return units_a < units_b;
}

Result<std::string> Canonicalize(const Json& value) {
  std::string out;
  TCC_RETURN_IF_ERROR(AppendCanonicalTo(out, value));
  return out;
}

Status AppendCanonical(std::string& out, const Json& value) { return AppendCanonicalTo(out, value); }

Status AppendCanonicalWithout(std::string& out, const Json& object, std::string_view omitted_member) {
  return AppendCanonicalTo(out, object, omitted_member, true);
}

Status AppendCanonicalWithout(std::string& out, const Json& object, std::string_view omitted_member,
                              CanonicalLayout& layout) {
  if (!object.is_object()) {
    return Error(ErrorCode::kInvalidArgument, "only an object has a canonical member layout");
  }
  return AppendCanonicalTo(out, object, omitted_member, true, &layout);
}

const CanonicalLayout::Member* CanonicalLayout::Find(std::string_view name) const {
  for (const Member& member : members) {
    if (member.name == name) return &member;
  }
  return nullptr;
}

void InsertCanonicalMember(std::string& out, CanonicalLayout& layout, std::string_view name,
                           std::string_view canonical_value) {
  // omitted_at is just after the '{' (no member sorts before `name`) or just after the value of
  // the member before it; a member after it is then announced by the ',' at omitted_at.
  const std::size_t at = layout.omitted_at;
  const bool after_member = at > layout.object_begin + 1;
  const bool before_member = out[at] != '}';
  std::string inserted;
  inserted.reserve(name.size() + canonical_value.size() + 8);
  if (after_member) inserted.push_back(',');
  AppendJsonString(inserted, name);
  inserted.push_back(':');
  const std::size_t value_offset = inserted.size();
  inserted.append(canonical_value);
  if (!after_member && before_member) inserted.push_back(',');
  out.insert(at, inserted);
  CanonicalLayout::Member added{name, at + value_offset,
                                at + value_offset + canonical_value.size()};
  auto position = layout.members.begin();
  for (auto member = layout.members.begin(); member != layout.members.end(); ++member) {
    if (member->begin > at) {
      member->begin += inserted.size();
      member->end += inserted.size();
    } else {
      position = member + 1;
    }
  }
  layout.members.insert(position, added);
}

Result<std::string> CanonicalizeText(std::string_view json_text, const JsonLimits& limits) {
  TCC_ASSIGN_OR_RETURN(Json parsed, Json::Parse(json_text, limits));
  return Canonicalize(parsed);
}

}  // namespace tcc::vc
