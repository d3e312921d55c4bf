// Chain outage with the EVM adapter: the anvil node is stopped for about ten seconds under load and
// started again on the same port and state (a restarted consortium node). The scenario and its
// checks are in tests/reliability/chain_outage.h. tccd starts without its node (degraded, the
// adapter opened once the node answers), so it is SIGKILLed and restarted in the middle of the
// outage, as a node and its tccd rebooting together would be.
#include <doctest/doctest.h>

#include "evm_tccd_load.h"

namespace tcc::testing {
namespace {

TEST_CASE("chain outage: the EVM node stops under load, then comes back on the same chain") {
  EvmTccdLoad load;
  ChainOutageSetup setup;
  setup.lanes = &load.lanes;
  setup.data_dir = load.data_dir;
  setup.tccd_arguments = load.arguments;
  setup.starts_without_chain = true;
  setup.take_chain_down = [&] { load.chain.node().Stop(); };
  setup.bring_chain_back = [&] {
    const std::string started = load.chain.node().Start();
    REQUIRE_MESSAGE(started.empty(), started);
  };
  setup.open_chain = [&] { return load.writer; };
  RunChainOutage(setup);
}

}  // namespace
}  // namespace tcc::testing
