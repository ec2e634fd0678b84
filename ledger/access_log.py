"""The read-access log: who read which restricted record when, as a hash chain.

This module is the one place that defines the bytes. An entry is

    {"seq", "at_ms", "reader", "key_id", "action", "resource", "prev_hash", "entry_hash"}

with ``seq`` 1, 2, 3, ... without gaps, ``prev_hash`` the previous entry's ``entry_hash``
(64 zeros for entry 1) and ``entry_hash = hex(SM3(C(entry without entry_hash)))``. Editing an
entry breaks its own hash or, if the hash is recomputed, the next entry's ``prev_hash``;
deleting one leaves a gap in ``seq``. Deleting the *tail* leaves a valid shorter chain, so the
node also signs the head: ``Sig(sk, C(head))`` over

    {"type": "access-log-head", "chain_id", "validator", "seq", "entry_hash", "at_ms"}

(``at_ms``: when the node signed). An auditor who kept a signed head detects a log that no
longer reaches it or that reaches it with another hash. No I/O here: the store, the API and
the auditor's client feed these functions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ledger.canonical import canonical
from ledger.crypto import PublicKey, Signer, sm3_hex
from ledger.domains.validator.verify import history_validator
from ledger.errors import InvalidSignature, LedgerError, MalformedData, VerificationError
from ledger.model import Genesis

GENESIS_HASH = "0" * 64
HEAD_TYPE = "access-log-head"
ENTRY_FIELDS = ("seq", "at_ms", "reader", "key_id", "action", "resource", "prev_hash")


class AccessLogError(VerificationError):
    """The access log does not hold at entry ``seq``: ``step`` names the entry and check."""

    code = "access_log_tampered"

    def __init__(
        self, seq: int, check: str, reason: str, *, expected: Any = None, found: Any = None
    ) -> None:
        super().__init__(f"access log entry {seq} {check}", reason, expected=expected, found=found)
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class AccessEntry:
    seq: int
    at_ms: int
    reader: str
    key_id: str
    action: str
    resource: str
    prev_hash: str
    entry_hash: str

    def hashed(self) -> dict[str, Any]:
        """The entry without ``entry_hash``: what the hash covers."""
        return {name: getattr(self, name) for name in ENTRY_FIELDS}

    def computed_hash(self) -> str:
        return sm3_hex(canonical(self.hashed()))

    def to_wire(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_wire(cls, value: Any) -> AccessEntry:
        if not isinstance(value, Mapping) or set(value) != {*ENTRY_FIELDS, "entry_hash"}:
            raise MalformedData(
                f"an access log entry has exactly the fields {[*ENTRY_FIELDS, 'entry_hash']}"
            )
        for name in ("seq", "at_ms"):
            if type(value[name]) is not int:
                raise MalformedData(f"access log entry: {name} must be an integer")
        for name in ("reader", "key_id", "action", "resource", "prev_hash", "entry_hash"):
            if not isinstance(value[name], str):
                raise MalformedData(f"access log entry: {name} must be a string")
        return cls(**{name: value[name] for name in (*ENTRY_FIELDS, "entry_hash")})


def next_entry(
    prev_seq: int,
    prev_hash: str,
    *,
    at_ms: int,
    reader: str,
    key_id: str,
    action: str,
    resource: str,
) -> AccessEntry:
    """The entry that follows ``(prev_seq, prev_hash)`` (``(0, GENESIS_HASH)`` when empty)."""
    draft = AccessEntry(prev_seq + 1, at_ms, reader, key_id, action, resource, prev_hash, "")
    return AccessEntry(**{**draft.hashed(), "entry_hash": draft.computed_hash()})


def check_entry(entry: AccessEntry, seq: int, prev_hash: str) -> str:
    """Check that ``entry`` is entry ``seq`` following ``prev_hash``; return its hash."""
    if entry.seq != seq:
        raise AccessLogError(
            seq,
            "missing",
            "the chain skips this entry: it was deleted (or the entries renumbered)",
            expected=seq,
            found=entry.seq,
        )
    if entry.prev_hash != prev_hash:
        raise AccessLogError(
            seq,
            "prev_hash",
            f"does not match the hash of entry {seq - 1}: one of them was altered",
            expected=prev_hash,
            found=entry.prev_hash,
        )
    try:
        computed = entry.computed_hash()
    except LedgerError as exc:
        raise AccessLogError(
            seq, "entry_hash", f"the entry has no canonical bytes: {exc.message}"
        ) from None
    if computed != entry.entry_hash:
        raise AccessLogError(
            seq,
            "entry_hash",
            "the entry's content does not hash to its entry_hash: the entry was altered",
            expected=computed,
            found=entry.entry_hash,
        )
    return computed


def verify_chain(
    entries: Iterable[AccessEntry], *, after: tuple[int, str] = (0, GENESIS_HASH)
) -> tuple[int, str]:
    """Check that ``entries`` continue the chain from ``after`` = (seq, entry_hash) of the
    entry before them; return (seq, entry_hash) of the last one."""
    seq, prev = after
    for entry in entries:
        prev = check_entry(entry, seq + 1, prev)
        seq += 1
    return seq, prev


# --- the signed head -------------------------------------------------------------------------


def head_body(
    chain_id: str, validator: str, seq: int, entry_hash: str, at_ms: int
) -> dict[str, Any]:
    return {
        "type": HEAD_TYPE,
        "chain_id": chain_id,
        "validator": validator,
        "seq": seq,
        "entry_hash": entry_hash,
        "at_ms": at_ms,
    }


def sign_head(
    head: Mapping[str, Any], signer: Signer, validator_history: Sequence[Any] = ()
) -> dict[str, Any]:
    """``{"head": head, "signature": Sig(sk, C(head)), "validator_history": [...]}``; the
    history (spec section 6, step 5) leads from the genesis set to a set holding the signing
    validator. It needs no signature of its own: each handover carries its certificate."""
    return {
        "head": dict(head),
        "signature": signer.sign(canonical(head)),
        "validator_history": list(validator_history),
    }


@dataclass(frozen=True)
class Head:
    seq: int
    entry_hash: str
    at_ms: int
    validator: str


def verify_head(signed: Any, genesis: Genesis) -> Head:
    """A head signed for the chain of ``genesis`` by a validator of its set or of a set the
    head's ``validator_history`` (empty when absent) hands trust to."""
    step = "access log head"
    try:
        head, signature = signed["head"], signed["signature"]
        history = signed.get("validator_history", [])
        fields = {k: head[k] for k in ("chain_id", "validator", "seq", "entry_hash", "at_ms")}
    except (KeyError, TypeError, AttributeError):
        raise MalformedData(
            "a signed access log head is {head: {type, chain_id, validator, seq, entry_hash, "
            "at_ms}, signature}"
        ) from None
    if head != head_body(**fields) or type(fields["seq"]) is not int:
        raise MalformedData("the access log head has other fields or types than expected")
    if fields["chain_id"] != genesis.chain_id:
        raise VerificationError(
            step, "head of another chain", expected=genesis.chain_id, found=fields["chain_id"]
        )
    try:
        validator = history_validator(
            genesis, str(fields["validator"]), history, step=f"{step} validator"
        )
    except VerificationError as exc:
        raise InvalidSignature(
            exc.step,
            f"signed by a node that is not a validator: {exc.message}",
            expected=exc.expected,
            found=exc.found,
        ) from None
    if not isinstance(signature, str):
        raise MalformedData("the head signature is a hex string")
    PublicKey(validator.public_key).verify(signature, canonical(head), step=f"{step} signature")
    return Head(fields["seq"], fields["entry_hash"], fields["at_ms"], validator.id)


def check_reaches(kept: Head, current: Head, hash_at_kept_seq: str | None) -> None:
    """The log now (``current``) still holds the head an auditor kept, with the same hash."""
    if current.seq < kept.seq:
        raise AccessLogError(
            kept.seq,
            "truncated",
            f"the node signed a log of {kept.seq} entries (at_ms {kept.at_ms}); it now shows "
            f"only {current.seq}: entries were deleted from the end",
            expected=kept.seq,
            found=current.seq,
        )
    if hash_at_kept_seq != kept.entry_hash:
        raise AccessLogError(
            kept.seq,
            "rewritten",
            f"differs from the entry the node signed at at_ms {kept.at_ms}: the log was rewritten",
            expected=kept.entry_hash,
            found=hash_at_kept_seq,
        )


def check_head(head: Head, last: tuple[int, str]) -> None:
    """The chain just verified ends exactly at the signed head."""
    seq, entry_hash = last
    if (seq, entry_hash) != (head.seq, head.entry_hash):
        raise AccessLogError(
            head.seq,
            "head",
            "the entries do not end at the head the node signed",
            expected=[head.seq, head.entry_hash],
            found=[seq, entry_hash],
        )
