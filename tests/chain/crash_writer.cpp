// Test helper: anchors batches from several threads until killed, printing one line per receipt
// ("batch height block_hash tx") only after Anchor returned it. chain_test kills it with SIGKILL
// and checks that every printed receipt survived.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "tcc/chain/factory.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s CHAIN_URI RUN_ID\n", argv[0]);
    return 2;
  }
  auto adapter = tcc::chain::OpenChainAdapter(argv[1]);
  if (!adapter.ok()) {
    std::fprintf(stderr, "%s\n", adapter.error().ToString().c_str());
    return 1;
  }
  const std::string run = argv[2];
  std::mutex out;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0;; ++i) {
        std::string batch = run + "-" + std::to_string(t) + "-" + std::to_string(i);
        auto anchored = (*adapter)->Anchor({batch, tcc::Sha256(batch), i + 1});
        if (!anchored.ok()) {
          std::fprintf(stderr, "%s\n", anchored.error().ToString().c_str());
          std::_Exit(1);
        }
        std::string line = batch + " " + std::to_string(anchored->receipt.height) + " " +
                           tcc::HexEncode(anchored->receipt.block_hash) + " " +
                           anchored->receipt.tx + "\n";
        // One write() per line (< PIPE_BUF) so lines never interleave or tear.
        std::lock_guard lock(out);
        if (::write(STDOUT_FILENO, line.data(), line.size()) != ssize_t(line.size())) {
          std::_Exit(1);
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
}
