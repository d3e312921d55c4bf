#include <doctest/doctest.h>

#include <memory>

#include "tcc/common/result.h"

namespace tcc {
namespace {

Result<int> Half(int value) {
  if (value % 2 != 0) return Error(ErrorCode::kInvalidArgument, "odd");
  return value / 2;
}

Result<int> Quarter(int value) {
  TCC_ASSIGN_OR_RETURN(int half, Half(value));
  TCC_ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int value) {
  TCC_RETURN_IF_ERROR(Half(value));
  return OkStatus();
}

TEST_CASE("Result carries a value or an error and propagates through the macros") {
  CHECK(Quarter(8).value() == 2);
  auto failed = Quarter(6);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().code() == ErrorCode::kInvalidArgument);
  CHECK(failed.error().ToString() == "invalid_argument: odd");
  CHECK(CheckEven(4).ok());
  CHECK_FALSE(CheckEven(5).ok());
  CHECK(Error(ErrorCode::kIo, "disk").WithContext("store").message() == "store: disk");
}

TEST_CASE("Result holds move-only values") {
  Result<std::unique_ptr<int>> boxed = std::make_unique<int>(7);
  REQUIRE(boxed.ok());
  std::unique_ptr<int> taken = std::move(boxed).value();
  CHECK(*taken == 7);
}

}  // namespace
}  // namespace tcc
