// Whole-file reads and crash-safe writes.
//
// WriteFileAtomic writes to a temporary file in the same directory, fsyncs it, renames it over
// the target and fsyncs the directory, so a reader sees the old or the new content, never a torn
// file. Files holding secrets are created with mode 0600 from the start (never widened and then
// narrowed). Thread-safe as far as the file system is.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc {

struct ReadOptions {
  std::size_t max_bytes = 64u << 20;
  // Refuse files that group or others can read or write (key files).
  bool require_private = false;
};

Result<std::string> ReadFile(const std::string& path, const ReadOptions& options = {});

struct WriteOptions {
  unsigned mode = 0644;
  bool overwrite = true;
};

Status WriteFileAtomic(const std::string& path, std::string_view content,
                       const WriteOptions& options = {});

}  // namespace tcc
