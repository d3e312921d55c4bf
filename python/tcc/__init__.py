"""TCC's channel SDK for Python parties.

The protocol, the cryptography and every check run in the C++ SDK (``tcc::client``), bound here
with pybind11 (``tcc._native``): a Python party verifies each TSC, resumes after a lost connection
or a restarted tccd, and checks evidence exactly as a C++ party does. This package adds only what
makes it Pythonic: plain values (dicts for JSON, ``bytes`` for hashes, seconds for durations),
typed exceptions that carry the error code, and an event iterator.

A party in a few lines::

    import tcc
    session = tcc.join("tcp://127.0.0.1:7700", tcc_did, channel,
                       key=tcc.Key.load("consumer.key"), tst=tcc.Template.load("tst.json"))
    for event in session.events():
        if event.kind == "proposal" and event.seq > session.head["seq"]:
            session.submit(session.cosign(event.body))

See docs/sdk.md ("Python") and examples/python/.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import time
from typing import Any, Callable, Iterator, Optional, Union

from . import _native
from ._native import REASON_CODES, Key, Template, credential_hash

__all__ = [
    "AlreadyExistsError", "ConflictError", "ErrorCode", "Event", "InternalError", "InvalidArgumentError",
    "IoError", "Key", "NotFoundError", "REASON_CODES", "ParseError", "PermissionDeniedError", "ResourceExhaustedError",
    "Session", "Template", "TccError", "UnavailableError", "VerificationError", "credential_hash", "join",
]


class ErrorCode(str, enum.Enum):
    """The C++ SDK's ErrorCode, by the names its errors print (``tcc::ErrorCodeName``)."""

    INVALID_ARGUMENT = "invalid_argument"
    PARSE = "parse_error"
    NOT_FOUND = "not_found"
    ALREADY_EXISTS = "already_exists"
    PERMISSION_DENIED = "permission_denied"
    VERIFICATION_FAILED = "verification_failed"
    CONFLICT = "conflict"
    UNAVAILABLE = "unavailable"
    RESOURCE_EXHAUSTED = "resource_exhausted"
    IO = "io_error"
    INTERNAL = "internal"


