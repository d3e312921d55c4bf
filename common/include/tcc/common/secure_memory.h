// Memory for secrets: keys and seeds live in libsodium's guarded allocations (locked against
// swapping, guard pages around them) and are wiped when released.
//
// SecureBytes owns one fixed-size allocation; it is movable, not copyable (copies of secrets are
// made deliberately with Clone()). Not thread-safe for concurrent mutation; concurrent reads are
// fine. SecureWipe() zeroes any buffer in a way the compiler cannot elide.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc {

void SecureWipe(void* data, std::size_t size);
inline void SecureWipe(Bytes& bytes) { SecureWipe(bytes.data(), bytes.size()); }

// Initializes libsodium once; safe to call from any thread, any number of times.
void EnsureSodiumInitialized();

class SecureBytes {
 public:
  SecureBytes() = default;
  // Allocates size zeroed bytes; aborts if the guarded allocation fails (out of memory).
  explicit SecureBytes(std::size_t size);
  // Copies bytes into a new guarded allocation.
  static SecureBytes CopyOf(ByteView bytes);
  ~SecureBytes();
  SecureBytes(SecureBytes&& other) noexcept;
  SecureBytes& operator=(SecureBytes&& other) noexcept;
  SecureBytes(const SecureBytes&) = delete;
  SecureBytes& operator=(const SecureBytes&) = delete;

  SecureBytes Clone() const { return CopyOf(view()); }
  std::uint8_t* data() { return data_; }
  const std::uint8_t* data() const { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  ByteView view() const { return {data_, size_}; }

 private:
  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace tcc
