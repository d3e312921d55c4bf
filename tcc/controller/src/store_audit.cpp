#include "tcc/controller/store_audit.h"

#include <map>
#include <optional>
#include <sstream>
#include <utility>

#include "channel_store.h"
#include "tcc/chain/evidence.h"
#include "tcc/common/bytes.h"
#include "tcc/common/json.h"
#include "tcc/controller/chain_template_registry.h"
#include "tcc/vc/credential.h"
#include "tcc/vc/transaction.h"
#include "tcc/wire/dispute.h"

namespace tcc::controller {
namespace {

// Reads one store through ChannelStore, which already refuses TSC text that does not hash to its
// stored hash; the proofs, links, heads and bundles are checked here.
class Auditor {
 public:
  Auditor(ChannelStore& store, const StoreAuditOptions& options, StoreAuditReport& report)
      : store_(store), options_(options), report_(report) {
    if (options_.chain != nullptr) {
      // The registry takes shared ownership; the caller keeps the adapter alive for the audit.
      registry_.emplace(
          std::shared_ptr<chain::ChainAdapter>(options_.chain, [](chain::ChainAdapter*) {}));
    }
  }

  void AuditChannel(const ChannelRecord& channel) {
    ChannelAudit audit;
    audit.channel_id = channel.channel_id;
    audit.head_seq = channel.last_seq;
    channel_ = &audit;
    const std::optional<vc::Template> tst = LoadTst(channel);
    std::optional<std::string> prev = channel.channel_id;
    for (std::uint64_t seq = 1; seq <= channel.last_seq; ++seq)
      prev = AuditTsc(channel, seq, prev, tst);
    const std::string last_hash = HexEncode(channel.last_hash);
    if (prev && channel.last_seq > 0 && *prev != last_hash) {
      Problem(channel.last_seq,
              "the head names hash " + last_hash + ", the TSC stored hashes to " + *prev);
    }
    if (channel.last_seq == 0 && last_hash != channel.channel_id) {
      Problem(0, "a channel without TSCs must name its own id as head hash, not " + last_hash);
    }
    auto beyond = store_.ListTscs(channel.channel_id, channel.last_seq, 1);
    if (!beyond.ok()) {
      Problem(channel.last_seq + 1, beyond.error().message());
    } else if (!beyond->empty()) {
      Problem(beyond->front().seq,
              "a TSC is stored beyond the head (seq " + std::to_string(channel.last_seq) + ")");
    }
    AuditBundles(channel);
    report_.tscs += audit.tscs_checked;
    report_.bundles += audit.bundles_checked;
    report_.channels.push_back(std::move(audit));
    channel_ = nullptr;
  }

 private:
  void Problem(std::uint64_t seq, const std::string& what) {
    ++channel_->problems;
    ++report_.problem_count;
    if (report_.problems.size() < StoreAuditReport::kMaxListedProblems) {
      report_.problems.push_back("channel " + channel_->channel_id + " seq " + std::to_string(seq) +
                                 ": " + what);
    }
  }

  std::optional<vc::Template> LoadTst(const ChannelRecord& channel) {
    if (!registry_) return std::nullopt;
    auto tst = registry_->Get(channel.tst_id, channel.tst_version);
    if (!tst.ok()) {
      Problem(0, "its TST " + channel.tst_id + " v" + std::to_string(channel.tst_version) +
                     " cannot be read from the chain: " + tst.error().message());
      return std::nullopt;
    }
    return std::move(tst).value();
  }

