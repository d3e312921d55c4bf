// Result<T> and Error: how every fallible TCC call reports failure.
//
// An Error carries a closed ErrorCode (for programs and metrics) and a human-readable message (for
// people). Result<T> holds either a T or an Error; it is a plain value type, movable and copyable
// when T is, with no shared state, so it is as thread-safe as T. No exception crosses a public TCC
// header: callers test ok() and read value() or error(). Reading the wrong alternative is a bug and
// asserts.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tcc {

enum class ErrorCode {
  kInvalidArgument,     // malformed or out-of-range input
  kParse,               // input that does not parse (JSON, encodings, frames)
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a create that would overwrite
  kPermissionDenied,    // not allowed (file modes, ownership, admission)
  kVerificationFailed,  // a signature, proof, hash link or schema check failed
  kConflict,            // state does not allow the operation (fork, immutable version)
  kUnavailable,         // a dependency (chain, disk, peer) is not reachable right now
  kResourceExhausted,   // a size or rate limit was hit
  kIo,                  // the operating system refused a read or write
  kInternal,            // a library call failed in a way input cannot cause
};

std::string_view ErrorCodeName(ErrorCode code);

class Error {
 public:
  Error(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "code: message", for logs and CLI output.
  std::string ToString() const;
  // Prepends "context: " to the message, keeping the code.
  Error WithContext(std::string_view context) const&;
  Error WithContext(std::string_view context) &&;

 private:
  ErrorCode code_;
  std::string message_;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const& { assert(ok()); return std::get<0>(state_); }
  T& value() & { assert(ok()); return std::get<0>(state_); }
  T&& value() && { assert(ok()); return std::get<0>(std::move(state_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

  const Error& error() const& { assert(!ok()); return std::get<1>(state_); }
  Error&& error() && { assert(!ok()); return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}  // NOLINT: implicit by design

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const Error& error() const& { assert(failed_); return error_; }
  Error&& error() && { assert(failed_); return std::move(error_); }

 private:
  Error error_{ErrorCode::kInternal, {}};
  bool failed_ = false;
};

using Status = Result<void>;

inline Status OkStatus() { return {}; }

}  // namespace tcc

#define TCC_CONCAT_INNER_(a, b) a##b
#define TCC_CONCAT_(a, b) TCC_CONCAT_INNER_(a, b)

// Returns the error of a failed Result/Status from the enclosing function.
#define TCC_RETURN_IF_ERROR(expr)                          \
  do {                                                     \
    auto tcc_status_ = (expr);                             \
    if (!tcc_status_.ok()) return std::move(tcc_status_).error(); \
  } while (false)

// `TCC_ASSIGN_OR_RETURN(auto x, F());` declares x from a successful Result or returns its error.
#define TCC_ASSIGN_OR_RETURN(lhs, expr) \
  TCC_ASSIGN_OR_RETURN_IMPL_(TCC_CONCAT_(tcc_result_, __LINE__), lhs, expr)
#define TCC_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr)     \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return std::move(tmp).error();        \
  lhs = std::move(tmp).value()
