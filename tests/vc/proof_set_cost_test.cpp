// What verifying a proof set costs: refused at once beyond max_proofs, and per proof a cost that
// does not grow with the set. The cost is measured as bytes allocated (this binary counts them in
// its operator new), which is deterministic where timings on a shared machine are not: a proof that
// copied or re-canonicalized its whole document would allocate the set's size again for each proof.
#include <doctest/doctest.h>

#include <cstdlib>
#include <new>

#include "tcc/did/did_key.h"
#include "tcc/vc/data_integrity.h"

namespace {

// Counted only while a test asks, and only on its thread.
thread_local bool counting = false;
thread_local std::size_t counted_bytes = 0;

}  // namespace

// Every unaligned form is replaced, so that whatever allocates with one form and frees with
// another (the library's defaults, a sanitizer's runtime) pairs malloc with free. GCC, seeing the
// library's operator new inlined next to this free, warns about a mismatch that is not one.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace {

void* CountedAllocate(std::size_t size) noexcept {
  if (counting) counted_bytes += size;
  return std::malloc(size == 0 ? 1 : size);
}

void* CountedAllocateOrThrow(std::size_t size) {
  if (void* memory = CountedAllocate(size)) return memory;
  throw std::bad_alloc();
}

}  // namespace

void* operator new(std::size_t size) { return CountedAllocateOrThrow(size); }
void* operator new[](std::size_t size) { return CountedAllocateOrThrow(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAllocate(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return CountedAllocate(size);
}
void operator delete(void* memory) noexcept { std::free(memory); }
void operator delete[](void* memory) noexcept { std::free(memory); }
void operator delete(void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete[](void* memory, std::size_t) noexcept { std::free(memory); }
void operator delete(void* memory, const std::nothrow_t&) noexcept { std::free(memory); }
void operator delete[](void* memory, const std::nothrow_t&) noexcept { std::free(memory); }

namespace tcc::vc {
namespace {

Timestamp At(std::string_view text) { return ParseRfc3339(text).value(); }

// Counts resolutions: a refused set must not reach the resolver at all.
class CountingResolver final : public did::Resolver {
 public:
  Result<did::DidDocument> Resolve(std::string_view did) override {
    ++calls;
    return inner.Resolve(did);
  }
  did::DidKeyResolver inner;
  std::size_t calls = 0;
};

struct ProofSet {
  did::KeyPair key = did::KeyPair::FromSeed(Bytes(32, 7)).value();

  // A document with `count` valid proofs. Each proof signs over a prefix of the document's
  // @context (as the spec allows), the case where a verifier must sign over another document than
  // the one it holds: the one that used to be rebuilt, with its whole proof set, for every proof.
  Json Document(std::size_t count) const {
    Json document =
        Json::Parse(
            R"({"@context":["https://www.w3.org/ns/credentials/v2","https://example.org/x/v1"],
      "type":["VerifiableCredential"],"credentialSubject":{"id":"did:example:subject","fee":12.5}})")
            .value();
    Json prefixed = document;
    prefixed.Set("@context", JsonArray{Json("https://www.w3.org/ns/credentials/v2")});
    const Json proof =
        CreateProof(prefixed, key,
                    {.verification_method = did::DidKeyVerificationMethod(key.public_key()),
                     .created = "2025-01-01T00:00:00Z"})
            .value();
    JsonArray set;
    for (std::size_t i = 0; i < count; ++i) set.push_back(proof);
    document.Set("proof", Json(std::move(set)));
    return document;
  }

  // Bytes allocated while verifying `document`; it must verify.
  std::size_t BytesToVerify(const Json& document, std::size_t max_proofs) const {
    did::DidKeyResolver resolver;
    ProofVerifyOptions options{.now = At("2026-01-01T00:00:00Z"), .max_proofs = max_proofs};
    counted_bytes = 0;
    counting = true;
    auto verified = VerifyProofs(document, resolver, options);
    counting = false;
    REQUIRE_MESSAGE(verified.ok(), verified.error().message());
    return counted_bytes;
  }
};

TEST_CASE_FIXTURE(
    ProofSet, "proof sets: a set larger than max_proofs is refused before any proof is checked") {
  CountingResolver resolver;
  const ProofVerifyOptions options{.now = At("2026-01-01T00:00:00Z")};
  CHECK(VerifyProofs(Document(kDefaultMaxProofs), resolver, options).ok());
  CHECK(resolver.calls == kDefaultMaxProofs);

  resolver.calls = 0;
  auto refused = VerifyProofs(Document(2300), resolver, options);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kVerificationFailed);
  CHECK(refused.error().message() ==
        "document has a proof set of 2300 proofs; at most 8 are verified");
  CHECK(resolver.calls == 0);
  CHECK_FALSE(VerifyProofs(Document(kDefaultMaxProofs + 1), resolver, options).ok());
  CHECK(resolver.calls == 0);
}

TEST_CASE_FIXTURE(ProofSet,
                  "proof sets: a proof costs the same in a set of 512 as in a set of 64") {
  // Raised limits: the point is the cost per proof, not the cap.
  const std::size_t small = BytesToVerify(Document(64), 1024) / 64;
  const std::size_t large = BytesToVerify(Document(512), 1024) / 512;
  CAPTURE(small);
  CAPTURE(large);
  // Copying the document per proof makes a proof in the large set cost about eight times as much
  // (the set is eight times larger); per-proof work that ignores the set costs the same.
  CHECK(large < 2 * small);
  // And in absolute terms: a proof allocates less than the 512-proof set it belongs to weighs.
  CHECK(large < Document(512).Serialize().size() / 4);
}

}  // namespace
}  // namespace tcc::vc
