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

constexpr uid_t kOtherUser = 65534;  // nobody

std::string ModeOf(const std::string& path) {
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(info.st_mode & 07777));
  return text;
}

TEST_CASE("EnsurePrivateDirectory creates 0700 directories and refuses ones others may write") {
  const std::string dir = TempDirectory();
  ::umask(022);
  const std::string created = dir + "/a/b/data";
  REQUIRE(EnsurePrivateDirectory(created, "data directory").ok());
  CHECK(ModeOf(created) == "0700");
  CHECK(EnsurePrivateDirectory(created, "data directory").ok());  // again: it is ours and private

  // Ours but readable by others: narrowed, since nobody else could have written into it.
  ::chmod(created.c_str(), 0755);
  CHECK(EnsurePrivateDirectory(created, "data directory").ok());
  CHECK(ModeOf(created) == "0700");

  ::chmod(created.c_str(), 0730);
  auto writable = EnsurePrivateDirectory(created, "data directory");
  REQUIRE_FALSE(writable.ok());
  CHECK(writable.error().code() == ErrorCode::kPermissionDenied);
  CHECK(writable.error().message() ==
        "data directory " + created +
            " is writable by group or others (mode 0730): check what is in it, then "
            "chmod 700 " +
            created + ", or use another data directory");
  CHECK(ModeOf(created) == "0730");  // refused as it is

  ::chmod(created.c_str(), 0700);
  ::chmod((dir + "/a").c_str(), 0777);
  auto above = EnsurePrivateDirectory(created, "data directory");
  REQUIRE_FALSE(above.ok());
  CHECK(above.error().message().find("directory " + dir + "/a above data directory " + created +
                                     " is writable by group or others (mode 0777)") !=
        std::string::npos);
  ::chmod((dir + "/a").c_str(), 01777);  // sticky, as /tmp: others cannot rename what is ours
  CHECK(EnsurePrivateDirectory(created, "data directory").ok());

  REQUIRE(WriteFileAtomic(dir + "/file", "x").ok());
  auto not_directory = EnsurePrivateDirectory(dir + "/file", "data directory");
  REQUIRE_FALSE(not_directory.ok());
  CHECK(not_directory.error().message() == "data directory " + dir + "/file is not a directory");
  auto under_file = EnsurePrivateDirectory(dir + "/file/data", "data directory");
  REQUIRE_FALSE(under_file.ok());
  CHECK(under_file.error().code() == ErrorCode::kIo);
  CHECK(under_file.error().message().find("Not a directory") != std::string::npos);
  std::system(("rm -rf " + dir).c_str());
}

TEST_CASE("private files and directories must belong to the user that reads them" *
          doctest::skip(::geteuid() != 0) *
          doctest::description("skipped unless root: only root can give a file to another user")) {
  const std::string dir = TempDirectory();
  const std::string key = dir + "/key";
  REQUIRE(WriteFileAtomic(key, "key", {.mode = 0600}).ok());
  REQUIRE(::chown(key.c_str(), kOtherUser, kOtherUser) == 0);
  auto refused = ReadFile(key, {.require_private = true});
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kPermissionDenied);
  CHECK(refused.error().message() ==
        "file " + key +
            " is owned by uid 65534, not by uid 0 that this process runs as: "
            "chown 0 " +
            key + "; a key file must belong to the user that reads it");
  CHECK(ReadFile(key).value() == "key");  // not a private read: anyone's file will do

  const std::string theirs = dir + "/theirs";
  REQUIRE(::mkdir(theirs.c_str(), 0700) == 0);
  REQUIRE(::chown(theirs.c_str(), kOtherUser, kOtherUser) == 0);
  auto directory = EnsurePrivateDirectory(theirs, "data directory");
  REQUIRE_FALSE(directory.ok());
  CHECK(directory.error().message() ==
        "data directory " + theirs +
            " is owned by uid 65534, not by uid 0 that this process runs as: chown 0 " + theirs +
            ", or use another data directory");
  // Below a directory another user owns: that user could swap it.
  const std::string below = theirs + "/data";
  REQUIRE(::mkdir(below.c_str(), 0700) == 0);
  auto ancestor = EnsurePrivateDirectory(below, "data directory");
  REQUIRE_FALSE(ancestor.ok());
  CHECK(ancestor.error().message().find("directory " + theirs + " above data directory " + below +
                                        " is owned by uid 65534, neither root nor uid 0") !=
        std::string::npos);
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace tcc
