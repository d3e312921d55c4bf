#include "command_line.h"

#include <iostream>
#include <iterator>

#include "tcc/common/file.h"
#include "tcc/did/did_key.h"

namespace tcc::cli {

CommandLine::CommandLine(std::string command, std::string summary)
    : invocation_("tcc " + std::move(command)), summary_(std::move(summary)) {}

CommandLine CommandLine::Program(std::string program, std::string summary) {
  CommandLine command_line("", std::move(summary));
  command_line.invocation_ = std::move(program);
  return command_line;
}

CommandLine& CommandLine::Option(std::string name, std::string metavar, std::string help, std::string* value) {
  options_.push_back({std::move(name), std::move(metavar), std::move(help), value, nullptr});
  return *this;
}

CommandLine& CommandLine::Flag(std::string name, std::string help, bool* value) {
  options_.push_back({std::move(name), "", std::move(help), nullptr, value});
  return *this;
}

CommandLine& CommandLine::Positionals(std::string metavar, std::string help, std::vector<std::string>* values,
                                      size_t min, size_t max) {
  positional_metavar_ = std::move(metavar);
  positional_help_ = std::move(help);
  positionals_ = values;
  positional_min_ = min;
  positional_max_ = max;
  return *this;
}

std::string CommandLine::Help() const {
  std::string text = "Usage: " + invocation_;
  if (!options_.empty()) text += " [options]";
  if (positionals_ != nullptr) {
    text += " " + positional_metavar_;
    if (positional_max_ != 1) text += "...";
  }
  text += "\n\n" + summary_ + "\n";
  if (positionals_ != nullptr) text += "\n  " + positional_metavar_ + "\n      " + positional_help_ + "\n";
  text += "\nOptions:\n";
  for (const auto& option : options_) {
    std::string left = "  --" + option.name + (option.metavar.empty() ? "" : " " + option.metavar);
    text += left + "\n      " + option.help + "\n";
  }
  text += "  -h, --help\n      Show this help and exit.\n";
  return text;
}

Result<bool> CommandLine::Parse(std::span<const std::string> arguments) {
  auto usage = [&](std::string message) -> Result<bool> {
    std::cerr << invocation_ << ": " << message << "\n(see: " << invocation_ << " --help)\n";
    return Error(ErrorCode::kInvalidArgument, std::move(message));
  };
  bool only_positionals = false;
  for (size_t i = 0; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (only_positionals || argument.size() < 2 ||
        (argument.rfind("--", 0) != 0 && argument != "-h")) {
      if (positionals_ == nullptr) return usage("unexpected argument \"" + argument + "\"");
      positionals_->push_back(argument);
      continue;
    }
    if (argument == "--") {
      only_positionals = true;
      continue;
    }
    if (argument == "--help" || argument == "-h") {
      std::cout << Help();
      return false;
    }
    std::string name = argument.substr(2);
    std::string inline_value;
    bool has_inline_value = false;
    if (auto equals = name.find('='); equals != std::string::npos) {
      inline_value = name.substr(equals + 1);
      name.resize(equals);
      has_inline_value = true;
    }
    Declared* declared = nullptr;
    for (auto& option : options_) {
      if (option.name == name) declared = &option;
    }
    if (declared == nullptr) return usage("unknown option --" + name);
    if (declared->flag != nullptr) {
      if (has_inline_value) return usage("--" + name + " takes no value");
      *declared->flag = true;
    } else if (has_inline_value) {
      *declared->value = inline_value;
    } else {
      if (i + 1 >= arguments.size()) return usage("--" + name + " needs a value (" + declared->metavar + ")");
      *declared->value = arguments[++i];
    }
  }
  if (positionals_ != nullptr) {
    if (positionals_->size() < positional_min_) return usage("missing " + positional_metavar_);
    if (positional_max_ != 0 && positionals_->size() > positional_max_) {
      return usage("too many arguments (at most " + std::to_string(positional_max_) + " " + positional_metavar_ + ")");
    }
  }
  return true;
}

Result<std::string> ReadInput(const std::string& path) {
  if (path != "-") return ReadFile(path);
  std::string content((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return content;
}

Result<Json> ReadJson(const std::string& path) {
  TCC_ASSIGN_OR_RETURN(std::string text, ReadInput(path));
  auto parsed = Json::Parse(text);
  if (!parsed.ok()) return std::move(parsed).error().WithContext(path);
  return parsed;
}

int VerifyEach(const std::vector<std::string>& files, const std::function<Result<std::string>(const Json&)>& check,
               bool json) {
  int exit_code = kExitOk;
  Json results = Json::Array();
  for (const auto& file : files) {
    auto document = ReadJson(file);
    auto detail = document.ok() ? check(*document) : Result<std::string>(document.error());
    if (!detail.ok()) exit_code = kExitVerificationFailed;
    if (json) {
      Json result = Json::Object();
      result.Set("file", file);
      result.Set("ok", detail.ok());
      if (detail.ok()) {
        result.Set("detail", *detail);
      } else {
        result.Set("error", detail.error().message());
      }
      results.PushBack(std::move(result));
    } else if (detail.ok()) {
      std::cout << "OK " << file << (detail->empty() ? "" : " " + *detail) << "\n";
    } else {
      std::cout << "FAIL " << file << ": " << detail.error().message() << "\n";
    }
  }
  if (json) std::cout << results.SerializePretty() << "\n";
  return exit_code;
}

void PrintOutcome(bool json, const std::string& text, const Json& object) {
  std::cout << (json ? object.SerializePretty() : text) << "\n";
}

Error MissingOption(std::string_view option) {
  return Error(ErrorCode::kInvalidArgument, std::string(option) + " is required");
}

Result<vc::Template> ReadTemplate(const std::string& path, std::string_view flag) {
  if (path.empty()) return MissingOption(std::string(flag) + " FILE");
  TCC_ASSIGN_OR_RETURN(std::string text, ReadInput(path));
  auto parsed = vc::Template::Parse(text);
  if (!parsed.ok()) return std::move(parsed).error().WithContext(path);
  return parsed;
}

Result<did::KeyPair> ReadKey(const std::string& path) {
  if (path.empty()) return MissingOption("--key FILE");
  return did::KeyPair::ReadFile(path);
}

int RunCommand(CommandLine& command_line, std::string_view name, std::span<const std::string> arguments,
               const std::function<Status()>& body) {
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  Status status = body();
  if (status.ok()) return kExitOk;
  const std::string& message = status.error().message();
  if (status.error().code() == ErrorCode::kInvalidArgument &&
      (message.starts_with(kUsagePrefix) || message.ends_with(" required"))) {
    std::cerr << "tcc " << name << ": "
              << (message.starts_with(kUsagePrefix) ? message.substr(kUsagePrefix.size()) : message)
              << "\n(see: tcc " << name << " --help)\n";
    return kExitUsage;
  }
  return ReportError(name, status.error());
}

Status CheckEndpoint(const std::string& endpoint, std::string_view what) {
  if (endpoint.find("://") != std::string::npos) return OkStatus();
  return Error(ErrorCode::kInvalidArgument,
               std::string(what) + " needs a ZeroMQ endpoint TRANSPORT://ADDRESS, e.g. tcp://" +
                   (endpoint.empty() ? "127.0.0.1:7700" : endpoint) +
                   " (tcp://HOST:* picks a free port), not \"" + endpoint + "\"");
}

std::string EndpointsFile(const std::string& data_dir) { return data_dir + "/endpoints.json"; }

Status WriteEndpoints(const std::string& path, const std::string& did, const std::string& listen,
                      const std::string& control) {
  Json endpoints = Json::Object();
  endpoints.Set("did", did);
  endpoints.Set("listen", listen);
  endpoints.Set("control", control);
  return WriteFileAtomic(path, endpoints.SerializePretty() + "\n", {.mode = 0600});
}

Result<DataDirEndpoints> ReadEndpoints(const std::string& data_dir) {
  const std::string path = EndpointsFile(data_dir);
  auto text = ReadFile(path, {.max_bytes = 64 * 1024});
  if (!text.ok()) {
    if (text.error().code() == ErrorCode::kNotFound) {
      return Error(ErrorCode::kNotFound,
                   "tccd is not running on " + data_dir + " (no " + path + ")");
    }
    return std::move(text).error();
  }
  auto json = Json::Parse(*text);
  if (!json.ok()) return std::move(json).error().WithContext(path);
  DataDirEndpoints endpoints;
  for (auto [name, out] : {std::pair<const char*, std::string*>{"did", &endpoints.did},
                           {"listen", &endpoints.listen},
                           {"control", &endpoints.control}}) {
    const Json* member = json->Find(name);
    if (member == nullptr || !member->is_string() || member->as_string().empty()) {
      return Error(ErrorCode::kParse, path + ": no \"" + std::string(name) + "\" string");
    }
    *out = member->as_string();
  }
  return endpoints;
}

Result<std::string> DataDirDid(const std::string& data_dir) {
  auto key = did::KeyPair::ReadFile(data_dir + "/tcc.key");
  if (!key.ok())
    return std::move(key).error().WithContext(
        "the TCC DID (pass --tcc DID if tccd's key is elsewhere)");
  return did::DidKeyFromPublicKey(key->public_key());
}

Error UsageError(std::string message) {
  return Error(ErrorCode::kInvalidArgument, std::string(kUsagePrefix) + std::move(message));
}

int ReportError(std::string_view command, const Error& error) {
  return ReportProgramError("tcc " + std::string(command), error);
}

std::string VersionLine(std::string_view program) {
  return std::string(program) + " " + TCC_VERSION + " (git " + kGitRevision + ")";
}

int ReportProgramError(std::string_view program, const Error& error) {
  std::cerr << program << ": " << error.message() << "\n";
  switch (error.code()) {
    case ErrorCode::kVerificationFailed: return kExitVerificationFailed;
    default: return kExitInputError;
  }
}

}  // namespace tcc::cli
