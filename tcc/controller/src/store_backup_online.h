// Internal: a backup of the store a running daemon has open (store_backup.h says what a backup
// is). The copy is read from one LevelDB snapshot, so writes go on meanwhile and the copy is the
// store as it was at one moment, every synced commit before it complete and none after it.
//
// Thread-safe as ChannelStore is; run it on a worker, never on the daemon's loop: it reads every
// record once.
#pragma once

#include <string>

#include "channel_store.h"
#include "tcc/controller/store_backup.h"

namespace tcc::controller {

Result<BackupResult> BackupStore(ChannelStore& store, const std::string& target_dir,
                                 const BackupOptions& options);

}  // namespace tcc::controller
