"""What the API shows of the cards: a card's public record, its status and QR code, counts by
school and status (public), and a school's card register (restricted: that school and
auditors). Statuses are read at the newest block's time (``tip_time``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ledger.canonical import parse_json
from ledger.domains.edu_card._format import issuer_did, ms_to_iso, qr_payload
from ledger.domains.edu_card.state import CARDS, card_record, card_status
from ledger.domains.state import StateView
from ledger.errors import NotFound

REGISTER_READERS = frozenset({"school", "auditor"})
"""who may read a school's card register: the school itself, and auditors"""


def find_card(state: StateView, card_id: str) -> Mapping[str, Any]:
    record = card_record(state, card_id)
    if record is None:
        raise NotFound(f"no card {card_id} on this ledger", code="card_not_found")
    return record


def recorded_credential(load_leaf: Callable[[str], bytes | None], tx_id: str) -> Any:
    """The credential in the payload of stored transaction ``tx_id``; ``load_leaf`` gives a
    stored transaction's leaf bytes (None when it is not on the ledger)."""
    leaf = load_leaf(tx_id)
    if leaf is None:
        raise NotFound(f"transaction {tx_id} is not on the ledger", code="tx_not_found")
    payload: Mapping[str, Any] = parse_json(leaf)["envelope"]["payload"]
    return payload["credential"]


def card_view(
    record: Mapping[str, Any], credential: Any, height: int, tip_time: int
) -> dict[str, Any]:
    """A card's public record: status at the newest block, validity, versions, events, and
    the current ``credential`` (claim digests only)."""
    status, why = card_status(record, tip_time)
    return {
        "card_id": record["card_id"],
        "issuer": record["issuer"],
        "issuer_did": issuer_did(record["issuer"]),
        "status": status,
        "status_explained": why,
        "recorded_status": record["status"],
        "valid_from": record["valid_from"],
        "valid_until": record["valid_until"],
        "version": record["version"],
        "current_tx": record["current_tx"],
        "versions": record["versions"],
        "events": record["events"],
        "credential": credential,
        "checked_at": {"height": height, "block_time": tip_time},
    }


def status_view(
    card_id: str, record: Mapping[str, Any], height: int, tip_time: int
) -> dict[str, Any]:
    """The card's status at the newest block (what ``credentialStatus.statusPath`` names)."""
    state, why = card_status(record, tip_time)
    return {
        "card_id": card_id,
        "issuer": record["issuer"],
        "status": state,
        "status_explained": why,
        "valid_from": record["valid_from"],
        "valid_until": record["valid_until"],
        "version": record["version"],
        "current_tx": record["current_tx"],
        "height": height,
        "block_time": tip_time,
        "block_time_utc": ms_to_iso(tip_time),
    }


def qr_view(card_id: str, record: Mapping[str, Any], ledger_url: str) -> dict[str, Any]:
    """The string to print as the card's QR code: the card's page in the portal of the
    ledger whose configured public URL is ``ledger_url``."""
    return {
        "card_id": card_id,
        "tx_id": record["current_tx"],
        "ledger_url": ledger_url,
        "qr": qr_payload(card_id, record["current_tx"], ledger_url),
    }


def stats(state: StateView, height: int, tip_time: int) -> dict[str, Any]:
    """Counts of cards by school and by status at the newest block."""
    by_status: dict[str, int] = {}
    by_school: dict[str, dict[str, int]] = {}
    for _, record in state.items(CARDS):
        status, _why = card_status(record, tip_time)
        by_status[status] = by_status.get(status, 0) + 1
        school = by_school.setdefault(record["issuer"], {})
        school[status] = school.get(status, 0) + 1
    return {
        "cards": sum(by_status.values()),
        "by_status": dict(sorted(by_status.items())),
        "by_school": {k: dict(sorted(v.items())) for k, v in sorted(by_school.items())},
        "height": height,
    }


def school_register(state: StateView, school: str, height: int, tip_time: int) -> dict[str, Any]:
    """The cards ``school`` issued, with guardian-consent flags (restricted: see
    ``REGISTER_READERS``)."""
    cards = []
    for card_id, record in sorted(state.items(CARDS)):
        if record["issuer"] != school:
            continue
        status, _why = card_status(record, tip_time)
        cards.append(
            {
                "card_id": card_id,
                "status": status,
                "valid_from": record["valid_from"],
                "valid_until": record["valid_until"],
                "version": record["version"],
                "holder_under_14": record["holder_under_14"],
                "guardian_consent": record["guardian_consent"],
                "guardian_consent_record": record["guardian_consent_record"],
                "issued_tx": record["versions"][0]["tx_id"],
                "current_tx": record["current_tx"],
            }
        )
    return {"school": school, "count": len(cards), "cards": cards, "height": height}
