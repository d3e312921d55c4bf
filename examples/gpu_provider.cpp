// A GPU provider on a TCC channel: every --interval it meters the last minute of GPU use, bills it
// at the TIC's unit price, and proposes the settlement; the consumer co-signs, tccd issues the TSC.
// At the end it fetches the evidence bundle of the latest anchored TSC and verifies it.
//
// With --misbill SEQ its meter double-counts minute SEQ once: the consumer rejects that bill with a
// reason, and the provider re-meters the minute and proposes the amended bill for the same seq.
//
// This example reads the session's events in poll style (gpu_consumer.cpp uses callbacks).
#include <algorithm>
#include <cmath>
#include <iostream>

#include "gpu_billing.h"
#include "tcc/common/time.h"

namespace {

constexpr const char* kUsage =
    "gpu_provider: bills GPU minutes on a TCC channel (the provider side).\n"
    "usage: gpu_provider --listen ENDPOINT --tcc DID --key FILE --channel ID --tst FILE --tic "
    "FILE\n"
    "                    [--count N] [--interval MS] [--misbill SEQ]\n"
    "  --interval MS       time between proposals (default 200)\n"
    "  --misbill SEQ       bill minute SEQ wrong once (a metering error the consumer rejects)\n";

// A stand-in for the GPU driver's counters: each GPU busy for a share of the minute that varies
// with the minute, reproducibly.
tcc::Json MeterMinute(std::uint64_t minute, std::int64_t gpu_count) {
  tcc::JsonArray samples;
  std::int64_t gpu_seconds = 0;
  for (std::int64_t gpu = 0; gpu < gpu_count; ++gpu) {
    const double utilization = 0.6 + 0.4 * std::fabs(std::sin(static_cast<double>(minute * 7 + gpu)));
    const auto seconds = static_cast<std::int64_t>(std::lround(60 * utilization));
    gpu_seconds += seconds;
    char id[16];
    std::snprintf(id, sizeof id, "GPU-%08llx", static_cast<unsigned long long>(0xa1b2c300 + gpu));
    tcc::Json sample = tcc::Json::Object();
    sample.Set("gpu", std::string(id));
    sample.Set("seconds", seconds);
    sample.Set("utilization", std::round(utilization * 100) / 100);
    samples.push_back(std::move(sample));
  }
  tcc::Json usage = tcc::Json::Object();
  usage.Set("gpuSeconds", gpu_seconds);
  usage.Set("gpuCount", gpu_count);
  usage.Set("samples", std::move(samples));
  return usage;
}

void Print(const tcc::client::SessionEvent& event) {
  if (event.kind == tcc::client::SessionEventKind::kTsc) {
    std::cout << "TSC seq=" << event.seq << " hash=" << event.hash
              << " fee=" << event.body.Find("credentialSubject")->Find("fee")->GetString("amount").value() << std::endl;
  } else if (event.kind == tcc::client::SessionEventKind::kAnchored) {
    std::cout << "anchored seq=" << event.seq << " root=" << event.body.GetString("root").value() << std::endl;
  } else if (event.kind == tcc::client::SessionEventKind::kRejection) {
    std::cout << "rejected seq=" << event.seq
              << " by the consumer: " << event.body.GetString("code").value() << ": "
              << event.body.GetString("text").value() << std::endl;
  } else if (event.kind == tcc::client::SessionEventKind::kReconnected) {
    std::cout << "reconnected at seq " << event.seq << std::endl;
  }
}

// Prints the session's events until `deadline`.
tcc::Status PrintEventsUntil(tcc::client::PartySession& channel, std::chrono::steady_clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    TCC_ASSIGN_OR_RETURN(auto event, channel.Poll(std::max(left, std::chrono::milliseconds(0))));
    if (!event) return tcc::OkStatus();
    Print(*event);
  }
}

int Fail(const tcc::Error& error) {
  std::cerr << "gpu_provider: " << error.ToString() << "\n";
  return 1;
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
  const std::chrono::milliseconds interval(options.Number("interval"));
  std::uint64_t misbill = options["misbill"].empty() ? 0 : options.Number("misbill");
  while (channel.head().seq < last && !channel.head().closed) {
    const auto round_start = std::chrono::steady_clock::now();
    const std::uint64_t seq = channel.head().seq + 1;
    const tcc::Timestamp start = terms->start + std::chrono::minutes(seq - 1);
    tcc::Json claim = tcc::Json::Object();
    claim.Set("start", tcc::FormatRfc3339(start));
    claim.Set("end", tcc::FormatRfc3339(start + std::chrono::minutes(1)));
    claim.Set("usage", MeterMinute(seq, terms->gpu_count));
    auto gpu_seconds = static_cast<std::int64_t>(
        tcc::JsonInteger(claim.Find("usage")->Find("gpuSeconds")->as_number()).value_or(0));
    if (seq == misbill)
      gpu_seconds *= 2;  // the metering error: billed twice the seconds it reports
    tcc::Json fee = tcc::Json::Object();
    fee.Set("amount", gpu_billing::FeeFor(*terms, gpu_seconds));
    fee.Set("currency", terms->currency);
    claim.Set("fee", std::move(fee));
    claim.Set("encryption", terms->encryption);

    auto proposed = channel.ProposeNext(std::move(claim));
    if (!proposed.ok() && proposed.error().code() != tcc::ErrorCode::kUnavailable) return Fail(proposed.error());
    // Not proposed (the consumer has not joined yet) or not issued in time: the same proposal
    // goes again after a pause; it is never replaced by another claim for this seq.
    tcc::Status issued = proposed.ok() ? channel.AwaitTsc(seq, std::chrono::seconds(5)) : proposed.error();
    if (!issued.ok() && issued.error().code() == tcc::ErrorCode::kConflict && seq == misbill) {
      // The consumer rejected the bill (its reason comes as an event): fix the meter and amend.
      misbill = 0;
      auto printed = PrintEventsUntil(channel, std::chrono::steady_clock::now());
      if (!printed.ok()) return Fail(printed.error());
      continue;
    }
    if (!issued.ok() && issued.error().code() != tcc::ErrorCode::kUnavailable) return Fail(issued.error());
    auto printed = PrintEventsUntil(channel, round_start + (issued.ok() ? interval : std::chrono::milliseconds(500)));
    if (!printed.ok()) return Fail(printed.error());
  }

  // The latest anchor comes one anchoring interval after the N-th TSC: wait for it, then prove it.
  if (auto synced = channel.Resync(); !synced.ok()) return Fail(synced.error());
  for (int i = 0; i < 50 && channel.head().anchored_seq < channel.head().evidence_seq; ++i) {
    auto printed = PrintEventsUntil(channel, std::chrono::steady_clock::now() + std::chrono::milliseconds(100));
    if (!printed.ok()) return Fail(printed.error());
  }
  const std::uint64_t anchored = channel.head().anchored_seq;
  if (anchored == 0) {
    std::cout << "nothing anchored yet (N=" << channel.head().n << ")" << std::endl;
    return 0;
  }
  auto evidence = channel.FetchEvidence(anchored);
  if (!evidence.ok()) return Fail(evidence.error());
  std::cout << "evidence for seq " << anchored << " verified: root " << tcc::HexEncode(evidence->bundle.root) << " in batch "
            << evidence->bundle.batch_id << " at height " << evidence->bundle.receipt.height << std::endl;
  return 0;
}
