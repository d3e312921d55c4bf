// StoreEvidenceSource: the VC-API's view of the daemon's channel store (vcapi::EvidenceSource).
//
// A TSC is found through the store's TSC-hash index; its evidence is the bundle of the first
// anchored TSC at or after it (AnchoredSeqCovering), with the TSCs in between so a client can check
// the hash chain. Borrows the store, which must outlive it. Thread-safe: only store reads, which
// LevelDB serves concurrently with the daemon's writer (every record it reads was written in one
// atomic batch).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

#include "chain_crosscheck.h"
#include "channel_store.h"
#include "tcc/vcapi/credential_service.h"

namespace tcc::controller {

class StoreEvidenceSource final : public vcapi::EvidenceSource {
 public:
  // A TSC committed only through more than `max_links` later TSCs is refused (kResourceExhausted)
  // rather than answered with an unbounded response. With `recovery`, Health also reports the
  // channels that are recovering. `read_error`: what tccd's start-up read check could not read
  // (store_check.h), empty when it read everything.
  explicit StoreEvidenceSource(ChannelStore& store,
                               std::shared_ptr<const RecoveryBook> recovery = nullptr,
                               std::size_t max_links = 1000, std::string read_error = {})
      : store_(store),
        recovery_(std::move(recovery)),
        max_links_(max_links),
        read_error_(std::move(read_error)) {}

  Result<std::optional<vcapi::StoredEvidence>> FindEvidence(std::string_view tsc_hash) override;
  // kUnavailable while the store's last write (or reopen) failed, while a channel is recovering
  // (naming the channels and seqs), or for good when the start-up read check found records it
  // cannot read.
  Status Health() override;

 private:
  ChannelStore& store_;
  std::shared_ptr<const RecoveryBook> recovery_;
  std::size_t max_links_;
  std::string read_error_;
};

}  // namespace tcc::controller
