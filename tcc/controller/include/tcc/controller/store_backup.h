// Store backups: a consistent copy of a tccd channel store with a manifest beside it, and the
// check of such a copy against its manifest.
//
// A backup directory holds `store/` (a LevelDB channel store, copied record by record from one
// LevelDB snapshot of the source and synced) and `manifest.json` (written last, atomically: a
// directory without it is an interrupted backup). The manifest names the format, the TCC's DID,
// the time, the number of records copied and, per channel, its state, head (seq and hash) and
// anchored seq, read back from the copy. A running tccd takes one through `control.backup`
// (tcc backup); BackupStoreOffline takes one from a store no process has open. Restoring is
// putting `store/` in place of a stopped tccd's `DATA/store` (docs/deploy.md, "Backups").
//
// Free functions; each opens what it reads and closes it before it returns. The caller owns the
// options' resolver and chain adapter, which must outlive the call.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/controller/store_audit.h"

namespace tcc::controller {

inline constexpr std::string_view kBackupFormat = "tcc-store-backup/1";
inline constexpr std::string_view kBackupManifestFile = "manifest.json";
inline constexpr std::string_view kBackupStoreDir = "store";

struct BackupChannel {
  std::string channel_id;
  std::string state;  // "open" / "closed"
  std::uint64_t head_seq = 0;
  std::string head_hash;  // the last TSC's hash; the channel id while it has none
  std::uint64_t anchored_seq = 0;
};

struct BackupManifest {
  std::string format = std::string(kBackupFormat);
  std::string tcc_did;  // empty when not known (an offline backup without the key)
  std::string created;  // RFC 3339, when the snapshot was taken
  std::uint64_t records = 0;
  std::vector<BackupChannel> channels;

  Json ToJson() const;
  // Strict: unknown members, a foreign format or malformed values are kParse naming them.
  static Result<BackupManifest> FromJson(const Json& json);
};

struct BackupOptions {
  std::string tcc_did;  // written into the manifest
  // Called every `progress_every` records copied, and once at the end, with the count so far.
  std::function<void(std::uint64_t records)> progress;
  std::uint64_t progress_every = 100000;
};

// What a finished backup reports.
struct BackupResult {
  BackupManifest manifest;
  std::string directory;
  std::uint64_t bytes = 0;  // keys and values copied
  double seconds = 0;
};

// The target must be an absolute path that does not exist or is an empty directory (anything else
// is kAlreadyExists / kInvalidArgument, and nothing is touched). On a failure after it was created
// the target is removed again. kUnavailable when the store is open in a running tccd.
Result<BackupResult> BackupStoreOffline(const std::string& store_path,
                                        const std::string& target_dir,
                                        const BackupOptions& options = {});

// A backup checked against its manifest: the copy audited like `tcc store verify` (AuditStore
// with `audit`), and every channel's state, head seq and hash and anchored seq equal to the
// manifest's, no channel missing or extra.
struct BackupVerifyReport {
  BackupManifest manifest;
  StoreAuditReport audit;
  std::vector<std::string> mismatches;  // between the manifest and the copy
  bool ok() const { return audit.ok() && mismatches.empty(); }
  std::string ToString() const;
};

// `audit.tcc_did` left empty takes the manifest's DID. The copy is opened (a LevelDB open may
// rewrite its log into a table; the records stay as they are). Problems are in the report; an
// unreadable manifest or store is an error.
Result<BackupVerifyReport> VerifyBackup(const std::string& backup_dir, StoreAuditOptions audit);

}  // namespace tcc::controller
