#include "tcc/common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

#include "tcc/common/secure_memory.h"

namespace tcc {
namespace {

Error IoError(const std::string& what, const std::string& path) {
  return Error(ErrorCode::kIo, what + " " + path + ": " + std::strerror(errno));
}

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() { if (fd_ >= 0) ::close(fd_); }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  int get() const { return fd_; }
  int Release() { int fd = fd_; fd_ = -1; return fd; }

 private:
  int fd_;
};

std::string DirectoryOf(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace

Result<std::string> ReadFile(const std::string& path, const ReadOptions& options) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return Error(ErrorCode::kNotFound, "no such file: " + path);
    return IoError("cannot open", path);
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) return IoError("cannot stat", path);
  if (!S_ISREG(info.st_mode)) return Error(ErrorCode::kInvalidArgument, "not a regular file: " + path);
  if (options.require_private && (info.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    return Error(ErrorCode::kPermissionDenied,
                 path + " has mode " + mode + "; a key file must not be accessible to group or "
                 "others (chmod 600 " + path + ")");
  }
  if (static_cast<std::size_t>(info.st_size) > options.max_bytes) {
    return Error(ErrorCode::kResourceExhausted, path + " is larger than the limit of " +
                                                    std::to_string(options.max_bytes) + " bytes");
  }
  std::string content;
  content.resize(static_cast<std::size_t>(info.st_size));
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::read(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      // What was read of a key file is secret; it is not left in freed heap memory.
      if (options.require_private) SecureWipe(content.data(), content.size());
      errno = error;
      return IoError("cannot read", path);
    }
    if (n == 0) break;
    done += static_cast<std::size_t>(n);
  }
  content.resize(done);
  return content;
}

Status WriteFileAtomic(const std::string& path, std::string_view content,
                       const WriteOptions& options) {
  if (!options.overwrite && ::access(path.c_str(), F_OK) == 0) {
    return Error(ErrorCode::kAlreadyExists, path + " exists; refusing to overwrite it");
  }
  std::string temporary = path + ".tmp" + std::to_string(std::random_device{}());
  FileDescriptor fd(::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                           static_cast<mode_t>(options.mode)));
  if (fd.get() < 0) return IoError("cannot create", temporary);
  // The umask may have narrowed the mode; state it exactly.
  if (::fchmod(fd.get(), static_cast<mode_t>(options.mode)) != 0) {
    ::unlink(temporary.c_str());
    return IoError("cannot chmod", temporary);
  }
  std::size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd.get(), content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      Error error = IoError("cannot write", temporary);
      ::unlink(temporary.c_str());
      return error;
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd.get()) != 0 || ::close(fd.Release()) != 0) {
    Error error = IoError("cannot sync", temporary);
    ::unlink(temporary.c_str());
    return error;
  }
  if (!options.overwrite) {
    // link() fails if the target appeared meanwhile, unlike rename().
    if (::link(temporary.c_str(), path.c_str()) != 0) {
      Error error = errno == EEXIST
                        ? Error(ErrorCode::kAlreadyExists, path + " exists; refusing to overwrite it")
                        : IoError("cannot create", path);
      ::unlink(temporary.c_str());
      return error;
    }
    ::unlink(temporary.c_str());
  } else if (::rename(temporary.c_str(), path.c_str()) != 0) {
    Error error = IoError("cannot rename onto", path);
    ::unlink(temporary.c_str());
    return error;
  }
  FileDescriptor directory(::open(DirectoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (directory.get() >= 0) ::fsync(directory.get());
  return OkStatus();
}

}  // namespace tcc
