// ChannelStore: dispute records (wire/dispute.h): rejections, the latest proposal, closing records.
#include <leveldb/write_batch.h>

#include <string>
#include <utility>

#include "channel_store.h"
#include "channel_store_impl.h"
#include "tcc/wire/dispute.h"

namespace tcc::controller {

using namespace store_format;

Result<chain::EvidenceItem> ClosingEvidenceItem(const Json& record) {
  TCC_ASSIGN_OR_RETURN(wire::ClosingSubject subject, wire::ReadClosingSubject(record));
  return chain::EvidenceItem{std::move(subject.channel), subject.last_seq, subject.record_hash,
                             chain::EvidenceKind::kClosing};
}

Status ChannelStore::PutRejection(const RejectionRecord& rejection) {
  TCC_RETURN_IF_ERROR(CheckChannelId(rejection.channel_id));
  TCC_RETURN_IF_ERROR(CheckSeq(rejection.seq));
  TCC_RETURN_IF_ERROR(CheckHash(rejection.proposal_hash, "proposal hash"));
  TCC_RETURN_IF_ERROR(CheckHash(rejection.content_hash, "content hash"));
  TCC_ASSIGN_OR_RETURN(wire::Rejection read, wire::ReadRejection(rejection.document));
  if (read.channel != rejection.channel_id || read.seq != rejection.seq ||
      read.proposal_hash != rejection.proposal_hash) {
    return Invalid("the rejection names another channel, seq or proposal than its record");
  }
  const std::string value = EncodeRejection(rejection);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(RejectionKey(rejection.channel_id, rejection.seq, rejection.proposal_hash), value);
  return access.Write(batch, "writing a rejection of channel " + rejection.channel_id);
}

Result<std::vector<RejectionRecord>> ChannelStore::ListRejections(std::string_view channel_id,
                                                                  std::uint64_t from_seq) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  std::vector<RejectionRecord> rejections;
  const std::string prefix = ChannelPrefix(kRejectionKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_RETURN_IF_ERROR(Scan(handle.db(), prefix, SeqKey(kRejectionKind, channel_id, from_seq),
                           [&](std::string_view key, std::string_view value) -> Result<bool> {
                             TCC_ASSIGN_OR_RETURN(RejectionRecord record,
                                                  DecodeRejection(key, value));
                             rejections.push_back(std::move(record));
                             return true;
                           }));
  return rejections;
}

Status ChannelStore::PutProposal(const ProposalMark& proposal) {
  TCC_RETURN_IF_ERROR(CheckChannelId(proposal.channel_id));
  TCC_RETURN_IF_ERROR(CheckSeq(proposal.seq));
  TCC_RETURN_IF_ERROR(CheckHash(proposal.proposal_hash, "proposal hash"));
  TCC_RETURN_IF_ERROR(CheckHash(proposal.content_hash, "content hash"));
  const std::string value = EncodeProposal(proposal);
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(NameKey(kProposalKind, proposal.channel_id), value);
  return access.Write(batch, "writing the latest proposal of channel " + proposal.channel_id,
                      /*sync=*/false);
}

Result<std::optional<ProposalMark>> ChannelStore::GetProposal(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  const std::string key = NameKey(kProposalKind, channel_id);
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  TCC_ASSIGN_OR_RETURN(std::optional<std::string> value, Get(handle.db(), key));
  if (!value) return std::optional<ProposalMark>();
  TCC_ASSIGN_OR_RETURN(ProposalMark mark, DecodeProposal(key, channel_id, *value));
  return std::optional<ProposalMark>(std::move(mark));
}

Status ChannelStore::PutClosingRecord(std::string_view channel_id, std::string_view record_json) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  if (record_json.size() > kMaxValueBytes) return Invalid("a closing record is at most 1 MiB");
  auto record = Json::Parse(record_json);
  if (!record.ok()) return Invalid("the closing record is not JSON: " + record.error().message());
  auto closing = ClosingEvidenceItem(*record);
  if (!closing.ok()) return Invalid(closing.error().message());
  const chain::EvidenceItem& item = *closing;
  if (item.channel_id != channel_id) return Invalid("the closing record names another channel");
  TCC_RETURN_IF_ERROR(CheckItem(item));
  std::string pending;
  AppendU64(pending, item.seq);
  pending.append(AsChars(item.tsc_hash));
  TCC_ASSIGN_OR_RETURN(auto access, impl_->database->BeginWrite());
  leveldb::WriteBatch batch;
  batch.Put(NameKey(kClosingKind, channel_id), AsSlice(record_json));
  // Anchored with the channel's last TSC once the close is stored (PendingEvidence checks that).
  batch.Put(PendingKey(item), pending);
  return access.Write(batch, "writing the closing record of channel " + std::string(channel_id));
}

Result<std::optional<std::string>> ChannelStore::GetClosingRecord(std::string_view channel_id) {
  TCC_RETURN_IF_ERROR(CheckChannelId(channel_id));
  TCC_ASSIGN_OR_RETURN(auto handle, impl_->database->BeginRead());
  return Get(handle.db(), NameKey(kClosingKind, channel_id));
}

}  // namespace tcc::controller
