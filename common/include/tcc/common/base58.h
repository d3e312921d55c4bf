// base58btc (the Bitcoin alphabet) and multibase strings that use it ("z" prefix).
//
// Multibase is the self-describing encoding DID documents and Data Integrity proofs use; TCC
// produces and accepts only the base58btc form, which is what did:key and eddsa-jcs-2022 require.
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "tcc/common/bytes.h"
#include "tcc/common/result.h"

namespace tcc {

std::string Base58BtcEncode(ByteView bytes);
Result<Bytes> Base58BtcDecode(std::string_view text);

// "z" + base58btc(bytes).
std::string MultibaseEncode(ByteView bytes);
// Accepts only the base58btc ("z") multibase prefix; other prefixes are an error naming the prefix.
Result<Bytes> MultibaseDecode(std::string_view text);

}  // namespace tcc
