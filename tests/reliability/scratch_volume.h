// ScratchVolume: a real, size-limited filesystem (tmpfs) mounted at a test's directory, so a test
// can run out of disk space under a running tccd (writes fail with ENOSPC) and give it back.
//
// Mounting needs CAP_SYS_ADMIN in a mount namespace. ctest runs these tests through
// run_in_mount_namespace.sh, which gives the test a private mount namespace (`unshare -m` as root,
// `unshare -Urm` otherwise), so a test that dies leaves no mount behind. Owns the mount: the
// destructor removes the ballast and unmounts (lazily, if a child still holds files open). Not
// thread-safe.
#pragma once

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "tcc/common/result.h"

namespace tcc::testing {

class ScratchVolume {
 public:
  // Mounts a tmpfs of `bytes` at `path` (created if missing). kPermissionDenied, naming the way
  // out, when the process may not mount.
  static Result<ScratchVolume> Mount(const std::string& path, std::size_t bytes) {
    std::error_code ignored;
    std::filesystem::create_directories(path, ignored);
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tcc-scratch", path.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
      const int error = errno;
      return Error(error == EPERM ? ErrorCode::kPermissionDenied : ErrorCode::kInternal,
                   "cannot mount a tmpfs at " + path + ": " + std::strerror(error) +
                       " (run the test through tests/reliability/run_in_mount_namespace.sh)");
    }
    return ScratchVolume(path);
  }

  ScratchVolume(ScratchVolume&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }
  ScratchVolume& operator=(ScratchVolume&&) = delete;
  ScratchVolume(const ScratchVolume&) = delete;
  ~ScratchVolume() {
    if (path_.empty()) return;
    (void)Free();
    ::umount2(path_.c_str(), MNT_DETACH);
  }

  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

  std::uint64_t free_bytes() const {
    struct statvfs info {};
    if (::statvfs(path_.c_str(), &info) != 0) return 0;
    return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
  }

  // Writes ballast until the volume is full (the kernel answers ENOSPC); returns the bytes written.
  // Whatever still writes to the volume fails from then on, as on a full disk.
  Result<std::uint64_t> Fill() {
    const std::string file = BallastPath();
    const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) return Error(ErrorCode::kInternal, "cannot create " + file + ": " + std::strerror(errno));
    const std::vector<char> block(64 * 1024, '\0');
    std::uint64_t written = 0;
    std::size_t size = block.size();
    while (size > 0) {
      const ssize_t put = ::write(fd, block.data(), size);
      if (put > 0) {
        written += static_cast<std::uint64_t>(put);
        continue;
      }
      if (put < 0 && errno == EINTR) continue;
      if (put < 0 && errno != ENOSPC) {
        const int error = errno;
        ::close(fd);
        return Error(ErrorCode::kInternal, "writing " + file + ": " + std::strerror(error));
      }
      size /= 2;  // the last pages: fill them with smaller writes
    }
    ::close(fd);
    return written;
  }

  // Gives the space back.
  Status Free() {
    if (::unlink(BallastPath().c_str()) != 0 && errno != ENOENT) {
      return Error(ErrorCode::kInternal, "cannot remove " + BallastPath() + ": " + std::strerror(errno));
    }
    return OkStatus();
  }

 private:
  explicit ScratchVolume(std::string path) : path_(std::move(path)) {}
  std::string BallastPath() const { return path_ + "/ballast"; }

  std::string path_;
};

}  // namespace tcc::testing
