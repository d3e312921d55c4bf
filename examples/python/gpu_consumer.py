#!/usr/bin/env python3
"""A GPU consumer on a TCC channel, in Python: for every settlement the provider proposes it
recomputes the fee from the metered GPU-seconds and the TIC's unit price, checks the GPU count
against the TIC, and only then co-signs and submits; tccd issues the TSC, which the session
verifies before applying. The Python twin of examples/gpu_consumer.cpp (same options, same output).

This example handles the session's events with a callback (gpu_provider.py iterates)."""

import sys

import tcc

import gpu_billing
from gpu_billing import fee_for, join_channel, read_terms

USAGE = """\
gpu_consumer: checks and co-signs GPU-minute bills on a TCC channel (the consumer side).
usage: gpu_consumer --listen ENDPOINT --tcc DID --key FILE --channel ID --tst FILE --tic FILE
                    [--count N]
"""


def check_bill(proposal, terms):
    """The consumer's own checks, beyond the TST the session enforces: the bill must be what the
    TIC's terms give for the usage it reports. Returns what is wrong, or None."""
    usage, fee = proposal.get("usage"), proposal.get("fee")
    if usage is None or fee is None:
        return "no usage or fee"
    if usage["gpuCount"] > terms.gpu_count:
        return "bills more GPUs than the TIC rents"
    expected = fee_for(terms, int(usage["gpuSeconds"]))
    if fee["amount"] != expected or fee["currency"] != terms.currency:
        return f"fee {fee['amount']} for {usage['gpuSeconds']} GPU-seconds; the TIC's price gives {expected}"
    return None


def run(options):
    terms = read_terms(options.tic)
    channel = join_channel(options)
    print(f"joined as {channel.head['role']} at seq {channel.head['seq']}")
    last = channel.head["seq"] + options.count

    def on_event(event):
        if event.kind == "proposal":
            if event.seq <= channel.head["seq"]:
                return  # settled already: a re-sent proposal
            problem = check_bill(event.body, terms)
            if problem is None:
                try:
                    joint = channel.cosign(event.body)
                except tcc.TccError as error:
                    problem = error.message
            if problem is not None:
                print(f"refused seq={event.seq}: {problem}")
                return
            # A failed submit raises out of the handler and so out of run() below.
            channel.submit(joint)
        elif event.kind == "tsc":
            print(f"cosigned TSC seq={event.seq} hash={event.hash.hex()}")
        elif event.kind == "reconnected":
            print(f"reconnected at seq {event.seq}")

    channel.subscribe(on_event)
    channel.run(until=lambda: channel.head["seq"] >= last)
    print(f"settled through seq {channel.head['seq']}, last hash {channel.head['hash'].hex()}")
    return 0


if __name__ == "__main__":
    sys.exit(gpu_billing.main("gpu_consumer", USAGE, run))
