// Internal: counts work the daemon's loop started whose completion has not run on the loop yet
// (a worker task, a store write), as tokens instead of counters kept by hand at each call site.
//
// A Token is taken when the work starts and released when its completion runs on the loop; the
// count is how many are out. Work whose completion goes through std::function (which copies)
// carries the token as a Carried, a copyable holder from which the completion takes it back on the
// loop: the count then drops exactly when the completion runs, on the loop thread, whichever
// thread destroys the copies. A drain waits for the count to reach zero; the store guard waits for
// the store writes to.
//
// Loop thread only, except that a Carried may be copied and destroyed on any thread (only the loop
// takes a token out of it).
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace tcc::controller {

class InFlight {
 public:
  class Token {
   public:
    Token() = default;
    Token(Token&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
    Token& operator=(Token&& other) noexcept {
      if (this != &other) {
        Release();
        owner_ = std::exchange(other.owner_, nullptr);
      }
      return *this;
    }
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token() { Release(); }

    bool held() const { return owner_ != nullptr; }
    void Release() {
      if (owner_ != nullptr) --std::exchange(owner_, nullptr)->count_;
    }

   private:
    friend class InFlight;
    explicit Token(InFlight* owner) : owner_(owner) { ++owner_->count_; }
    InFlight* owner_ = nullptr;
  };

  // A token in a copyable holder, for closures stored in std::function.
  class Carried {
   public:
    explicit Carried(Token token) : token_(std::make_shared<Token>(std::move(token))) {}
    // On the loop: the token, released when the result goes out of scope.
    Token Take() const { return std::move(*token_); }

   private:
    std::shared_ptr<Token> token_;
  };

  InFlight() = default;
  InFlight(const InFlight&) = delete;
  InFlight& operator=(const InFlight&) = delete;

  Token Begin() { return Token(this); }
  Carried BeginCarried() { return Carried(Begin()); }
  std::size_t count() const { return count_; }

 private:
  std::size_t count_ = 0;
};

}  // namespace tcc::controller
