// tcc template validate|show, tcc tic apply|issue|verify, tcc tsc propose|cosign|issue|verify,
// tcc vc hash: the credentials of a trade, on files (the channel carries the same objects).
#include <charconv>
#include <iostream>
#include <optional>

#include "command_line.h"
#include "tcc/did/did_key.h"
#include "tcc/did/key_pair.h"
#include "tcc/vc/transaction.h"

namespace tcc::cli {
namespace {

// A party given on the command line as a DID or as its key file (whose did:key is used).
Result<std::string> PartyDid(const std::string& did_or_key, std::string_view flag) {
  if (did_or_key.rfind("did:", 0) == 0) return did_or_key;
  auto key = did::KeyPair::ReadFile(did_or_key);
  if (!key.ok()) return std::move(key).error().WithContext(std::string(flag));
  return did::DidKeyFromPublicKey(key->public_key());
}

int RunTemplateValidate(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string claim_file;
  CommandLine command_line("template validate",
                           "Check a TIT/TST template against its meta-schema and compile its claim schema;\n"
                           "with --claim, also check a claim against it and list every violation.");
  command_line.Option("claim", "FILE", "A claim to validate against the template.", &claim_file)
      .Positionals("TEMPLATE.json", "The template document.", &files, 1, 1);
  return RunCommand(command_line, "template validate", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(vc::Template template_, ReadTemplate(files[0], "TEMPLATE.json"));
    std::cout << "OK template " << template_.id() << " v" << template_.version() << " ("
              << vc::TemplateKindName(template_.kind()) << ")\n";
    if (claim_file.empty()) return OkStatus();
    TCC_ASSIGN_OR_RETURN(Json claim, ReadJson(claim_file));
    auto violations = template_.claim_validator().Validate(claim);
    for (const auto& violation : violations) std::cout << "  " << violation.ToString() << "\n";
    if (!violations.empty()) {
      return Error(ErrorCode::kVerificationFailed,
                   claim_file + ": " + std::to_string(violations.size()) + " violation(s)");
    }
    std::cout << "OK claim " << claim_file << "\n";
    return OkStatus();
  });
}

int RunTemplateShow(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  std::string chain_uri, id, version;
  bool json = false;
  CommandLine command_line("template show",
                           "Show a template's id, version, kind, owner and content hash, from a file or,\n"
                           "with --chain and --id, as registered on a chain.");
  command_line.Flag("json", "Print JSON instead of text.", &json)
      .Option("chain", "URI", "Read the template from this chain (no default), e.g. local:PATH.", &chain_uri)
      .Option("id", "ID", "Template id on the chain (with --chain).", &id)
      .Option("version", "N", "Version on the chain (default: the latest).", &version)
      .Positionals("TEMPLATE.json", "The template document (without --chain).", &files, 0, 1);
  return RunCommand(command_line, "template show", arguments, [&]() -> Status {
    if (chain_uri.empty() == files.empty() || (chain_uri.empty() && !(id.empty() && version.empty()))) {
      return Error(ErrorCode::kInvalidArgument, "exactly one of TEMPLATE.json or --chain URI --id ID is required");
    }
    TCC_ASSIGN_OR_RETURN(vc::Template template_, chain_uri.empty() ? ReadTemplate(files[0], "TEMPLATE.json")
                                                                   : ReadChainTemplate(chain_uri, id, version));
    if (json) {
      Json out = Json::Object();
      out.Set("id", template_.id());
      out.Set("version", static_cast<std::uint64_t>(template_.version()));
      out.Set("kind", vc::TemplateKindName(template_.kind()));
      out.Set("owner", template_.owner());
      out.Set("title", template_.title());
      out.Set("contentHash", template_.content_hash_hex());
      std::cout << out.SerializePretty() << "\n";
    } else {
      std::cout << "id           " << template_.id() << "\nversion      " << template_.version()
                << "\nkind         " << vc::TemplateKindName(template_.kind()) << "\nowner        "
                << template_.owner() << "\ntitle        " << template_.title() << "\ncontent hash "
                << template_.content_hash_hex() << "\n";
    }
    return OkStatus();
  });
}

int RunTemplateCopy(std::span<const std::string> arguments) {
  std::string owner;
  std::vector<std::string> files;
  CommandLine command_line(
      "template copy",
      "Print a template with its owner set, e.g. an example template made a provider's own\n"
      "before it registers it (the owner's key signs the registration).");
  command_line
      .Option("owner", "DID|KEY",
              "The new owner: a DID, or a key file whose did:key is used (required).", &owner)
      .Positionals("TEMPLATE.json", "The template document.", &files, 1, 1);
  return RunCommand(command_line, "template copy", arguments, [&]() -> Status {
    if (owner.empty()) return MissingOption("--owner DID|KEY");
    TCC_ASSIGN_OR_RETURN(std::string owner_did, PartyDid(owner, "--owner"));
    TCC_ASSIGN_OR_RETURN(Json document, ReadJson(files[0]));
    if (!document.is_object())
      return Error(ErrorCode::kInvalidArgument, files[0] + ": a template must be an object");
    document.Set("owner", owner_did);
    // The copy must still be a valid template.
    auto parsed = vc::Template::Parse(document.Serialize());
    if (!parsed.ok()) return std::move(parsed).error().WithContext(files[0]);
    std::cout << document.SerializePretty() << "\n";
    return OkStatus();
  });
}

int RunTicApply(std::span<const std::string> arguments) {
  std::string tit_file, provider, consumer;
  std::vector<std::string> files;
  CommandLine command_line("tic apply", "Build a TIC application (unsigned credential) from a claim per the TIT.");
  command_line.Option("tit", "FILE", "The provider's TIT template (required).", &tit_file)
      .Option("provider", "DID|KEY",
              "Set the claim's provider: a DID, or a key file whose did:key is used.", &provider)
      .Option("consumer", "DID|KEY",
              "Set the claim's consumer: a DID, or a key file whose did:key is used.", &consumer)
      .Positionals("CLAIM.json", "The consumer's claim.", &files, 1, 1);
  return RunCommand(command_line, "tic apply", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(vc::Template tit, ReadTemplate(tit_file, "--tit"));
    TCC_ASSIGN_OR_RETURN(Json claim, ReadJson(files[0]));
    if (!provider.empty() || !consumer.empty()) {
      if (!claim.is_object())
        return Error(ErrorCode::kInvalidArgument, files[0] + ": a claim must be an object");
      for (auto [flag, value] :
           {std::pair<std::string_view, const std::string*>{"--provider", &provider},
            {"--consumer", &consumer}}) {
        if (value->empty()) continue;
        TCC_ASSIGN_OR_RETURN(std::string did, PartyDid(*value, flag));
        claim.Set(flag.substr(2), did);
      }
    }
    TCC_ASSIGN_OR_RETURN(Json application, vc::ApplyForTic(tit, std::move(claim)));
    std::cout << application.SerializePretty() << "\n";
    return OkStatus();
  });
}

