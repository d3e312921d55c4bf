#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "tcc/common/file.h"

namespace tcc {
namespace {

std::string TempDirectory() {
  char pattern[] = "/tmp/tcc_file_test_XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  return pattern;
}

TEST_CASE("WriteFileAtomic sets the exact mode and ReadFile enforces privacy") {
  std::string dir = TempDirectory();
  std::string path = dir + "/secret";
  ::umask(022);
  REQUIRE(WriteFileAtomic(path, "key", {.mode = 0600}).ok());
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(ReadFile(path, {.require_private = true}).value() == "key");

  ::chmod(path.c_str(), 0644);
  auto refused = ReadFile(path, {.require_private = true});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kPermissionDenied);
  CHECK(refused.error().message().find("0644") != std::string::npos);

  CHECK(WriteFileAtomic(path, "other", {.mode = 0600, .overwrite = false}).error().code() ==
        ErrorCode::kAlreadyExists);
  CHECK(ReadFile(path).value() == "key");
  CHECK(ReadFile(dir + "/absent").error().code() == ErrorCode::kNotFound);
  CHECK(ReadFile(path, {.max_bytes = 2}).error().code() == ErrorCode::kResourceExhausted);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace tcc
