// tcc store verify: audits a tccd channel store offline (controller/store_audit.h).
#include <filesystem>
#include <iostream>
#include <memory>

#include "command_line.h"
#include "tcc/chain/factory.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/controller/store_audit.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"

namespace tcc::cli {
namespace {

int RunStoreVerify(std::span<const std::string> arguments) {
  std::vector<std::string> paths;
  std::string tcc_did, chain_uri;
  bool json = false;
  CommandLine command_line(
      "store verify",
      "Walk a tccd channel store and check, per channel: every TSC from 1 to the head is present\n"
      "and hashes to its stored hash, the TCC's proof verifies, channel/seq/prev link each TSC to\n"
      "the one before, the head names the last TSC, and each evidence bundle commits the stored\n"
      "TSC. With --chain also the TST and both parties' proofs of every TSC and every bundle's\n"
      "anchor on the chain. DIR is a tccd data directory (its store/ and tcc.key are used) or a\n"
      "store directory. The store must not be open in a running tccd (stop it, or verify a "
      "backup).\n"
      "Exit codes: 0 intact, 1 problems found, 2 usage, 3 cannot open (missing, locked, "
      "unreadable).");
  command_line.Positionals("DIR", "The data directory or the store directory.", &paths, 1, 1)
      .Option("tcc-did", "DID",
              "The TCC's DID every TSC must be issued by (default: the data directory's tcc.key).",
              &tcc_did)
      .Option(
          "chain", "URI",
          "Also check TSTs, joint proofs and anchors on this chain (local:PATH, evm+http://...).",
          &chain_uri)
      .Flag("json", "Print JSON instead of text.", &json);
  return RunCommand(command_line, "store verify", arguments, [&]() -> Status {
    namespace fs = std::filesystem;
    std::string store_path = paths[0];
    std::error_code error;
    if (fs::is_directory(fs::path(paths[0]) / "store", error)) {
      store_path = (fs::path(paths[0]) / "store").string();
      const std::string key_file = (fs::path(paths[0]) / "tcc.key").string();
      if (tcc_did.empty() && fs::exists(key_file, error)) {
        TCC_ASSIGN_OR_RETURN(did::KeyPair key, did::KeyPair::ReadFile(key_file));
        tcc_did = did::DidKeyFromPublicKey(key.public_key());
      }
    }
    std::shared_ptr<chain::ChainAdapter> adapter;
    std::shared_ptr<did::Resolver> resolver = CliResolver();
    if (!chain_uri.empty()) {
      auto opened = chain::OpenChainAdapter(chain_uri, {.create_if_missing = false});
      if (!opened.ok()) return std::move(opened).error().WithContext("--chain " + chain_uri);
      adapter = std::move(opened).value();
      resolver = controller::MakeChainResolver(adapter);
    }
    controller::StoreAuditOptions options;
    options.tcc_did = tcc_did;
    options.resolver = resolver.get();
    options.chain = adapter.get();
    options.progress = [](std::size_t done, std::size_t total) {
      if (total >= 100 && (done % 100 == 0 || done == total)) {
        std::cerr << "store verify: " << done << "/" << total << " channels\n";
      }
    };
    TCC_ASSIGN_OR_RETURN(controller::StoreAuditReport report,
                         controller::AuditStore(store_path, options));
    if (json) {
      Json out = Json::Object();
      out.Set("ok", report.ok());
      out.Set("tccDid", tcc_did);
      out.Set("checkedOnChain", report.checked_on_chain);
      out.Set("tscs", report.tscs);
      out.Set("bundles", report.bundles);
      out.Set("problemCount", report.problem_count);
      Json channels = Json::Array();
      for (const auto& channel : report.channels) {
        Json entry = Json::Object();
        entry.Set("channel", channel.channel_id);
        entry.Set("headSeq", channel.head_seq);
        entry.Set("anchoredSeq", channel.anchored_seq);
        entry.Set("tscsChecked", channel.tscs_checked);
        entry.Set("bundlesChecked", channel.bundles_checked);
        entry.Set("problems", channel.problems);
        channels.PushBack(std::move(entry));
      }
      out.Set("channels", std::move(channels));
      Json problems = Json::Array();
      for (const auto& problem : report.problems) problems.PushBack(problem);
      out.Set("problems", std::move(problems));
      std::cout << out.SerializePretty() << "\n";
    } else {
      if (tcc_did.empty())
        std::cout << "note: no --tcc-did and no tcc.key: the issuer is not compared\n";
      std::cout << report.ToString();
    }
    if (!report.ok()) {
      return Error(ErrorCode::kVerificationFailed,
                   store_path + ": " + std::to_string(report.problem_count) + " problem(s)");
    }
    return OkStatus();
  });
}

}  // namespace

std::vector<Command> StoreCommands() {
  return {{"store verify", "Check a channel store: hashes, proofs, hash chains, heads, anchors",
           RunStoreVerify}};
}

}  // namespace tcc::cli
