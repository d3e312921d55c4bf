#include <doctest/doctest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "tcc/common/base58.h"
#include "tcc/did/did_key.h"
#include "tcc/did/document.h"
#include "tcc/did/key_pair.h"
#include "tcc/did/resolver.h"
#include "test_util.h"

namespace tcc::did {
namespace {

using testing::ReadVectorJson;

KeyPair KeyFromSeedHex(std::string_view seed_hex) {
  return KeyPair::FromSeed(HexDecode(seed_hex).value()).value();
}

TEST_CASE("RFC 8032 vectors: keys, signatures and their did:key") {
  Json vectors = ReadVectorJson("ed25519-rfc8032.json");
  for (const Json& vector : vectors.Find("vectors")->as_array()) {
    KeyPair key = KeyFromSeedHex(vector.GetString("seedHex").value());
    CHECK(HexEncode(key.public_key()) == vector.GetString("publicKeyHex").value());
    Bytes message = HexDecode(vector.GetString("messageHex").value()).value();
    Signature signature = key.Sign(message);
    CHECK(HexEncode(signature) == vector.GetString("signatureHex").value());
    CHECK(VerifySignature(key.public_key(), message, signature));
    message.push_back(0);
    CHECK_FALSE(VerifySignature(key.public_key(), message, signature));
    CHECK(Ed25519Multibase(key.public_key()) == vector.GetString("publicKeyMultibase").value());
    CHECK(DidKeyFromPublicKey(key.public_key()) == vector.GetString("did").value());
  }
}

TEST_CASE("identities vectors: seed -> did:key -> verification method, and the W3C Multikey secret") {
  Json identities = ReadVectorJson("identities.json");
  for (const char* name : {"issuer", "holder", "w3cSpec"}) {
    const Json& identity = *identities.Find(name);
    KeyPair key = KeyFromSeedHex(identity.GetString("seedHex").value());
    CHECK(DidKeyFromPublicKey(key.public_key()) == identity.GetString("did").value());
    CHECK(DidKeyVerificationMethod(key.public_key()) == identity.GetString("verificationMethod").value());
    CHECK(ParseDidKey(identity.GetString("did").value()).value() == key.public_key());
  }
  const Json& w3c = *identities.Find("w3cSpec");
  KeyPair from_multikey = KeyPair::FromSecretKeyMultibase(w3c.GetString("privateKeyMultibase").value()).value();
  CHECK(Ed25519Multibase(from_multikey.public_key()) == w3c.GetString("publicKeyMultibase").value());
  CHECK(from_multikey.SecretKeyMultibase() == w3c.GetString("privateKeyMultibase").value());
}

TEST_CASE("malformed did:key identifiers are rejected with a reason") {
  KeyPair key = KeyPair::Generate();
  std::string did = DidKeyFromPublicKey(key.public_key());
  CHECK(ParseDidKey(did).ok());
  CHECK_FALSE(ParseDidKey("did:web:example.com").ok());
  CHECK_FALSE(ParseDidKey("did:key:").ok());
  CHECK_FALSE(ParseDidKey(did + "#frag").ok());
  CHECK_FALSE(ParseDidKey(did.substr(0, did.size() - 2)).ok());  // truncated key
  CHECK_FALSE(ParseDidKey("did:key:m" + did.substr(9)).ok());      // not base58btc
  CHECK_FALSE(ParseDidKey(did.substr(0, 12) + "0" + did.substr(13)).ok());  // '0' is not base58
  // An X25519 did:key is not an Ed25519 key.
  auto x25519 = ParseDidKey("did:key:" + X25519Multibase(key.X25519Public()));
  REQUIRE_FALSE(x25519.ok());
  CHECK(x25519.error().message().find("multicodec") != std::string::npos);
  Bytes long_key{0xed, 0x01};
  long_key.resize(35, 7);
  CHECK_FALSE(ParseDidKey("did:key:" + MultibaseEncode(long_key)).ok());
}

TEST_CASE("key files are written 0600, read back, and refused when others can read them") {
  char pattern[] = "/tmp/tcc_did_test_XXXXXX";
  REQUIRE(::mkdtemp(pattern) != nullptr);
  std::string path = std::string(pattern) + "/key.json";
  KeyPair key = KeyPair::Generate();
  REQUIRE(key.WriteFile(path).ok());
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  KeyPair read = KeyPair::ReadFile(path).value();
  CHECK(read.public_key() == key.public_key());
  CHECK(key.WriteFile(path).error().code() == ErrorCode::kAlreadyExists);

  ::chmod(path.c_str(), 0644);
  auto refused = KeyPair::ReadFile(path);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().code() == ErrorCode::kPermissionDenied);

