// The embedded ledger's verifier: walks every block and checks hash links, entry commitments,
// the write rules and the index, and says precisely what is wrong.
//
// VerifyLedger opens the directory read-only in effect (it never writes) and needs it unlocked,
// i.e. no tccd running on it; LocalLedger::Verify checks an open ledger. Both are thread-safe.
// `tcc ledger verify PATH` prints the report.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "tcc/chain/types.h"
#include "tcc/common/result.h"

namespace tcc::chain {

struct LedgerReport {
  std::uint64_t blocks = 0;       // blocks read
  std::uint64_t entries = 0;      // entries read
  std::uint64_t index_keys = 0;   // index keys compared
  std::uint64_t head_height = 0;  // as recorded in the head key
  Hash256 head_hash{};
  // Human-readable findings ("block 17: previous-block hash does not match block 16"), the first
  // kMaxReportedProblems of them; problem_count counts all.
  std::vector<std::string> problems;
  std::uint64_t problem_count = 0;

  bool ok() const { return problem_count == 0; }
  // A multi-line summary for CLI output.
  std::string ToString() const;
};

inline constexpr std::size_t kMaxReportedProblems = 100;

// A report (ok or not) when the store could be read; kNotFound if PATH is no ledger, kUnavailable
// if it is locked by a running process, kIo for read failures.
Result<LedgerReport> VerifyLedger(const std::string& path);

}  // namespace tcc::chain
