// tcc key new, tcc did show.
#include <iostream>

#include "command_line.h"
#include "tcc/common/secure_memory.h"
#include "tcc/did/did_key.h"
#include "tcc/did/document.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"

namespace tcc::cli {
namespace {

int RunKeyNew(std::span<const std::string> arguments) {
  std::string out, seed_hex;
  bool force = false;
  CommandLine command_line("key new", "Create an Ed25519 key file (mode 0600) and print its did:key.");
  command_line.Option("out", "FILE", "Key file to create (required).", &out)
      .Option("seed", "HEX64", "Derive the key from this 32-byte seed instead of fresh randomness "
                               "(for tests and reproducing vectors; never for real keys).", &seed_hex)
      .Flag("force", "Overwrite FILE if it exists.", &force);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  if (out.empty()) {
    std::cerr << "tcc key new: --out FILE is required\n";
    return kExitUsage;
  }
  Result<did::KeyPair> key = did::KeyPair::Generate();
  if (!seed_hex.empty()) {
    auto seed = HexDecode(seed_hex);
    if (!seed.ok()) return ReportError("key new", seed.error().WithContext("--seed"));
    key = did::KeyPair::FromSeed(*seed);
    SecureWipe(*seed);
    if (!key.ok()) return ReportError("key new", key.error().WithContext("--seed"));
  }
  if (auto written = key->WriteFile(out, force); !written.ok()) return ReportError("key new", written.error());
  std::cout << did::DidKeyFromPublicKey(key->public_key()) << "\n";
  return kExitOk;
}

int RunDidShow(std::span<const std::string> arguments) {
  std::string key_or_did;
  CommandLine command_line("did show", "Print the DID document (JSON) of a key file or a DID.");
  command_line.Option("key", "FILE|DID", "A key file, or a DID to resolve (did:key).", &key_or_did);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  if (key_or_did.empty()) {
    std::cerr << "tcc did show: --key FILE|DID is required\n";
    return kExitUsage;
  }
  Result<did::DidDocument> document = Error(ErrorCode::kInternal, "unset");
  if (key_or_did.rfind("did:", 0) == 0) {
    document = CliResolver()->Resolve(key_or_did);
  } else {
    auto key = did::KeyPair::ReadFile(key_or_did);
    if (!key.ok()) return ReportError("did show", key.error());
    document = did::DidDocument::ForDidKey(key->public_key());
  }
  if (!document.ok()) return ReportError("did show", document.error());
  std::cout << document->ToJson().SerializePretty() << "\n";
  return kExitOk;
}

}  // namespace

std::shared_ptr<did::Resolver> CliResolver() {
  auto router = std::make_shared<did::MethodRouter>();
  router->Register("key", std::make_shared<did::DidKeyResolver>());
  return router;
}

std::vector<Command> KeyCommands() {
  return {
      {"key new", "Create an Ed25519 key file and print its did:key", RunKeyNew},
      {"did show", "Print the DID document of a key file or DID", RunDidShow},
  };
}

}  // namespace tcc::cli