  ::chmod(path.c_str(), 0600);
  std::string tampered = ReadFile(path).value();
  std::string other = Ed25519Multibase(KeyPair::Generate().public_key());
  std::string public_member = "\"publicKeyMultibase\": \"" + Ed25519Multibase(key.public_key());
  REQUIRE(tampered.find(public_member) != std::string::npos);
  tampered.replace(tampered.find(public_member), public_member.size(),
                   "\"publicKeyMultibase\": \"" + other);
  REQUIRE(WriteFileAtomic(path, tampered, {.mode = 0600}).ok());
  CHECK(KeyPair::ReadFile(path).error().message().find("does not match") != std::string::npos);
  REQUIRE(WriteFileAtomic(path, "{\"secretKeyMultibase\": 5}", {.mode = 0600}).ok());
  CHECK_FALSE(KeyPair::ReadFile(path).ok());
  std::system(("rm -rf " + std::string(pattern)).c_str());
}

TEST_CASE("the X25519 key agreement pair derived from the DID key opens sealed boxes") {
  KeyPair key = KeyPair::Generate();
  DidDocument document = DidDocument::ForDidKey(key.public_key());
  X25519PublicKey agreement = document.KeyAgreementKey().value();
  CHECK(agreement == key.X25519Public());
  const std::string secret_message = "challenge nonce";
  Bytes sealed(secret_message.size() + crypto_box_SEALBYTES);
  crypto_box_seal(sealed.data(), AsBytes(secret_message).data(), secret_message.size(), agreement.data());
  Bytes opened(secret_message.size());
  SecureBytes x25519_secret = key.X25519Secret();
  REQUIRE(crypto_box_seal_open(opened.data(), sealed.data(), sealed.size(), agreement.data(),
                               x25519_secret.data()) == 0);
  CHECK(AsChars(opened) == secret_message);
}

TEST_CASE("did:key documents follow DID Core with Multikey methods and round-trip") {
  Json identities = ReadVectorJson("identities.json");
  const Json& issuer = *identities.Find("issuer");
  KeyPair key = KeyFromSeedHex(issuer.GetString("seedHex").value());
  DidDocument document = DidDocument::ForDidKey(key.public_key());
  Json json = document.ToJson();
  CHECK(json.GetString("id").value() == issuer.GetString("did").value());
  std::string method_id(issuer.GetString("verificationMethod").value());
  CHECK(document.Ed25519KeyFor(method_id, Relationship::kAssertionMethod).value() == key.public_key());
  CHECK(document.Ed25519KeyFor(method_id, Relationship::kAuthentication).ok());
  CHECK(document.key_agreement.size() == 1);
  CHECK(document.key_agreement[0].find("#z6LS") != std::string::npos);
  // keyAgreement keys cannot sign.
  CHECK_FALSE(document.Ed25519KeyFor(document.key_agreement[0], Relationship::kAssertionMethod).ok());
  DidDocument parsed = DidDocument::FromJson(json).value();
  CHECK(parsed.ToJson() == json);
}

TEST_CASE("DID document parser rejects malformed documents") {
  auto parse = [](std::string_view text) { return DidDocument::FromJson(Json::Parse(text).value()); };
  CHECK_FALSE(parse("[]").ok());
  CHECK_FALSE(parse(R"({"id":"not-a-did"})").ok());
  CHECK_FALSE(parse(R"({"id":"did:example:a","verificationMethod":{}})").ok());
  CHECK_FALSE(parse(R"({"id":"did:example:a","assertionMethod":["#missing"]})").ok());
  CHECK_FALSE(parse(R"({"id":"did:example:a","verificationMethod":[{"id":"#k","type":"Multikey","controller":"did:example:a"}]})").ok());
  auto relative = parse(R"({"id":"did:example:a","verificationMethod":[{"id":"#k","type":"Multikey","controller":"did:example:a","publicKeyMultibase":"z6MktwupdmLXVVqTzCw4i46r4uGyosGXRnR3XjN4Zq7oMMsw"}],"assertionMethod":["#k"]})");
  REQUIRE(relative.ok());
  CHECK(relative->Ed25519KeyFor("did:example:a#k", Relationship::kAssertionMethod).ok());
  CHECK_FALSE(relative->Ed25519KeyFor("did:example:a#k", Relationship::kAuthentication).ok());
}

class CountingResolver final : public Resolver {
 public:
  Result<DidDocument> Resolve(std::string_view did) override {
    ++calls;
    return DidKeyResolver().Resolve(did);
  }
  int calls = 0;
};

TEST_CASE("caching resolver honours TTL and explicit invalidation; router dispatches by method") {
  auto inner = std::make_shared<CountingResolver>();
  auto now = std::chrono::steady_clock::time_point{};
  CachingResolver cache(inner, std::chrono::seconds(10), 100, [&] { return now; });
  std::string did = DidKeyFromPublicKey(KeyPair::Generate().public_key());
  REQUIRE(cache.Resolve(did).ok());
  REQUIRE(cache.Resolve(did).ok());
  CHECK(inner->calls == 1);
  now += std::chrono::seconds(11);
  REQUIRE(cache.Resolve(did).ok());
  CHECK(inner->calls == 2);
  cache.Invalidate(did);
  REQUIRE(cache.Resolve(did).ok());
  CHECK(inner->calls == 3);
  CHECK(cache.stats().hits == 1);
  CHECK(cache.stats().misses == 3);
  CHECK_FALSE(cache.Resolve("did:key:zzz").ok());  // errors are not cached
  CHECK(inner->calls == 4);

  MethodRouter router;
  router.Register("key", std::make_shared<DidKeyResolver>());
  CHECK(router.Resolve(did).ok());
  auto unknown = router.Resolve("did:web:example.com");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code() == ErrorCode::kNotFound);
  CHECK_FALSE(router.Resolve("not-a-did").ok());
  CHECK_FALSE(router.Resolve(did + "#frag").ok());

  // A default route takes every method without its own route; did:key keeps its route.
  struct Recording final : Resolver {
    std::vector<std::string> asked;
    Result<DidDocument> Resolve(std::string_view asked_did) override {
      asked.emplace_back(asked_did);
      return Error(ErrorCode::kNotFound, "not here");
    }
  };
  auto fallback = std::make_shared<Recording>();
  router.RegisterDefault(fallback);
  CHECK(router.Resolve(did).ok());
  CHECK(router.Resolve("did:web:example.com").error().code() == ErrorCode::kNotFound);
  CHECK(fallback->asked == std::vector<std::string>{"did:web:example.com"});
}

TEST_CASE("a method's key comes from the cached document, with the document's own errors") {
  auto inner = std::make_shared<CountingResolver>();
  auto now = std::chrono::steady_clock::time_point{};
  CachingResolver cache(inner, std::chrono::seconds(10), 100, [&] { return now; });
  const KeyPair key = KeyPair::Generate();
  const std::string did = DidKeyFromPublicKey(key.public_key());
  const std::string method = DidKeyVerificationMethod(key.public_key());
  for (int i = 0; i < 3; ++i) {
    auto found = cache.ResolveMethodKey(did, method, Relationship::kAssertionMethod);
    REQUIRE(found.ok());
    CHECK(found->key == key.public_key());
    CHECK(found->controller == did);
  }
  CHECK(inner->calls == 1);
  // The same answers as the uncached path (Resolver's default), errors included.
  DidKeyResolver uncached;
  auto expected = uncached.ResolveMethodKey(did, method, Relationship::kAssertionMethod);
  REQUIRE(expected.ok());
  CHECK(expected->key == key.public_key());
  auto absent = cache.ResolveMethodKey(did, did + "#other", Relationship::kAssertionMethod);
  CHECK(absent.error().code() == ErrorCode::kVerificationFailed);
  CHECK(absent.error().message() ==
        uncached.ResolveMethodKey(did, did + "#other", Relationship::kAssertionMethod)
            .error()
            .message());
  CHECK(cache.ResolveMethodKey(did, method, Relationship::kKeyAgreement).error().code() ==
        ErrorCode::kVerificationFailed);
  auto unresolvable =
      cache.ResolveMethodKey("did:key:zzz", "did:key:zzz#zzz", Relationship::kAssertionMethod);
  REQUIRE_FALSE(unresolvable.ok());
  CHECK(unresolvable.error().message().rfind("cannot resolve did:key:zzz: ", 0) == 0);
  // An expired document is resolved again.
  now += std::chrono::seconds(11);
  CHECK(cache.ResolveMethodKey(did, method, Relationship::kAssertionMethod).ok());
  CHECK(inner->calls == 3);  // the unresolvable DID and the expired entry went to the resolver
}

}  // namespace
}  // namespace tcc::did
