// EvmNode: a real EVM development node as a child process on 127.0.0.1 at a free port, for the
// EVM adapter tests and benchmarks. Two implementations, both pinned in package-lock.json:
// - anvil (Foundry, Rust): its chain state is kept in a file, so Stop() (SIGTERM: anvil writes the
//   state) and Start() again continue the same chain on the same port, as a restarted consortium
//   node would;
// - Hardhat's node (`hardhat node` with tests/evm/hardhat/hardhat.config.js): no state file, so a
//   restart starts a new chain (restartable() is false; tests that restart run on anvil only).
// Both run chain id 31337 and the `london` rule set, the EVM version TccRegistry is compiled for,
// so opcodes newer than that fail the tests. The test-control calls whose names differ between
// the two (balances, base fee, dropping the pool) are methods here, the one place that knows both
// spellings; see docs/evm.md, "Nodes tested". TCC_EVM_NODE=anvil|hardhat picks the kind of
// EvmChain's node (anvil when unset), so one test binary runs against either.
// Not thread-safe: one thread starts and stops it; any thread may use its RPC URL and calls.
#pragma once

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tcc/chain/evm_adapter.h"
#include "tcc/chain/evm_json_rpc.h"

extern char** environ;

// Where the build put the nodes (tests/evm/CMakeLists.txt); a target that defines none can still
// run anvil through the old definition or is told what is missing.
#ifndef TCC_ANVIL_PATH
#define TCC_ANVIL_PATH ""
#endif
#ifndef TCC_HARDHAT_CLI
#define TCC_HARDHAT_CLI ""
#endif
#ifndef TCC_HARDHAT_CONFIG
#define TCC_HARDHAT_CONFIG ""
#endif
#ifndef TCC_NODE_PATH
#define TCC_NODE_PATH ""
#endif

namespace tcc::chain::testing {

enum class EvmNodeKind { kAnvil, kHardhat };

class EvmNode {
 public:
  struct Options {
    std::string state_file;     // anvil: empty = no persistence across Stop/Start
    unsigned block_time_s = 0;  // 0: a block per transaction (automine)
    EvmNodeKind kind = EvmNodeKind::kAnvil;
    std::string work_dir;  // hardhat: its cache folders and log; empty = a folder under /tmp
  };

  // TCC_EVM_NODE: "anvil" (or unset) or "hardhat"; anything else is nullopt.
  static std::optional<EvmNodeKind> KindFromEnvironment() {
    const char* name = std::getenv("TCC_EVM_NODE");
    if (name == nullptr || *name == '\0' || std::strcmp(name, "anvil") == 0)
      return EvmNodeKind::kAnvil;
    if (std::strcmp(name, "hardhat") == 0) return EvmNodeKind::kHardhat;
    return std::nullopt;
  }

  // Whether the kind's program is installed (scripts/install-npm-tools.sh puts both there).
  static bool Installed(EvmNodeKind kind) {
    if (kind == EvmNodeKind::kAnvil) return ::access(TCC_ANVIL_PATH, X_OK) == 0;
    return ::access(TCC_HARDHAT_CLI, R_OK) == 0 && ::access(TCC_NODE_PATH, X_OK) == 0;
  }

  explicit EvmNode(Options options) : options_(std::move(options)), port_(FreePort()) {}
  ~EvmNode() { Terminate(); }
  EvmNode(const EvmNode&) = delete;
  EvmNode& operator=(const EvmNode&) = delete;

  EvmNodeKind kind() const { return options_.kind; }
  // The version tested is the one package-lock.json pins; docs/evm.md names it.
  const char* name() const { return options_.kind == EvmNodeKind::kAnvil ? "anvil" : "hardhat"; }
  // Stop() then Start() continues the same chain.
  bool restartable() const {
    return options_.kind == EvmNodeKind::kAnvil && !options_.state_file.empty();
  }

