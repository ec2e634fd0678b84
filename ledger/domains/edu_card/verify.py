"""The offline check of a presented card, as a school or an employer runs it without
trusting the node that serves it: :func:`verify_presented` checks the card step by step
(docs/domains/edu_card.md, "Verify"): its shape, the school's SM2 signature, the version the
ledger recorded and that version's receipt, the disclosures, the status at the newest block
and the card's own period; :func:`verify_qr` first finds the card a QR code names. Each step
is reported with its outcome in plain words. The check asks the ledger only what
:class:`CardLedger` names. The format itself (digests, signing bytes, QR strings) is in
``_format.py``. Needs only the crypto dependencies.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any, Protocol

from ledger.canonical import canonical
from ledger.crypto import PublicKey
from ledger.domains.edu_card._format import (
    HOLDER_CLAIM,
    HOLDER_URN,
    MIN_SALT_HEX,
    CardCredential,
    credential_sm3,
    disclosure_digest,
    iso_to_ms,
    ms_to_iso,
    parse_qr,
    read_credential,
    signing_bytes,
)
from ledger.domains.edu_card.state import card_status
from ledger.errors import LedgerError, NotFound, VerificationError
from ledger.model import Genesis, Header
from ledger.verify import verify_receipt


class CardLedger(Protocol):
    """What checking a card asks of the ledger that records it: a node answers from its
    state (``api/domains/edu_card.py``); an offline checker, from answers it fetched."""

    @property
    def tip(self) -> Header:
        """The newest block: the card's status is read as of its time."""
        ...

    @property
    def genesis(self) -> Genesis:
        """The trusted genesis that receipts are checked against."""
        ...

    def key_owner(self, key_id: str) -> str | None:
        """The member a key was registered for (active or not); None for an unknown key."""
        ...

    def member_roles(self, member_id: str) -> Collection[str] | None:
        """A member's roles; None when there is no such member."""
        ...

    def card(self, card_id: str) -> Mapping[str, Any] | None:
        """The card's record (``state.py``); None when the ledger has no such card."""
        ...

    def receipt(self, tx_id: str) -> Mapping[str, Any]:
        """The receipt of a committed transaction; a ``LedgerError`` when there is none."""
        ...

    def credential(self, tx_id: str) -> Any:
        """The credential that transaction ``tx_id`` recorded; ``NotFound`` when none."""
        ...


class _Steps:
    def __init__(self) -> None:
        self.steps: list[dict[str, str]] = []

    def add(self, step: str, passed: bool, detail: str) -> bool:
        self.steps.append(
            {"step": step, "outcome": "passed" if passed else "failed", "detail": detail}
        )
        return passed

    def skip(self, step: str, detail: str) -> None:
        self.steps.append({"step": step, "outcome": "skipped", "detail": detail})

    @property
    def all_passed(self) -> bool:
        return bool(self.steps) and all(s["outcome"] == "passed" for s in self.steps)


def _check_disclosure(
    steps: _Steps, i: int, item: Any, cred: CardCredential, seen: set[str]
) -> tuple[str, Any] | None:
    step = f"disclosure[{i}]"
    if (
        not isinstance(item, list)
        or len(item) != 3
        or not isinstance(item[0], str)
        or not isinstance(item[1], str)
        or not isinstance(item[2], str | int | bool)
        or (isinstance(item[2], int) and not isinstance(item[2], bool) and abs(item[2]) >= 2**53)
    ):
        steps.add(step, False, "a disclosure is a list [salt, claim name, value]; this is not")
        return None
    salt, name, value = item
    if not re.fullmatch(r"[0-9a-f]+", salt) or len(salt) < MIN_SALT_HEX or len(salt) % 2:
        steps.add(
            step,
            False,
            f"the salt of claim {name!r} is not at least 128 bits of lowercase hex, so the "
            "value behind its digest could be guessed; it is not accepted",
        )
        return None
    digest = disclosure_digest(item)
    if name in seen:
        steps.add(step, False, f"claim {name!r} is disclosed twice")
        return None
    seen.add(name)
    if name == HOLDER_CLAIM:
        ok = cred.subject_id == HOLDER_URN + digest
        steps.add(
            step,
            ok,
            "the holder reference matches the card's subject: this card was issued to this holder"
            if ok
            else "the holder value does not match the card's subject reference: it was "
            "altered or belongs to another card",
        )
    else:
        ok = digest in cred.digests
        steps.add(
            step,
            ok,
            f"claim {name!r} = {value!r} matches digest {digest[:12]}… signed into the card"
            if ok
            else f"claim {name!r} = {value!r} matches none of the card's digests: it was "
            "altered or belongs to another card",
        )
    return (name, value) if ok else None


