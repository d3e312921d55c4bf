#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "chain_test_util.h"
#include "tcc/chain/ledger_verifier.h"
#include "tcc/chain/local_ledger.h"

namespace tcc::chain {
namespace {

struct PrintedReceipt {
  std::string batch;
  std::uint64_t height = 0;
  std::string block_hash;
  std::string tx;
};

// Runs the writer until it has printed `lines` receipts, kills it with SIGKILL, and returns every
// complete line it printed before dying.
std::vector<PrintedReceipt> RunAndKill(const std::string& uri, const std::string& run,
                                       std::size_t lines) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::execl(TCC_CHAIN_CRASH_WRITER, TCC_CHAIN_CRASH_WRITER, uri.c_str(), run.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  std::string output;
  char buffer[4096];
  bool killed = false;
  while (true) {
    ssize_t n = ::read(pipe_fds[0], buffer, sizeof(buffer));
    if (n <= 0) break;
    output.append(buffer, std::size_t(n));
    if (!killed && std::size_t(std::count(output.begin(), output.end(), '\n')) >= lines) {
      ::kill(child, SIGKILL);  // mid-run: other threads are inside Anchor right now
      killed = true;
    }
  }
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  REQUIRE_MESSAGE(killed, "writer exited early with status " << status);
  CHECK(WIFSIGNALED(status));

  std::vector<PrintedReceipt> receipts;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a line without its newline is not a complete receipt
    std::istringstream fields(line);
    PrintedReceipt receipt;
    bool parsed = bool(fields >> receipt.batch >> receipt.height >> receipt.block_hash >> receipt.tx);
    REQUIRE_MESSAGE(parsed, line);
    receipts.push_back(receipt);
  }
  return receipts;
}

TEST_CASE("a writer killed with SIGKILL loses no anchor that it printed a receipt for") {
  testing::TempDir dir;
  std::string path = dir.Sub("ledger");
  std::string uri = "local:" + path + "?entries_per_block=4";
  std::vector<PrintedReceipt> all;
  for (int run = 0; run < 3; ++run) {
    auto printed = RunAndKill(uri, "run" + std::to_string(run), 1000 + 700 * std::size_t(run));
    CHECK(printed.size() >= 1000);
    all.insert(all.end(), printed.begin(), printed.end());

    auto report = VerifyLedger(path);
    REQUIRE_MESSAGE(report.ok(), report.error().ToString());
    CHECK_MESSAGE(report->ok(), report->ToString());

    auto ledger = LocalLedger::Open({.path = path});
    REQUIRE_MESSAGE(ledger.ok(), ledger.error().ToString());
    for (const PrintedReceipt& receipt : all) {
      auto found = (*ledger)->FindAnchor(receipt.batch);
      REQUIRE_MESSAGE(found.ok(), receipt.batch << ": " << found.error().ToString());
      CHECK(found->receipt.height == receipt.height);
      CHECK(HexEncode(found->receipt.block_hash) == receipt.block_hash);
      CHECK(found->receipt.tx == receipt.tx);
    }
  }
}

}  // namespace
}  // namespace tcc::chain
