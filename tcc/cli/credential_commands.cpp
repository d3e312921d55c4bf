// tcc jcs, tcc vc issue, tcc vc verify.
#include <iostream>
#include <iterator>

#include "command_line.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/jcs.h"

namespace tcc::cli {
namespace {

int RunJcs(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  CommandLine command_line("jcs", "Print the RFC 8785 canonical form of a JSON file (exact bytes, no newline).");
  command_line.Positionals("FILE", "JSON file to canonicalize ('-' reads standard input).", &files, 1, 1);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  auto text = ReadInput(files[0]);
  if (!text.ok()) return ReportError("jcs", text.error());
  auto canonical = vc::CanonicalizeText(*text);
  if (!canonical.ok()) return ReportError("jcs", canonical.error().WithContext(files[0]));
  std::cout << *canonical;
  return kExitOk;
}

int RunVcIssue(std::span<const std::string> arguments) {
  std::string key_file, created;
  std::vector<std::string> files;
  CommandLine command_line("vc issue",
                           "Sign an unsigned VC 2.0 credential with eddsa-jcs-2022 and print it. The issuer\n"
                           "and verification method are taken from the key when the credential has none.");
  command_line.Option("key", "FILE", "Issuer key file (required).", &key_file)
      .Option("created", "RFC3339", "Proof creation time (default: now).", &created)
      .Positionals("UNSIGNED.json", "The credential to sign ('-' reads standard input).", &files, 1, 1);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  if (key_file.empty()) {
    std::cerr << "tcc vc issue: --key FILE is required\n";
    return kExitUsage;
  }
  auto key = did::KeyPair::ReadFile(key_file);
  if (!key.ok()) return ReportError("vc issue", key.error());
  auto text = ReadInput(files[0]);
  if (!text.ok()) return ReportError("vc issue", text.error());
  auto credential = Json::Parse(*text);
  if (!credential.ok()) return ReportError("vc issue", credential.error().WithContext(files[0]));
  auto issued = vc::IssueCredential(std::move(credential).value(), *key, {.created = created});
  if (!issued.ok()) return ReportError("vc issue", issued.error().WithContext(files[0]));
  std::cout << issued->SerializePretty() << "\n";
  return kExitOk;
}

int RunVcVerify(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string at;
  CommandLine command_line("vc verify",
                           "Verify credentials: eddsa-jcs-2022 proofs, issuer's key, proof purpose, created,\n"
                           "validity period. Prints 'OK FILE' or 'FAIL FILE: reason' per file; exits 0 only\n"
                           "if all verify.");
  command_line.Option("at", "RFC3339", "Check validity as of this time (default: now).", &at)
      .Positionals("FILE", "Signed credential files ('-' reads standard input).", &files, 1, 0);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  vc::CredentialVerifyOptions options;
  if (!at.empty()) {
    auto when = ParseRfc3339(at);
    if (!when.ok()) return ReportError("vc verify", when.error().WithContext("--at"));
    options.now = *when;
  }
  auto resolver = CliResolver();
  int exit_code = kExitOk;
  for (const auto& file : files) {
    auto text = ReadInput(file);
    Result<vc::VerifiedCredential> verified = Error(ErrorCode::kInternal, "unset");
    if (!text.ok()) {
      verified = text.error();
    } else if (auto credential = Json::Parse(*text); !credential.ok()) {
      verified = credential.error();
    } else {
      verified = vc::VerifyCredential(*credential, *resolver, options);
    }
    if (verified.ok()) {
      std::cout << "OK " << file << "\n";
    } else {
      std::cout << "FAIL " << file << ": " << verified.error().message() << "\n";
      exit_code = kExitVerificationFailed;
    }
  }
  return exit_code;
}

}  // namespace

Result<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string content((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return content;
}

std::vector<Command> CredentialCommands() {
  return {
      {"jcs", "Print the RFC 8785 canonical form of a JSON file", RunJcs},
      {"vc issue", "Sign a credential (eddsa-jcs-2022)", RunVcIssue},
      {"vc verify", "Verify credentials", RunVcVerify},
  };
}

}  // namespace tcc::cli
