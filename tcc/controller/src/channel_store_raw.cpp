// ChannelStore's raw reads: backups (store_backup.h) and the start-up read check (store_check.h).
#include <leveldb/db.h>

#include "channel_store.h"
#include "channel_store_impl.h"

namespace tcc::controller {

using namespace store_format;

Status ChannelStore::ScanSnapshot(const RawVisitor& visit) {
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  leveldb::DB& db = handle.db();
  const leveldb::Snapshot* snapshot = db.GetSnapshot();
  leveldb::ReadOptions options = Read(snapshot);
  options.fill_cache = false;  // one pass over everything would evict what settlements read
  Status scanned = Scan(db, "", "", visit, options);
  db.ReleaseSnapshot(snapshot);
  return scanned;
}

Status ChannelStore::CheckChannelReadable(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  const auto all = [](std::string_view, std::string_view) -> Result<bool> { return true; };
  // The TSCs' texts lie outside the channel's ranges (O/, in commit order): each is read by the
  // record that points at it.
  const std::string tscs = ChannelPrefix(kTscKind, channel_id);
  TCC_RETURN_IF_ERROR(Scan(handle.db(), tscs, tscs,
                           [&](std::string_view key, std::string_view value) -> Result<bool> {
                             // A record that does not decode is the reads' to refuse.
                             Result<TscEntry> entry = DecodeTscEntry(key, value);
                             if (!entry.ok() || !entry->body) return true;
                             auto text = Get(handle.db(), TscBodyKey(*entry->body));
                             if (!text.ok()) return std::move(text).error();
                             return true;
                           }));
  for (char kind : {kClaimKind, kPendingKind, kBundleKind, kRejectionKind}) {
    const std::string prefix = ChannelPrefix(kind, channel_id);
    TCC_RETURN_IF_ERROR(Scan(handle.db(), prefix, prefix, all));
  }
  for (char kind : {kChannelKind, kAnchoredKind, kProposalKind, kClosingKind, kPendingClosingKind,
                    kClosingBundleKind}) {
    auto read = Get(handle.db(), NameKey(kind, channel_id));
    if (!read.ok()) return std::move(read).error();
  }
  return OkStatus();
}

}  // namespace tcc::controller
