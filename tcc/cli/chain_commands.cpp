// tcc ledger verify, tcc evidence anchor|verify, tcc template register|list, tcc tic record,
// tcc did register: the commands that talk to a chain through the adapter a --chain URI names.
//
// There is no default chain: every command that needs one requires --chain URI, so nothing is
// written to a ledger the operator did not name. While tccd runs, its ledger is reached through it
// (chain_open.h). Inputs are read and checked before the chain is
// opened, so bad input changes nothing (and does not create a local: ledger).
#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "chain_open.h"
#include "command_line.h"
#include "tcc/chain/evidence.h"
#include "tcc/chain/factory.h"
#include "tcc/chain/ledger_verifier.h"
#include "tcc/client/channel_client.h"
#include "tcc/common/bytes.h"
#include "tcc/common/file.h"
#include "tcc/controller/chain_resolver.h"
#include "tcc/controller/chain_template_registry.h"
#include "tcc/did/did_key.h"
#include "tcc/vc/jcs.h"
#include "tcc/vc/transaction.h"
#include "tcc/vcapi/tsc_evidence.h"

namespace tcc::cli {
namespace {

std::string DescribeReceipt(const chain::ChainReceipt& receipt) {
  return "height " + std::to_string(receipt.height) + " tx " + receipt.tx;
}

Json ReceiptJson(const chain::ChainReceipt& receipt) {
  Json out = Json::Object();
  out.Set("adapter", receipt.adapter);
  out.Set("height", receipt.height);
  out.Set("tx", receipt.tx);
  out.Set("blockHash", HexEncode(receipt.block_hash));
  out.Set("timestampMs", receipt.timestamp_ms);
  return out;
}

Result<std::uint32_t> ParseVersion(const std::string& text) {
  std::uint32_t version = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || version == 0) {
    return Error(ErrorCode::kInvalidArgument, "--version must be a positive integer, not \"" + text + "\"");
  }
  return version;
}

int RunLedgerVerify(std::span<const std::string> arguments) {
  std::vector<std::string> paths;
  CommandLine command_line("ledger verify",
                           "Walk an embedded ledger and check every block's hash links, entries and index\n"
                           "keys; prints a report. The ledger must not be open in a running tccd.\n"
                           "Exit codes: 0 intact, 1 problems found, 3 cannot open (missing, locked, unreadable).");
  bool json = false;
  command_line.Positionals("PATH", "The ledger directory (PATH or local:PATH).", &paths, 1, 1)
      .Flag("json", "Print JSON instead of text.", &json);
  return RunCommand(command_line, "ledger verify", arguments, [&]() -> Status {
    std::string path = paths[0];
    if (path.starts_with("local:")) {
      TCC_ASSIGN_OR_RETURN(chain::LocalLedgerOptions options, chain::ParseLocalUri(path));
      path = options.path;
    }
    auto report = chain::VerifyLedger(path);
    if (!report.ok()) return std::move(report).error().WithContext(path);
    Json out = Json::Object();
    out.Set("ok", report->ok());
    out.Set("blocks", report->blocks);
    out.Set("entries", report->entries);
    out.Set("indexKeys", report->index_keys);
    out.Set("headHeight", report->head_height);
    out.Set("headHash", HexEncode(report->head_hash));
    out.Set("problemCount", report->problem_count);
    Json problems = Json::Array();
    for (const auto& problem : report->problems) problems.PushBack(problem);
    out.Set("problems", std::move(problems));
    if (json) {
      std::cout << out.SerializePretty() << "\n";
    } else {
      std::cout << report->ToString();
    }
    if (!report->ok()) {
      return Error(ErrorCode::kVerificationFailed, path + ": " + std::to_string(report->problem_count) + " problem(s)");
    }
    return OkStatus();
  });
}

int RunEvidenceVerify(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string chain_uri, tsc_file, closing_file, tcc_did;
  bool json = false;
  CommandLine command_line(
      "evidence verify",
      "Verify evidence bundles offline (leaf and Merkle path to the root) and, with\n"
      "--chain, that the root is anchored as the receipt says. With --tsc, also that\n"
      "the bundle commits to that TSC (hash, channel, seq). With --closing and --tcc,\n"
      "that the bundle is the closing leaf of that closing record (channel, last seq,\n"
      "the record's hash) and that the TCC signed the record. Prints 'OK FILE ...' or\n"
      "'FAIL FILE: reason' per bundle. Exit codes: 0 all verify, 1 any fails, 2 usage,\n"
      "3 the chain, the TSC or the closing record cannot be read.");
  command_line.Option("chain", "URI", ChainHelp(false), &chain_uri)
      .Option("tsc", "FILE", "The TSC the bundle is for (one BUNDLE only).", &tsc_file)
      .Option("closing", "FILE",
              "The closing record the bundle is for (one BUNDLE only; needs --tcc).", &closing_file)
      .Option("tcc", "DID", "The TCC's DID, which must have signed the --closing record.", &tcc_did)
      .Positionals("BUNDLE.json", "Evidence bundle files.", &files, 1, 0)
      .Flag("json", "Print a JSON array of {file, ok, detail|error} instead of text.", &json);
  return RunCommand(command_line, "evidence verify", arguments, [&]() -> Status {
    std::optional<chain::EvidenceItem> expected;
    if (!tsc_file.empty() && !closing_file.empty())
      return UsageError("--tsc and --closing exclude each other");
    if (!tsc_file.empty()) {
      if (files.size() != 1) return Error(ErrorCode::kInvalidArgument, "with --tsc, exactly one BUNDLE is required");
      TCC_ASSIGN_OR_RETURN(Json tsc, ReadJson(tsc_file));
      auto item = vcapi::TscEvidenceItem(tsc);
      if (!item.ok()) return std::move(item).error().WithContext(tsc_file);
      expected = *item;
    }
    std::optional<Json> closing;
    std::shared_ptr<did::Resolver> resolver;
    if (!closing_file.empty()) {
      if (files.size() != 1) return UsageError("with --closing, exactly one BUNDLE is required");
      if (tcc_did.empty())
        return UsageError("--closing needs --tcc, the DID that must have signed it");
      TCC_ASSIGN_OR_RETURN(closing, ReadJson(closing_file));
      resolver = CliResolver();
    } else if (!tcc_did.empty()) {
      return UsageError("--tcc is only for --closing");
    }
    std::shared_ptr<chain::ChainAdapter> adapter;
    if (!chain_uri.empty()) {
      TCC_ASSIGN_OR_RETURN(adapter, OpenCliChain(chain_uri, ChainAccess::kRead));
    }
    int exit_code = VerifyEach(files, [&](const Json& bundle_json) -> Result<std::string> {
      TCC_ASSIGN_OR_RETURN(chain::EvidenceBundle bundle, chain::EvidenceBundleFromJson(bundle_json));
      if (expected && !(bundle.item == *expected)) {
        return Error(ErrorCode::kVerificationFailed,
                     "bundle is for channel " + bundle.item.channel_id + " seq " + std::to_string(bundle.item.seq) +
                         " TSC " + HexEncode(bundle.item.tsc_hash) + ", not for " + tsc_file + " (channel " +
                         expected->channel_id + " seq " + std::to_string(expected->seq) + " TSC " +
                         HexEncode(expected->tsc_hash) + ")");
      }
      if (closing) {
        Status record = client::VerifyClosingEvidence(*closing, bundle, tcc_did, *resolver);
        if (!record.ok()) return record.error().WithContext(closing_file);
      }
      TCC_RETURN_IF_ERROR(chain::VerifyEvidenceBundle(bundle));
      const bool closing_leaf = bundle.item.kind == chain::EvidenceKind::kClosing;
      std::string detail = std::string(closing_leaf ? "closing record, last " : "") +
                           "seq=" + std::to_string(bundle.item.seq) + " batch=" + bundle.batch_id;
      if (closing) detail += " signed by " + tcc_did;
      if (adapter == nullptr) return detail + " (offline)";
      TCC_ASSIGN_OR_RETURN(auto anchor, chain::VerifyEvidenceBundleOnChain(bundle, *adapter));
      return detail + " anchored at height " + std::to_string(anchor.receipt.height);
    }, json);
    if (exit_code != kExitOk) return Error(ErrorCode::kVerificationFailed, "not every bundle verifies");
    return OkStatus();
  });
}

int RunEvidenceAnchor(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string chain_uri, out_dir, batch_id;
  CommandLine command_line("evidence anchor",
                           "Anchor TSCs as one Merkle batch (a leaf per TSC: channel, seq, TSC hash) and write\n"
                           "an evidence bundle per TSC, NAME.evidence.json next to NAME.json or in --out-dir.\n"
                           "What tccd does per interval; the TSCs are not re-verified here (tsc verify).\n"
                           "Anchoring the same TSCs again returns the existing receipt.");
  command_line.Option("chain", "URI", ChainHelp(), &chain_uri)
      .Option("out-dir", "DIR", "Directory for the bundles, created if missing (default: next to each TSC).", &out_dir)
      .Option("batch-id", "ID", "Batch id (default: derived from the leaves, so a rerun is idempotent).", &batch_id)
      .Positionals("TSC.json", "TSC files.", &files, 1, 0);
  return RunCommand(command_line, "evidence anchor", arguments, [&]() -> Status {
    if (chain_uri.empty()) return MissingOption("--chain URI");
    // Everything is read and checked before anything is anchored.
    chain::EvidenceBatchBuilder builder;
    Sha256Hasher leaves_hash;
    for (const auto& file : files) {
      TCC_ASSIGN_OR_RETURN(Json tsc, ReadJson(file));
      auto item = vcapi::TscEvidenceItem(tsc);
      if (!item.ok()) return std::move(item).error().WithContext(file);
      auto leaf = chain::EvidenceLeaf(*item);
      if (!leaf.ok()) return std::move(leaf).error().WithContext(file);
      leaves_hash.Update(*leaf);
      TCC_RETURN_IF_ERROR(builder.Add(std::move(item).value()));
    }
    if (batch_id.empty()) batch_id = "cli-" + HexEncode(leaves_hash.Finish());
    if (!out_dir.empty()) {
      std::error_code error;
      std::filesystem::create_directories(out_dir, error);
      if (error) return Error(ErrorCode::kIo, "cannot create --out-dir " + out_dir + ": " + error.message());
    }
    TCC_ASSIGN_OR_RETURN(chain::EvidenceBatch batch, builder.Build(batch_id));
    TCC_ASSIGN_OR_RETURN(auto adapter, OpenCliChain(chain_uri, ChainAccess::kWrite));
    auto anchored = adapter->Anchor(batch.anchor());
    if (!anchored.ok()) return std::move(anchored).error().WithContext("anchor batch " + batch_id);
    std::cout << "anchored batch " << batch_id << ": " << batch.size() << " leaves, root " << HexEncode(batch.root())
              << ", " << DescribeReceipt(anchored->receipt) << "\n";
    for (std::size_t i = 0; i < files.size(); ++i) {
      TCC_ASSIGN_OR_RETURN(chain::EvidenceBundle bundle, batch.Bundle(i, anchored->receipt));
      std::filesystem::path out = files[i];
      out.replace_extension(".evidence.json");
      if (!out_dir.empty()) out = std::filesystem::path(out_dir) / out.filename();
      TCC_RETURN_IF_ERROR(WriteFileAtomic(out.string(), chain::EvidenceBundleToJson(bundle).SerializePretty() + "\n"));
      std::cout << "wrote " << out.string() << "\n";
    }
    return OkStatus();
  });
}

int RunTemplateRegister(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string chain_uri, key_file;
  bool json = false;
  CommandLine command_line("template register",
                           "Register a TIT/TST version on a chain. The key's did:key must be the template's\n"
                           "owner; only the owner of an id may add versions, versions follow each other from\n"
                           "1, and a registered version never changes (registering it again is a no-op).");
  command_line.Option("chain", "URI", ChainHelp(), &chain_uri)
      .Option("key", "FILE", "The owner's key file (required).", &key_file)
      .Positionals("TEMPLATE.json", "The template document.", &files, 1, 1)
      .Flag("json", "Print JSON instead of text.", &json);
  return RunCommand(command_line, "template register", arguments, [&]() -> Status {
    if (chain_uri.empty()) return MissingOption("--chain URI");
    TCC_ASSIGN_OR_RETURN(vc::Template template_, ReadTemplate(files[0], "TEMPLATE.json"));
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
    std::string publisher = did::DidKeyFromPublicKey(key.public_key());
    if (publisher != template_.owner()) {
      return Error(ErrorCode::kPermissionDenied, "the key's DID " + publisher + " is not the owner of " +
                                                     template_.id() + " (" + template_.owner() + ")");
    }
    TCC_ASSIGN_OR_RETURN(auto adapter, OpenCliChain(chain_uri, ChainAccess::kWrite));
    controller::ChainTemplateRegistry registry(adapter);
    TCC_ASSIGN_OR_RETURN(controller::TemplatePublication publication, registry.PublishWithReceipt(template_, publisher));
    const bool published = publication.outcome == vc::PublishOutcome::kPublished;
    Json out = Json::Object();
    out.Set("registered", published);
    out.Set("kind", vc::TemplateKindName(template_.kind()));
    out.Set("id", template_.id());
    out.Set("version", static_cast<std::uint64_t>(template_.version()));
    out.Set("contentHash", template_.content_hash_hex());
    out.Set("receipt", ReceiptJson(publication.receipt));
    PrintOutcome(json,
                 std::string(published ? "registered " : "already registered ") +
                     std::string(vc::TemplateKindName(template_.kind())) + " " + template_.id() + " v" +
                     std::to_string(template_.version()) + " content hash " + template_.content_hash_hex() + " at " +
                     DescribeReceipt(publication.receipt),
                 out);
    return OkStatus();
  });
}

int RunTemplateList(std::span<const std::string> arguments) {
  std::string chain_uri, owner, kind;
  bool json = false;
  CommandLine command_line("template list",
                           "List the templates registered on a chain (latest version of each id), sorted by id.");
  command_line.Option("chain", "URI", ChainHelp(), &chain_uri)
      .Option("owner", "DID", "Only templates owned by this DID.", &owner)
      .Option("kind", "TIT|TST", "Only templates of this kind.", &kind)
      .Flag("json", "Print a JSON array instead of text.", &json);
  return RunCommand(command_line, "template list", arguments, [&]() -> Status {
    vc::TemplateQuery query;
    if (!owner.empty()) query.owner = owner;
    if (kind == "TIT") {
      query.kind = vc::TemplateKind::kTit;
    } else if (kind == "TST") {
      query.kind = vc::TemplateKind::kTst;
    } else if (!kind.empty()) {
      return Error(ErrorCode::kInvalidArgument, "--kind must be TIT or TST, not \"" + kind + "\"");
    }
    TCC_ASSIGN_OR_RETURN(auto adapter, OpenCliChain(chain_uri, ChainAccess::kRead));
    controller::ChainTemplateRegistry registry(adapter);
    Json out = Json::Array();
    while (true) {
      TCC_ASSIGN_OR_RETURN(std::vector<vc::TemplateSummary> page, registry.List(query));
      for (const auto& summary : page) {
        if (json) {
          Json entry = Json::Object();
          entry.Set("id", summary.id);
          entry.Set("version", static_cast<std::uint64_t>(summary.latest_version));
          entry.Set("kind", vc::TemplateKindName(summary.kind));
          entry.Set("owner", summary.owner);
          entry.Set("contentHash", HexEncode(summary.latest_content_hash));
          out.PushBack(std::move(entry));
        } else {
          std::cout << summary.id << " v" << summary.latest_version << " " << vc::TemplateKindName(summary.kind)
                    << " " << summary.owner << " " << HexEncode(summary.latest_content_hash) << "\n";
        }
      }
      if (page.size() < query.limit) break;
      query.after_id = page.back().id;
    }
    if (json) std::cout << out.SerializePretty() << "\n";
    return OkStatus();
  });
}

int RunTicRecord(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string chain_uri, tcc_did;
  bool json = false;
  CommandLine command_line("tic record",
                           "Record a TIC on a chain, naming the TCC that should open its channel. The TIC is\n"
                           "verified first against its TIT as registered on that chain (credentialSchema).\n"
                           "Stored in RFC 8785 form under its hash, which is the channel id.");
  command_line.Option("chain", "URI", ChainHelp(), &chain_uri)
      .Option("tcc", "DID", "The DID of the TCC that should open the channel (required).", &tcc_did)
      .Positionals("TIC.json", "The issued TIC.", &files, 1, 1)
      .Flag("json", "Print JSON instead of text.", &json);
  return RunCommand(command_line, "tic record", arguments, [&]() -> Status {
    if (chain_uri.empty()) return MissingOption("--chain URI");
    if (tcc_did.empty()) return MissingOption("--tcc DID");
    TCC_ASSIGN_OR_RETURN(Json tic, ReadJson(files[0]));
    auto named = vc::ReadNamedTemplate(tic);
    if (!named.ok()) return std::move(named).error().WithContext(files[0] + ": the TIC's TIT");
    const std::string& tit_id = named->id;
    const std::uint32_t tit_version = named->version;
    TCC_ASSIGN_OR_RETURN(std::string content, vc::Canonicalize(tic));
    TCC_ASSIGN_OR_RETURN(std::string tic_id, vc::CredentialHash(tic));

    TCC_ASSIGN_OR_RETURN(auto adapter, OpenCliChain(chain_uri, ChainAccess::kWrite));
    controller::ChainTemplateRegistry registry(adapter);
    TCC_ASSIGN_OR_RETURN(vc::Template tit, registry.Get(tit_id, tit_version));
    auto resolver = controller::MakeChainResolver(adapter);
    auto verified = vc::VerifyTic(tic, tit, *resolver);
    if (!verified.ok()) return std::move(verified).error().WithContext(files[0]);
    auto tcc = resolver->Resolve(tcc_did);
    if (!tcc.ok()) return std::move(tcc).error().WithContext("--tcc");
    auto recorded = adapter->RecordTic({tic_id, tcc_did, Bytes(content.begin(), content.end())});
    if (!recorded.ok()) return std::move(recorded).error().WithContext("record TIC " + tic_id);
    Json out = Json::Object();
    out.Set("tic", tic_id);
    out.Set("channel", tic_id);
    out.Set("tcc", tcc_did);
    out.Set("receipt", ReceiptJson(recorded->receipt));
    PrintOutcome(json, "recorded TIC " + tic_id + " for " + tcc_did + " at " + DescribeReceipt(recorded->receipt), out);
    return OkStatus();
  });
}

int RunDidRegister(std::span<const std::string> arguments) {
  std::string chain_uri, key_file, document_file;
  bool json = false;
  CommandLine command_line("did register",
                           "Register a DID document on a chain: the key's did:key document, or --document,\n"
                           "which must list the key under authentication (the key proves control). A DID\n"
                           "already registered with the same document is a no-op; with another, an error.");
  command_line.Option("chain", "URI", ChainHelp(), &chain_uri)
      .Option("key", "FILE", "The controlling key file (required).", &key_file)
      .Option("document", "FILE", "The DID document (default: the key's did:key document).", &document_file)
      .Flag("json", "Print JSON instead of text.", &json);
  return RunCommand(command_line, "did register", arguments, [&]() -> Status {
    if (chain_uri.empty()) return MissingOption("--chain URI");
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
    did::DidDocument document = did::DidDocument::ForDidKey(key.public_key());
    if (!document_file.empty()) {
      TCC_ASSIGN_OR_RETURN(Json document_json, ReadJson(document_file));
      auto parsed = did::DidDocument::FromJson(document_json);
      if (!parsed.ok()) return std::move(parsed).error().WithContext(document_file);
      document = std::move(parsed).value();
      bool controls = false;
      for (const auto& method : document.authentication) {
        auto listed = document.Ed25519KeyFor(method, did::Relationship::kAuthentication);
        controls |= listed.ok() && *listed == key.public_key();
      }
      if (!controls) {
        return Error(ErrorCode::kPermissionDenied,
                     document_file + ": the key is not an authentication key of " + document.id);
      }
    }
    TCC_ASSIGN_OR_RETURN(auto adapter, OpenCliChain(chain_uri, ChainAccess::kWrite));
    // The normalized form: what is stored always parses back to the same document.
    std::string bytes = document.ToJson().Serialize();
    auto registered = adapter->RegisterDid(document.id, AsBytes(bytes));
    if (!registered.ok()) return std::move(registered).error().WithContext("register " + document.id);
    Json out = Json::Object();
    out.Set("did", document.id);
    out.Set("version", registered->value.version);
    out.Set("receipt", ReceiptJson(registered->receipt));
    PrintOutcome(json,
                 "registered " + document.id + " version " + std::to_string(registered->value.version) + " at " +
                     DescribeReceipt(registered->receipt),
                 out);
    return OkStatus();
  });
}

}  // namespace

