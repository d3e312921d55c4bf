#include "tcc/did/challenge.h"

#include <sodium.h>

#include <cstring>
#include <string_view>
#include <utility>

#include "tcc/common/secure_memory.h"

namespace tcc::did {
namespace {

constexpr std::string_view kTranscriptDomain = "tcc/auth/v1";
constexpr std::string_view kSealedMagic = "tcc/challenge/v1";
// Binding strings are DIDs and a channel id; a bound keeps a hostile box from making the party
// allocate or the TCC sign something absurd.
constexpr std::size_t kMaxBindingStringBytes = 1024;
// Magic with its separator, three length-prefixed strings, the expiry and the nonce.
constexpr std::size_t kMaxPlaintextBytes = kSealedMagic.size() + 1 +
                                           3 * (4 + kMaxBindingStringBytes) + 8 +
                                           sizeof(ChallengeNonce);

// Appends to a caller-provided fixed buffer so the sealed plaintext never lives in ordinary,
// possibly swapped or copied memory.
class Writer {
 public:
  explicit Writer(std::uint8_t* out) : out_(out) {}

  void Raw(const void* data, std::size_t size) {
    if (size == 0) return;  // memcpy from a null data() of an empty string is undefined
    std::memcpy(out_ + written_, data, size);
    written_ += size;
  }
  void Byte(std::uint8_t value) { Raw(&value, 1); }
  void U32(std::uint32_t value) {
    std::uint8_t bytes[4];
    for (int i = 0; i < 4; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (24 - 8 * i));
    Raw(bytes, sizeof bytes);
  }
  void U64(std::uint64_t value) {
    std::uint8_t bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(value >> (56 - 8 * i));
    Raw(bytes, sizeof bytes);
  }
  void String(std::string_view text) {
    U32(static_cast<std::uint32_t>(text.size()));
    Raw(text.data(), text.size());
  }
  std::size_t written() const { return written_; }

 private:
  std::uint8_t* out_;
  std::size_t written_ = 0;
};

std::size_t EncodedSize(std::string_view domain, const ChallengeBinding& binding) {
  return domain.size() + 1 + 4 + binding.channel_id.size() + 4 + binding.tcc_did.size() + 4 +
         binding.party_did.size() + 8 + sizeof(ChallengeNonce);
}

// The transcript and the sealed plaintext share one layout and differ only in the leading
// domain string, so a signature over one can never be mistaken for the other.
void Encode(std::string_view domain, const Challenge& challenge, Writer& writer) {
  writer.Raw(domain.data(), domain.size());
  writer.Byte(0);
  writer.String(challenge.binding.channel_id);
  writer.String(challenge.binding.tcc_did);
  writer.String(challenge.binding.party_did);
  writer.U64(challenge.binding.expires_ms);
  writer.Raw(challenge.nonce.data(), challenge.nonce.size());
}

class Reader {
 public:
  explicit Reader(ByteView input) : input_(input) {}

  bool Take(std::size_t size, ByteView& out) {
    if (input_.size() - offset_ < size) return false;
    out = input_.subspan(offset_, size);
    offset_ += size;
    return true;
  }
  bool U32(std::uint32_t& value) {
    ByteView bytes;
    if (!Take(4, bytes)) return false;
    value = 0;
    for (std::uint8_t byte : bytes) value = (value << 8) | byte;
    return true;
  }
  bool U64(std::uint64_t& value) {
    ByteView bytes;
    if (!Take(8, bytes)) return false;
    value = 0;
    for (std::uint8_t byte : bytes) value = (value << 8) | byte;
    return true;
  }
  bool String(std::string& text) {
    std::uint32_t size = 0;
    ByteView bytes;
    if (!U32(size) || size > kMaxBindingStringBytes || !Take(size, bytes)) return false;
    text.assign(AsChars(bytes));
    return true;
  }
  bool AtEnd() const { return offset_ == input_.size(); }