int RunTicIssue(std::span<const std::string> arguments) {
  std::string tit_file, key_file, created;
  std::vector<std::string> files;
  CommandLine command_line("tic issue",
                           "The provider issues a TIC from an application. Prints the TIC; its channel id\n"
                           "goes to stderr.");
  command_line.Option("tit", "FILE", "The TIT template (required).", &tit_file)
      .Option("key", "FILE", "The provider's key file (required).", &key_file)
      .Option("created", "RFC3339", "Proof creation time (default: now).", &created)
      .Positionals("APPLICATION.json", "The consumer's application.", &files, 1, 1);
  return RunCommand(command_line, "tic issue", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(vc::Template tit, ReadTemplate(tit_file, "--tit"));
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
    TCC_ASSIGN_OR_RETURN(Json application, ReadJson(files[0]));
    TCC_ASSIGN_OR_RETURN(Json tic, vc::IssueTic(std::move(application), tit, key, created));
    TCC_ASSIGN_OR_RETURN(std::string channel, vc::CredentialHash(tic));
    std::cout << tic.SerializePretty() << "\n";
    std::cerr << "channel id " << channel << "\n";
    return OkStatus();
  });
}

int RunTicVerify(std::span<const std::string> arguments) {
  std::string tit_file;
  std::vector<std::string> files;
  bool json = false;
  CommandLine command_line("tic verify", "Verify a TIC against its TIT; prints its channel id.");
  command_line.Option("tit", "FILE", "The TIT template (required).", &tit_file)
      .Positionals("TIC.json", "The TIC.", &files, 1, 1)
      .Flag("json", "Print JSON instead of text.", &json);
  return RunCommand(command_line, "tic verify", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(vc::Template tit, ReadTemplate(tit_file, "--tit"));
    TCC_ASSIGN_OR_RETURN(Json tic, ReadJson(files[0]));
    TCC_ASSIGN_OR_RETURN(vc::VerifiedTic verified, vc::VerifyTic(tic, tit, *CliResolver()));
    Json out = Json::Object();
    out.Set("file", files[0]);
    out.Set("channel", verified.channel_id);
    out.Set("provider", verified.provider);
    out.Set("consumer", verified.consumer);
    if (!verified.tst_id.empty()) {
      out.Set("tst", verified.tst_id);
      out.Set("tstVersion", static_cast<std::uint64_t>(verified.tst_version));
    }
    PrintOutcome(json,
                 "OK " + files[0] + " channel=" + verified.channel_id + " provider=" + verified.provider +
                     " consumer=" + verified.consumer,
                 out);
    return OkStatus();
  });
}