Result<vc::Template> ReadChainTemplate(const std::string& chain_uri, const std::string& id,
                                       const std::string& version) {
  if (id.empty()) return MissingOption("--id ID");
  std::optional<std::uint32_t> wanted;
  if (!version.empty()) {
    TCC_ASSIGN_OR_RETURN(wanted, ParseVersion(version));
  }
  TCC_ASSIGN_OR_RETURN(auto adapter, OpenCliChain(chain_uri, ChainAccess::kRead));
  controller::ChainTemplateRegistry registry(adapter);
  TCC_ASSIGN_OR_RETURN(auto recorded, registry.Fetch(id, wanted));
  return std::move(recorded.value);
}

std::vector<Command> ChainCommands() {
  return {
      {"ledger verify", "Check an embedded ledger's hash links, entries and index", RunLedgerVerify},
      {"evidence anchor", "Anchor TSCs as one Merkle batch and write their bundles", RunEvidenceAnchor},
      {"evidence verify", "Verify evidence bundles offline and against a chain", RunEvidenceVerify},
      {"template register", "Register a template version on a chain (owner key)", RunTemplateRegister},
      {"template list", "List the templates registered on a chain", RunTemplateList},
      {"tic record", "Record a verified TIC on a chain for a TCC", RunTicRecord},
      {"did register", "Register a DID document on a chain", RunDidRegister},
  };
}

}  // namespace tcc::cli
