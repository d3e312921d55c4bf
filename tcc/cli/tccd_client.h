// What the commands that talk to a running tccd share: the operators' control commands
// (control_commands.cpp) and the parties' channel commands (channel_commands.cpp) parse the same
// options and read tccd's answers the same way. Internal to the CLI; single-threaded like it.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "command_line.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json.h"

namespace tcc::cli::tccd_client {

using Clock = std::chrono::steady_clock;

inline constexpr std::string_view kDefaultControl = "tcp://127.0.0.1:7701";
inline constexpr std::string_view kDefaultListen = "tcp://127.0.0.1:7700";
inline constexpr std::uint64_t kDefaultTimeoutMs = 10000;

inline Result<std::uint64_t> ParseUint(const std::string& text, std::string_view flag) {
  std::uint64_t value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
    return UsageError(std::string(flag) + " needs a non-negative integer, not \"" + text + "\"");
  }
  return value;
}

inline Status CheckChannelId(const std::string& id, std::string_view what) {
  if (!IsLowerHex(id, 64)) {
    return UsageError(std::string(what) +
                      " must be 64 lowercase hex digits (tcc vc hash tic.json), not \"" + id +
                      "\"");
  }
  return OkStatus();
}

inline std::string TimeoutHelp() {
  return "Per-request timeout in ms (default " + std::to_string(kDefaultTimeoutMs) + ").";
}

inline Result<std::chrono::milliseconds> ParseTimeout(const std::string& text) {
  if (text.empty()) return std::chrono::milliseconds(kDefaultTimeoutMs);
  TCC_ASSIGN_OR_RETURN(std::uint64_t value, ParseUint(text, "--timeout"));
  if (value == 0) return UsageError("--timeout must be at least 1 ms");
  return std::chrono::milliseconds(value);
}

// What the CLI prints for a text member of tccd's answer: "-" where it is absent or empty.
inline std::string StringOf(const Json& object, std::string_view name,
                            std::string_view fallback = "-") {
  return object.StringOr(name, fallback);
}

}  // namespace tcc::cli::tccd_client
