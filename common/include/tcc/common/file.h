// Whole-file reads and crash-safe writes.
//
// WriteFileAtomic writes to a temporary file in the same directory, fsyncs it, renames it over
// the target and fsyncs the directory, so a reader sees the old or the new content, never a torn
// file. Files holding secrets are created with mode 0600 from the start (never widened and then
// narrowed). Thread-safe as far as the file system is.
//
// Private files and directories (keys, tokens, a daemon's data) must belong to the user the
// process runs as: a root daemon that read a key another user planted would trust that user.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc {

struct ReadOptions {
  std::size_t max_bytes = 64u << 20;
  // Refuse files that group or others can read or write, or that another user owns (key files).
  bool require_private = false;
};

Result<std::string> ReadFile(const std::string& path, const ReadOptions& options = {});

struct WriteOptions {
  unsigned mode = 0644;
  bool overwrite = true;
};

Status WriteFileAtomic(const std::string& path, std::string_view content,
                       const WriteOptions& options = {});

// Creates the directory `path` (and missing parents) with mode 0700, or accepts an existing one
// only if this process's user owns it and group and others cannot write it (it is then narrowed
// to 0700), and if every directory above it belongs to root or that user and is not writable by
// group or others unless sticky (/tmp): otherwise someone else could swap or fill it. Refusals are
// kPermissionDenied naming the path, the owner or mode, and the fix; other failures kIo.
Status EnsurePrivateDirectory(const std::string& path, std::string_view what = "directory");

}  // namespace tcc