  // Returns the TSC's hash for the next link, or nullopt when this one could not be read (the next
  // TSC's prev is then not compared rather than reported twice).
  std::optional<std::string> AuditTsc(const ChannelRecord& channel, std::uint64_t seq,
                                      const std::optional<std::string>& prev,
                                      const std::optional<vc::Template>& tst) {
    auto record = store_.GetTsc(channel.channel_id, seq);
    if (!record.ok()) {
      Problem(seq, record.error().message());
      return std::nullopt;
    }
    auto document = Json::Parse(record->tsc);  // ChannelStore has parsed and hashed it already
    if (!document.ok()) {
      Problem(seq, document.error().message());
      return std::nullopt;
    }
    const std::uint64_t before = channel_->problems;
    // What was issued once stays valid as evidence: the validity period is not what is audited.
    vc::CredentialVerifyOptions credential;
    credential.check_validity_period = false;
    std::optional<vc::SettlementLink> link;
    if (tst) {
      vc::TscVerifyOptions options;
      options.credential = credential;
      if (!options_.tcc_did.empty()) options.expected_issuer = options_.tcc_did;
      auto verified = vc::VerifyTsc(*document, *tst, *options_.resolver, options);
      if (verified.ok()) {
        link = std::move(verified).value();
      } else {
        Problem(seq, verified.error().message());
      }
    } else {
      auto verified = vc::VerifyCredential(*document, *options_.resolver, credential);
      if (!verified.ok()) {
        Problem(seq, "the TCC's proof: " + verified.error().message());
      } else if (!options_.tcc_did.empty() && verified->issuer != options_.tcc_did) {
        Problem(seq,
                "issued by " + verified->issuer + ", not by this TCC (" + options_.tcc_did + ")");
      }
      const Json* subject = document->Find("credentialSubject");
      auto read =
          subject != nullptr
              ? vc::ReadSettlementLink(*subject)
              : Result<vc::SettlementLink>(Error(ErrorCode::kParse, "no credentialSubject"));
      if (read.ok()) {
        link = std::move(read).value();
      } else {
        Problem(seq, "its claim's channel/seq/prev: " + read.error().message());
      }
    }
    if (link) {
      if (link->channel != channel.channel_id) Problem(seq, "names channel " + link->channel);
      if (link->seq != seq) Problem(seq, "names seq " + std::to_string(link->seq));
      if (prev && link->prev != *prev) {
        Problem(seq, "prev is " + link->prev + ", the TSC before hashes to " + *prev +
                         " (the hash chain forks)");
      }
    }
    if (channel_->problems == before) ++channel_->tscs_checked;
    return HexEncode(record->tsc_hash);
  }

  void AuditBundles(const ChannelRecord& channel) {
    auto anchored = store_.AnchoredSeq(channel.channel_id);
    if (!anchored.ok()) {
      Problem(0, anchored.error().message());
      return;
    }
    channel_->anchored_seq = *anchored;
    if (*anchored > channel.last_seq) {
      Problem(*anchored, "anchored beyond the head (seq " + std::to_string(channel.last_seq) + ")");
    }
    for (std::uint64_t seq = 1; seq <= *anchored; ++seq) {
      auto bundle = store_.GetBundle(channel.channel_id, seq);
      if (!bundle.ok()) {
        if (bundle.error().code() != ErrorCode::kNotFound) Problem(seq, bundle.error().message());
        continue;
      }
      const std::uint64_t before = channel_->problems;
      if (bundle->item.channel_id != channel.channel_id || bundle->item.seq != seq) {
        Problem(seq, "the evidence bundle stored here is for channel " + bundle->item.channel_id +
                         " seq " + std::to_string(bundle->item.seq));
      }
      auto tsc = store_.GetTsc(channel.channel_id, seq);
      if (tsc.ok() && bundle->item.tsc_hash != tsc->tsc_hash) {
        Problem(seq, "the evidence bundle commits TSC hash " + HexEncode(bundle->item.tsc_hash) +
                         ", the store holds " + HexEncode(tsc->tsc_hash));
      }
      Status verified = chain::VerifyEvidenceBundle(*bundle);
      if (verified.ok() && options_.chain != nullptr) {
        auto on_chain = chain::VerifyEvidenceBundleOnChain(*bundle, *options_.chain);
        if (!on_chain.ok()) verified = std::move(on_chain).error();
      }
      if (!verified.ok())
        Problem(seq, "evidence bundle " + bundle->batch_id + ": " + verified.error().message());
      if (channel_->problems == before) ++channel_->bundles_checked;
    }
    AuditClosing(channel);
  }

