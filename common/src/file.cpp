#include "tcc/common/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
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

std::string ModeText(mode_t mode) {
  char text[8];
  std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
  return text;
}

// Whose a private file or directory is: the user this process runs as, or nobody it may trust.
Status CheckOwner(const struct stat& info, const std::string& path, std::string_view what,
                  std::string_view fix) {
  const uid_t self = ::geteuid();
  if (info.st_uid == self) return OkStatus();
  return Error(ErrorCode::kPermissionDenied,
               std::string(what) + " " + path + " is owned by uid " + std::to_string(info.st_uid) +
                   ", not by uid " + std::to_string(self) + " that this process runs as: chown " +
                   std::to_string(self) + " " + path + std::string(fix));
}

// A directory above a private one: whoever may rename entries in it can swap the private one.
Status CheckAncestor(const std::string& ancestor, const std::string& below, std::string_view what) {
  struct stat info {};
  if (::stat(ancestor.c_str(), &info) != 0) return IoError("cannot stat", ancestor);
  const std::string context = "directory " + ancestor + " above " + std::string(what) + " " + below;
  if (info.st_uid != 0 && info.st_uid != ::geteuid()) {
    const std::string owner = std::to_string(info.st_uid);
    const std::string self = std::to_string(::geteuid());
    return Error(ErrorCode::kPermissionDenied,
                 context + " is owned by uid " + owner + ", neither root nor uid " + self +
                     " that this process runs as, so that user could replace it: use a " +
                     std::string(what) + " elsewhere");
  }
  if ((info.st_mode & 022) != 0 && (info.st_mode & S_ISVTX) == 0) {
    return Error(ErrorCode::kPermissionDenied,
                 context + " is writable by group or others (mode " + ModeText(info.st_mode) +
                     ") without the sticky bit, so they could replace it: chmod go-w " + ancestor +
                     ", or use a " + std::string(what) + " elsewhere");
  }
  return OkStatus();
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
  if (options.require_private) {
    TCC_RETURN_IF_ERROR(
        CheckOwner(info, path, "file", "; a key file must belong to the user that reads it"));
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

Status EnsurePrivateDirectory(const std::string& path, std::string_view what) {
  if (path.empty())
    return Error(ErrorCode::kInvalidArgument, std::string(what) + ": the path is empty");
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    if (errno != ENOENT) return IoError("cannot stat " + std::string(what), path);
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!parent.empty()) std::filesystem::create_directories(parent, error);
    if (error)
      return Error(ErrorCode::kIo,
                   "cannot create " + std::string(what) + " " + path + ": " + error.message());
    // Created private, never narrowed later: nobody else gets a moment to open it.
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
      return IoError("cannot create " + std::string(what), path);
    if (::stat(path.c_str(), &info) != 0) return IoError("cannot stat " + std::string(what), path);
  }
  if (!S_ISDIR(info.st_mode)) {
    return Error(ErrorCode::kInvalidArgument,
                 std::string(what) + " " + path + " is not a directory");
  }
  TCC_RETURN_IF_ERROR(CheckOwner(info, path, what, ", or use another " + std::string(what)));
  // Writable by others: they may have planted files in it already, so narrowing it now is too late.
  if ((info.st_mode & 022) != 0) {
    return Error(ErrorCode::kPermissionDenied,
                 std::string(what) + " " + path + " is writable by group or others (mode " +
                     ModeText(info.st_mode) + "): check what is in it, then chmod 700 " + path +
                     ", or use another " + std::string(what));
  }
  if ((info.st_mode & 077) != 0 && ::chmod(path.c_str(), 0700) != 0)
    return IoError("cannot chmod", path);

  char resolved[PATH_MAX];
  if (::realpath(path.c_str(), resolved) == nullptr)
    return IoError("cannot resolve " + std::string(what), path);
  std::string ancestor = resolved;
  while (ancestor != "/") {
    const std::size_t slash = ancestor.rfind('/');
    ancestor = slash == 0 ? "/" : ancestor.substr(0, slash);
    TCC_RETURN_IF_ERROR(CheckAncestor(ancestor, path, what));
  }
  return OkStatus();
}

}  // namespace tcc