class TccError(Exception):
    """An error the SDK returned. ``code`` is its ErrorCode, ``message`` what it says.

    Catch a subclass for one code (``except tcc.UnavailableError``) or this for all.
    """

    code: ErrorCode = ErrorCode.INTERNAL

    def __init__(self, message: str, code: Optional[ErrorCode] = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return f"{self.code.value}: {self.message}"


class InvalidArgumentError(TccError):
    """Malformed or out-of-range input."""
    code = ErrorCode.INVALID_ARGUMENT


class ParseError(TccError):
    """Input that does not parse (JSON, encodings, frames)."""
    code = ErrorCode.PARSE


class NotFoundError(TccError):
    """A named thing does not exist (e.g. a channel tccd never opened)."""
    code = ErrorCode.NOT_FOUND


class AlreadyExistsError(TccError):
    """A create that would overwrite."""
    code = ErrorCode.ALREADY_EXISTS


class PermissionDeniedError(TccError):
    """Not allowed: file modes, not a member of the channel."""
    code = ErrorCode.PERMISSION_DENIED


class VerificationError(TccError):
    """A signature, proof, hash link or schema check failed: nothing was applied."""
    code = ErrorCode.VERIFICATION_FAILED


class ConflictError(TccError):
    """The channel's state does not allow the operation."""
    code = ErrorCode.CONFLICT


class UnavailableError(TccError):
    """tccd (or the chain) is not reachable right now, or a wait ran out; retrying may help."""
    code = ErrorCode.UNAVAILABLE


class ResourceExhaustedError(TccError):
    """A size or rate limit was hit."""
    code = ErrorCode.RESOURCE_EXHAUSTED


class IoError(TccError):
    """The operating system refused a read or write."""
    code = ErrorCode.IO


class InternalError(TccError):
    """A library call failed in a way input cannot cause."""
    code = ErrorCode.INTERNAL


_ERRORS = {cls.code.value: cls for cls in TccError.__subclasses__()}


def _error(code: str, message: str) -> TccError:
    cls = _ERRORS.get(code, TccError)
    return cls(message) if cls is not TccError else TccError(message, ErrorCode(code))


@dataclasses.dataclass(frozen=True)
class Event:
    """Something that happened on the channel, in the order the session applied it.

    kind: "tsc" (a TSC was verified and applied; body is the TSC), "proposal" (the provider
    proposed; body is the proposal, which a consumer checks with Session.cosign), "anchored"
    (tccd anchored a TSC; body has seq, root, batch), "channel" (N or the channel's state changed;
    body is the state), "reconnected" (the session rejoined after a lost connection; body is
    the state) or "rejection" (the consumer rejected a proposal; body is the signed rejection
    with code and text; Session.reject makes one).
    seq: the seq concerned (tsc, proposal, anchored, rejection).
    hash: the TSC's hash for "tsc", else None.
    body: the JSON, as a dict.
    """

    kind: str
    seq: int
    hash: Optional[bytes]
    body: Any


_native._register(_error, Event)


class Session:
    """A party's seat in one channel: ``tcc::client::PartySession``. Make one with ``join()``.

    Every TSC tccd sends is verified (the TCC's proof, the parties' joint proof, the TST, the hash
    link) before it is applied, once, in seq order. A lost connection or a restarted tccd is
    handled inside the calls: the session rejoins, syncs what it missed and repeats the request
    with the same content. Blocking calls release the GIL.

    One thread drives a session; handlers run on it, inside poll/run/events, and may call any
    method. Calling from a second thread while one is inside a call raises RuntimeError.
    """

    def __init__(self, native: _native.Session):
        self._native = native

    @property
    def did(self) -> str:
        """This party's DID."""
        return self._native.did

    @property
    def head(self) -> dict:
        """The channel as this party has verified it: role, provider, consumer, seq (the last TSC
        applied), hash (bytes: its hash, or the TIC's before the first TSC — the ``prev`` of the next
        claim), n, evidence_seq, anchored_seq,
        anchored_root (bytes or None), anchored_batch, closed."""
        return self._native.head

    @property
    def last_tsc(self) -> Optional[dict]:
        """The last TSC applied (None before the first one this session saw)."""
        return self._native.last_tsc

    def subscribe(self, handler: Callable[[Event], None]) -> None:
        """Calls ``handler(event)`` for every event poll/run/events hands out, in subscription
        order. An exception in a handler ends the call that ran it and is raised from there."""
        self._native.subscribe(handler)

    def poll(self, wait: float) -> Optional[Event]:
        """Waits up to ``wait`` seconds for the next event, runs the handlers, returns it (None:
        none came). VerificationError when tccd sent a TSC that does not verify."""
        return self._native.poll(wait)

    def run(self, until: Optional[Callable[[], bool]] = None) -> None:
        """Polls (running the handlers) until the channel is closed or ``until()`` is true."""
        self._native.run(until)

    def events(self, wait: Optional[float] = None) -> Iterator[Event]:
        """Iterates over events as they come, for up to ``wait`` seconds in all (None: until the
        channel is closed); events already received are handed out even when ``wait`` is over.
        Handlers run too. Breaking out of the loop is fine."""
        deadline = None if wait is None else time.monotonic() + wait
        while not self._native.head["closed"]:
            left = 1.0 if deadline is None else max(0.0, deadline - time.monotonic())
            event = self._native.poll(min(left, 1.0))
            if event is not None:
                yield event
            elif deadline is not None and left <= 0:
                return

    def propose_next(self, claim: dict) -> dict:
        """Provider: signs ``claim`` as the next settlement (channel, seq, prev, provider and
        consumer are set here) and sends it. Before that seq is issued, calling again re-sends the
        same proposal. UnavailableError while the consumer is not connected. Returns the proposal."""
        return self._native.propose_next(claim)

    def await_tsc(self, seq: int, wait: float) -> None:
        """Provider: waits up to ``wait`` seconds until TSC ``seq`` is applied (UnavailableError)."""
        self._native.await_tsc(seq, wait)

    def cosign(self, proposal: dict) -> dict:
        """Consumer: checks the proposal continues this channel (channel, parties, seq, prev),
        follows the TST and carries the provider's valid proof, then co-signs it. A seq is only
        ever co-signed once: asking again returns the same joint claim."""
        return self._native.cosign(proposal)

    def submit(self, joint_claim: dict) -> dict:
        """Consumer: submits a joint claim and returns the TSC tccd issued, verified. Across a lost
        connection or a tccd restart it rejoins and resubmits the same claim."""
        return self._native.submit(joint_claim)

    def resync(self) -> None:
        """Asks tccd where the channel is and applies the TSCs this party has not seen."""
        self._native.resync()

    def reject(self, proposal: dict, code: str, text: str = "") -> dict:
        """Consumer: refuses ``proposal`` (the one for the next seq) with a reason. ``code`` is one
        of REASON_CODES; ``text`` is free text for people (at most 1024 bytes). tccd stores the
        signed rejection and tells the provider, who may then propose an amended bill for the
        same seq. ConflictError for a proposal this session co-signed (a co-signed claim is
        final) or a seq already issued. Returns the signed rejection."""
        return self._native.reject(proposal, code, text)

    def close(self, code: str, text: str = "") -> dict:
        """Either party: closes the channel with a reason (``code`` one of REASON_CODES). The
        other party gets a "channel" event naming who closed it and why. Returns the TCC's
        signed closing record, verified."""
        return self._native.close(code, text)

    def fetch_disputes(self, from_seq: int = 1) -> dict:
        """The channel's signed dispute record, each entry verified: ``rejections`` (a list of
        {received_ms, rejection}, by seq, from ``from_seq`` on), ``closing`` (the TCC-signed
        closing record, or None while the channel is open) and ``closing_evidence`` (the evidence
        bundle of the closing record's own leaf, its Merkle path verified offline, or None until
        tccd anchored it)."""
        return self._native.fetch_disputes(from_seq)

    def fetch_evidence(self, seq: int, chain: Optional[str] = None) -> dict:
        """Fetches the evidence bundle that commits TSC ``seq`` and verifies it: the Merkle path
        leads to the root, the bundle commits the anchored TSC, and the TSCs from ``seq`` to it
        verify and link by hash. With ``chain`` (a chain URI, e.g. ``evm+http://…``) also checks the
        root is anchored on chain. UnavailableError while the TSC is not anchored yet.

        Returns seq, anchored_seq, anchored_tsc (dict), root (bytes), batch_id, height,
        checked_on_chain and bundle (the bundle's JSON)."""
        if chain is None:
            return self._native.fetch_evidence(seq)
        # The chain adapters (LevelDB, libcurl) live in their own extension, loaded only here, so
        # that a party that never checks on chain loads neither (docs/sdk.md, "Python").
        try:
            from . import _chain
        except ImportError as missing:  # a party-only build (TCC_BUILD_DAEMON=OFF) has no adapters
            raise UnavailableError(f"this tcc package cannot open a chain ({missing})") from None
        adapter, error = _chain.open(chain)
        if error is not None:
            raise _error(*error)
        evidence = self._native.fetch_evidence(seq)
        error = adapter.verify(json.dumps(evidence["bundle"]))
        if error is not None:
            raise _error(*error)
        evidence["checked_on_chain"] = True
        return evidence


def join(endpoint: str, tcc_did: str, channel: Union[str, bytes], key: Key, tst: Template, *,
         timeout: float = 10.0, open_wait: float = 10.0, reconnect_for: float = 120.0,
         retry_interval: float = 0.5, liveness_interval: float = 3.0,
         party_did: str = "", tsc_dir: str = "") -> Session:
    """Connects to tccd and joins a channel.

    endpoint: tccd's party endpoint (tcp://host:port). tcc_did: the TCC's did:key, which is also
    its CURVE server key. channel: the channel id, the TIC's hash (hex str, or bytes as
    credential_hash returns). key: this party's Key. tst: the Template the claims follow.
    timeout: seconds a request may go unanswered before the connection counts as lost.
    open_wait: how long to wait for tccd to open a channel it has not opened yet (NotFoundError
    after). reconnect_for: give up rejoining (UnavailableError) after this long. retry_interval:
    between rejoin attempts. liveness_interval: a quiet connection is checked this often.
    party_did: default the key's did:key. tsc_dir: keep every TSC applied in
    ``tsc_dir/<channel>/<seq>.json`` and refuse (ConflictError / VerificationError) a tccd that
    comes back behind them or with another TSC at a kept seq; empty keeps none.
    """
    return Session(_native.Session.join(endpoint, tcc_did, channel, key, tst, timeout, open_wait,
                                        reconnect_for, retry_interval, liveness_interval, party_did,
                                        tsc_dir))