  // Empty when it started; else why not.
  std::string Start() {
    std::vector<std::string> arguments;
    std::vector<std::string> environment;
    for (char** entry = environ; *entry != nullptr; ++entry) environment.emplace_back(*entry);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    struct Cleanup {
      posix_spawn_file_actions_t& actions;
      ~Cleanup() { posix_spawn_file_actions_destroy(&actions); }
    } cleanup{actions};
    if (options_.kind == EvmNodeKind::kAnvil) {
      arguments = {TCC_ANVIL_PATH, "--host",     "127.0.0.1", "--port",     std::to_string(port_),
                   "--silent",     "--hardfork", "london",    "--chain-id", "31337"};
      if (!options_.state_file.empty())
        arguments.insert(arguments.end(), {"--state", options_.state_file});
      if (options_.block_time_s > 0) {
        arguments.insert(arguments.end(), {"--block-time", std::to_string(options_.block_time_s)});
      }
    } else {
      // Hardhat refuses to run unless started inside a project with a local installation, so it
      // starts in the config's folder (whose node_modules is found above it). CI=true keeps it
      // from prompting for telemetry and fetching its banner; the config keeps its folders out of
      // the source tree and compiles nothing.
      std::string work_dir = options_.work_dir.empty() ? "/tmp/tcc-hardhat-" + std::to_string(port_)
                                                       : options_.work_dir;
      ::mkdir(work_dir.c_str(), 0700);
      std::string config = TCC_HARDHAT_CONFIG;
      std::string config_dir = config.substr(0, config.find_last_of('/'));
      arguments = {TCC_NODE_PATH, TCC_HARDHAT_CLI, "--config",
                   config,        "node",          "--hostname",
                   "127.0.0.1",   "--port",        std::to_string(port_)};
      environment.insert(
          environment.end(),
          {"CI=true", "HARDHAT_DISABLE_TELEMETRY_PROMPT=true", "TCC_HARDHAT_DIR=" + work_dir,
           "TCC_HARDHAT_BLOCK_TIME_S=" + std::to_string(options_.block_time_s)});
      log_file_ = work_dir + "/hardhat.log";
      posix_spawn_file_actions_addchdir_np(&actions, config_dir.c_str());
      posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file_.c_str(),
                                       O_WRONLY | O_CREAT | O_APPEND, 0600);
      posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    }
    if (!Installed(options_.kind)) {
      return std::string(name()) + " is not installed (run scripts/install-npm-tools.sh)";
    }
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
      return std::string("cannot start ") + argv[0] + " (run scripts/install-npm-tools.sh)";
    }
    mining_automatically_ = true;
    evm::JsonRpcClient rpc(rpc_url(), std::chrono::milliseconds(500));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      if (rpc.CallOrFail("eth_chainId", Json::Array()).ok()) return {};
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return std::string(name()) + " exited at start (port " + std::to_string(port_) + " taken?" +
               (log_file_.empty() ? std::string(")") : "; see " + log_file_ + ")");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return std::string(name()) + " did not answer within 60 s";
  }

  // SIGTERM and wait: anvil writes its state file on the way out. A restartable node first seals
  // the block it may be mining (FinishMining), so the file holds a chain a real node could have.
  void Stop() {
    if (pid_ <= 0) return;
    if (restartable()) FinishMining();
    Terminate();
  }

  bool running() const { return pid_ > 0; }
  std::string rpc_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  Result<Json> Call(std::string_view method, Json params) const {
    evm::JsonRpcClient rpc(rpc_url(), std::chrono::seconds(10));
    return rpc.CallOrFail(method, std::move(params));
  }

  // The test-control calls. Both nodes take Ethereum's evm_* names (evm_mine, evm_setAutomine,
  // evm_snapshot, evm_revert, evm_setIntervalMining); their own extensions are anvil_* and
  // hardhat_* with the same parameters.

  // Gives `account` 1,000 ether.
  Status Fund(const evm::Address& account) const {
    Json params = Json::Array();
    params.PushBack(evm::AddressHex(account));
    params.PushBack("0x3635c9adc5dea00000");
    auto funded = Call(Extension("setBalance"), params);
    if (!funded.ok()) return funded.error();
    return OkStatus();
  }

  // The base fee of the next block (both nodes then derive the following ones from it).
  Status SetNextBaseFee(std::uint64_t wei) const {
    auto set = Call(Extension("setNextBlockBaseFeePerGas"), JsonArray{Json(evm::QuantityHex(wei))});
    if (!set.ok()) return set.error();
    return OkStatus();
  }

  // Off: transactions wait in the pool until evm_mine (or a restart, which loses them).
  Status SetAutomine(bool on) {
    auto set = Call("evm_setAutomine", JsonArray{Json(on)});
    if (!set.ok()) return set.error();
    mining_automatically_ = on || options_.block_time_s > 0;
    return OkStatus();
  }

 private:
  // anvil 1.7.1 writes its state file from its blocks first and its accounts after, without
  // holding its mining lock (Backend::serialized_state), so a block mined in between leaves
  // accounts and contract storage that no block explains: after the restart the registry holds an
  // anchor whose transaction and event no block has. No real node restarts like that. So, while
  // the node mines by itself, mining is switched off and one block is mined on request: evm_mine
  // waits for the mining lock (so for any block being mined) and takes the pool, which holds
  // every transaction of a block still to be mined until that block is stored. A block the node
  // had already scheduled then finds its transactions mined and changes no account. What is sent
  // after this waits in the pool and is lost at the restart, as with a real node. With automatic
  // mining off (SetAutomine(false)) nothing is mined without the test and the pool is left alone.
  void FinishMining() {
    if (!mining_automatically_) return;
    if (!Call("evm_setIntervalMining", JsonArray{Json(0)}).ok()) return;  // also ends automine
    mining_automatically_ = false;
    (void)Call("evm_mine", Json::Array());
  }

  void Terminate() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  std::string Extension(std::string_view method) const {
    return std::string(options_.kind == EvmNodeKind::kAnvil ? "anvil_" : "hardhat_") +
           std::string(method);
  }

  // A port the kernel just handed out on loopback; the node binds it right after.
  static int FreePort() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;
    socklen_t length = sizeof(address);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      if (fd >= 0) ::close(fd);
      return 0;
    }
    ::close(fd);
    return ntohs(address.sin_port);
  }

  Options options_;
  int port_;
  pid_t pid_ = -1;
  bool mining_automatically_ = false;  // a block per transaction, or every block_time_s
  std::string log_file_;
};

}  // namespace tcc::chain::testing