def verify_presented(
    credential: Any,
    disclosures: Sequence[Any],
    ledger: CardLedger,
    now_ms: int,
    steps: _Steps | None = None,
) -> dict[str, Any]:
    """Check a presented card step by step (see docs/domains/edu_card.md, "Verify") against
    ``ledger``; ``now_ms`` is the time of the check, for the card's own period."""
    steps = steps or _Steps()
    tip = ledger.tip
    result: dict[str, Any] = {
        "valid": False,
        "card_id": None,
        "issuer": None,
        "status": None,
        "disclosed": {},
        "checked_at": {
            "height": tip.height,
            "block_time": tip.timestamp,
            "block_time_utc": ms_to_iso(tip.timestamp),
            "block_hash": tip.block_hash,
        },
    }
    try:
        cred = read_credential(credential)
        canonical(credential)
    except LedgerError as exc:
        steps.add("credential_shape", False, f"this is not an education card: {exc.message}")
        result["steps"] = steps.steps
        return result
    steps.add(
        "credential_shape",
        True,
        f"the card is a well-formed education identity card, id {cred.card_id}",
    )
    result["card_id"], result["issuer"] = cred.card_id, cred.issuer_member

    # the school's signature
    owner = ledger.key_owner(cred.key_id)
    roles = ledger.member_roles(cred.issuer_member)
    if owner is None or owner != cred.issuer_member or roles is None:
        steps.add(
            "school_signature",
            False,
            f"the key that signed the card is not a key the ledger registered for "
            f"{cred.issuer_member!r}",
        )
    elif "school" not in roles:
        steps.add(
            "school_signature", False, f"{cred.issuer_member!r} is not a school on this ledger"
        )
    else:
        try:
            PublicKey(cred.public_key_hex).verify(
                cred.proof_value, signing_bytes(credential), step="proof"
            )
            steps.add(
                "school_signature",
                True,
                f"the card carries a valid SM2 signature of school {cred.issuer_member!r} "
                f"(key {cred.key_id[:12]}…), so nothing in it changed after the school signed",
            )
        except VerificationError:
            steps.add(
                "school_signature",
                False,
                f"the signature does not match the card's contents: the card was altered "
                f"after school {cred.issuer_member!r} signed it",
            )

    # the card and this version of it on the ledger
    record = ledger.card(cred.card_id)
    version: Mapping[str, Any] | None = None
    if record is None or record["issuer"] != cred.issuer_member:
        steps.add(
            "recorded_on_ledger",
            False,
            f"this ledger has no card {cred.card_id} issued by {cred.issuer_member!r}",
        )
    else:
        fingerprint = credential_sm3(credential)
        version = next((v for v in record["versions"] if v["credential_sm3"] == fingerprint), None)
        if version is None:
            steps.add(
                "recorded_on_ledger",
                False,
                "the ledger holds this card, but not this exact credential: it differs from "
                "every version the school recorded",
            )
        elif version["version"] != record["version"]:
            steps.add(
                "recorded_on_ledger",
                False,
                f"this is version {version['version']} of the card; the school renewed it at "
                f"block {record['versions'][-1]['height']} (now valid until "
                f"{record['valid_until']}): ask the holder for the renewed card",
            )
        else:
            steps.add(
                "recorded_on_ledger",
                True,
                f"this exact credential is the card's current version ({version['version']}), "
                f"recorded at block {version['height']}",
            )

    # the receipt of the transaction that recorded this version
    if version is None:
        steps.skip("issuance_receipt", "no recorded version of this card to prove")
    else:
        try:
            receipt = ledger.receipt(version["tx_id"])
            verified = verify_receipt(receipt, ledger.genesis)
            env = verified.transaction.envelope
            same = (
                env.submitter == cred.issuer_member
                and env.type in {"edu_card.issue", "edu_card.renew"}
                and canonical(env.payload.get("credential")) == canonical(credential)
            )
            steps.add(
                "issuance_receipt",
                same,
                f"the validators certified block {verified.header.height} "
                f"({ms_to_iso(verified.header.timestamp)}) holding transaction "
                f"{verified.tx_id[:12]}… by which {env.submitter!r} recorded this exact card; "
                "the receipt checks against the ledger's genesis"
                if same
                else "the receipt is valid but its transaction did not record this card",
            )
            result["receipt_tx_id"] = verified.tx_id
        except LedgerError as exc:
            steps.add(
                "issuance_receipt",
                False,
                f"the receipt of the recording transaction does not verify: {exc.message}",
            )

    # disclosures
    seen: set[str] = set()
    disclosed: dict[str, Any] = {}
    if not disclosures:
        steps.add(
            "disclosures", True, "the holder disclosed no claims; only the card itself is checked"
        )
    for i, item in enumerate(disclosures):
        got = _check_disclosure(steps, i, item, cred, seen)
        if got is not None:
            disclosed[got[0]] = got[1]
    result["disclosed"] = disclosed

    # status at the newest block, and the credential's own period
    if record is None:
        steps.skip("status", "the card is not on this ledger")
    else:
        status, why = card_status(record, tip.timestamp)
        result["status"] = status
        steps.add(
            "status",
            status == "active",
            f"at the newest block ({tip.height}, {ms_to_iso(tip.timestamp)}) {why}",
        )
    start, end = iso_to_ms(cred.valid_from), iso_to_ms(cred.valid_until)
    steps.add(
        "validity_period",
        start <= now_ms < end,
        f"the card's own period ({cred.valid_from} to {cred.valid_until}) "
        + ("covers" if start <= now_ms < end else "does not cover")
        + f" the time of this check ({ms_to_iso(now_ms)})",
    )
    result["valid"] = steps.all_passed
    result["steps"] = steps.steps
    return result


