"""What the e-bidding endpoints show: read models (dicts) built from the state.

Before a tender's opening record (``tender.open``) the public views say of a bid only that
it exists (its id, when it was committed, whether it was withdrawn): not its bidder, not
its commitment, not its reveal. Its bidder sees the whole record through a signed request.
Everything after opening is public, as the opening of bids is (电子招标投标办法).
The verification steps are in ``verify``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.domains.bidding.state import (
    NS_BIDS,
    NS_EVENTS,
    NS_GUARANTEES,
    NS_REPORTS,
    NS_SCORES,
    NS_TENDER_GUARANTEE,
    NS_TENDERS,
    bids_of,
    bond_limit_cents,
    cents,
    is_open,
    key,
    money,
    tender_of,
)
from ledger.domains.state import StateView
from ledger.errors import InvalidInput, NotFound

# --- tenders -------------------------------------------------------------------------------


def _bid_counts(bids: list[dict[str, Any]]) -> dict[str, int]:
    withdrawn = sum(1 for b in bids if b["status"] == "withdrawn")
    return {"committed": len(bids), "withdrawn": withdrawn, "active": len(bids) - withdrawn}


def tender_summary(state: StateView, tender: Mapping[str, Any]) -> dict[str, Any]:
    code = tender["project_code"]
    return {
        "project_code": code,
        "title": tender["title"],
        "category": tender["category"],
        "tenderer": tender["tenderer"],
        "status": tender["status"],
        "bid_deadline": tender["bid_deadline"],
        "opening_time": tender["opening_time"],
        "bids": _bid_counts(bids_of(state, code)),
        "published": tender["published"],
    }


def tender_list(state: StateView, status: str | None) -> list[dict[str, Any]]:
    """Every tender (of ``status``, when given), oldest first, with counts of its bids."""
    items = [
        tender_summary(state, t)
        for _, t in state.items(NS_TENDERS)
        if status is None or t["status"] == status
    ]
    items.sort(key=lambda t: (t["published"]["height"], t["project_code"]))
    return items


def tender_view(state: StateView, code: str) -> dict[str, Any]:
    tender = tender_of(state, code)
    bids = bids_of(state, code)
    issued = sum(1 for _ in _guarantee_events(state, code))
    out: dict[str, Any] = {
        "project_code": code,
        "title": tender["title"],
        "category": tender["category"],
        "tenderer": tender["tenderer"],
        "status": tender["status"],
        "bid_deadline": tender["bid_deadline"],
        "opening_time": tender["opening_time"],
        "evaluation_method": tender["evaluation_method"],
        "estimated_value": tender["estimated_value"],
        "bid_bond": tender["bid_bond"],
        "bid_bond_limit": money(bond_limit_cents(tender["estimated_value"])),
        "committee": tender["committee"],
        "document_hash": tender["document_hash"],
        "published": tender["published"],
        "bids": _bid_counts(bids),
        "guarantees_issued": issued,
        "opening": tender["opening"],
        "evaluation": None,
        "award": tender["award"],
    }
    if is_open(tender):
        bidders = {b["bidder"] for b in bids}
        out["bidders_with_guarantee"] = sorted(
            b for b in bidders if state.get(NS_TENDER_GUARANTEE, key(code, b))
        )
        out["evaluation"] = evaluation_summary(state, tender)
    return out


def _guarantee_events(state: StateView, code: str) -> list[Mapping[str, Any]]:
    return [e for e in state.get(NS_EVENTS, code) or [] if e["type"] == "guarantee.issue"]


# --- bids ----------------------------------------------------------------------------------


def bid_public(state: StateView, bid: Mapping[str, Any]) -> dict[str, Any]:
    tender = tender_of(state, bid["project_code"])
    if not is_open(tender):
        return {
            "bid_id": bid["bid_id"],
            "project_code": bid["project_code"],
            "status": "withdrawn" if bid["status"] == "withdrawn" else "sealed",
            "committed": bid["committed"],
            "withdrawn": bid["withdrawn"],
            "sealed_until_opening": True,
        }
    return {**bid, "sealed_until_opening": False}


def bid_private(state: StateView, bid: Mapping[str, Any]) -> dict[str, Any]:
    """The whole record, for its bidder: commitment, reveal, the guarantee in its name."""
    tender = tender_of(state, bid["project_code"])
    number = state.get(NS_TENDER_GUARANTEE, key(bid["project_code"], bid["bidder"]))
    return {
        **bid,
        "tender": {
            "project_code": tender["project_code"],
            "status": tender["status"],
            "bid_deadline": tender["bid_deadline"],
            "opening_time": tender["opening_time"],
            "bid_bond": tender["bid_bond"],
        },
        "guarantee": state.get(NS_GUARANTEES, number) if number else None,
    }


def own_bids(state: StateView, code: str, bidder: str) -> dict[str, Any]:
    """A bidder's own bids on a tender, whole."""
    tender_of(state, code)
    mine = [b for b in bids_of(state, code) if b["bidder"] == bidder]
    return {
        "project_code": code,
        "bidder": bidder,
        "bids": [bid_private(state, b) for b in mine],
    }


