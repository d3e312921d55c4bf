#include "tcc/common/json_object_reader.h"

#include <algorithm>

namespace tcc {

Error JsonObjectReader::ShapeError(std::string_view problem) const {
  return Error(ErrorCode::kInvalidArgument, what_ + ": " + std::string(problem));
}

Status JsonObjectReader::CheckIsObject() const {
  if (!json_.is_object()) return ShapeError("must be an object, not " + std::string(JsonTypeName(json_.type())));
  return OkStatus();
}

Result<const Json*> JsonObjectReader::Member(std::string_view key, Json::Type type, bool required) {
  seen_.push_back(key);
  const Json* member = json_.Find(key);
  if (member == nullptr) {
    if (!required) return static_cast<const Json*>(nullptr);
    return ShapeError("missing member \"" + std::string(key) + "\"");
  }
  if (member->type() != type) {
    return ShapeError("member \"" + std::string(key) + "\" must be " + std::string(JsonTypeName(type)) + ", not " +
                      std::string(JsonTypeName(member->type())));
  }
  return member;
}

Result<std::string> JsonObjectReader::String(std::string_view key) {
  TCC_ASSIGN_OR_RETURN(const Json* member, Member(key, Json::Type::kString));
  return member->as_string();
}

Result<std::uint64_t> JsonObjectReader::Integer(std::string_view key, std::uint64_t min, std::uint64_t max) {
  TCC_ASSIGN_OR_RETURN(std::optional<std::uint64_t> value, OptionalInteger(key, min, max));
  if (!value) return ShapeError("missing member \"" + std::string(key) + "\"");
  return *value;
}

Result<std::optional<std::uint64_t>> JsonObjectReader::OptionalInteger(std::string_view key, std::uint64_t min,
                                                                       std::uint64_t max) {
  TCC_ASSIGN_OR_RETURN(const Json* member, Member(key, Json::Type::kNumber, /*required=*/false));
  if (member == nullptr) return std::optional<std::uint64_t>();
  const std::optional<std::uint64_t> value = JsonInteger(member->as_number(), min, max);
  if (!value) {
    return ShapeError("member \"" + std::string(key) + "\" must be an integer in " + std::to_string(min) + ".." +
                      std::to_string(max));
  }
  return value;
}

Result<std::string> JsonObjectReader::LowerHex(std::string_view key, std::size_t digits) {
  TCC_ASSIGN_OR_RETURN(std::string value, String(key));
  if (!IsLowerHex(value, digits)) {
    return ShapeError("member \"" + std::string(key) + "\" must be " + std::to_string(digits) + " lowercase hex digits");
  }
  return value;
}

Status JsonObjectReader::Finish() const {
  for (const JsonMember& member : json_.as_object()) {
    if (std::find(seen_.begin(), seen_.end(), member.first) == seen_.end()) {
      return ShapeError("unknown member \"" + member.first.substr(0, 64) + "\"");
    }
  }
  return OkStatus();
}

}  // namespace tcc