def verify_qr(
    qr: str, disclosures: Sequence[Any], ledger: CardLedger, now_ms: int
) -> dict[str, Any]:
    """Check the card a QR code names: the version its transaction recorded, then as
    :func:`verify_presented`. A malformed QR code is ``InvalidInput`` (``bad_qr``), a card
    the ledger does not hold ``NotFound`` (``card_not_found``)."""
    steps = _Steps()
    code = parse_qr(qr)
    record = ledger.card(code.card_id)
    if record is None:
        raise NotFound(f"no card {code.card_id} on this ledger", code="card_not_found")
    version = next((v for v in record["versions"] if v["tx_id"] == code.tx_id), None)
    if version is None:
        steps.add(
            "qr_lookup",
            False,
            f"the QR code names transaction {code.tx_id[:12]}…, which recorded no version "
            f"of card {code.card_id}",
        )
        return {"valid": False, "card_id": code.card_id, "disclosed": {}, "steps": steps.steps}
    credential = ledger.credential(code.tx_id)
    steps.add(
        "qr_lookup",
        True,
        f"the QR code names card {code.card_id}; the ledger holds version "
        f"{version['version']} of it, recorded by transaction {code.tx_id[:12]}…",
    )
    return verify_presented(credential, disclosures, ledger, now_ms, steps)
