"""What the e-bidding endpoints show, and the verification steps. Pure functions of state.

Before a tender's opening record (``tender.open``) the public views say of a bid only that
it exists (its id, when it was committed, whether it was withdrawn): not its bidder, not
its commitment, not its reveal. Its bidder sees the whole record through a signed request.
Everything after opening is public, as the opening of bids is (电子招标投标办法).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ledger.domains.bidding.rules import (
    NS_BIDS,
    NS_EVENTS,
    NS_GUARANTEES,
    NS_REPORTS,
    NS_SCORES,
    NS_TENDER_BIDS,
    NS_TENDER_GUARANTEE,
    NS_TENDERS,
    bid_commitment,
    bond_limit_cents,
    cents,
    money,
    report_hash,
)
from ledger.domains.state import StateView
from ledger.errors import InvalidInput, LedgerError, NotFound
from ledger.model import Genesis
from ledger.verify import VerifiedReceipt, verify_receipt

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"


def _key(*parts: str) -> str:
    return "|".join(parts)


def is_open(tender: Mapping[str, Any]) -> bool:
    """Whether the opening record exists: from then on every bid is public."""
    return bool(tender["status"] != "published")


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
            b for b in bidders if state.get(NS_TENDER_GUARANTEE, _key(code, b))
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
    number = state.get(NS_TENDER_GUARANTEE, _key(bid["project_code"], bid["bidder"]))
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
    scored = [m for m in tender["committee"] if state.get(NS_SCORES, _key(code, m))]
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
    sheets = {m: state.get(NS_SCORES, _key(code, m)) for m in tender["committee"]}
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


# --- verification --------------------------------------------------------------------------

Fetch = Callable[[str], Mapping[str, Any]]


class _Steps:
    def __init__(self) -> None:
        self.items: list[dict[str, str]] = []

    def add(self, step: str, outcome: str, detail: str) -> None:
        self.items.append({"step": step, "outcome": outcome, "detail": detail})

    def check(self, step: str, ok: bool, passed: str, failed: str) -> bool:
        self.add(step, PASSED if ok else FAILED, passed if ok else failed)
        return ok

    @property
    def verified(self) -> bool:
        return all(s["outcome"] != FAILED for s in self.items)


class _Receipts:
    """Receipts fetched from the node and checked against the genesis, by tx id."""

    def __init__(self, fetch: Fetch, genesis: Genesis) -> None:
        self.fetch, self.genesis = fetch, genesis
        self.ok: dict[str, VerifiedReceipt] = {}
        self.bad: dict[str, str] = {}

    def get(self, tx_id: str) -> VerifiedReceipt | None:
        if tx_id not in self.ok and tx_id not in self.bad:
            try:
                self.ok[tx_id] = verify_receipt(self.fetch(tx_id), self.genesis)
            except LedgerError as exc:
                self.bad[tx_id] = exc.message
        return self.ok.get(tx_id)


def _payload(r: VerifiedReceipt) -> Mapping[str, Any]:
    return r.transaction.envelope.payload


BEIJING = timezone(timedelta(hours=8))


def _fmt_ms(value: int) -> str:
    """Block time as people in Guangzhou read it: ``2025-11-21 12:40:00.000 (UTC+8)``."""
    moment = datetime.fromtimestamp(value // 1000, BEIJING)
    return f"{moment:%Y-%m-%d %H:%M:%S}.{value % 1000:03d} (UTC+8)"


def tender_snapshot(state: StateView, code: str) -> tuple[dict[str, Any], list[Any]]:
    """What verification reads of the state, read at once (values are never mutated)."""
    return tender_of(state, code), list(state.get(NS_EVENTS, code) or [])


def verify_tender(
    tender: Mapping[str, Any], events: list[Any], fetch: Fetch, genesis: Genesis
) -> dict[str, Any]:
    """Re-check a tender from its signed transactions and their receipts, step by step."""
    code = tender["project_code"]
    receipts = _Receipts(fetch, genesis)
    steps = _Steps()
    verified = [(e, receipts.get(e["tx_id"])) for e in events]

    # 1. every event has a receipt an independent verifier accepts
    bad = [e["tx_id"] for e, r in verified if r is None]
    steps.check(
        "receipts",
        not bad,
        f"all {len(events)} transactions of this tender have receipts that verify against the "
        "genesis: submitter's SM2 signature, inclusion in the block, validators' certificate",
        f"{len(bad)} of {len(events)} receipts do not verify: "
        + "; ".join(f"{t}: {receipts.bad.get(t, '?')}" for t in bad),
    )
    publish = verified[0][1] if verified else None
    if publish is None or publish.transaction.envelope.type != "tender.publish":
        steps.add("published", FAILED, "no valid tender.publish transaction for this tender")
        return {"subject": {"tender": code}, "verified": False, "steps": steps.items}
    p = _payload(publish)
    deadline, opening_time, bond = p["bid_deadline"], p["opening_time"], cents(p["bid_bond"])
    steps.check(
        "published",
        publish.transaction.envelope.submitter == tender["tenderer"] and p["project_code"] == code,
        f"tender {code} was published by {tender['tenderer']} in block "
        f"{publish.header.height}; bid deadline {_fmt_ms(deadline)}, opening "
        f"{_fmt_ms(opening_time)}",
        "the publication does not match the tender recorded by the ledger",
    )
    limit = bond_limit_cents(p["estimated_value"])
    steps.check(
        "bid bond",
        bond <= limit,
        f"the bid bond {p['bid_bond']} is within 2% of the estimated value "
        f"{p['estimated_value']} (at most {money(limit)})",
        f"the bid bond {p['bid_bond']} exceeds 2% of {p['estimated_value']}",
    )

    # 2. deadlines by block time, taken from the block headers in the receipts
    commits = {e["tx_id"]: r for e, r in verified if r and e["type"] == "bid.commit"}
    late = [t for t, r in commits.items() if r.header.timestamp >= deadline]
    steps.check(
        "bids before the deadline",
        not late,
        f"all {len(commits)} bids were committed in blocks timestamped before the deadline",
        f"{len(late)} bid(s) are in blocks at or after the deadline: {', '.join(late)}",
    )
    withdrawals = [(e, r) for e, r in verified if r and e["type"] == "bid.withdraw"]
    wrong = [
        e["bid_id"]
        for e, r in withdrawals
        if r.header.timestamp >= deadline
        or e["bid_id"] not in commits
        or r.transaction.envelope.submitter != commits[e["bid_id"]].transaction.envelope.submitter
    ]
    if withdrawals:
        steps.check(
            "withdrawals",
            not wrong,
            f"{len(withdrawals)} withdrawal(s), each before the deadline and by the bidder who "
            "committed the bid",
            f"withdrawals out of time or by another member: {', '.join(wrong)}",
        )
    guarantees = [(e, r) for e, r in verified if r and e["type"] == "guarantee.issue"]
    short = [
        e["guarantee_no"]
        for e, r in guarantees
        if cents(_payload(r)["amount"]) < bond or r.header.timestamp >= deadline
    ]
    if guarantees:
        steps.check(
            "bid guarantees",
            not short,
            f"{len(guarantees)} electronic bid guarantee(s), each for at least the bond "
            f"{p['bid_bond']} and issued before the deadline",
            f"guarantees below the bond or late: {', '.join(short)}",
        )

    # 3. reveals and the opening record (public only once the tender is opened)
    if not is_open(tender):
        steps.add(
            "reveals and opening",
            NOT_APPLICABLE,
            f"the tender is not opened yet: {len(commits)} bid(s) exist and stay sealed",
        )
    else:
        revealed: set[str] = set()
        problems = []
        for e, r in verified:
            if r is None or e["type"] != "bid.reveal":
                continue
            commit = commits.get(e["bid_id"])
            q = _payload(r)
            if commit is None:
                problems.append(f"{e['bid_id']}: no such committed bid")
            elif r.header.timestamp < opening_time:
                problems.append(f"{e['bid_id']}: revealed before the opening time")
            elif r.transaction.envelope.submitter != commit.transaction.envelope.submitter:
                problems.append(f"{e['bid_id']}: revealed by another member")
            elif (
                bid_commitment(q["salt"], q["document_hash"], q["price"])
                != _payload(commit)["commitment"]
            ):
                problems.append(f"{e['bid_id']}: SM3(salt ‖ document hash ‖ price) differs")
            else:
                revealed.add(e["bid_id"])
        steps.check(
            "reveals",
            not problems,
            f"{len(revealed)} bid(s) revealed after the opening time by their bidders; for "
            "each, SM3(salt ‖ document hash ‖ price) recomputed equals the commitment",
            "; ".join(problems),
        )
        opening = next(((e, r) for e, r in verified if r and e["type"] == "tender.open"), None)
        if opening is None:
            steps.add("opening record", FAILED, "the tender is opened but has no opening record")
        else:
            e, r = opening
            named = set(_payload(r)["revealed_bids"])
            withdrawn = {x["bid_id"] for x, _ in withdrawals}
            revoked = set(commits) - revealed - withdrawn
            steps.check(
                "opening record",
                named == revealed
                and r.header.timestamp >= opening_time
                and r.transaction.envelope.submitter == tender["tenderer"],
                f"opened by the tenderer at block time {_fmt_ms(r.header.timestamp)}, naming "
                f"exactly the {len(named)} revealed bid(s); {len(revoked)} bid(s) never "
                "revealed count as revoked",
                "the opening record does not name exactly the revealed bids, or it was made "
                "before the opening time or by another member",
            )

    # 4. evaluation by the committee, and the report every member answered
    committee = set(tender["committee"])
    scores = [r for e, r in verified if r and e["type"] == "evaluation.score"]
    scorers = [r.transaction.envelope.submitter for r in scores]
    if scores:
        steps.check(
            "scores",
            set(scorers) <= committee and len(set(scorers)) == len(scorers),
            f"{len(scorers)} score sheet(s), each by a different committee member",
            "a score sheet is by a member outside the committee, or a member scored twice",
        )
    reports = [r for e, r in verified if r and e["type"] == "evaluation.report"]
    proposals = [r for r in reports if _payload(r)["action"] == "propose"]
    if proposals:
        q = _payload(proposals[0])
        digest = report_hash(code, q["ranking"], q["document_hash"])
        answered = {proposals[0].transaction.envelope.submitter}
        mismatched = []
        for r in reports[1:]:
            answered.add(r.transaction.envelope.submitter)
            if _payload(r)["report_hash"] != digest:
                mismatched.append(r.tx_id)
        steps.check(
            "report hash",
            not mismatched and len(proposals) == 1,
            f"every answer refers to report hash {digest}, recomputed from the proposed "
            "ranking and report document hash",
            f"answers refer to another report hash: {', '.join(mismatched)}",
        )
        missing = sorted(committee - answered)
        if missing:
            steps.add(
                "report signed by the committee",
                NOT_APPLICABLE,
                f"awaiting the signature or refusal of: {', '.join(missing)}",
            )
        else:
            steps.check(
                "report signed by the committee",
                answered == committee,
                f"all {len(committee)} committee members signed or refused the report "
                "(a refusal without reasons counts as assent)",
                "answers came from members outside the committee",
            )
    elif is_open(tender):
        steps.add("evaluation report", NOT_APPLICABLE, "no report has been proposed yet")

    # 5. the award
    award = next((r for e, r in verified if r and e["type"] == "award.publish"), None)
    if award is not None and proposals:
        ranking = _payload(proposals[0])["ranking"]
        winner = _payload(award)["bid_id"]
        steps.check(
            "award",
            winner in ranking
            and award.transaction.envelope.submitter == tender["tenderer"]
            and not (committee - {r.transaction.envelope.submitter for r in reports}),
            f"the award goes to bid {winner}, ranked "
            f"{ranking.index(winner) + 1 if winner in ranking else '?'} in the complete report, "
            "published by the tenderer",
            "the award is not a ranked candidate of a complete report, or not by the tenderer",
        )
    elif tender["status"] == "evaluated":
        steps.add("award", NOT_APPLICABLE, "the report is complete; no award published yet")
    steps.check(
        "state",
        tender["status"] != "awarded" or award is not None,
        f"the tender's status '{tender['status']}' follows from these transactions",
        f"the tender's status '{tender['status']}' is not backed by an award transaction",
    )
    return {"subject": {"tender": code}, "verified": steps.verified, "steps": steps.items}


def verify_bid(
    bid: Mapping[str, Any],
    tender: Mapping[str, Any],
    events: list[Any],
    fetch: Fetch,
    genesis: Genesis,
) -> dict[str, Any]:
    """Re-check one bid: receipt, deadline by block time, withdrawal, reveal (after opening)."""
    bid_id = bid["bid_id"]
    receipts = _Receipts(fetch, genesis)
    steps = _Steps()
    subject = {"bid": bid_id, "tender": bid["project_code"]}
    publish = receipts.get(events[0]["tx_id"])
    commit = receipts.get(bid_id)
    if publish is None or commit is None:
        steps.add(
            "receipts",
            FAILED,
            "the receipt of the tender or of the bid does not verify: "
            + "; ".join(receipts.bad.values()),
        )
        return {"subject": subject, "verified": False, "steps": steps.items}
    steps.add(
        "receipt",
        PASSED,
        f"the bid's commitment transaction is in block {commit.header.height}, signed by its "
        "bidder's registered SM2 key and certified by the validators",
    )
    deadline = _payload(publish)["bid_deadline"]
    steps.check(
        "committed before the deadline",
        commit.header.timestamp < deadline,
        f"block time {_fmt_ms(commit.header.timestamp)} is before the bid deadline "
        f"{_fmt_ms(deadline)}",
        f"block time {_fmt_ms(commit.header.timestamp)} is not before the deadline "
        f"{_fmt_ms(deadline)}",
    )
    steps.check(
        "commitment recorded",
        _payload(commit)["commitment"] == bid["commitment"],
        "the ledger's record holds the commitment the bidder signed",
        "the ledger's record differs from the commitment the bidder signed",
    )
    mine = [e for e in events if e.get("bid_id") == bid_id and e["type"] != "bid.commit"]
    withdraw = next((e for e in mine if e["type"] == "bid.withdraw"), None)
    if withdraw is not None:
        r = receipts.get(withdraw["tx_id"])
        steps.check(
            "withdrawn",
            r is not None
            and r.header.timestamp < deadline
            and r.transaction.envelope.submitter == commit.transaction.envelope.submitter,
            "withdrawn before the deadline by its bidder; it takes no part in the opening",
            "the withdrawal does not verify, is late, or is by another member",
        )
    if not is_open(tender):
        steps.add(
            "sealed",
            NOT_APPLICABLE,
            "the tender is not opened yet: the bid's content stays sealed until its opening",
        )
        return {"subject": subject, "verified": steps.verified, "steps": steps.items}
    reveal = next((e for e in mine if e["type"] == "bid.reveal"), None)
    if reveal is not None:
        r = receipts.get(reveal["tx_id"])
        opening_time = _payload(publish)["opening_time"]
        if r is None:
            steps.add("revealed", FAILED, "the reveal's receipt does not verify")
        else:
            q = _payload(r)
            computed = bid_commitment(q["salt"], q["document_hash"], q["price"])
            steps.check(
                "revealed after the opening time",
                r.header.timestamp >= opening_time,
                f"revealed at block time {_fmt_ms(r.header.timestamp)}, not before the "
                f"opening time {_fmt_ms(opening_time)}",
                "revealed before the opening time",
            )
            steps.check(
                "reveal matches the commitment",
                computed == _payload(commit)["commitment"],
                f"SM3(salt ‖ document hash ‖ price {q['price']}) = {computed}, the commitment",
                f"SM3(salt ‖ document hash ‖ price) = {computed} is not the commitment",
            )
    elif withdraw is None:
        steps.add(
            "revoked",
            PASSED,
            "the bid was never revealed: by the rules of e-bidding it counts as revoked (撤销)",
        )
    return {"subject": subject, "verified": steps.verified, "steps": steps.items}
