// JsonObjectReader: strict, typed reads of one JSON object's members, for the decoders of records
// that come from disk, the chain or the network (evidence bundles, channel records, ...).
//
// Each member is read once with the type the caller expects; Finish() then refuses any member the
// decoder did not read, because a member a decoder does not know would be silently dropped on the
// next write. Every error is kInvalidArgument, prefixed with the record's name (`what`), and names
// the member. The reader borrows the Json, which must outlive it; not thread-safe (one per decode).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/bytes.h"  // IsLowerHex, which LowerHex() checks with
#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc {

class JsonObjectReader {
 public:
  JsonObjectReader(const Json& json, std::string what) : json_(json), what_(std::move(what)) {}

  // Call first: the value is an object.
  Status CheckIsObject() const;
  // The member with this type; nullptr for an absent optional member.
  Result<const Json*> Member(std::string_view key, Json::Type type, bool required = true);
  Result<std::string> String(std::string_view key);
  Result<std::uint64_t> Integer(std::string_view key, std::uint64_t min = 0, std::uint64_t max = kMaxJsonInteger);
  // nullopt when absent.
  Result<std::optional<std::uint64_t>> OptionalInteger(std::string_view key, std::uint64_t min = 0,
                                                       std::uint64_t max = kMaxJsonInteger);
  // A string of exactly `digits` lowercase hex digits (64 for a SHA-256 hash).
  Result<std::string> LowerHex(std::string_view key, std::size_t digits = 64);
  // Refuses members that were not read.
  Status Finish() const;

  // A kInvalidArgument error about this record.
  Error ShapeError(std::string_view problem) const;
  const std::string& what() const { return what_; }

 private:
  const Json& json_;
  std::string what_;
  std::vector<std::string_view> seen_;
};

}  // namespace tcc