  // A party's closing record: the TCC's proof and the party's request, and once its closing leaf is
  // anchored, that the leaf's bundle commits this record and verifies (on chain too).
  void AuditClosing(const ChannelRecord& channel) {
    auto text = store_.GetClosingRecord(channel.channel_id);
    if (!text.ok()) return Problem(channel.last_seq, text.error().message());
    if (!*text) return;
    auto record = Json::Parse(**text);
    if (!record.ok())
      return Problem(channel.last_seq, "the closing record: " + record.error().message());
    const std::uint64_t before = channel_->problems;
    std::string tcc_did = options_.tcc_did;
    if (tcc_did.empty()) {
      const Json* issuer = record->Find("issuer");
      if (issuer != nullptr && issuer->is_string()) tcc_did = issuer->as_string();
    }
    auto item = ClosingEvidenceItem(*record);
    if (!item.ok())
      return Problem(channel.last_seq, "the closing record: " + item.error().message());
    const std::uint64_t seq = item->seq;
    auto signed_by = wire::VerifyClosingRecord(*record, tcc_did, *options_.resolver);
    if (!signed_by.ok()) Problem(seq, "the closing record: " + signed_by.error().message());
    auto bundle = store_.GetClosingBundle(channel.channel_id);
    if (!bundle.ok()) return Problem(seq, bundle.error().message());
    // Not anchored yet, or the leaf of a record a later close replaced (another head).
    if (!*bundle || (*bundle)->item.seq != seq) return;
    if ((*bundle)->item != *item) {
      return Problem(seq, "the closing evidence bundle commits record hash " +
                              HexEncode((*bundle)->item.tsc_hash) + ", the store holds " +
                              HexEncode(item->tsc_hash));
    }
    Status verified = chain::VerifyEvidenceBundle(**bundle);
    if (verified.ok() && options_.chain != nullptr) {
      auto on_chain = chain::VerifyEvidenceBundleOnChain(**bundle, *options_.chain);
      if (!on_chain.ok()) verified = std::move(on_chain).error();
    }
    if (!verified.ok()) {
      Problem(seq,
              "closing evidence bundle " + (*bundle)->batch_id + ": " + verified.error().message());
    }
    if (channel_->problems == before) ++channel_->bundles_checked;
  }

  ChannelStore& store_;
  const StoreAuditOptions& options_;
  StoreAuditReport& report_;
  std::optional<ChainTemplateRegistry> registry_;
  ChannelAudit* channel_ = nullptr;
};

}  // namespace

std::string StoreAuditReport::ToString() const {
  std::ostringstream out;
  out << (ok() ? "OK" : "PROBLEMS") << ": " << channels.size() << " channel(s), " << tscs
      << " TSC(s) and " << bundles << " evidence bundle(s) verified"
      << (checked_on_chain ? " (TSTs, joint proofs and anchors on chain)" : "") << ", "
      << problem_count << " problem(s)\n";
  for (const ChannelAudit& channel : channels) {
    out << "  " << channel.channel_id << "  head " << channel.head_seq << "  anchored "
        << channel.anchored_seq
        << (channel.problems == 0 ? "  ok"
                                  : "  " + std::to_string(channel.problems) + " problem(s)")
        << "\n";
  }
  for (const std::string& problem : problems) out << "  problem: " << problem << "\n";
  if (problem_count > problems.size()) {
    out << "  ... and " << (problem_count - problems.size()) << " more\n";
  }
  return out.str();
}

Result<StoreAuditReport> AuditStore(const std::string& store_path, const StoreAuditOptions& options) {
  if (options.resolver == nullptr) {
    return Error(ErrorCode::kInvalidArgument, "a store audit needs a DID resolver");
  }
  TCC_ASSIGN_OR_RETURN(std::unique_ptr<ChannelStore> opened,
                       ChannelStore::Open(store_path, {.create_if_missing = false}));
  ChannelStore& store = *opened;
  TCC_ASSIGN_OR_RETURN(std::vector<ChannelRecord> channels, store.ListChannels());
  StoreAuditReport report;
  report.checked_on_chain = options.chain != nullptr;
  Auditor auditor(store, options, report);
  for (std::size_t i = 0; i < channels.size(); ++i) {
    auditor.AuditChannel(channels[i]);
    if (options.progress) options.progress(i + 1, channels.size());
  }
  return report;
}

}  // namespace tcc::controller
