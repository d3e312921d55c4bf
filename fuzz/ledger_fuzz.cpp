// The embedded ledger's binary formats (tcc/chain/ledger_format.h): blocks, entries, locations and
// keys are read back from LevelDB files, which a damaged disk or a hostile operator can change,
// and the verifier reads them all. Properties: the decoders never crash and refuse only with
// kParse; whatever they accept is the unique encoding of what they return (encode(decode(x)) == x),
// down to every entry of an accepted block.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "tcc/chain/ledger_format.h"

namespace {

using namespace tcc;

void RequireParseError(const Error& error, const std::string& what) {
  fuzz::Require(error.code() == ErrorCode::kParse, what + " refused with an undocumented code: " + error.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace tcc::chain::ledger;
  const tcc::ByteView bytes(data, size);
  const tcc::Bytes input(data, data + size);

  if (auto entry = DecodeEntry(bytes); entry.ok()) {
    tcc::fuzz::Require(EncodeEntry(*entry) == input, "an accepted entry is not its own encoding");
  } else {
    RequireParseError(entry.error(), "DecodeEntry");
  }
  if (auto block = DecodeBlock(bytes); block.ok()) {
    tcc::fuzz::Require(EncodeBlock(*block) == input, "an accepted block is not its own encoding");
    tcc::fuzz::Require(block->entries.size() == block->header.entry_count, "entry count differs from the header's");
    for (const auto& entry_bytes : block->entries) {
      auto entry = DecodeEntry(entry_bytes);
      if (entry.ok()) tcc::fuzz::Require(EncodeEntry(*entry) == entry_bytes, "a block's entry does not round-trip");
      (void)EntryHash(entry_bytes);
    }
    (void)BlockHash(block->header);
  } else {
    RequireParseError(block.error(), "DecodeBlock");
  }
  if (auto location = DecodeLocation(bytes); location.ok()) {
    tcc::fuzz::Require(EncodeLocation(*location) == input, "an accepted location is not its own encoding");
  } else {
    RequireParseError(location.error(), "DecodeLocation");
  }
  if (auto value = DecodeU64(bytes, "fuzz"); value.ok()) {
    tcc::fuzz::Require(EncodeU64(*value) == input, "an accepted u64 is not its own encoding");
  }
  const std::string_view key = tcc::fuzz::AsText(data, size);
  if (auto height = ParseBlockKey(key); height.ok()) {
    tcc::fuzz::Require(BlockKey(*height) == key, "an accepted block key is not its own encoding");
  }
  return 0;
}