Result<std::uint64_t> ParseSeq(const std::string& text) {
  std::uint64_t seq = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), seq);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || seq == 0) {
    return Error(ErrorCode::kInvalidArgument, "--seq must be a positive integer, not \"" + text + "\"");
  }
  return seq;
}

int RunTscPropose(std::span<const std::string> arguments) {
  std::string tst_file, key_file, channel, seq_text, prev, created, tic_file;
  std::vector<std::string> files;
  CommandLine command_line("tsc propose",
                           "The provider proposes a settlement: sets channel, seq and prev on the claim,\n"
                           "checks it against the TST and signs it.");
  command_line.Option("tst", "FILE", "The TST template (required).", &tst_file)
      .Option("key", "FILE", "The provider's key file (required).", &key_file)
      .Option("tic", "FILE",
              "The channel's TIC: sets the claim's provider and consumer, and --channel (its\n"
              "      hash) and, for seq 1, --prev when they are not given.",
              &tic_file)
      .Option("channel", "ID", "Channel id (the TIC's hash; see 'tcc vc hash').", &channel)
      .Option("seq", "N", "Sequence number, 1 for the first settlement.", &seq_text)
      .Option("prev", "HASH", "Hash of the previous TSC, or of the TIC for seq 1.", &prev)
      .Option("created", "RFC3339", "Proof creation time (default: now).", &created)
      .Positionals("CLAIM.json", "The settlement claim per the TST.", &files, 1, 1);
  return RunCommand(command_line, "tsc propose", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(Json claim, ReadJson(files[0]));
    if (!claim.is_object())
      return Error(ErrorCode::kInvalidArgument, files[0] + ": a claim must be an object");
    if (!tic_file.empty()) {
      TCC_ASSIGN_OR_RETURN(Json tic, ReadJson(tic_file));
      const Json* subject = tic.Find("credentialSubject");
      for (const char* party : {"provider", "consumer"}) {
        const Json* did = subject != nullptr ? subject->Find(party) : nullptr;
        if (did == nullptr || !did->is_string()) {
          return Error(ErrorCode::kInvalidArgument,
                       tic_file + ": not a TIC (no credentialSubject." + party + ")");
        }
        claim.Set(party, *did);
      }
      TCC_ASSIGN_OR_RETURN(std::string tic_hash, vc::CredentialHash(tic));
      if (channel.empty()) channel = tic_hash;
      if (prev.empty() && seq_text == "1") prev = tic_hash;
    }
    if (channel.empty() || seq_text.empty() || prev.empty()) {
      return Error(ErrorCode::kInvalidArgument, "--channel, --seq and --prev are all required");
    }
    TCC_ASSIGN_OR_RETURN(std::uint64_t seq, ParseSeq(seq_text));
    TCC_ASSIGN_OR_RETURN(vc::Template tst, ReadTemplate(tst_file, "--tst"));
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
    claim.Set("channel", channel);
    claim.Set("seq", seq);
    claim.Set("prev", prev);
    TCC_ASSIGN_OR_RETURN(Json proposal, vc::ProposeSettlement(tst, std::move(claim), key, created));
    std::cout << proposal.SerializePretty() << "\n";
    return OkStatus();
  });
}

int RunTscCosign(std::span<const std::string> arguments) {
  std::string tst_file, key_file, created;
  std::vector<std::string> files;
  CommandLine command_line("tsc cosign",
                           "The consumer checks a proposal (TST, provider's proof) and co-signs it.");
  command_line.Option("tst", "FILE", "The TST template (required).", &tst_file)
      .Option("key", "FILE", "The consumer's key file (required).", &key_file)
      .Option("created", "RFC3339", "Proof creation time (default: now).", &created)
      .Positionals("PROPOSAL.json", "The provider's proposal.", &files, 1, 1);
  return RunCommand(command_line, "tsc cosign", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(vc::Template tst, ReadTemplate(tst_file, "--tst"));
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
    TCC_ASSIGN_OR_RETURN(Json proposal, ReadJson(files[0]));
    TCC_ASSIGN_OR_RETURN(Json joint, vc::CosignSettlement(tst, std::move(proposal), key, *CliResolver(), created));
    std::cout << joint.SerializePretty() << "\n";
    return OkStatus();
  });
}

