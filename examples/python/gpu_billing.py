"""What the two Python examples share, as examples/gpu_billing.h does for the C++ pair: the options
both take, how they become a tcc.Session, and the billing rule both parties apply — the fee for a
minute is the GPU-seconds used at the TIC's unit price, in cents, so the consumer can recompute
every fee the provider proposes. The arithmetic is the C++ examples' to the cent, so either
language's provider can bill either language's consumer."""

import argparse
import dataclasses
import datetime
import decimal
import json
import sys

import tcc

COMMON_USAGE = """\
  --listen ENDPOINT   tccd's party endpoint, e.g. tcp://127.0.0.1:7700
  --tcc DID           the TCC's DID (its key is the CURVE server key)
  --key FILE          this party's key file
  --channel ID        the channel id (the TIC's hash)
  --tst FILE          the TST the claims follow
  --tic FILE          the TIC (unit price, GPU count, start of billing)
  --count N           stop after N settlements (default 10)
  --timeout MS        per-request timeout; a silent tccd is reconnected to after it (default 5000)
"""


def parse_options(prog, usage, extra=()):
    """Parses the common options plus `extra` ((name, default) pairs); --help prints `usage` and
    exits 0, a missing or unknown option exits 2, as the C++ examples do."""
    parser = argparse.ArgumentParser(prog=prog, usage=usage + COMMON_USAGE, add_help=False)
    parser.add_argument("--help", action="store_true")
    for name in ("listen", "tcc", "key", "channel", "tst", "tic"):
        parser.add_argument("--" + name)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--timeout", type=int, default=5000)
    for name, default in extra:
        parser.add_argument("--" + name, type=int, default=default)
    options = parser.parse_args()
    if options.help:
        print(usage + COMMON_USAGE, end="")
        raise SystemExit(0)
    for name in ("listen", "tcc", "key", "channel", "tst", "tic"):
        if getattr(options, name) is None:
            parser.error("missing --" + name)
    return options


def main(prog, usage, run, extra=()):
    """A party program's main: parses the options, runs `run(options)`, and turns an SDK error
    into "prog: code: message" on stderr and exit status 1, as the C++ examples do."""
    sys.stdout.reconfigure(line_buffering=True)  # progress lines are read while it runs
    options = parse_options(prog, usage, extra)
    try:
        return run(options)
    except tcc.TccError as error:
        print(f"{prog}: {error}", file=sys.stderr)
        return 1


def join_channel(options):
    return tcc.join(options.listen, options.tcc, options.channel, key=tcc.Key.load(options.key),
                    tst=tcc.Template.load(options.tst), timeout=options.timeout / 1000)


@dataclasses.dataclass
class Terms:
    """The terms of the trade both parties read from the TIC."""
    cents_per_gpu_hour: int   # "2.85" USD -> 285
    currency: str
    gpu_count: int
    start: datetime.datetime  # when billing starts
    encryption: str


def read_terms(tic_file):
    with open(tic_file) as file:
        tic = json.load(file)
    claim = tic.get("credentialSubject", {})
    if "unitPrice" not in claim or "computeSpec" not in claim:
        raise tcc.InvalidArgumentError(f"{tic_file}: not a GPU-hour TIC (no unitPrice or computeSpec)")
    price = claim["unitPrice"]
    cents = (decimal.Decimal(price["amount"]) * 100).to_integral_value(decimal.ROUND_HALF_UP)
    return Terms(int(cents), price["currency"], int(claim["computeSpec"]["gpuCount"]),
                 parse_rfc3339(tic["validFrom"]), claim["encryption"])


def parse_rfc3339(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def format_rfc3339(time):
    """"2025-01-01T00:00:00Z"; milliseconds only when non-zero (tcc::FormatRfc3339)."""
    time = time.astimezone(datetime.timezone.utc)
    text = time.strftime("%Y-%m-%dT%H:%M:%S")
    milliseconds = time.microsecond // 1000
    return text + (f".{milliseconds:03d}Z" if milliseconds else "Z")


def fee_for(terms, gpu_seconds):
    """"0.38": the fee for `gpu_seconds`, rounded half up to the cent."""
    cents = (gpu_seconds * terms.cents_per_gpu_hour + 1800) // 3600
    return f"{cents // 100}.{cents % 100:02d}"
