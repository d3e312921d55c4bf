#include "tcc/common/sha256.h"

#include <openssl/evp.h>

#include <cstdlib>
#include <cstdio>
#include <string>
#include <tuple>

namespace tcc {
namespace {

// Fetching the algorithm once avoids OpenSSL 3's per-call provider lookup.
const EVP_MD* Sha256Algorithm() {
  static EVP_MD* const algorithm = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (algorithm == nullptr) {
    std::fputs("fatal: OpenSSL provides no SHA256\n", stderr);
    std::abort();
  }
  return algorithm;
}

struct ContextDeleter {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};
using ContextPtr = std::unique_ptr<EVP_MD_CTX, ContextDeleter>;

ContextPtr NewInitializedContext() {
  ContextPtr context(EVP_MD_CTX_new());
  if (!context || EVP_DigestInit_ex(context.get(), Sha256Algorithm(), nullptr) != 1) {
    std::fputs("fatal: OpenSSL SHA256 context allocation failed\n", stderr);
    std::abort();
  }
  return context;
}

}  // namespace

struct Sha256Hasher::Context {
  ContextPtr evp = NewInitializedContext();
};

Sha256Hasher::Sha256Hasher() : context_(std::make_unique<Context>()) {}
Sha256Hasher::~Sha256Hasher() = default;

Sha256Hasher& Sha256Hasher::Update(ByteView data) {
  EVP_DigestUpdate(context_->evp.get(), data.data(), data.size());
  return *this;
}

Sha256Digest Sha256Hasher::Finish() {
  Sha256Digest digest;
  unsigned int length = 0;
  EVP_DigestFinal_ex(context_->evp.get(), digest.data(), &length);
  EVP_DigestInit_ex(context_->evp.get(), Sha256Algorithm(), nullptr);
  return digest;
}

Sha256Digest Sha256Hasher::DigestWith(ByteView tail) const {
  // The hasher's state is copied into a context of the calling thread's and finished there.
  thread_local ContextPtr fork = NewInitializedContext();
  if (EVP_MD_CTX_copy_ex(fork.get(), context_->evp.get()) != 1) {
    std::fputs("fatal: OpenSSL SHA256 context copy failed\n", stderr);
    std::abort();
  }
  EVP_DigestUpdate(fork.get(), tail.data(), tail.size());
  Sha256Digest digest;
  unsigned int length = 0;
  EVP_DigestFinal_ex(fork.get(), digest.data(), &length);
  return digest;
}

Sha256Digest Sha256(ByteView data) {
  thread_local Sha256Hasher hasher;
  hasher.Update(data);
  return hasher.Finish();
}

Result<Sha256Digest> Sha256DigestFromHex(std::string_view hex) {
  constexpr std::size_t kDigits = 2 * std::tuple_size_v<Sha256Digest>;
  if (!IsLowerHex(hex, kDigits)) {
    // The text itself is not echoed: it may be anything a peer sent.
    return Error(ErrorCode::kInvalidArgument,
                 "a SHA-256 hash must be 64 lowercase hex digits, not " +
                     (hex.size() == kDigits ? std::string("other characters")
                                            : std::to_string(hex.size()) + " characters"));
  }
  TCC_ASSIGN_OR_RETURN(Bytes bytes, HexDecode(hex));
  Sha256Digest digest;
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

}  // namespace tcc
