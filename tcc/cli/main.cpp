// tcc: the command-line tool for providers, consumers and operators of a Transaction Channel
// Controller. Dispatches "tcc <group> <verb> ..." to the command table.
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "command_line.h"

namespace {

std::vector<tcc::cli::Command> AllCommands() {
  std::vector<tcc::cli::Command> commands;
  for (auto group : {tcc::cli::KeyCommands, tcc::cli::CredentialCommands, tcc::cli::TradeCommands,
                     tcc::cli::ChainCommands, tcc::cli::ControlCommands, tcc::cli::ChannelCommands,
                     tcc::cli::EvmCommands, tcc::cli::StoreCommands}) {
    for (auto& command : group()) commands.push_back(std::move(command));
  }
  return commands;
}

void PrintOverview(std::ostream& out, const std::vector<tcc::cli::Command>& commands, std::string_view group = {}) {
  out << "Usage: tcc <command> [options]\n\n"
               "Keys, DIDs, credentials, chains and live channels of the Transaction Channel Controller.\n\nCommands:\n";
  size_t width = 0;
  for (const auto& command : commands) width = std::max(width, command.name.size() + 2);
  for (const auto& command : commands) {
    if (!group.empty() && command.name.rfind(std::string(group) + " ", 0) != 0) continue;
    std::string name = command.name;
    name.resize(width, ' ');
    out << "  " << name << command.summary << "\n";
  }
  out << "\nRun 'tcc <command> --help' for a command's options, 'tcc --version' for the version.\n"
         "Exit codes: 0 ok, 1 verification failed, 2 usage error, 3 input error.\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> arguments(argv + 1, argv + argc);
  auto commands = AllCommands();
  if (!arguments.empty() && (arguments[0] == "--version" || arguments[0] == "version")) {
    std::cout << tcc::cli::VersionLine("tcc") << "\n";
    return tcc::cli::kExitOk;
  }
  if (arguments.empty() || arguments[0] == "--help" || arguments[0] == "-h" ||
      arguments[0] == "help") {
    PrintOverview(arguments.empty() ? std::cerr : std::cout, commands);
    return arguments.empty() ? tcc::cli::kExitUsage : tcc::cli::kExitOk;
  }
  // Longest match on the command words: "vc issue" before "vc".
  const tcc::cli::Command* best = nullptr;
  size_t best_words = 0;
  for (const auto& command : commands) {
    size_t words = 0;
    size_t start = 0;
    bool matches = true;
    while (start <= command.name.size()) {
      size_t end = command.name.find(' ', start);
      if (end == std::string::npos) end = command.name.size();
      if (words >= arguments.size() || arguments[words] != command.name.substr(start, end - start)) {
        matches = false;
        break;
      }
      ++words;
      start = end + 1;
    }
    if (matches && words > best_words) {
      best = &command;
      best_words = words;
    }
  }
  bool is_group = false;
  for (const auto& command : commands) is_group |= command.name.rfind(arguments[0] + " ", 0) == 0;
  if (best == nullptr && is_group) {
    // "tcc key" or "tcc key --help": list the group's commands.
    bool asked = arguments.size() > 1 && (arguments[1] == "--help" || arguments[1] == "-h");
    if (!asked) std::cerr << "tcc: \"" << arguments[0] << "\" needs a subcommand\n\n";
    PrintOverview(asked ? std::cout : std::cerr, commands, arguments[0]);
    return asked ? tcc::cli::kExitOk : tcc::cli::kExitUsage;
  }
  if (best == nullptr) {
    std::cerr << "tcc: unknown command \"" << arguments[0] << (arguments.size() > 1 ? " " + arguments[1] : "")
              << "\"\n(see: tcc --help)\n";
    return tcc::cli::kExitUsage;
  }
  return best->run(std::span<const std::string>(arguments).subspan(best_words));
}
