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
  return RunCommand(command_line, "key new", arguments, [&]() -> Status {
    if (out.empty()) return MissingOption("--out FILE");
    Result<did::KeyPair> key = did::KeyPair::Generate();
    if (!seed_hex.empty()) {
      auto seed = HexDecode(seed_hex);
      if (!seed.ok()) return std::move(seed).error().WithContext("--seed");
      key = did::KeyPair::FromSeed(*seed);
      SecureWipe(*seed);
      if (!key.ok()) return std::move(key).error().WithContext("--seed");
    }
    TCC_RETURN_IF_ERROR(key->WriteFile(out, force));
    std::cout << did::DidKeyFromPublicKey(key->public_key()) << "\n";
    return OkStatus();
  });
}

int RunDidShow(std::span<const std::string> arguments) {
  std::string key_or_did;
  CommandLine command_line("did show", "Print the DID document (JSON) of a key file or a DID.");
  command_line.Option("key", "FILE|DID", "A key file, or a DID to resolve (did:key).", &key_or_did);
  return RunCommand(command_line, "did show", arguments, [&]() -> Status {
    if (key_or_did.empty()) return MissingOption("--key FILE|DID");
    did::DidDocument document;
    if (key_or_did.rfind("did:", 0) == 0) {
      TCC_ASSIGN_OR_RETURN(document, CliResolver()->Resolve(key_or_did));
    } else {
      TCC_ASSIGN_OR_RETURN(did::KeyPair key, did::KeyPair::ReadFile(key_or_did));
      document = did::DidDocument::ForDidKey(key.public_key());
    }
    std::cout << document.ToJson().SerializePretty() << "\n";
    return OkStatus();
  });
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
