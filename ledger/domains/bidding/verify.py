"""Offline verification of e-bidding: what an evaluator, a bidder or an auditor re-checks
without trusting a node. Needs only the crypto dependencies (no pydantic, no web).

``bid_commitment`` opens a sealed bid, ``report_hash`` is what evaluators sign;
``verify_tender`` and ``verify_bid`` re-check a tender (or one bid) step by step from its
signed transactions and their receipts, each receipt verified against the genesis:
deadlines by block time, guarantees, reveals against their commitments, the opening record,
the committee's report and the award.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from ledger.canonical import canonical
from ledger.crypto import sm3_hex
from ledger.domains.bidding.state import bond_limit_cents, cents, is_open, money
from ledger.errors import LedgerError
from ledger.model import Genesis
from ledger.verify import VerifiedReceipt, verify_receipt

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not_applicable"


# --- commitments and report hashes ---------------------------------------------------------


def bid_commitment(salt: str, document_hash: str, price: str) -> str:
    """``hex SM3(salt ‖ document_hash ‖ price)``: the sealed bid.

    ``salt``: 32 random bytes, given as 64 lowercase hex characters; ``document_hash``: the
    32-byte SM3 of the bid document, given as 64 hex characters; ``price``: the ASCII bytes of
    the decimal string exactly as revealed (``"1250000.00"``: no sign, no leading zeros, two
    decimals). Salt and document hash are fixed-length raw bytes, so the split is unambiguous.
    """
    return sm3_hex(bytes.fromhex(salt) + bytes.fromhex(document_hash) + price.encode("ascii"))


def report_hash(project_code: str, ranking: Sequence[str], document_hash: str) -> str:
    """``hex SM3(C({"document_hash", "project_code", "ranking"}))``: what evaluators sign."""
    return sm3_hex(
        canonical(
            {
                "project_code": project_code,
                "ranking": list(ranking),
                "document_hash": document_hash,
            }
        )
    )


# --- verification steps ----------------------------------------------------------------

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
