// Writes the generated part of the fuzzers' seed corpora: credentials, channel frames and
// evidence bundles that are valid end to end (made with the fixed keys and templates of
// fuzz_support.h), so mutations start from inputs that reach the deep checks instead of failing
// at the first signature. The static part (tests/vectors/, schemas/) is copied by
// fuzz/CollectSeeds.cmake. Usage: tcc_fuzz_seeds OUT_DIR (creates OUT_DIR/<fuzzer>/...).
#include <sys/stat.h>

#include <cstdio>
#include <string>
#include <vector>

#include "evm_abi.h"
#include "fuzz_support.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/evm_primitives.h"
#include "tcc/chain/ledger_format.h"
#include "tcc/did/document.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/protocol.h"

namespace tcc::fuzz {
namespace {

void WriteSeed(const std::string& directory, const std::string& name, std::string_view content) {
  ::mkdir(directory.c_str(), 0755);
  const std::string path = directory + "/" + name;
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr || std::fwrite(content.data(), 1, content.size(), file) != content.size()) {
    PropertyFailed("cannot write " + path);
  }
  std::fclose(file);
}

int Generate(const std::string& out) {
  ::mkdir(out.c_str(), 0755);
  const vc::Template tit = ExampleTemplate("gpu-hour.tit.json");
  const vc::Template tst = ExampleTemplate("gpu-hour.tst.json");
  did::DidKeyResolver resolver;
  const std::string created(kSeedCreated);

  Json tic_claim = ReadExampleJson("claims/gpu-hour.tic-claim.json");
  tic_claim.Set("provider", FixedDid(Party::kProvider));
  tic_claim.Set("consumer", FixedDid(Party::kConsumer));
  Json application = Expect(vc::ApplyForTic(tit, tic_claim, created), "apply for TIC");
  Json tic = Expect(vc::IssueTic(application, tit, FixedKey(Party::kProvider), created), "issue TIC");
  const std::string channel = Expect(vc::CredentialHash(tic), "TIC hash");

  const std::string credentials = out + "/credential";
  WriteSeed(credentials, "tic.json", tic.Serialize());
  WriteSeed(credentials, "tic-application.json", application.Serialize());

  std::string prev = channel;
  std::vector<Json> tscs;
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    Json claim = ReadExampleJson("claims/gpu-hour.tsc-claim.json");
    claim.Set("provider", FixedDid(Party::kProvider));
    claim.Set("consumer", FixedDid(Party::kConsumer));
    claim.Set("channel", channel);
    claim.Set("seq", seq);
    claim.Set("prev", prev);
    Json proposal = Expect(vc::ProposeSettlement(tst, claim, FixedKey(Party::kProvider), created), "propose");
    Json joint = Expect(vc::CosignSettlement(tst, proposal, FixedKey(Party::kConsumer), resolver, created), "cosign");
    Json tsc = Expect(vc::IssueTsc(joint, tst, FixedKey(Party::kTcc), created), "issue TSC");
    vc::TscVerifyOptions options;
    options.credential.now = FixedNow();
    Expect(vc::VerifyTsc(tsc, tst, resolver, options), "generated TSC verifies");
    const std::string n = std::to_string(seq);
    WriteSeed(credentials, "proposal-" + n + ".json", proposal.Serialize());
    WriteSeed(credentials, "joint-" + n + ".json", joint.Serialize());
    WriteSeed(credentials, "tsc-" + n + ".json", tsc.Serialize());
    WriteSeed(credentials, "tsc-" + n + ".jcs", Expect(vc::Canonicalize(tsc), "JCS"));

    const std::string frames = out + "/protocol";
    using wire::FrameBuilder;
    using wire::MessageType;
    WriteSeed(frames, "settle.propose-" + n + ".json",
              FrameBuilder(MessageType::kSettlePropose, seq).Add("channel", channel).Add("proposal", proposal).Finish());
    WriteSeed(frames, "settle.submit-" + n + ".json",
              FrameBuilder(MessageType::kSettleSubmit, seq).Add("channel", channel).Add("claim", joint).Finish());
    WriteSeed(frames, "event.tsc-" + n + ".json",
              FrameBuilder(MessageType::kEventTsc).Add("channel", channel).Add("seq", seq).Add("tsc", tsc).Finish());
    WriteSeed(frames, "reply-" + n + ".json",
              FrameBuilder(MessageType::kReply, seq).Add("seq", seq).Add("tsc", tsc).Finish());
    prev = Expect(vc::CredentialHash(tsc), "TSC hash");
    tscs.push_back(std::move(tsc));
  }

