// Every thread of a real tccd carries a name from docs/design.md's table "Threads of tccd": the
// test reads the names from the table itself, so a thread added without a row (or a row whose
// name no thread uses any more) fails here. tccd runs with every optional part that starts
// threads: the VC API, the metrics endpoint and the chain watcher (auto_open, the default).
#include <dirent.h>
#include <doctest/doctest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "daemon_test_util.h"
#include "tcc/common/file.h"

namespace tcc::testing {
namespace {

constexpr int kWorkers = 3;

// The backquoted names in the first column of the table under "## Threads of tccd".
std::set<std::string> DocumentedNames() {
  const std::string design = ReadFile(std::string(TCC_DOCS_DIR) + "/design.md").value();
  std::istringstream lines(design);
  std::string line;
  bool in_section = false;
  std::set<std::string> names;
  while (std::getline(lines, line)) {
    if (line.rfind("## ", 0) == 0) in_section = line == "## Threads of tccd";
    if (!in_section || line.rfind("| ", 0) != 0) continue;
    const std::string first = line.substr(2, line.find(" |", 1) - 2);
    for (std::size_t open = first.find('`'); open != std::string::npos;) {
      const std::size_t close = first.find('`', open + 1);
      if (close == std::string::npos) break;
      names.insert(first.substr(open + 1, close - open - 1));
      open = first.find('`', close + 1);
    }
  }
  return names;
}

// Thread name -> how many threads of `pid` carry it.
std::map<std::string, int> ThreadNames(pid_t pid) {
  std::map<std::string, int> names;
  const std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* dir = ::opendir(task_dir.c_str());
  REQUIRE(dir != nullptr);
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] == '.') continue;
    // A stream, not ReadFile: /proc reports a size of 0 for comm.
    std::ifstream comm(task_dir + "/" + entry->d_name + "/comm");
    std::string name;
    if (!std::getline(comm, name)) continue;  // the thread ended meanwhile
    ++names[name];
  }
  ::closedir(dir);
  return names;
}

std::string Describe(const std::map<std::string, int>& names) {
  std::string text;
  for (const auto& [name, count] : names) text += "  " + name + " x" + std::to_string(count) + "\n";
  return text;
}

TEST_CASE("every thread of a running tccd has a name from docs/design.md's thread table") {
  const std::set<std::string> documented = DocumentedNames();
  // The table itself is read: tccd's own names are in it.
  for (const char* own : {"tccd", "tccd-watchdog", "tcc-loop", "tcc-worker", "tcc-store-write",
                          "tcc-anchor", "tcc-anchor-tick", "tcc-chain-watch", "tcc-ledger-pack",
                          "tcc-vcapi-work", "tcc-vcapi-time"}) {
    CHECK_MESSAGE(documented.count(own) == 1, own << " is not in docs/design.md's thread table");
  }

  TempDir dir;
  const std::string token = dir.Sub("token");
  REQUIRE(WriteFileAtomic(token, "0123456789abcdef0123456789abcdef\n", {.mode = 0600}).ok());
  const std::string issuer = dir.Sub("issuer.key");
  REQUIRE(did::KeyPair::Generate().WriteFile(issuer).ok());
  TccdProcess tccd;
  tccd.Start(LocalTccdArguments(
      dir, {"--workers", std::to_string(kWorkers), "--vc-api", "127.0.0.1:0", "--vc-api-token-file",
            token, "--vc-api-issuer-key", issuer, "--metrics", "127.0.0.1:0"}));
  REQUIRE(tccd.pid() > 0);

  // A thread is named by its own first statement, so one that has just started may still carry
  // its creator's name: wait until every thread tccd starts itself shows its own.
  const std::map<std::string, int> expected = {
      {"tccd-watchdog", 1},   {"tcc-loop", 1},        {"tcc-worker", kWorkers},
      {"tcc-store-write", 1}, {"tcc-anchor", 1},      {"tcc-anchor-tick", 1},
      {"tcc-chain-watch", 1}, {"tcc-ledger-pack", 1}, {"tcc-vcapi-time", 1}};
  std::map<std::string, int> names;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (true) {
    names = ThreadNames(tccd.pid());
    bool all = names["tcc-vcapi-work"] >= 1;
    for (const auto& [name, count] : expected) all = all && names[name] == count;
    if (all || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  INFO("tccd's threads:\n" << Describe(names));
  for (const auto& [name, count] : expected) CHECK_MESSAGE(names[name] == count, name);
  CHECK(names["tcc-vcapi-work"] >= 1);
  for (const auto& [name, count] : names) {
    if (count == 0) continue;
    CHECK_MESSAGE(documented.count(name) == 1, "thread '" << name << "' is not in docs/design.md");
  }
  CHECK(tccd.Stop() == 0);
}

}  // namespace
}  // namespace tcc::testing
