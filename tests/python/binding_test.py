"""The tcc package against a real tccd (binding_test.sh starts it; the channel's N is 2).

One process drives a provider and a consumer session. It checks what the binding itself adds to
the C++ SDK: errors arrive as the TccError subclass of their code; JSON and hashes convert both
ways (a TSC's hash equals credential_hash of the dict we got); events come through the iterator
and the callbacks alike; an exception raised in a handler or in run()'s predicate comes out of the
call that ran it and leaves the session usable; Ctrl-C interrupts a blocking call; a blocking call
releases the GIL, and a second thread cannot drive a session that is busy; evidence is fetched and
verified. Waits are on conditions with generous deadlines, never fixed sleeps.
"""

import argparse
import copy
import json
import os
import signal
import sys
import threading
import time

import tcc

parser = argparse.ArgumentParser()
for name in ("listen", "tcc", "channel", "work", "tccd-pid"):
    parser.add_argument("--" + name, required=True)
args = parser.parse_args()
work = args.work

passed = 0
failures = []


def check(name, condition):
    global passed
    if condition:
        passed += 1
    else:
        failures.append(name)
        print("FAIL: " + name, flush=True)


def raises(name, error_type, call, code=None):
    """Checks call() raises error_type (and, for TccErrors, carries `code`); returns the error."""
    try:
        call()
    except error_type as error:
        check(name, code is None or (error.code is code and str(error).startswith(code.value + ": ")))
        return error
    except BaseException as error:  # noqa: BLE001 - the wrong exception is the failure reported
        check(f"{name} (raised {type(error).__name__}: {error})", False)
        return None
    check(f"{name} (nothing raised)", False)
    return None


