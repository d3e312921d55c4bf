// A test-only LD_PRELOAD library: a disk that takes writes but fails to make them durable.
// While the file named by TCC_FAIL_SYNC_WHILE exists, fsync and fdatasync of any file under the
// directory TCC_FAIL_SYNC_UNDER fail with EIO, after the data has reached the file (the page
// cache): exactly the case where a write reported as failed is still found after a reopen.
// Everything else passes through to the C library. disk_full_test runs tccd with it.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

bool ShouldFail(int fd) {
  const char* under = std::getenv("TCC_FAIL_SYNC_UNDER");
  const char* flag = std::getenv("TCC_FAIL_SYNC_WHILE");
  if (under == nullptr || flag == nullptr || ::access(flag, F_OK) != 0) return false;
  char link[64];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  char target[PATH_MAX];
  const ssize_t length = ::readlink(link, target, sizeof target - 1);
  if (length <= 0) return false;
  target[length] = '\0';
  return std::strncmp(target, under, std::strlen(under)) == 0;
}

using SyncFunction = int (*)(int);

int Sync(const char* name, int fd) {
  if (ShouldFail(fd)) {
    errno = EIO;
    return -1;
  }
  auto real = reinterpret_cast<SyncFunction>(::dlsym(RTLD_NEXT, name));
  return real(fd);
}

}  // namespace

extern "C" int fsync(int fd) { return Sync("fsync", fd); }
extern "C" int fdatasync(int fd) { return Sync("fdatasync", fd); }
