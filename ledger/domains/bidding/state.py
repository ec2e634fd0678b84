"""The e-bidding records in the state map: their namespaces and keys, how amounts are
written in them, and pure readers of them from a ``StateView``.

Records (dicts, as ``rules`` writes them): a tender (terms, committee, ``status`` one of
``published``, ``opened``, ``failed``, ``evaluated``, ``awarded``, the ``opening`` record and
the ``award`` once there); a bid (``sealed``, ``withdrawn``, ``revealed`` or ``revoked``); a
guarantee; a score sheet per evaluator; the evaluation report with every member's answer;
the tender's events in chain order (``{"type", "tx_id", "height", "time_ms", ...refs}``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.domains.state import StateView
from ledger.errors import NotFound

NS_TENDERS = "bidding.tenders"  # project code -> tender
NS_BIDS = "bidding.bids"  # bid id (commit tx id) -> bid
NS_TENDER_BIDS = "bidding.tender_bids"  # project code -> [bid id, ...] in chain order
NS_ACTIVE = "bidding.active_bid"  # "code|bidder" -> bid id of the bid not withdrawn
NS_COMMITMENTS = "bidding.commitments"  # "code|commitment" -> bid id
NS_GUARANTEES = "bidding.guarantees"  # guarantee number -> guarantee
NS_TENDER_GUARANTEE = "bidding.tender_guarantee"  # "code|bidder" -> guarantee number
NS_EVENTS = "bidding.events"  # project code -> [event, ...] in chain order
NS_SCORES = "bidding.scores"  # "code|evaluator" -> score sheet
NS_REPORTS = "bidding.reports"  # project code -> evaluation report

BOND_LIMIT_PERCENT = 2  # 招标投标法实施条例 Art. 26


def key(*parts: str) -> str:
    """A compound key: ``key(code, bidder)`` -> ``"code|bidder"``."""
    return "|".join(parts)


# --- amounts: decimal strings with two decimals, compared as integer cents ----------------


def cents(amount: str) -> int:
    """``"1250000.00"`` -> 125000000 (exact; the pattern guarantees two decimals)."""
    whole, _, frac = amount.partition(".")
    return int(whole) * 100 + int(frac)


def money(amount_cents: int) -> str:
    return f"{amount_cents // 100}.{amount_cents % 100:02d}"


def bond_limit_cents(estimated_value: str) -> int:
    """The largest bond allowed: 2% of the estimated value, rounded down to the cent."""
    return cents(estimated_value) * BOND_LIMIT_PERCENT // 100


# --- readers -------------------------------------------------------------------------------


def is_open(tender: Mapping[str, Any]) -> bool:
    """Whether the opening record exists: from then on every bid is public."""
    return bool(tender["status"] != "published")


def has_tender(state: StateView, code: str) -> bool:
    return state.get(NS_TENDERS, code) is not None


def tender_of(state: StateView, code: str) -> dict[str, Any]:
    tender = state.get(NS_TENDERS, code)
    if tender is None:
        raise NotFound(f"no tender with project code {code!r}", code="unknown_tender")
    return dict(tender)


def bid_of(state: StateView, bid_id: str) -> dict[str, Any]:
    bid = state.get(NS_BIDS, bid_id)
    if bid is None:
        raise NotFound(f"no bid {bid_id}", code="unknown_bid")
    return dict(bid)


def bids_of(state: StateView, code: str) -> list[dict[str, Any]]:
    return [dict(state.get(NS_BIDS, b)) for b in state.get(NS_TENDER_BIDS, code) or []]


def tender_snapshot(state: StateView, code: str) -> tuple[dict[str, Any], list[Any]]:
    """What verification reads of the state, read at once (values are never mutated)."""
    return tender_of(state, code), list(state.get(NS_EVENTS, code) or [])