int RunTscIssue(std::span<const std::string> arguments) {
  std::string tst_file, key_file, created;
  std::vector<std::string> files;
  CommandLine command_line("tsc issue",
                           "Issue a jointly signed claim as a TSC with a TCC key (what tccd does per\n"
                           "settlement; the daemon also enforces the channel's sequence and hash chain).");
  command_line.Option("tst", "FILE", "The TST template (required).", &tst_file)
      .Option("key", "FILE", "The TCC's key file (required).", &key_file)
      .Option("created", "RFC3339", "Proof creation time (default: now).", &created)
      .Positionals("JOINT.json", "The co-signed claim.", &files, 1, 1);
  return RunCommand(command_line, "tsc issue", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(vc::Template tst, ReadTemplate(tst_file, "--tst"));
    TCC_ASSIGN_OR_RETURN(did::KeyPair key, ReadKey(key_file));
    TCC_ASSIGN_OR_RETURN(Json joint, ReadJson(files[0]));
    TCC_RETURN_IF_ERROR(vc::VerifyJointClaim(joint, tst, *CliResolver()));
    TCC_ASSIGN_OR_RETURN(Json tsc, vc::IssueTsc(std::move(joint), tst, key, created));
    std::cout << tsc.SerializePretty() << "\n";
    return OkStatus();
  });
}

int RunTscVerify(std::span<const std::string> arguments) {
  std::string tst_file, issuer, prev;
  std::vector<std::string> files;
  bool json = false;
  CommandLine command_line("tsc verify",
                           "Verify TSCs at both levels: the TCC's proof and the parties' joint proof, the\n"
                           "TST, and optionally the issuer and the hash link. With several files, each\n"
                           "must link to the one before it. Prints 'OK FILE seq=N' or 'FAIL FILE: reason'.");
  command_line.Option("tst", "FILE", "The TST template (required).", &tst_file)
      .Option("issuer", "DID", "Require this TCC DID as issuer.", &issuer)
      .Option("prev", "HASH", "Require the first TSC's prev to be this hash.", &prev)
      .Positionals("TSC.json", "TSC files, in sequence order.", &files, 1, 0)
      .Flag("json", "Print a JSON array of {file, ok, detail|error} instead of text.", &json);
  auto parsed = command_line.Parse(arguments);
  if (!parsed.ok()) return kExitUsage;
  if (!*parsed) return kExitOk;
  auto tst = ReadTemplate(tst_file, "--tst");
  if (!tst.ok()) return ReportError("tsc verify", tst.error());
  auto resolver = CliResolver();
  std::optional<std::string> expected_prev;
  if (!prev.empty()) expected_prev = prev;
  return VerifyEach(files, [&](const Json& tsc) -> Result<std::string> {
    vc::TscVerifyOptions options{.expected_prev = expected_prev};
    if (!issuer.empty()) options.expected_issuer = issuer;
    auto link = vc::VerifyTsc(tsc, *tst, *resolver, options);
    // Each file must link to the one before it; after a failure the chain is unknown.
    expected_prev.reset();
    if (!link.ok()) return link.error();
    expected_prev = vc::CredentialHash(tsc).value();
    return "seq=" + std::to_string(link->seq);
  }, json);
}

int RunVcHash(std::span<const std::string> arguments) {
  std::vector<std::string> files;
  CommandLine command_line("vc hash",
                           "Print the hash of a credential: hex SHA-256 of its RFC 8785 form (a TIC's hash\n"
                           "is its channel id; a TSC's hash is the next TSC's prev).");
  command_line.Positionals("FILE", "Credential file.", &files, 1, 1);
  return RunCommand(command_line, "vc hash", arguments, [&]() -> Status {
    TCC_ASSIGN_OR_RETURN(Json credential, ReadJson(files[0]));
    TCC_ASSIGN_OR_RETURN(std::string hash, vc::CredentialHash(credential));
    std::cout << hash << "\n";
    return OkStatus();
  });
}

}  // namespace

std::vector<Command> TradeCommands() {
  return {
      {"template validate", "Check a TIT/TST template (and optionally a claim against it)",
       RunTemplateValidate},
      {"template show", "Show a template's id, version, kind, owner and content hash",
       RunTemplateShow},
      {"template copy", "Print a template with its owner set (a provider's own copy)",
       RunTemplateCopy},
      {"tic apply", "Build a TIC application from a claim per the TIT", RunTicApply},
      {"tic issue", "Issue a TIC (provider)", RunTicIssue},
      {"tic verify", "Verify a TIC and print its channel id", RunTicVerify},
      {"tsc propose", "Propose a settlement claim (provider)", RunTscPropose},
      {"tsc cosign", "Check and co-sign a proposal (consumer)", RunTscCosign},
      {"tsc issue", "Issue a co-signed claim as a TSC (TCC key)", RunTscIssue},
      {"tsc verify", "Verify TSCs: both proof levels, TST, hash links", RunTscVerify},
      {"vc hash", "Print a credential's hash (channel id / prev)", RunVcHash},
  };
}

}  // namespace tcc::cli
