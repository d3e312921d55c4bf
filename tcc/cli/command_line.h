// Command-line parsing and the command table of the `tcc` CLI.
//
// Each subcommand declares its options on a CommandLine, which parses argv, prints --help text
// generated from the declarations, and reports usage errors. Commands return an exit code from
// ExitCode (documented in README.md). Single-threaded by design: one CommandLine per invocation.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tcc/common/json.h"
#include "tcc/common/result.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "tcc/vc/template.h"

namespace tcc::cli {

// Exit codes shared by every command.
enum ExitCode : int {
  kExitOk = 0,
  kExitVerificationFailed = 1,  // the input was read fine, but did not verify / validate
  kExitUsage = 2,               // bad command line
  kExitInputError = 3,          // a file, key or document could not be read or is malformed
};

class CommandLine {
 public:
  // A `tcc` subcommand ("key new"): help and errors say "tcc key new".
  CommandLine(std::string command, std::string summary);
  // Another program with its own name (tccd): help and errors say just `program`.
  static CommandLine Program(std::string program, std::string summary);

  // --name VALUE (or --name=VALUE).
  CommandLine& Option(std::string name, std::string metavar, std::string help, std::string* value);
  // --name, a switch.
  CommandLine& Flag(std::string name, std::string help, bool* value);
  // Positional arguments, between min and max of them (max 0 = unbounded).
  CommandLine& Positionals(std::string metavar, std::string help, std::vector<std::string>* values,
                           size_t min, size_t max);

  // Parses the arguments after the command words. Returns true to run the command, false when
  // --help was printed; a usage error has been printed to stderr when the result is an error.
  Result<bool> Parse(std::span<const std::string> arguments);
  std::string Help() const;

 private:
  struct Declared {
    std::string name;
    std::string metavar;  // empty for flags
    std::string help;
    std::string* value = nullptr;
    bool* flag = nullptr;
  };
  std::string invocation_;  // "tcc key new", or "tccd"
  std::string summary_;
  std::vector<Declared> options_;
  std::string positional_metavar_;
  std::string positional_help_;
  std::vector<std::string>* positionals_ = nullptr;
  size_t positional_min_ = 0;
  size_t positional_max_ = 0;
};

// Prints "tcc <command>: <message>" to stderr and returns the exit code for the error.
int ReportError(std::string_view command, const Error& error);
// The same for another program: "<program>: <message>" (tccd's one error prefix).
int ReportProgramError(std::string_view program, const Error& error);

// "PROGRAM VERSION (git REVISION)", what --version prints; the revision is captured at build time
// (cmake/TccGitRevision.cmake), "unknown" for a source tree without git.
std::string VersionLine(std::string_view program);
extern const char* const kGitRevision;

// Reads a file, or standard input for "-".
Result<std::string> ReadInput(const std::string& path);
// ReadInput followed by a strict JSON parse; errors name the file.
Result<Json> ReadJson(const std::string& path);

// The one way a command runs: parse the command line (exit 2 on a usage error, 0 after --help),
// then run body and map its error to an exit code. A kInvalidArgument error made by UsageError,
// or whose message ends in " required" (a missing required option), is a usage error.
int RunCommand(CommandLine& command_line, std::string_view name, std::span<const std::string> arguments,
               const std::function<Status()>& body);
// Checks each file's JSON with `check`, printing "OK FILE[ detail]" or "FAIL FILE: reason" per
// file (files that are unreadable or not JSON fail too). kExitOk only if every file passes.
// With `json`, prints one JSON array of {"file", "ok", "detail" | "error"} instead.
int VerifyEach(const std::vector<std::string>& files, const std::function<Result<std::string>(const Json&)>& check,
               bool json = false);
// A command's outcome: `text` by default, or `object` as one JSON document with --json.
void PrintOutcome(bool json, const std::string& text, const Json& object);
// A bad option value found after parsing (exit 2 through RunCommand).
inline constexpr std::string_view kUsagePrefix = "usage: ";
Error UsageError(std::string message);
// Error for a required option that is absent, e.g. MissingOption("--key FILE").
Error MissingOption(std::string_view option);
// A template file (MissingOption(flag FILE) when path is empty); errors name the file.
Result<vc::Template> ReadTemplate(const std::string& path, std::string_view flag);
// A key file given by --key (MissingOption when path is empty).
Result<did::KeyPair> ReadKey(const std::string& path);
// A template version on the chain a --chain URI names; `version` empty means the latest
// (chain_commands.cpp).
Result<vc::Template> ReadChainTemplate(const std::string& chain_uri, const std::string& id,
                                       const std::string& version);

// A ZeroMQ endpoint must name its transport: "127.0.0.1:7700" is refused with the tcp:// form to
// use instead. `what` names the flag or config member.
Status CheckEndpoint(const std::string& endpoint, std::string_view what);

// What a tccd data directory tells a client on the same machine: the TCC's DID (DIR/tcc.key) and,
// while tccd runs, the endpoints it bound (DIR/endpoints.json, which tccd writes once it is ready
// and removes when it stops), so `--data-dir DIR` alone finds a tccd that picked its own ports.
struct DataDirEndpoints {
  std::string did, listen, control;
};
std::string EndpointsFile(const std::string& data_dir);
Status WriteEndpoints(const std::string& path, const std::string& did, const std::string& listen,
                      const std::string& control);
// kNotFound when tccd is not running (no endpoints file).
Result<DataDirEndpoints> ReadEndpoints(const std::string& data_dir);
// The TCC DID of a data directory: its tcc.key's did:key.
Result<std::string> DataDirDid(const std::string& data_dir);

// The resolver commands use for DIDs: did:key locally (registered DIDs join with the chain).
std::shared_ptr<did::Resolver> CliResolver();

struct Command {
  std::string name;  // e.g. "key new"
  std::string summary;
  std::function<int(std::span<const std::string>)> run;
};

// Command groups, one per source file.
std::vector<Command> KeyCommands();
std::vector<Command> CredentialCommands();
std::vector<Command> TradeCommands();
std::vector<Command> ChainCommands();
// tcc channel ..., anchor status: tccd's control API for operators (control_commands.cpp).
std::vector<Command> ControlCommands();
// tcc settle, evidence show, dispute ...: a channel member's commands (channel_commands.cpp).
std::vector<Command> ChannelCommands();
// tcc evm key new, evm deploy: an EVM account key and the TccRegistry contract (evm_commands.cpp).
std::vector<Command> EvmCommands();
std::vector<Command> StoreCommands();

}  // namespace tcc::cli
