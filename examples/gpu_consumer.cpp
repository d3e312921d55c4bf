// A GPU consumer on a TCC channel: for every settlement the provider proposes it recomputes the fee
// from the metered GPU-seconds and the TIC's unit price, checks the GPU count against the TIC, and
// only then co-signs and submits; tccd issues the TSC, which the session verifies before applying.
// A wrong bill is rejected with the reason (tccd records it and tells the provider, who may then
// propose an amended bill for the same seq).
//
// This example handles the session's events with a callback (gpu_provider.cpp polls).
#include <iostream>

#include "gpu_billing.h"

namespace {

constexpr const char* kUsage =
    "gpu_consumer: checks and co-signs GPU-minute bills on a TCC channel (the consumer side).\n"
    "usage: gpu_consumer --listen ENDPOINT --tcc DID --key FILE --channel ID --tst FILE --tic FILE\n"
    "                    [--count N]\n";

int Fail(const tcc::Error& error) {
  std::cerr << "gpu_consumer: " << error.ToString() << "\n";
  return 1;
}

// The consumer's own checks, beyond the TST the session enforces: the bill must be what the TIC's
// terms give for the usage it reports.
tcc::Status CheckBill(const tcc::Json& proposal, const gpu_billing::Terms& terms) {
  const tcc::Json* usage = proposal.Find("usage");
  const tcc::Json* fee = proposal.Find("fee");
  if (usage == nullptr || !usage->is_object() || fee == nullptr) {
    return tcc::Error(tcc::ErrorCode::kInvalidArgument, "no usage or fee");
  }
  // The provider wrote these and the TST has not been checked yet (Cosign does): read them checked.
  TCC_ASSIGN_OR_RETURN(const std::uint64_t seconds, usage->GetInteger("gpuSeconds", 0, 3840));
  TCC_ASSIGN_OR_RETURN(const std::uint64_t gpus, usage->GetInteger("gpuCount", 1, 64));
  if (gpus > static_cast<std::uint64_t>(terms.gpu_count)) {
    return tcc::Error(tcc::ErrorCode::kVerificationFailed, "bills more GPUs than the TIC rents");
  }
  const std::string expected = gpu_billing::FeeFor(terms, static_cast<std::int64_t>(seconds));
  TCC_ASSIGN_OR_RETURN(std::string_view amount, fee->GetString("amount"));
  TCC_ASSIGN_OR_RETURN(std::string_view currency, fee->GetString("currency"));
  if (amount != expected || currency != terms.currency) {
    return tcc::Error(tcc::ErrorCode::kVerificationFailed, "fee " + std::string(amount) + " for " + std::to_string(seconds) +
                                                               " GPU-seconds; the TIC's price gives " + expected);
  }
  return tcc::OkStatus();
}

}  // namespace

int main(int argc, char** argv) {
  const gpu_billing::Options options = gpu_billing::ParseOptions(argc, argv, kUsage);
  auto terms = gpu_billing::ReadTerms(options["tic"]);
  if (!terms.ok()) return Fail(terms.error());

  auto session = gpu_billing::JoinChannel(options);
  if (!session.ok()) return Fail(session.error());
  auto& channel = **session;
  std::cout << "joined as " << channel.head().role << " at seq " << channel.head().seq << std::endl;

  const std::uint64_t last = channel.head().seq + options.Number("count");
  tcc::Status failed = tcc::OkStatus();
  channel.Subscribe([&](const tcc::client::SessionEvent& event) {
    switch (event.kind) {
      case tcc::client::SessionEventKind::kProposal: {
        if (event.seq <= channel.head().seq) return;  // settled already: a re-sent proposal
        if (tcc::Status bill = CheckBill(event.body, *terms); !bill.ok()) {
          auto rejected = channel.Reject(
              event.body, {tcc::wire::ReasonCode::kWrongAmount, bill.error().message()});
          std::cout << (rejected.ok() ? "rejected seq=" : "could not reject seq=") << event.seq
                    << ": " << (rejected.ok() ? bill.error().message() : rejected.error().message())
                    << std::endl;
          return;
        }
        auto joint = channel.Cosign(event.body);
        if (!joint.ok()) {
          std::cout << "refused seq=" << event.seq << ": " << joint.error().message() << std::endl;
          return;
        }
        if (auto issued = channel.Submit(*joint); !issued.ok()) failed = issued.error();
        return;
      }
      case tcc::client::SessionEventKind::kTsc:
        std::cout << "cosigned TSC seq=" << event.seq << " hash=" << event.hash << std::endl;
        return;
      case tcc::client::SessionEventKind::kReconnected:
        std::cout << "reconnected at seq " << event.seq << std::endl;
        return;
      default:
        return;
    }
  });
  tcc::Status ran = channel.Run([&] { return !failed.ok() || channel.head().seq >= last; });
  if (!ran.ok()) return Fail(ran.error());
  if (!failed.ok()) return Fail(failed.error());
  std::cout << "settled through seq " << channel.head().seq << ", last hash " << channel.head().hash << std::endl;
  return 0;
}
