#!/usr/bin/env python3
"""A GPU provider on a TCC channel, in Python: every --interval it meters the last minute of GPU
use, bills it at the TIC's unit price, and proposes the settlement; the consumer co-signs, tccd
issues the TSC. At the end it fetches the evidence bundle of the latest anchored TSC and verifies
it. The Python twin of examples/gpu_provider.cpp (same options, same output).

This example reads the session's events with the iterator (gpu_consumer.py uses a callback)."""

import datetime
import math
import sys
import time

import tcc

import gpu_billing
from gpu_billing import fee_for, format_rfc3339, join_channel, read_terms

USAGE = """\
gpu_provider: bills GPU minutes on a TCC channel (the provider side).
usage: gpu_provider --listen ENDPOINT --tcc DID --key FILE --channel ID --tst FILE --tic FILE
                    [--count N] [--interval MS]
  --interval MS       time between proposals (default 200)
"""


def meter_minute(minute, gpu_count):
    """A stand-in for the GPU driver's counters: each GPU busy for a share of the minute that
    varies with the minute, reproducibly (the C++ example's numbers exactly)."""
    samples = []
    for gpu in range(gpu_count):
        utilization = 0.6 + 0.4 * abs(math.sin(minute * 7 + gpu))
        # Rounded half away from zero, as C++'s lround and round.
        samples.append({"gpu": f"GPU-{0xa1b2c300 + gpu:08x}", "seconds": math.floor(60 * utilization + 0.5),
                        "utilization": math.floor(utilization * 100 + 0.5) / 100})
    gpu_seconds = sum(sample["seconds"] for sample in samples)
    return {"gpuSeconds": gpu_seconds, "gpuCount": gpu_count, "samples": samples}


def print_event(event):
    if event.kind == "tsc":
        fee = event.body["credentialSubject"]["fee"]["amount"]
        print(f"TSC seq={event.seq} hash={event.hash.hex()} fee={fee}")
    elif event.kind == "anchored":
        print(f"anchored seq={event.seq} root={event.body['root']}")
    elif event.kind == "reconnected":
        print(f"reconnected at seq {event.seq}")


def print_events_until(channel, deadline):
    for event in channel.events(wait=deadline - time.monotonic()):
        print_event(event)


def run(options):
    terms = read_terms(options.tic)
    channel = join_channel(options)
    print(f"joined as {channel.head['role']} at seq {channel.head['seq']}")

    last = channel.head["seq"] + options.count
    interval = options.interval / 1000
    while channel.head["seq"] < last and not channel.head["closed"]:
        round_start = time.monotonic()
        seq = channel.head["seq"] + 1
        start = terms.start + datetime.timedelta(minutes=seq - 1)
        usage = meter_minute(seq, terms.gpu_count)
        claim = {
            "start": format_rfc3339(start),
            "end": format_rfc3339(start + datetime.timedelta(minutes=1)),
            "usage": usage,
            "fee": {"amount": fee_for(terms, usage["gpuSeconds"]), "currency": terms.currency},
            "encryption": terms.encryption,
        }
        try:
            channel.propose_next(claim)
            channel.await_tsc(seq, 5.0)
            issued = True
        except tcc.UnavailableError:
            # Not proposed (the consumer has not joined yet) or not issued in time: the same
            # proposal goes again after a pause; it is never replaced by another claim for this seq.
            issued = False
        print_events_until(channel, round_start + (interval if issued else 0.5))

    # The latest anchor comes one anchoring interval after the N-th TSC: wait for it, then prove it.
    channel.resync()
    for _ in range(50):
        if channel.head["anchored_seq"] >= channel.head["evidence_seq"]:
            break
        print_events_until(channel, time.monotonic() + 0.1)
    anchored = channel.head["anchored_seq"]
    if anchored == 0:
        print(f"nothing anchored yet (N={channel.head['n']})")
        return 0
    evidence = channel.fetch_evidence(anchored)
    print(f"evidence for seq {anchored} verified: root {evidence['root'].hex()} in batch {evidence['batch_id']}"
          f" at height {evidence['height']}")
    return 0


if __name__ == "__main__":
    sys.exit(gpu_billing.main("gpu_provider", USAGE, run, extra=[("interval", 200)]))
