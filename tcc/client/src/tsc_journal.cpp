#include "tcc/client/tsc_journal.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>

#include "tcc/common/file.h"
#include "tcc/vc/transaction.h"

namespace tcc::client {
namespace {

constexpr std::size_t kSeqDigits = 20;
constexpr std::string_view kSuffix = ".json";
// A TSC is a few KB; anything far larger in the journal is not one of ours.
constexpr std::size_t kMaxTscFileBytes = 1u << 20;

bool IsChannelId(const std::string& id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Result<TscJournal> TscJournal::Open(const std::string& dir, const std::string& channel_id) {
  if (dir.empty()) return Error(ErrorCode::kInvalidArgument, "a TSC journal needs a directory");
  if (!IsChannelId(channel_id)) {
    return Error(ErrorCode::kInvalidArgument,
                 "a TSC journal's channel id must be 64 lowercase hex digits");
  }
  TCC_RETURN_IF_ERROR(EnsurePrivateDirectory(dir, "TSC journal directory"));
  const std::string path = (std::filesystem::path(dir) / channel_id).string();
  TCC_RETURN_IF_ERROR(EnsurePrivateDirectory(path, "TSC journal directory"));
  return TscJournal(path, channel_id);
}

std::string TscJournal::FileOf(std::uint64_t seq) const {
  char name[kSeqDigits + 1];
  std::snprintf(name, sizeof(name), "%020llu", static_cast<unsigned long long>(seq));
  return path_ + "/" + name + std::string(kSuffix);
}

Status TscJournal::SameAsKept(std::uint64_t seq, const Json& kept, const std::string& hash) const {
  TCC_ASSIGN_OR_RETURN(std::string kept_hash, vc::CredentialHash(kept));
  if (kept_hash == hash) return OkStatus();
  return Error(ErrorCode::kConflict, "TSC journal " + FileOf(seq) + " holds another TSC for seq " +
                                         std::to_string(seq) + " (hash " + kept_hash + ", now " +
                                         hash + "): the channel forked");
}

Status TscJournal::Append(std::uint64_t seq, const Json& tsc) {
  TCC_ASSIGN_OR_RETURN(std::string hash, vc::CredentialHash(tsc));
  auto existing = Get(seq);
  if (existing.ok()) return SameAsKept(seq, *existing, hash);
  if (existing.error().code() != ErrorCode::kNotFound) return std::move(existing).error();
  Status written =
      WriteFileAtomic(FileOf(seq), tsc.Serialize(), {.mode = 0600, .overwrite = false});
  if (written.ok()) return written;
  // Written meanwhile by another session of this party: the same TSC is fine, another one is not.
  auto raced = Get(seq);
  return raced.ok() ? SameAsKept(seq, *raced, hash) : written;
}

Result<Json> TscJournal::Get(std::uint64_t seq) const {
  const std::string file = FileOf(seq);
  std::error_code error;
  if (!std::filesystem::exists(file, error)) {
    return Error(ErrorCode::kNotFound, "no TSC " + std::to_string(seq) + " in " + path_);
  }
  TCC_ASSIGN_OR_RETURN(std::string text, ReadFile(file, {.max_bytes = kMaxTscFileBytes}));
  auto tsc = Json::Parse(text);
  if (!tsc.ok()) return std::move(tsc).error().WithContext(file);
  const Json* subject = tsc->Find("credentialSubject");
  if (subject == nullptr)
    return Error(ErrorCode::kParse, file + ": not a TSC (no credentialSubject)");
  auto link = vc::ReadSettlementLink(*subject);
  if (!link.ok()) return std::move(link).error().WithContext(file);
  if (link->seq != seq || link->channel != channel_id_) {
    return Error(ErrorCode::kParse,
                 file + ": holds channel " + link->channel + " seq " + std::to_string(link->seq));
  }
  return std::move(tsc).value();
}

Result<std::vector<std::uint64_t>> TscJournal::Seqs() const {
  std::vector<std::uint64_t> seqs;
  std::error_code error;
  for (std::filesystem::directory_iterator it(path_, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    // Temporary files of an interrupted write, and anything else, are not TSCs.
    if (name.size() != kSeqDigits + kSuffix.size() || !name.ends_with(kSuffix)) continue;
    std::uint64_t seq = 0;
    auto [end_ptr, parsed] = std::from_chars(name.data(), name.data() + kSeqDigits, seq);
    if (parsed != std::errc() || end_ptr != name.data() + kSeqDigits || seq == 0) continue;
    seqs.push_back(seq);
  }
  if (error)
    return Error(ErrorCode::kIo, "cannot list TSC journal " + path_ + ": " + error.message());
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

Result<std::uint64_t> TscJournal::LastSeq() const {
  TCC_ASSIGN_OR_RETURN(std::vector<std::uint64_t> seqs, Seqs());
  return seqs.empty() ? 0 : seqs.back();
}

Result<std::vector<Json>> TscJournal::After(std::uint64_t after_seq, std::size_t limit) const {
  TCC_ASSIGN_OR_RETURN(std::vector<std::uint64_t> seqs, Seqs());
  std::vector<Json> tscs;
  for (auto it = std::upper_bound(seqs.begin(), seqs.end(), after_seq);
       it != seqs.end() && tscs.size() < limit; ++it) {
    TCC_ASSIGN_OR_RETURN(Json tsc, Get(*it));
    tscs.push_back(std::move(tsc));
  }
  return tscs;
}

}  // namespace tcc::client
