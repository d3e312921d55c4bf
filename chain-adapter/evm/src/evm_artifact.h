// The compiled TccRegistry (chain-adapter/evm/TccRegistry.sol), generated at build time by
// chain-adapter/evm/compile.js with the pinned solcjs. Immutable constants; thread-safe.
#pragma once

namespace tcc::chain::evm {

extern const char* const kRegistrySolcVersion;
extern const char* const kRegistryEvmVersion;
extern const char* const kRegistryBytecodeHex;        // creation code, hex without 0x
extern const char* const kRegistryAbiJson;
extern const char* const kRegistryMethodIdentifiers;  // "signature=selector" lines, as solc reports

}  // namespace tcc::chain::evm
