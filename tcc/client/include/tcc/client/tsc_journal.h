// TscJournal: the TSCs one party applied in one channel, kept on the party's own disk, so that what
// tccd acknowledged to this party outlives tccd's store (a restored backup, a lost log tail).
//
// One file per TSC, DIR/<channel id>/<seq as 20 digits>.json, written with WriteFileAtomic (temp
// file, fsync, rename) before the session reports the TSC: a crash leaves whole files only. The
// directory is created private (0700). A seq is written once: the same TSC again is a no-op, a
// different one is kConflict (the party would otherwise hold two TSCs for one seq). What is read
// back is parsed and checked against its seq and channel; verifying proofs is the caller's job.
//
// A journal is a value owned by its PartySession. Not thread-safe; two processes must not share
// one channel's directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"

namespace tcc::client {

class TscJournal {
 public:
  // Creates DIR/<channel_id> if needed (kPermissionDenied / kIo naming the path on failure).
  static Result<TscJournal> Open(const std::string& dir, const std::string& channel_id);

  const std::string& path() const { return path_; }

  Status Append(std::uint64_t seq, const Json& tsc);
  // The highest seq kept (0 when empty).
  Result<std::uint64_t> LastSeq() const;
  Result<Json> Get(std::uint64_t seq) const;  // kNotFound
  // Up to `limit` TSCs with seq > after_seq, ascending by seq.
  Result<std::vector<Json>> After(std::uint64_t after_seq, std::size_t limit) const;

 private:
  TscJournal(std::string path, std::string channel_id)
      : path_(std::move(path)), channel_id_(std::move(channel_id)) {}
  std::string FileOf(std::uint64_t seq) const;
  Result<std::vector<std::uint64_t>> Seqs() const;
  // OK when `kept` (read from seq's file) is the TSC hashed `hash`, else kConflict.
  Status SameAsKept(std::uint64_t seq, const Json& kept, const std::string& hash) const;

  std::string path_;
  std::string channel_id_;
};

}  // namespace tcc::client