def wait_for(condition, timeout=60.0, step=lambda: time.sleep(0.01)):
    """Runs step() until condition() holds; False if it does not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        step()
    return True


def poll_until(session, condition):
    """Polls `session` (delivering its events) until condition() holds."""
    return wait_for(condition, step=lambda: session.poll(0.2))


tst = tcc.Template.load(f"{work}/tst.json")
with open(f"{work}/tic.json") as file:
    tic = json.load(file)
provider_key = tcc.Key.load(f"{work}/provider.key")
consumer_key = tcc.Key.load(f"{work}/consumer.key")
encryption = tic["credentialSubject"]["encryption"]


def claim(seq, amount="0.40"):
    return {"start": f"2025-03-01T09:{seq:02d}:00Z", "end": f"2025-03-01T09:{seq + 1:02d}:00Z",
            "usage": {"gpuSeconds": 500, "gpuCount": 8}, "fee": {"amount": amount, "currency": "USD"},
            "encryption": encryption}


def join(key, channel=args.channel, **options):
    return tcc.join(args.listen, args.tcc, channel, key=key, tst=tst, timeout=5.0, **options)


# --- without a channel: keys, templates, JSON, errors ----------------------------------------------
raises("a missing key file is NotFoundError", tcc.NotFoundError, lambda: tcc.Key.load(f"{work}/absent.key"),
       tcc.ErrorCode.NOT_FOUND)
with open(f"{work}/consumer.key") as source, open(f"{work}/readable.key", "w") as target:
    target.write(source.read())
os.chmod(f"{work}/readable.key", 0o644)
raises("a key file others can read is PermissionDeniedError", tcc.PermissionDeniedError,
       lambda: tcc.Key.load(f"{work}/readable.key"), tcc.ErrorCode.PERMISSION_DENIED)
error = raises("an invalid template is InvalidArgumentError", tcc.InvalidArgumentError,
               lambda: tcc.Template.from_dict({"id": "x"}), tcc.ErrorCode.INVALID_ARGUMENT)
check("every TccError is catchable as TccError", isinstance(error, tcc.TccError))
check("the provider's key is the TST's owner", provider_key.did == tst.owner and tst.kind == "TST")
check("a key's public key is 32 bytes",
      isinstance(provider_key.public_key, bytes) and len(provider_key.public_key) == 32)
check("credential_hash of the TIC is the channel id", tcc.credential_hash(tic).hex() == args.channel)
check("Template.from_dict of a template's document is the same template",
      tcc.Template.from_dict(tst.document).content_hash == tst.content_hash)
raises("an integer beyond 2**53 - 1 is refused", ValueError, lambda: tcc.credential_hash({"n": 2**53}))
check("2**53 - 1, the largest JSON-safe integer, is taken",
      len(tcc.credential_hash({"n": 2**53 - 1})) == 32)
raises("NaN is refused", ValueError, lambda: tcc.credential_hash({"n": float("nan")}))
raises("a set is not JSON", TypeError, lambda: tcc.credential_hash({"n": {1, 2}}))
raises("object keys must be str", TypeError, lambda: tcc.credential_hash({1: "a"}))

raises("joining a channel tccd does not have is NotFoundError", tcc.NotFoundError,
       lambda: join(consumer_key, channel="00" * 32, open_wait=0.2), tcc.ErrorCode.NOT_FOUND)

# --- a channel: the consumer joins with the channel id as bytes, the provider as hex ----------------
consumer = join(consumer_key, channel=bytes.fromhex(args.channel), tsc_dir=f"{work}/consumer-tscs")
provider = join(provider_key)
head = consumer.head
check("the consumer's head before any TSC", head["role"] == "consumer" and head["seq"] == 0
      and head["hash"] == bytes.fromhex(args.channel)
      and head["provider"] == provider_key.did and head["consumer"] == consumer_key.did and head["n"] == 2)
check("the session's DID is its key's", consumer.did == consumer_key.did and consumer.last_tsc is None)

seen = []
consumer.subscribe(seen.append)

# Seq 1: the proposal through the iterator (and the callback), a forged copy refused, then settled.
proposal = provider.propose_next(claim(1))
check("propose_next returns the signed proposal", proposal["seq"] == 1 and proposal["fee"]["amount"] == "0.40"
      and proposal["prev"] == args.channel and proposal["proof"]["proofValue"])
event = next((e for e in consumer.events(wait=60) if e.kind == "proposal"), None)
check("the iterator hands out the proposal", event is not None and event.seq == 1 and event.hash is None
      and event.body == proposal)
check("the callback saw the same event", event in seen and isinstance(event, tcc.Event))
forged = copy.deepcopy(proposal)
forged["fee"]["amount"] = "0.01"
raises("co-signing a proposal whose fee was changed is VerificationError", tcc.VerificationError,
       lambda: consumer.cosign(forged), tcc.ErrorCode.VERIFICATION_FAILED)
check("the refused proposal applied nothing", consumer.head["seq"] == 0)
tsc1 = consumer.submit(consumer.cosign(event.body))
check("submit returns the TSC, which the head now names by hash",
      consumer.head["seq"] == 1 and consumer.head["hash"] == tcc.credential_hash(tsc1) and consumer.last_tsc == tsc1)
provider.await_tsc(1, 60.0)
check("the provider applied the same TSC", provider.head["seq"] == 1 and provider.head["hash"] == consumer.head["hash"])
check("the callback saw the TSC with its hash as bytes",
      poll_until(consumer, lambda: any(e.kind == "tsc" and e.seq == 1 for e in seen))
      and next(e for e in seen if e.kind == "tsc" and e.seq == 1).hash == tcc.credential_hash(tsc1))

# Seq 2: an exception in a handler comes out of run(), and the session goes on.
failing = [True]


def refuse(event):
    if event.kind == "proposal" and failing[0]:
        raise RuntimeError("refused by the handler")


consumer.subscribe(refuse)
proposal = provider.propose_next(claim(2))
error = raises("a handler's exception comes out of run()", RuntimeError, lambda: consumer.run(until=lambda: False))
check("it is the handler's own exception", error is not None and str(error) == "refused by the handler")
failing[0] = False
raises("an exception in run()'s predicate comes out of run()", ZeroDivisionError, lambda: consumer.run(until=lambda: 1 / 0))
started = time.monotonic()
consumer.run(until=lambda: [1])  # a non-bool that is true: run() returns at once, it does not raise
check("run()'s predicate may return any value, read for its truth", time.monotonic() - started < 5)
raises("a duration must be a number of seconds within a year", ValueError, lambda: consumer.poll(float("inf")))
tsc2 = consumer.submit(consumer.cosign(proposal))
provider.await_tsc(2, 60.0)
check("after the exceptions the session settles seq 2", consumer.head["seq"] == 2 and provider.head["seq"] == 2)


# Seq 3: a thread blocks in the provider's await_tsc while the main thread settles that TSC. The
# provider has no Python handlers, so no Python code runs in that thread during the call: unless
# the call released the GIL, the main thread cannot settle seq 3 and the call times out after 60 s.
# Meanwhile the main thread must find the busy session refused to it.
def busy(session):
    try:
        session.head
    except RuntimeError:
        return True
    return False


proposal = provider.propose_next(claim(3))
awaited = []


def await_tsc3():
    try:
        provider.await_tsc(3, 60.0)
        awaited.append("issued")
    except tcc.TccError as error:
        awaited.append(error)


thread = threading.Thread(target=await_tsc3)
thread.start()
check("while one thread blocks in the SDK, another runs and is refused the same session",
      wait_for(lambda: busy(provider)))
check("the consumer settles seq 3 meanwhile",
      poll_until(consumer, lambda: any(e.kind == "proposal" and e.seq == 3 for e in seen))
      and consumer.submit(consumer.cosign(proposal)) is not None and consumer.head["seq"] == 3)
thread.join(120)
check(f"the blocked thread saw TSC 3 issued ({awaited})", not thread.is_alive() and awaited == ["issued"])
check("the session is usable from the main thread after it", provider.head["seq"] == 3)

# Ctrl-C while blocked in the SDK: await_tsc for a TSC nobody proposes runs no Python code and
# returns on no event, so only the SDK's cancellation check can end it before its 60 s.
interrupted_at = []


def interrupt():
    if wait_for(lambda: busy(provider)):
        interrupted_at.append(time.monotonic())
        os.kill(os.getpid(), signal.SIGINT)


interrupter = threading.Thread(target=interrupt)
interrupter.start()
try:
    provider.await_tsc(4, 60.0)
    check("Ctrl-C ends a blocking call (await_tsc returned)", False)
except KeyboardInterrupt:
    check("Ctrl-C ends a blocking call promptly", interrupted_at and time.monotonic() - interrupted_at[0] < 10)
interrupter.join(120)
provider.resync()
check("the session works after Ctrl-C", provider.head["seq"] == 3)

# Evidence: with N = 2, TSC 2 is anchored (TSC 1 with it); TSC 3 is not yet.
check("the provider learns TSC 2 is anchored",
      poll_until(provider, lambda: provider.head["anchored_seq"] >= 2))
evidence = provider.fetch_evidence(1)
check("the evidence for TSC 1 verifies against the anchored TSC 2",
      evidence["seq"] == 1 and evidence["anchored_seq"] == 2 and evidence["anchored_tsc"] == tsc2
      and tcc.credential_hash(evidence["anchored_tsc"]) == tcc.credential_hash(tsc2))
check("the evidence's root is the 32-byte root the head names", isinstance(evidence["root"], bytes)
      and len(evidence["root"]) == 32 and evidence["root"] == provider.head["anchored_root"])
check("the evidence carries its bundle and says the chain was not asked",
      isinstance(evidence["bundle"], dict) and evidence["batch_id"] and not evidence["checked_on_chain"])
raises("evidence for a TSC not anchored yet is UnavailableError", tcc.UnavailableError,
       lambda: provider.fetch_evidence(3), tcc.ErrorCode.UNAVAILABLE)
raises("evidence checked on a chain that is not there is an error", tcc.TccError,
       lambda: provider.fetch_evidence(1, chain=f"local:{work}/no-such-ledger"))

# Seq 4: a wrong bill is refused and amended; then the consumer closes the channel with a reason.
check("the reason codes are the protocol's", tcc.REASON_CODES == ("wrong_amount", "wrong_usage", "price", "other"))
overbill = provider.propose_next(claim(4, amount="9.99"))
check("the consumer sees the overbill",
      poll_until(consumer, lambda: any(e.kind == "proposal" and e.seq == 4 for e in seen)))
raises("an unknown reason code is a ValueError", ValueError,
       lambda: consumer.reject(overbill, "too_much", "x"))
rejection = consumer.reject(overbill, "wrong_amount", "metered 500 GPU-seconds: 0.40, not 9.99")
check("reject returns the signed rejection", rejection["seq"] == 4 and rejection["code"] == "wrong_amount"
      and rejection["consumer"] == consumer_key.did and rejection["proof"]["proofValue"])
provider_events = []
provider.subscribe(provider_events.append)
check("the provider hears the rejection with its reason",
      poll_until(provider, lambda: any(e.kind == "rejection" and e.seq == 4 for e in provider_events))
      and next(e for e in provider_events if e.kind == "rejection").body["text"].startswith("metered"))
amended = provider.propose_next(claim(4))
check("after the rejection the provider proposes an amended bill for the same seq",
      amended["seq"] == 4 and amended["fee"]["amount"] == "0.40")
check("the consumer sees the amended bill", poll_until(
    consumer, lambda: any(e.kind == "proposal" and e.seq == 4 and e.body == amended for e in seen)))
tsc4 = consumer.submit(consumer.cosign(amended))
check("the amended bill settles seq 4", tsc4 is not None and consumer.head["seq"] == 4)
raises("rejecting a seq already issued is ConflictError", tcc.ConflictError,
       lambda: consumer.reject(overbill, "wrong_amount", "too late"), tcc.ErrorCode.CONFLICT)
disputes = provider.fetch_disputes()
check("the dispute record holds the one verified rejection", disputes["closing"] is None
      and len(disputes["rejections"]) == 1 and disputes["rejections"][0]["rejection"] == rejection)
closing = consumer.close("other", "the job ended")
check("close returns the TCC's closing record", closing["last_seq"] == 4 and closing["request"]["text"] == "the job ended")
check("the provider sees the channel closed", poll_until(provider, lambda: provider.head["closed"]))
check("the closing record is on file", provider.fetch_disputes()["closing"] == closing)
closing_disputes = {}


def closing_anchored():
    closing_disputes.update(provider.fetch_disputes())
    return closing_disputes["closing_evidence"] is not None


check("the closing record's own leaf is anchored and fetched with its bundle", wait_for(
    closing_anchored, step=lambda: time.sleep(0.1)) and closing_disputes["closing_evidence"]["kind"] == "closing"
    and closing_disputes["closing_evidence"]["seq"] == 4
    and closing_disputes["closing_evidence"]["closingHash"] == tcc.credential_hash(closing).hex())

kept = sorted(os.listdir(f"{work}/consumer-tscs/{args.channel}"))
check(f"the consumer's journal keeps each TSC it applied ({kept})",
      kept == [f"{seq:020d}.json" for seq in range(1, 5)]
      and tcc.credential_hash(json.load(open(f"{work}/consumer-tscs/{args.channel}/{kept[-1]}"))) == tcc.credential_hash(tsc4))

# The on-chain check (tcc._chain, the extension that holds the chain adapters): the embedded
# ledger is tccd's while it runs (LevelDB's lock), so tccd is stopped first; SIGTERM drains it.
tccd_pid = int(args.tccd_pid)
os.kill(tccd_pid, signal.SIGTERM)


def tccd_gone():
    try:
        with open(f"/proc/{tccd_pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"  # exited, not yet reaped
    except FileNotFoundError:
        return True


deadline = time.monotonic() + 60
while not tccd_gone() and time.monotonic() < deadline:
    time.sleep(0.05)
check("tccd stops on SIGTERM", tccd_gone())
from tcc import _chain  # noqa: E402 - imported here as Session.fetch_evidence does, on demand
adapter, error = _chain.open(f"local:{work}/ledger")
check(f"tcc._chain opens the embedded ledger read-only ({error})", adapter is not None and error is None)
if adapter is not None:
    check("the evidence's root is anchored on the chain under its batch id",
          adapter.verify(json.dumps(evidence["bundle"])) is None)
    forged = copy.deepcopy(evidence["bundle"])
    forged["batchId"] = forged["batchId"] + "-forged"
    error = adapter.verify(json.dumps(forged))
    check(f"a bundle naming a batch the chain does not hold is refused ({error})",
          error is not None and error[1].startswith("evidence on chain"))
missing, error = _chain.open(f"local:{work}/no-such-ledger")
check(f"a local: path with no ledger is an error, not a new ledger ({error})",
      missing is None and error is not None and not os.path.exists(f"{work}/no-such-ledger"))

kinds = {e.kind for e in seen}
check(f"event kinds are the documented ones ({sorted(kinds)})",
      kinds <= {"tsc", "proposal", "anchored", "channel", "reconnected"} and {"tsc", "proposal"} <= kinds)

print(f"{passed} passed, {len(failures)} failed", flush=True)
sys.exit(1 if failures else 0)
