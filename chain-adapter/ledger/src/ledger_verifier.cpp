#include "tcc/chain/ledger_verifier.h"

#include <leveldb/db.h>

#include <memory>
#include <optional>
#include <string>

#include "ledger_rules.h"
#include "tcc/chain/merkle.h"

namespace tcc::chain {
namespace {

using ledger::Block;
using ledger::Entry;
using ledger::Location;

// Keys as people can read them: printable ASCII kept, other bytes as \xNN.
std::string DescribeKey(std::string_view key) {
  std::string out;
  for (char c : key) {
    auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x21 && byte <= 0x7e && byte != '\\') {
      out.push_back(c);
    } else {
      out += "\\x" + HexEncode(ByteView(&byte, 1));
    }
  }
  return out;
}

class Verifier {
 public:
  Verifier(leveldb::DB& db, const leveldb::ReadOptions& options)
      : db_(db), options_(options), expected_(db, options, /*index_from_db=*/false) {}

  Result<LedgerReport> Run() {
    TCC_RETURN_IF_ERROR(CheckBlocks());
    TCC_RETURN_IF_ERROR(CheckHead());
    TCC_RETURN_IF_ERROR(CheckIndex());
    return std::move(report_);
  }

 private:
  void Problem(std::string text) {
    ++report_.problem_count;
    if (report_.problems.size() < kMaxReportedProblems) report_.problems.push_back(std::move(text));
  }

  Status CheckBlocks() {
    std::unique_ptr<leveldb::Iterator> it(db_.NewIterator(options_));
    std::uint64_t next_height = 1;
    std::optional<Hash256> prev_hash = Hash256{};
    std::uint64_t prev_timestamp = 0;
    for (it->Seek(ledger::BlockKey(0)); it->Valid() && it->key().starts_with("B"); it->Next()) {
      std::string_view key(it->key().data(), it->key().size());
      auto height = ledger::ParseBlockKey(key);
      if (!height.ok()) {
        Problem("malformed block key " + DescribeKey(key));
        continue;
      }
      const std::uint64_t h = height.value();
      const std::string label = "block " + std::to_string(h);
      if (h != next_height) {
        Problem(h > next_height ? "blocks " + std::to_string(next_height) + ".." +
                                      std::to_string(h - 1) + " are missing"
                                : label + " has an invalid height");
        prev_hash.reset();  // the link to the missing block cannot be checked
      }
      next_height = h + 1;
      ++report_.blocks;
      auto block = ledger::DecodeBlock(AsBytes(std::string_view(it->value().data(),
                                                                it->value().size())));
      if (!block.ok()) {
        Problem(label + " does not decode: " + block.error().message());
        prev_hash.reset();
        continue;
      }
      const ledger::BlockHeader& header = block->header;
      if (header.height != h) {
        Problem(label + " header says height " + std::to_string(header.height));
      }
      if (prev_hash && header.prev_hash != *prev_hash) {
        Problem(label + ": previous-block hash does not match block " + std::to_string(h - 1));
      }
      if (header.timestamp_ms < prev_timestamp) Problem(label + ": timestamp goes backwards");
      std::vector<Hash256> leaf_hashes;
      for (const Bytes& entry : block->entries) leaf_hashes.push_back(ledger::EntryHash(entry));
      if (MerkleRoot(leaf_hashes) != header.entries_root) {
        Problem(label + ": entries root does not match its entries (an entry was altered, "
                        "added or removed)");
      }
      for (std::uint32_t i = 0; i < block->entries.size(); ++i) {
        CheckEntry(block->entries[i], Location{h, i});
      }
      prev_hash = ledger::BlockHash(header);
      prev_timestamp = header.timestamp_ms;
      last_height_ = h;
      last_hash_ = *prev_hash;
    }
    if (!it->status().ok()) return Error(ErrorCode::kIo, "reading blocks: " + it->status().ToString());
    return OkStatus();
  }

  // Replays the entry through the same rules the packer applies: it must be exactly the fresh
  // entry those rules would have appended at this point.
  void CheckEntry(const Bytes& bytes, const Location& location) {
    ++report_.entries;
    const std::string label =
        "block " + std::to_string(location.height) + " entry " + std::to_string(location.index);
    auto entry = ledger::DecodeEntry(bytes);
    if (!entry.ok()) {
      Problem(label + " does not decode: " + entry.error().message());
      return;
    }
    auto decision = ledger::Decide(ledger::KindOf(*entry), *entry, expected_);
    if (!decision.ok()) {
      Problem(label + " breaks the ledger rules: " + decision.error().message());
      return;
    }
    if (decision->existing || !decision->fresh || *decision->fresh != *entry) {
      Problem(label + " breaks the ledger rules: it is not the write that was due at this point "
                      "(repeated entry or wrong version)");
      return;
    }
    Status indexed = ledger::IndexFresh(*entry, location, expected_);
    if (!indexed.ok()) Problem(label + ": " + indexed.error().message());
  }

