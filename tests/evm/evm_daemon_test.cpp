// Two real tccd processes, each with its own DID, data directory and EVM account, beside one anvil
// node and one TccRegistry: each opens only the channel whose TIC names it (from the registry's
// TicRecorded events), both anchor evidence to the same contract, and evidence from either
// verifies against the chain, including the registry's own on-chain Merkle check.
#include <doctest/doctest.h>

#include <stdio.h>

#include <set>

#include "chain_watch.h"
#include "controller/did_document_for.h"
#include "daemon/daemon_test_util.h"
#include "evm_test_util.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/factory.h"
#include "tcc/controller/chain_resolver.h"

namespace tcc::testing {
namespace {

using chain::testing::EvmChain;

// Trade::Record writes its templates and TIC to an embedded ledger; the same records go onto the
// EVM chain from there, so the trade set-up is shared with the other daemon tests.
void CopyRecords(const std::string& scratch_ledger, chain::ChainAdapter& chain, const std::string& tic_id) {
  auto scratch = Unwrap(chain::LocalLedger::Open({.path = scratch_ledger, .create_if_missing = false}), "scratch");
  for (const auto& version : Unwrap(scratch->ListTemplates(""), "templates")) {
    Unwrap(chain.PublishTemplate(version.value), "publish template on chain");
  }
  Unwrap(chain.RecordTic(Unwrap(scratch->GetTic(tic_id), "TIC").value), "record TIC on chain");
}

struct Node {
  Trade* trade;
  TccdProcess tccd;
  std::vector<chain::EvidenceBundle> bundles;
};

// `block_time_s` 0: a block per transaction; otherwise anvil seals every that many seconds, as a
// QBFT/PBFT chain does. `confirmations` is every adapter's K (the daemons' and the test's own).
void TwoTccdOneChain(unsigned block_time_s, std::uint64_t confirmations) {
  EvmChain chain(block_time_s);
  chain.options().confirmations = confirmations;
  const TempDir& dir = chain.dir();
  Trade trade_a;
  Trade trade_b;
  trade_b.provider = trade_a.provider;  // one provider's templates, two TCCs, two consumers
  constexpr std::uint64_t kN = 2;
  trade_a.Record(dir.Sub("scratch-a"), kN);
  trade_b.tit = trade_a.tit;
  trade_b.tst = trade_a.tst;
  trade_b.Record(dir.Sub("scratch-b"), kN);
  REQUIRE(trade_a.tcc_did() != trade_b.tcc_did());

  Node nodes[2] = {{&trade_a, {}, {}}, {&trade_b, {}, {}}};
  for (int i = 0; i < 2; ++i) {
    const std::string name(1, static_cast<char>('a' + i));
    REQUIRE(nodes[i].trade->tcc->WriteFile(dir.Sub(name + "-tcc.key")).ok());
    chain::EvmOptions options = chain.options();
    options.key_file = chain.NewFundedKey(name + "-evm.key");  // each TCC signs with its own account
    nodes[i].tccd.Start({"--data-dir", dir.Sub(name + "-data"), "--key", dir.Sub(name + "-tcc.key"), "--chain",
                         chain::EvmUri(options), "--listen", "tcp://127.0.0.1:*", "--control", "tcp://127.0.0.1:*",
                         "--anchor-interval", "100"});
    CHECK(nodes[i].tccd.did() == nodes[i].trade->tcc_did());
  }

  // The TICs land after both daemons watch the chain: they learn of them from the events.
  auto writer = chain.Open();
  CopyRecords(dir.Sub("scratch-a"), *writer, trade_a.channel_id);
  CopyRecords(dir.Sub("scratch-b"), *writer, trade_b.channel_id);

  constexpr std::uint64_t kSettlements = 6;
  for (Node& node : nodes) {
    const Trade& trade = *node.trade;
    auto provider = ConnectParty(node.tccd.listen(), node.tccd.did(), trade.provider);
    auto consumer = ConnectParty(node.tccd.listen(), node.tccd.did(), trade.consumer);
    CHECK(JoinWhenOpen(*provider, trade.channel_id).role == "provider");
    CHECK(JoinWhenOpen(*consumer, trade.channel_id).role == "consumer");
    std::string prev = trade.channel_id;
    std::vector<std::string> hashes = {""};
    for (std::uint64_t seq = 1; seq <= kSettlements; ++seq) {
      client::IssuedTsc issued = SettleOnce(trade, *provider, *consumer, seq, prev);
      REQUIRE(issued.seq == seq);
      prev = vc::CredentialHash(issued.tsc).value();
      hashes.push_back(prev);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!consumer->GetEvidence(trade.channel_id, kSettlements).ok() &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (std::uint64_t seq = kN; seq <= kSettlements; seq += kN) {
      client::EvidenceReply reply = Unwrap(consumer->GetEvidence(trade.channel_id, seq), "evidence");
      CHECK(reply.bundle.item.seq == seq);
      CHECK(HexEncode(reply.bundle.item.tsc_hash) == hashes[seq]);
      CHECK(reply.bundle.receipt.adapter == "evm");
      node.bundles.push_back(reply.bundle);
    }
  }

  // Each daemon opened only the channel whose TIC names it.
  for (int i = 0; i < 2; ++i) {
    const Trade& other = *nodes[1 - i].trade;
    auto stray = ConnectParty(nodes[i].tccd.listen(), nodes[i].tccd.did(), other.consumer);
    auto joined = stray->Join(other.channel_id);
    REQUIRE_FALSE(joined.ok());
    CHECK(joined.error().code() == ErrorCode::kNotFound);
  }
  for (Node& node : nodes) CHECK(node.tccd.Stop() == 0);

  // Evidence from either daemon verifies against the one registry, by anyone holding the bundle.
  std::set<std::string> batches;
  for (const Node& node : nodes) {
    for (const auto& bundle : node.bundles) {
      CAPTURE(bundle.batch_id);
      auto on_chain = chain::VerifyEvidenceBundleOnChain(bundle, *writer);
      CHECK_MESSAGE(on_chain.ok(), (on_chain.ok() ? "" : on_chain.error().ToString()));
      tcc::Status proof = writer->VerifyInclusionOnChain(bundle.batch_id, bundle.leaf, bundle.leaf_index,
                                                         bundle.tree_size, bundle.path);
      CHECK_MESSAGE(proof.ok(), (proof.ok() ? "" : proof.error().ToString()));
      batches.insert(bundle.batch_id);
    }
  }
  CHECK(batches.size() >= 2);  // batch ids carry each TCC's DID, so the two never collide
  CHECK(nodes[0].bundles.front().batch_id.find(trade_a.tcc_did()) != std::string::npos);
  CHECK(nodes[1].bundles.front().batch_id.find(trade_b.tcc_did()) != std::string::npos);
  // Each bundle's receipt is the one a K-deep read of the chain gives now: the same transaction
  // and block hash, not a shallower or since-replaced block.
  for (const Node& node : nodes) {
    for (const auto& bundle : node.bundles) {
      auto found = writer->FindAnchor(bundle.batch_id);
      REQUIRE_MESSAGE(found.ok(), found.error().ToString());
      CHECK(found->receipt == bundle.receipt);
    }
  }
}

TEST_CASE("two tccd on one EVM chain: each opens only its own channels; evidence from either verifies on chain") {
  TwoTccdOneChain(/*block_time_s=*/0, /*confirmations=*/1);
}

// The same with blocks sealed every second and K = 2: channels open from K-deep TIC events,
// settlement does not wait for blocks, and the evidence the parties get is anchored K deep.
TEST_CASE("two tccd on an interval-mined EVM chain with confirmations = 2") {
  TwoTccdOneChain(/*block_time_s=*/1, /*confirmations=*/2);
}

// A party rotates its DID key on the EVM registry (anvil sealing every second, K = 2) while the
// resolver tccd uses (MakeChainResolver, 1 h cache) and its ChainWatcher follow the chain: the
// cache serves the old document until the DidUpdated event is K deep, then drops it, and the next
// resolution names the new key. (The daemon-level part — the old key refused at join, the new one
// admitted — is the next test.)
TEST_CASE("DID rotation on the EVM registry reaches the resolver cache through the chain's event") {
  EvmChain chain(/*block_time_s=*/1);
  chain.options().confirmations = 2;
  std::shared_ptr<chain::ChainAdapter> adapter = chain.Open();
  const std::string alice = "did:web:provider.example:alice";
  const did::KeyPair old_key = did::KeyPair::Generate();
  const did::KeyPair new_key = did::KeyPair::Generate();
  auto first_key = [](const did::DidDocument& document) {
    REQUIRE_FALSE(document.verification_methods.empty());
    return document.verification_methods.front().public_key_multibase;
  };
  Unwrap(adapter->RegisterDid(alice, AsBytes(DocumentFor(alice, old_key))), "register");
  auto resolver = controller::MakeChainResolver(adapter, {.ttl = std::chrono::hours(1)});
  controller::ChainWatcher watcher(adapter, resolver);
  std::size_t seen = 0;
  auto events_reach = [&](std::size_t wanted) {
    return chain::testing::WaitUntil([&] {
      auto polled = watcher.PollOnce(std::chrono::milliseconds(200));
      REQUIRE_MESSAGE(polled.ok(), polled.error().ToString());
      seen += *polled;
      return seen >= wanted;
    });
  };
  REQUIRE(events_reach(1));  // the registration
  const std::string old_multibase = first_key(Unwrap(resolver->Resolve(alice), "resolve"));

  auto rotated = Unwrap(adapter->UpdateDid(alice, AsBytes(DocumentFor(alice, new_key))), "rotate");
  CHECK(rotated.value.version == 2);
  // Landed and K deep, but the cache has not heard of it yet.
  CHECK(first_key(Unwrap(resolver->Resolve(alice), "cached")) == old_multibase);
  REQUIRE(events_reach(2));
  const did::DidDocument after = Unwrap(resolver->Resolve(alice), "resolve after rotation");
  CHECK(first_key(after) != old_multibase);
  CHECK(after.ToJson().Serialize() == DocumentFor(alice, new_key));
  // Another account cannot rotate it back.
  chain::EvmOptions other = chain.options();
  other.key_file = chain.NewFundedKey("intruder.key");
  auto hijack = chain.Open(other)->UpdateDid(alice, AsBytes(DocumentFor(alice, old_key)));
  REQUIRE_FALSE(hijack.ok());
  CHECK(hijack.error().code() == ErrorCode::kPermissionDenied);
}

// The same rotation through a running tccd: the TIC names a consumer whose DID (did:web) is
// registered on the EVM registry. Before the rotation the old key joins and the new key cannot
// (tccd seals its join challenge to the key the registry names); after it, once tccd's
// ChainWatcher has passed the DidUpdated event to its resolver cache (1 h TTL, so only the event
// can drop the old document), the old key is refused and the new one joins. No sleeps race the
// daemon: joins with the old key are retried until refused, within a deadline.
TEST_CASE(
    "DID rotation on the EVM registry through a running tccd: the old key can no longer join, the "
    "new one can") {
  EvmChain chain;
  std::shared_ptr<chain::ChainAdapter> writer = chain.Open();
  const auto old_key = std::make_shared<did::KeyPair>(did::KeyPair::Generate());
  const auto new_key = std::make_shared<did::KeyPair>(did::KeyPair::Generate());
  Trade trade;
  trade.consumer = old_key;
  trade.consumer_did = "did:web:consumer.example:rotating";
  Unwrap(
      writer->RegisterDid(trade.consumer_did, AsBytes(DocumentFor(trade.consumer_did, *old_key))),
      "register");
  trade.Record(writer, /*n=*/2);
  const TempDir& dir = chain.dir();
  REQUIRE(trade.tcc->WriteFile(dir.Sub("tcc.key")).ok());
  chain::EvmOptions options = chain.options();
  options.key_file = chain.NewFundedKey("tccd-evm.key");
  TccdProcess tccd;
  tccd.Start({"--data-dir", dir.Sub("data"), "--key", dir.Sub("tcc.key"), "--chain",
              chain::EvmUri(options), "--listen", "tcp://127.0.0.1:*", "--control",
              "tcp://127.0.0.1:*"});
  auto join_as = [&](const std::shared_ptr<did::KeyPair>& key) {
    auto party = Unwrap(
        client::ChannelClient::Connect(
            {.endpoint = tccd.listen(), .tcc_did = tccd.did(), .timeout = std::chrono::seconds(10)},
            key, trade.consumer_did),
        "connect");
    return party->Join(trade.channel_id);
  };
  auto provider = ConnectParty(tccd.listen(), tccd.did(), trade.provider);
  CHECK(JoinWhenOpen(*provider, trade.channel_id).role == "provider");  // the channel is open
  auto joined = join_as(old_key);
  REQUIRE_MESSAGE(joined.ok(), joined.error().ToString());
  CHECK(joined->role == "consumer");
  auto early = join_as(new_key);  // sealed to the old key: the new one cannot open it
  REQUIRE_FALSE(early.ok());
  MESSAGE("the new key before the rotation: " << early.error().ToString());
  CHECK(join_as(old_key).ok());  // a refusal does not stick: the old key still joins

  Unwrap(writer->UpdateDid(trade.consumer_did, AsBytes(DocumentFor(trade.consumer_did, *new_key))),
         "rotate");
  bool refused = false;
  int admitted_after_rotation = 0;  // joins before tccd's cache heard of the event
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!refused && std::chrono::steady_clock::now() < deadline) {
    auto attempt = join_as(old_key);
    refused = !attempt.ok();
    if (refused) {
      MESSAGE("the old key after the rotation: " << attempt.error().ToString());
      CHECK(attempt.error().code() == early.error().code());  // refused the way a wrong key is
    } else {
      ++admitted_after_rotation;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  MESSAGE("old-key joins admitted after the rotation landed: " << admitted_after_rotation);
  REQUIRE_MESSAGE(refused, "tccd still admits the old key 30 s after the rotation");
  auto rejoined = join_as(new_key);
  REQUIRE_MESSAGE(rejoined.ok(), rejoined.error().ToString());
  CHECK(rejoined->role == "consumer");
  CHECK_FALSE(join_as(old_key).ok());
  CHECK(tccd.Stop() == 0);
}

// Runs the tcc CLI; returns its exit status and standard output.
std::pair<int, std::string> RunCli(const std::string& arguments) {
  std::string command = std::string(TCC_CLI_PATH) + " " + arguments + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::string output;
  char buffer[4096];
  while (std::size_t got = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, got);
  int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST_CASE("tcc evm key new and tcc evm deploy set up a registry that --chain URIs then use") {
  EvmChain chain;
  const std::string key = chain.dir().Sub("operator.key");
  auto [made, address] = RunCli("evm key new --out " + key);
  REQUIRE_MESSAGE(made == 0, address);
  address.erase(address.find_last_not_of('\n') + 1);
  REQUIRE(chain.node().Fund(chain::evm::ParseAddress(address).value()).ok());
  CHECK(RunCli("evm key new --out " + key).first == 3);  // never overwrites a key silently

  auto [deployed, report] = RunCli("evm deploy --rpc " + chain.node().rpc_url() + " --key " + key + " --chain-id 31337");
  REQUIRE_MESSAGE(deployed == 0, report);
  std::size_t at = report.find("uri ");
  REQUIRE(at != std::string::npos);
  std::string uri = report.substr(at + 4, report.find('\n', at) - at - 4);
  auto adapter = Unwrap(chain::OpenChainAdapter(uri), "open the deployed registry");
  CHECK(Unwrap(adapter->Anchor({"cli-batch", Sha256("cli root"), 3}), "anchor").receipt.adapter == "evm");

  CHECK(RunCli("evm deploy --rpc " + chain.node().rpc_url() + " --key " + key + " --chain-id 5").first == 3);
  CHECK(RunCli("evm deploy --key " + key).first == 2);
  auto [help, text] = RunCli("evm deploy --help");
  CHECK(help == 0);
  CHECK(text.find("london") != std::string::npos);
}

}  // namespace
}  // namespace tcc::testing
