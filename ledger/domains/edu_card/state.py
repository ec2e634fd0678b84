"""The cards on the ledger: ``edu_card.cards`` maps a card id to the card's record.

A record (written by ``rules.py``, values JSON-like and replaced, never changed in place):
``card_id``, ``issuer`` (the school's member id), ``holder`` (``credentialSubject.id``),
``status`` as recorded (``active``, ``suspended`` or ``revoked``), the current period as
``valid_from``/``valid_until`` and in milliseconds ``valid_from_ms``/``valid_until_ms``,
``core_sm3`` (what a renewal must keep, ``verify.core_sm3``), ``claim_digests`` (how many),
``holder_under_14``, ``guardian_consent``, ``guardian_consent_record``, ``version`` and
``current_tx`` (the current version and the transaction that recorded it), ``versions``
(each: ``version``, ``tx_id``, ``height``, ``time_ms``, ``credential_sm3``, ``valid_from``,
``valid_until``) and ``events`` (each: ``action``, ``tx_id``, ``height``, ``time_ms``, and a
``reason``, or for a renewal ``version`` and ``valid_until``).

A card's status as shown (:func:`card_status`) also depends on the time it is read at: a
block's time, so that every node answers the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.domains.state import StateView

CARDS = "edu_card.cards"


def card_record(state: StateView, card_id: str) -> Mapping[str, Any] | None:
    """The card's record, None when the ledger has no such card."""
    record: Mapping[str, Any] | None = state.get(CARDS, card_id)
    return record


def card_status(record: Mapping[str, Any], time_ms: int) -> tuple[str, str]:
    """The card's status at ``time_ms`` (a block time) and a sentence that explains it."""
    status = record["status"]
    if status == "revoked":
        last = _last_event(record, "revoke")
        return "revoked", (
            f"the school revoked this card (reason: {last.get('reason', 'unknown')}) "
            f"at block {last.get('height')}"
        )
    if status == "suspended":
        last = _last_event(record, "suspend")
        return "suspended", (
            f"the school suspended this card (reason: {last.get('reason', 'unknown')}) "
            f"at block {last.get('height')}; it is not valid until the school reinstates it"
        )
    if time_ms >= record["valid_until_ms"]:
        return "expired", f"the card expired at {record['valid_until']}"
    if time_ms < record["valid_from_ms"]:
        return "not_yet_valid", f"the card is valid only from {record['valid_from']}"
    return "active", (
        f"the card is active: issued by {record['issuer']}, valid from "
        f"{record['valid_from']} until {record['valid_until']}"
    )


def _last_event(record: Mapping[str, Any], action: str) -> Mapping[str, Any]:
    for event in reversed(record["events"]):
        if event["action"] == action:
            result: Mapping[str, Any] = event
            return result
    return {}