 private:
  ByteView input_;
  std::size_t offset_ = 0;
};

Result<Challenge> DecodeSealedPlaintext(ByteView plaintext) {
  auto malformed = [] {
    return Error(ErrorCode::kParse, "sealed challenge: malformed plaintext");
  };
  Reader reader(plaintext);
  ByteView magic;
  ByteView separator;
  if (!reader.Take(kSealedMagic.size(), magic) || AsChars(magic) != kSealedMagic ||
      !reader.Take(1, separator) || separator[0] != 0) {
    return Error(ErrorCode::kParse, "sealed challenge: not a tcc/challenge/v1 plaintext");
  }
  Challenge challenge;
  ByteView nonce;
  if (!reader.String(challenge.binding.channel_id) || !reader.String(challenge.binding.tcc_did) ||
      !reader.String(challenge.binding.party_did) || !reader.U64(challenge.binding.expires_ms) ||
      !reader.Take(challenge.nonce.size(), nonce)) {
    return malformed();
  }
  if (!reader.AtEnd()) return malformed();
  std::memcpy(challenge.nonce.data(), nonce.data(), nonce.size());
  return challenge;
}

}  // namespace

ChallengeNonce NewChallengeNonce() {
  EnsureSodiumInitialized();
  ChallengeNonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return nonce;
}

Bytes ChallengeTranscript(const Challenge& challenge) {
  Bytes transcript(EncodedSize(kTranscriptDomain, challenge.binding));
  Writer writer(transcript.data());
  Encode(kTranscriptDomain, challenge, writer);
  return transcript;
}

Result<Bytes> SealChallenge(const Challenge& challenge, const X25519PublicKey& recipient) {
  const ChallengeBinding& binding = challenge.binding;
  for (auto [name, value] : {std::pair<std::string_view, std::string_view>{"channel id", binding.channel_id},
                             {"TCC DID", binding.tcc_did},
                             {"party DID", binding.party_did}}) {
    if (value.size() > kMaxBindingStringBytes) {
      return Error(ErrorCode::kInvalidArgument,
                   "challenge " + std::string(name) + " is " + std::to_string(value.size()) +
                       " bytes, at most " + std::to_string(kMaxBindingStringBytes) + " allowed");
    }
  }
  EnsureSodiumInitialized();
  SecureBytes plaintext(EncodedSize(kSealedMagic, binding));
  Writer writer(plaintext.data());
  Encode(kSealedMagic, challenge, writer);
  Bytes sealed(plaintext.size() + crypto_box_SEALBYTES);
  if (crypto_box_seal(sealed.data(), plaintext.data(), plaintext.size(), recipient.data()) != 0) {
    // libsodium refuses low-order points, which only a forged or corrupt key document contains.
    return Error(ErrorCode::kInvalidArgument,
                 "cannot seal a challenge to this key: not a usable X25519 public key");
  }
  return sealed;
}

Result<Challenge> OpenChallenge(ByteView sealed, const KeyPair& key) {
  if (sealed.size() < crypto_box_SEALBYTES) {
    return Error(ErrorCode::kVerificationFailed,
                 "sealed challenge is shorter than a sealed box (" + std::to_string(sealed.size()) +
                     " bytes)");
  }
  if (sealed.size() - crypto_box_SEALBYTES > kMaxPlaintextBytes) {
    // Refused before opening so a hostile peer cannot make us allocate guarded memory at will.
    return Error(ErrorCode::kParse, "sealed challenge is " + std::to_string(sealed.size()) +
                                        " bytes, larger than any valid challenge");
  }
  EnsureSodiumInitialized();
  X25519PublicKey public_key = key.X25519Public();
  SecureBytes secret = key.X25519Secret();
  SecureBytes plaintext(sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plaintext.data(), sealed.data(), sealed.size(), public_key.data(),
                           secret.data()) != 0) {
    return Error(ErrorCode::kVerificationFailed,
                 "sealed challenge does not open with this key (wrong recipient or tampered)");
  }
  return DecodeSealedPlaintext(plaintext.view());
}

Signature SignChallengeResponse(const Challenge& challenge, const KeyPair& key) {
  return key.Sign(ChallengeTranscript(challenge));
}

bool VerifyChallengeResponse(const Challenge& challenge, const PublicKey& authentication_key,
                             ByteView signature) {
  return VerifySignature(authentication_key, ChallengeTranscript(challenge), signature);
}

}  // namespace tcc::did
