// tcc jcs, tcc vc issue, tcc vc verify.
#include <iostream>
#include <optional>
#include <string_view>

#include "command_line.h"
#include "tcc/common/file.h"
#include "tcc/common/json.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"

namespace tcc::cli {
namespace {

int RunJcs(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  CommandLine command_line("jcs", "Print the RFC 8785 canonical form of a JSON file (exact bytes, no newline).");
  command_line.Positionals("FILE", "JSON file to canonicalize ('-' reads standard input).", &files, 1, 1);
  return RunCommand(command_line, "jcs", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(std::string text, ReadInput(files[0]));
    auto canonical = vc::CanonicalizeText(text);
    if (!canonical.ok()) return std::move(canonical).error().WithContext(files[0]);
    std::cout << *canonical;
    return OkStatus();
  });
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
  return RunCommand(command_line, "vc issue", arguments, [&]() -> Status {
    if (key_file.empty()) return MissingOption("--key FILE");
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, did::KeyPair::ReadFile(key_file));
    TCC_ASSIGN_OR_RETURN(Json credential, ReadJson(files[0]));
    auto issued = vc::IssueCredential(std::move(credential), key, {.created = created});
    if (!issued.ok()) return std::move(issued).error().WithContext(files[0]);
    std::cout << issued->SerializePretty() << "\n";
    return OkStatus();
  });
}

// A TIC or TSC is valid only with its template (and a TSC with its joint proof); this command
// checks neither, so it names the one that does instead of passing them on their outer proof.
Status RefuseTradeCredential(const Json& credential) {
  const std::optional<std::string_view> kind = vc::TradeCredentialKind(credential);
  if (!kind) return OkStatus();
  std::string why;
  if (*kind == vc::kTscType) {
    why = "a " + std::string(vc::kTscType) +
          " needs its TST and joint proof: use `tcc tsc verify --tst TST.json`";
  } else if (*kind == vc::kTicType) {
    why = "a " + std::string(vc::kTicType) + " needs its TIT: use `tcc tic verify --tit TIT.json`";
  } else {
    why =
        "a credential naming a " + std::string(*kind) +
        " is a TIC or TSC: use `tcc tic verify --tit TIT.json` or `tcc tsc verify --tst TST.json`";
  }
  return Error(ErrorCode::kVerificationFailed, std::move(why));
}

int RunVcVerify(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string at;
  bool json = false;
  CommandLine command_line(
      "vc verify",
      "Verify credentials: eddsa-jcs-2022 proofs, issuer's key, proof purpose, created,\n"
      "validity period. Prints 'OK FILE' or 'FAIL FILE: reason' per file; exits 0 only\n"
      "if all verify. TICs and TSCs fail here: their template and (for a TSC) the\n"
      "parties' joint proof are checked by 'tcc tic verify' and 'tcc tsc verify'.");
  command_line.Option("at", "RFC3339", "Check validity as of this time (default: now).", &at)
      .Positionals("FILE", "Signed credential files ('-' reads standard input).", &files, 1, 0)
      .Flag("json", "Print a JSON array of {file, ok, detail|error} instead of text.", &json);
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
  return VerifyEach(
      files,
      [&](const Json& credential) -> Result<std::string> {
        // The outer proof alone says nothing about a TIC's or TSC's claim: the TCC key could
        // re-sign a TSC whose joint proof is broken. An "OK" here would be read as "this settlement
        // is valid".
        TCC_RETURN_IF_ERROR(RefuseTradeCredential(credential));
        TCC_RETURN_IF_ERROR(vc::VerifyCredential(credential, *resolver, options));
        return std::string();
      },
      json);
}

}  // namespace

std::vector<Command> CredentialCommands() {
  return {
      {"jcs", "Print the RFC 8785 canonical form of a JSON file", RunJcs},
      {"vc issue", "Sign a credential (eddsa-jcs-2022)", RunVcIssue},
      {"vc verify", "Verify credentials", RunVcVerify},
  };
}

}  // namespace tcc::cli
