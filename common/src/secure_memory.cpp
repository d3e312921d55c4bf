#include "tcc/common/secure_memory.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace tcc {

void EnsureSodiumInitialized() {
  static const bool initialized = [] {
    if (sodium_init() < 0) {
      std::fputs("fatal: libsodium failed to initialize\n", stderr);
      std::abort();
    }
    return true;
  }();
  (void)initialized;
}

void SecureWipe(void* data, std::size_t size) {
  if (size != 0) sodium_memzero(data, size);
}

SecureBytes::SecureBytes(std::size_t size) : size_(size) {
  if (size == 0) return;
  EnsureSodiumInitialized();
  data_ = static_cast<std::uint8_t*>(sodium_malloc(size));
  if (data_ == nullptr) {
    std::fputs("fatal: sodium_malloc failed\n", stderr);
    std::abort();
  }
  sodium_memzero(data_, size);
}

SecureBytes SecureBytes::CopyOf(ByteView bytes) {
  SecureBytes copy(bytes.size());
  if (!bytes.empty()) std::memcpy(copy.data_, bytes.data(), bytes.size());
  return copy;
}

SecureBytes::~SecureBytes() {
  if (data_ != nullptr) sodium_free(data_);  // sodium_free wipes before releasing
}

SecureBytes::SecureBytes(SecureBytes&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

SecureBytes& SecureBytes::operator=(SecureBytes&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) sodium_free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

}  // namespace tcc
