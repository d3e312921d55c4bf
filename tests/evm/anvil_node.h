// AnvilNode: a real anvil (Foundry's EVM node, pinned in package-lock.json) as a child process on
// 127.0.0.1 at a free port, for the EVM adapter tests and benchmarks. Its chain state is kept in a
// file, so Stop() (SIGTERM: anvil writes the state) and Start() again continue the same chain on
// the same port, as a restarted consortium node would. The chain runs the `london` hardfork, the
// EVM version TccRegistry is compiled for, so opcodes newer than that fail the tests.
// Not thread-safe: one thread starts and stops it; any thread may use its RPC URL.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tcc/chain/evm_adapter.h"
#include "tcc/chain/evm_json_rpc.h"

extern char** environ;

namespace tcc::chain::testing {

class AnvilNode {
 public:
  struct Options {
    std::string state_file;     // empty: no persistence across Stop/Start
    unsigned block_time_s = 0;  // 0: a block per transaction (automine)
  };

  explicit AnvilNode(Options options) : options_(std::move(options)), port_(FreePort()) {}
  ~AnvilNode() { Stop(); }
  AnvilNode(const AnvilNode&) = delete;
  AnvilNode& operator=(const AnvilNode&) = delete;

  // Empty when it started; else why not.
  std::string Start() {
    std::vector<std::string> arguments = {TCC_ANVIL_PATH, "--host", "127.0.0.1", "--port",
                                          std::to_string(port_), "--silent", "--hardfork", "london",
                                          "--chain-id", "31337"};
    if (!options_.state_file.empty()) {
      arguments.insert(arguments.end(), {"--state", options_.state_file});
    }
    if (options_.block_time_s > 0) {
      arguments.insert(arguments.end(), {"--block-time", std::to_string(options_.block_time_s)});
    }
    std::vector<char*> argv;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, TCC_ANVIL_PATH, nullptr, nullptr, argv.data(), environ) != 0) {
      pid_ = -1;
      return std::string("cannot start ") + TCC_ANVIL_PATH + " (run scripts/install-npm-tools.sh)";
    }
    evm::JsonRpcClient rpc(rpc_url(), std::chrono::milliseconds(500));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      if (rpc.CallOrFail("eth_chainId", Json::Array()).ok()) return {};
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "anvil exited at start (port " + std::to_string(port_) + " taken?)";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "anvil did not answer within 30 s";
  }

  // SIGTERM and wait: anvil writes its state file on the way out.
  void Stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool running() const { return pid_ > 0; }
  std::string rpc_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  // Gives `account` 1,000 ether through anvil's own control call.
  Status Fund(const evm::Address& account) const {
    evm::JsonRpcClient rpc(rpc_url(), std::chrono::seconds(5));
    Json params = Json::Array();
    params.PushBack(evm::AddressHex(account));
    params.PushBack("0x3635c9adc5dea00000");
    auto funded = rpc.CallOrFail("anvil_setBalance", params);
    if (!funded.ok()) return funded.error();
    return OkStatus();
  }

  Result<Json> Call(std::string_view method, Json params) const {
    evm::JsonRpcClient rpc(rpc_url(), std::chrono::seconds(10));
    return rpc.CallOrFail(method, std::move(params));
  }

 private:
  // A port the kernel just handed out on loopback; anvil binds it right after.
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
};

}  // namespace tcc::chain::testing