def tender_bids(state: StateView, code: str) -> dict[str, Any]:
    tender = tender_of(state, code)
    bids = bids_of(state, code)
    return {
        "project_code": code,
        "status": tender["status"],
        "sealed_until_opening": not is_open(tender),
        "counts": _bid_counts(bids),
        "bids": [bid_public(state, b) for b in bids],
    }


def guarantee_public(state: StateView, number: str) -> dict[str, Any]:
    guarantee = state.get(NS_GUARANTEES, number)
    if guarantee is None:
        raise NotFound(f"no guarantee {number!r}", code="unknown_guarantee")
    tender = tender_of(state, guarantee["project_code"])
    if not is_open(tender):
        return {
            "guarantee_no": number,
            "project_code": guarantee["project_code"],
            "issued": guarantee["issued"],
            "sealed_until_opening": True,
        }
    return {**guarantee, "sealed_until_opening": False}


# --- evaluation ----------------------------------------------------------------------------


def _average(total: int, count: int) -> str:
    """Mean of scores given in hundredths, rounded half up to two decimals."""
    return money((2 * total + count) // (2 * count)) if count else "0.00"


def evaluation_summary(state: StateView, tender: Mapping[str, Any]) -> dict[str, Any]:
    code = tender["project_code"]
    scored = [m for m in tender["committee"] if state.get(NS_SCORES, key(code, m))]
    report = state.get(NS_REPORTS, code)
    return {
        "scored_by": scored,
        "awaiting_scores": [m for m in tender["committee"] if m not in scored],
        "report_status": None if report is None else report["status"],
    }


def evaluation_view(state: StateView, code: str) -> dict[str, Any]:
    tender = tender_of(state, code)
    if not is_open(tender):
        raise InvalidInput(
            f"tender {code} is not opened yet; its evaluation starts after the opening record",
            code="tender_not_opened",
        ).with_status(409)
    opened = tender["opening"]["opened"]
    sheets = {m: state.get(NS_SCORES, key(code, m)) for m in tender["committee"]}
    totals: dict[str, int] = {b["bid_id"]: 0 for b in opened}
    count = 0
    for sheet in sheets.values():
        if sheet is None:
            continue
        count += 1
        for item in sheet["scores"]:
            totals[item["bid_id"]] += cents(item["score"])
    report = state.get(NS_REPORTS, code)
    answers: dict[str, Any] = {} if report is None else dict(report["answers"])
    return {
        "project_code": code,
        "status": tender["status"],
        "evaluation_method": tender["evaluation_method"],
        "committee": tender["committee"],
        "bids": [
            {
                "bid_id": b["bid_id"],
                "bidder": b["bidder"],
                "price": b["price"],
                "bond_ok": b["bond_ok"],
                "total_score": money(totals[b["bid_id"]]),
                "average_score": _average(totals[b["bid_id"]], count),
            }
            for b in opened
        ],
        "score_sheets": [s for s in sheets.values() if s is not None],
        "awaiting_scores": [m for m, s in sheets.items() if s is None],
        "report": report,
        "signatures": {
            "signed": [m for m, a in answers.items() if a["answer"] == "signed"],
            "refused_with_reasons": [
                m for m, a in answers.items() if a["answer"] == "refused_with_reasons"
            ],
            "refused_without_reasons_counted_as_assent": [
                m for m, a in answers.items() if a["answer"] == "refused_without_reasons"
            ],
            "awaiting": [m for m in tender["committee"] if report and m not in answers],
        },
    }


# --- timeline ------------------------------------------------------------------------------


def _describe(state: StateView, tender: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
    """(summary, details) of one event, as much as may be public now."""
    kind, opened = event["type"], is_open(tender)
    if kind == "tender.publish":
        return (
            f"tender published by {tender['tenderer']}: {tender['title']}",
            {
                "bid_deadline": tender["bid_deadline"],
                "opening_time": tender["opening_time"],
                "estimated_value": tender["estimated_value"],
                "bid_bond": tender["bid_bond"],
            },
        )
    if kind in ("bid.commit", "bid.withdraw", "bid.reveal"):
        verb = {"bid.commit": "committed", "bid.withdraw": "withdrawn", "bid.reveal": "revealed"}
        details: dict[str, Any] = {"bid_id": event["bid_id"]}
        if opened:
            bid = state.get(NS_BIDS, event["bid_id"])
            details["bidder"] = bid["bidder"]
            if kind == "bid.reveal":
                details["price"] = bid["revealed"]["price"]
        return f"a bid was {verb[kind]}", details
    if kind == "guarantee.issue":
        details = {"guarantee_no": event["guarantee_no"]}
        if opened:
            g = state.get(NS_GUARANTEES, event["guarantee_no"])
            details.update(bidder=g["bidder"], guarantor=g["guarantor"], amount=g["amount"])
        return "a bid guarantee was issued", details
    if kind == "tender.open":
        o = tender["opening"]
        return (
            f"opening record: {len(o['opened'])} bid(s) opened, {len(o['revoked'])} revoked "
            f"(never revealed), {len(o['withdrawn'])} withdrawn; result {o['result']}",
            {"result": o["result"], "opened": [b["bid_id"] for b in o["opened"]]},
        )
    if kind == "evaluation.score":
        return f"{event['evaluator']} submitted a score sheet", {"evaluator": event["evaluator"]}
    if kind == "evaluation.report":
        who, action = event["evaluator"], event["action"]
        text = {
            "propose": f"{who} proposed the evaluation report",
            "signed": f"{who} signed the evaluation report",
            "refused_with_reasons": f"{who} refused to sign, with reasons (recorded as dissent)",
            "refused_without_reasons": (
                f"{who} refused to sign without reasons (counts as assent)"
            ),
        }[action]
        return text, {"evaluator": who, "action": action}
    if kind == "award.publish":
        a = tender["award"]
        return (
            f"award published: bid {a['bid_id']} of {a['bidder']} at {a['price']}",
            {"bid_id": a["bid_id"], "bidder": a["bidder"], "price": a["price"]},
        )
    return kind, {}


def timeline(state: StateView, code: str) -> list[dict[str, Any]]:
    tender = tender_of(state, code)
    out = []
    for seq, event in enumerate(state.get(NS_EVENTS, code) or [], start=1):
        summary, details = _describe(state, tender, event)
        out.append(
            {
                "seq": seq,
                "type": event["type"],
                "tx_id": event["tx_id"],
                "height": event["height"],
                "time_ms": event["time_ms"],
                "summary": summary,
                "details": details,
            }
        )
    return out