  Status CheckHead() {
    std::string value;
    leveldb::Status status = db_.Get(options_, std::string(ledger::kHeadKey), &value);
    if (status.IsNotFound()) {
      if (report_.blocks > 0) {
        Problem("head record is missing; the last stored block is " +
                std::to_string(last_height_));
      }
      return OkStatus();
    }
    if (!status.ok()) return Error(ErrorCode::kIo, "reading the head: " + status.ToString());
    auto height = ledger::DecodeU64(AsBytes(std::string_view(value).substr(0, 8)), "head height");
    if (value.size() != 40 || !height.ok()) {
      Problem("head record is malformed");
      return OkStatus();
    }
    report_.head_height = height.value();
    std::copy(value.begin() + 8, value.end(), report_.head_hash.begin());
    if (report_.head_height > last_height_) {
      Problem("chain is truncated: the head records height " +
              std::to_string(report_.head_height) + " but the last stored block is " +
              std::to_string(last_height_));
    } else if (report_.head_height < last_height_) {
      Problem("the head records height " + std::to_string(report_.head_height) +
              " but blocks continue to " + std::to_string(last_height_));
    } else if (report_.head_hash != last_hash_) {
      Problem("the head hash does not match block " + std::to_string(last_height_));
    }
    return OkStatus();
  }

  // Every index key must be exactly what replaying the blocks produces: merge-walk both sorted
  // sequences.
  Status CheckIndex() {
    const auto& expected = expected_.writes();
    auto want = expected.begin();
    std::unique_ptr<leveldb::Iterator> it(db_.NewIterator(options_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      std::string key = it->key().ToString();
      if (key.starts_with("B") || key == ledger::kHeadKey || key == ledger::kFormatKey) continue;
      if (key.empty() || ledger::kIndexPrefixes.find(key[0]) == std::string_view::npos) {
        Problem("unknown key " + DescribeKey(key));
        continue;
      }
      ++report_.index_keys;
      for (; want != expected.end() && want->first < key; ++want) {
        Problem("index key " + DescribeKey(want->first) + " is missing");
      }
      if (want != expected.end() && want->first == key) {
        if (it->value().ToString() != want->second) {
          Problem("index key " + DescribeKey(key) + " does not match the blocks");
        }
        ++want;
      } else {
        Problem("index key " + DescribeKey(key) + " has no entry behind it");
      }
    }
    for (; want != expected.end(); ++want) {
      Problem("index key " + DescribeKey(want->first) + " is missing");
    }
    if (!it->status().ok()) return Error(ErrorCode::kIo, "reading index: " + it->status().ToString());
    return OkStatus();
  }

  leveldb::DB& db_;
  leveldb::ReadOptions options_;
  ledger::LedgerView expected_;
  LedgerReport report_;
  std::uint64_t last_height_ = 0;
  Hash256 last_hash_{};
};

}  // namespace

namespace ledger {

Result<LedgerReport> VerifyDatabase(leveldb::DB& db, const leveldb::ReadOptions& options) {
  return Verifier(db, options).Run();
}

}  // namespace ledger

std::string LedgerReport::ToString() const {
  std::string out = ok() ? "ledger OK" : "ledger FAILED verification";
  out += ": " + std::to_string(blocks) + " blocks, " + std::to_string(entries) + " entries, " +
         std::to_string(index_keys) + " index keys, head height " + std::to_string(head_height);
  if (head_height > 0) out += " (" + HexEncode(head_hash) + ")";
  out += "\n";
  for (const std::string& problem : problems) out += "  - " + problem + "\n";
  if (problem_count > problems.size()) {
    out += "  ... and " + std::to_string(problem_count - problems.size()) + " more problems\n";
  }
  return out;
}

Result<LedgerReport> VerifyLedger(const std::string& path) {
  TCC_ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> database,
                       storage::Database::Open(ledger::DatabaseOptionsFor(path, false)));
  TCC_ASSIGN_OR_RETURN(storage::Database::Reader reading, database->BeginRead());
  leveldb::DB& db = reading.db();
  const leveldb::Snapshot* snapshot = db.GetSnapshot();
  leveldb::ReadOptions options;
  options.snapshot = snapshot;
  options.verify_checksums = true;
  auto report = ledger::VerifyDatabase(db, options);
  db.ReleaseSnapshot(snapshot);
  return report;
}

}  // namespace tcc::chain
