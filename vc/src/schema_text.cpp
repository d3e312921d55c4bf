#include "schema_compiled.h"

namespace tcc::vc::schema_internal {

std::string_view Truncated(std::string_view text, std::size_t max_bytes) {
  if (text.size() <= max_bytes) return text;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end);
}

std::string Quoted(std::string_view text) {
  std::string out;
  AppendJsonString(out, Truncated(text, kMaxQuotedBytes));
  if (text.size() > kMaxQuotedBytes) out.insert(out.size() - 1, "...");
  return out;
}

void AppendPointerToken(std::string& out, std::string_view token) {
  out.push_back('/');
  for (char c : token) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
}

std::string ChildLocation(std::string_view parent, std::string_view token) {
  std::string out(parent);
  AppendPointerToken(out, token);
  return out;
}

}  // namespace tcc::vc::schema_internal