  // Bundles from batches of 1, 3 and 5 items (paths of 0, 1-2 and 2-3 hashes).
  for (std::size_t batch_size : {1u, 3u, 5u}) {
    chain::EvidenceBatchBuilder builder;
    for (std::size_t i = 0; i < batch_size; ++i) {
      chain::EvidenceItem item{channel, i + 1, {}};
      item.tsc_hash = Sha256(AsBytes("tsc " + std::to_string(i)));
      Expect(builder.Add(item), "evidence item");
    }
    chain::EvidenceBatch batch = Expect(builder.Build("batch-" + std::to_string(batch_size)), "batch");
    chain::ChainReceipt receipt{"local", 7, "tx-" + std::to_string(batch_size), Sha256(AsBytes("block")), 1767225600000};
    for (std::size_t i = 0; i < batch_size; ++i) {
      chain::EvidenceBundle bundle = Expect(batch.Bundle(i, receipt), "bundle");
      const Status verified = chain::VerifyEvidenceBundle(bundle);
      Require(verified.ok(), "generated bundle verifies: " + (verified.ok() ? std::string() : verified.error().ToString()));
      WriteSeed(out + "/evidence", "bundle-" + std::to_string(batch_size) + "-" + std::to_string(i) + ".json",
                chain::SerializeEvidenceBundle(bundle));
    }
  }

  // Merkle inputs: tree sizes 1, 2, 7, 64 and 128, one with a hostile proof tail.
  for (unsigned leaves : {1u, 2u, 7u, 64u, 128u}) {
    std::string input(1, static_cast<char>(leaves - 1));
    input += "leaf seed " + std::to_string(leaves);
    WriteSeed(out + "/merkle", "tree-" + std::to_string(leaves) + ".bin", input);
  }
  std::string hostile(1, static_cast<char>(6));
  hostile += std::string(64, 'x') + std::string(8, '\0') + std::string(7, '\0') + '\x07' + std::string(96, 'h');
  WriteSeed(out + "/merkle", "hostile-proof.bin", hostile);

  // DID documents, identifiers and stamps as they appear on chain and in proofs.
  const did::PublicKey& provider_key = FixedKey(Party::kProvider).public_key();
  WriteSeed(out + "/did", "document.json", did::DidDocument::ForDidKey(provider_key).ToJson().Serialize());
  WriteSeed(out + "/did", "did-key.txt", FixedDid(Party::kConsumer));
  WriteSeed(out + "/did", "did-url.txt", did::DidKeyVerificationMethod(provider_key));
  WriteSeed(out + "/did", "x25519.txt", did::X25519Multibase(FixedKey(Party::kTcc).X25519Public()));
  WriteSeed(out + "/did", "stamp.txt", created);
  WriteSeed(out + "/did", "stamp-fraction.txt", "2026-01-01T00:00:00.125+02:00");

  // Ledger records: one entry of each kind, a block holding them, a location, keys.
  const chain::ledger::Entry entries[] = {
      chain::DidDocumentVersion{FixedDid(Party::kProvider), 1, Bytes(40, 'd')},
      chain::TemplateVersion{"gpu-hour.tst", 2, FixedDid(Party::kProvider), Bytes(64, 't'), Sha256(AsBytes("t"))},
      chain::TicDocument{channel, FixedDid(Party::kTcc), Bytes(80, 'c')},
      chain::BatchAnchor{"tcc-7", Sha256(AsBytes("root")), 5},
  };
  chain::ledger::Block block;
  block.header = {3, Sha256(AsBytes("prev")), 1767225600000, 0, {}};
  for (std::size_t i = 0; i < std::size(entries); ++i) {
    Bytes encoded = chain::ledger::EncodeEntry(entries[i]);
    WriteSeed(out + "/ledger", "entry-" + std::to_string(i) + ".bin", AsText(encoded.data(), encoded.size()));
    block.entries.push_back(std::move(encoded));
  }
  block.header.entry_count = static_cast<std::uint32_t>(block.entries.size());
  const Bytes block_bytes = chain::ledger::EncodeBlock(block);
  WriteSeed(out + "/ledger", "block.bin", AsText(block_bytes.data(), block_bytes.size()));
  const Bytes location = chain::ledger::EncodeLocation({3, 1});
  WriteSeed(out + "/ledger", "location.bin", AsText(location.data(), location.size()));
  WriteSeed(out + "/ledger", "block-key.txt", chain::ledger::BlockKey(3));

  // Node replies: ABI-encoded results and event data, a revert, JSON-RPC quantities and data.
  const chain::Hash256 word = Sha256(AsBytes("word"));
  const Bytes arguments = chain::evm::AbiCall("Anchored(bytes32,bytes32,uint64,string)")
                              .Word(word).Word(word).Uint(5).Dynamic(std::string_view("tcc-7")).Arguments();
  WriteSeed(out + "/evm", "event-data.bin", AsText(arguments.data(), arguments.size()));
  const Bytes revert = chain::evm::AbiCall("Error(string)").Dynamic(std::string_view("batch id taken")).Finish();
  WriteSeed(out + "/evm", "revert.bin", AsText(revert.data(), revert.size()));
  WriteSeed(out + "/evm", "quantity.txt", chain::evm::QuantityHex(0x1f2e3d));
  WriteSeed(out + "/evm", "address.txt", "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  WriteSeed(out + "/evm", "data.txt", chain::evm::PrefixedHex(arguments));
  return 0;
}

}  // namespace
}  // namespace tcc::fuzz

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: tcc_fuzz_seeds OUT_DIR\nwrites generated seed inputs for the fuzzers into OUT_DIR/<fuzzer>/\n");
    return argc == 2 ? 0 : 2;
  }
  return tcc::fuzz::Generate(argv[1]);
}
