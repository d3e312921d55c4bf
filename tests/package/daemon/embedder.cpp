// Embeds the daemon through the installed package: a DaemonConfig is checked as Daemon::Start
// would check it (a missing data directory is refused), using daemon.h alone.
#include <iostream>

#include "tcc/controller/daemon.h"

int main() {
  tcc::controller::DaemonConfig config;
  config.policy.default_n = 20;
  const tcc::Status checked = tcc::controller::FinishDaemonConfig(config);
  if (checked.ok()) {
    std::cerr << "a config without data_dir was accepted\n";
    return 1;
  }
  std::cout << "package embedder: daemon.h alone configures the daemon ("
            << checked.error().message() << ")\n";
  return 0;
}
