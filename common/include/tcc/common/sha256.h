// SHA-256 through OpenSSL, which uses the CPU's SHA extensions where present.
//
// Sha256() is a one-shot hash, thread-safe (each thread reuses its own OpenSSL context).
// Sha256DigestFromHex() is pure and thread-safe.
// Sha256Hasher hashes incrementally; one instance belongs to one thread at a time (DigestWith
// included: it works in a context of the calling thread's).
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc {

using Sha256Digest = std::array<std::uint8_t, 32>;

Sha256Digest Sha256(ByteView data);
inline Sha256Digest Sha256(std::string_view text) { return Sha256(AsBytes(text)); }

// A digest written as HexEncode writes it: exactly 64 lowercase hex digits, one spelling per
// digest. Anything else is kInvalidArgument. The one way hex text becomes a digest, so a hash read
// from a peer, a file or the chain is checked where it is decoded and nowhere else.
Result<Sha256Digest> Sha256DigestFromHex(std::string_view hex);

class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  Sha256Hasher& Update(ByteView data);
  Sha256Hasher& Update(std::string_view text) { return Update(AsBytes(text)); }
  // Returns the digest and resets the hasher for reuse.
  Sha256Digest Finish();
  // The digest of what was hashed so far followed by `tail`; the hasher is left as it was. Two
  // texts with a long common prefix (a document with and without its proof) hash it once.
  Sha256Digest DigestWith(ByteView tail) const;
  Sha256Digest DigestWith(std::string_view tail) const { return DigestWith(AsBytes(tail)); }

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

}  // namespace tcc
