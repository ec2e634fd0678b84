"""E-bidding (电子招投标): rules driven directly, then the whole workflow over real HTTP.

The first part drives the domain's handlers on a ``StateStore`` with hand-made block times;
the second runs a node over HTTP: members registered on chain, a tender with sealed bids,
guarantees, reveals, opening, scores, the report signed or refused by every evaluator and
the award, with every bad input the issue names rejected over HTTP with nothing stored,
sealed-bid privacy, signed reads, timeline receipts, verification, replay and audit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest

from keys import FileKeyStore
from ledger.client import make_transaction
from ledger.crypto import PrivateKey, random_nonce, sm3_hex
from ledger.domains.base import TxContext, parse_payload
from ledger.domains.bidding.rules import domain
from ledger.domains.bidding.verify import bid_commitment, report_hash
from ledger.domains.member.state import MemberRecord
from ledger.domains.registry import REGISTRY
from ledger.domains.state import StateStore
from ledger.errors import NotFound, RuleViolation
from ledger.execution import members_host
from ledger.model import Envelope, SignedTransaction
from ledger.request_auth import sign_request
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

MEMBERS = {
    member_id: MemberRecord(member_id, (role,), "04" + "00" * 64, "00" * 32, True, 0)
    for member_id, role in [
        ("gz-trading-center", "tenderer"),
        ("other-tenderer", "tenderer"),
        ("gz-guarantee-co", "guarantor"),
        *[(f"bidder-{n}", "bidder") for n in ("alpha", "beta", "gamma", "delta")],
        *[(f"expert-{n}", "evaluator") for n in ("wang", "li", "chen", "zhang", "zhao")],
        ("expert-outsider", "evaluator"),
    ]
}
T0 = 1_763_700_000_000
DEADLINE = T0 + 3_600_000
OPENING = DEADLINE + 1_800_000
COMMITTEE = ["expert-wang", "expert-li", "expert-chen", "expert-zhang", "expert-zhao"]
BIDDERS = ["bidder-alpha", "bidder-beta", "bidder-gamma", "bidder-delta"]
TENDERER = "gz-trading-center"
GUARANTOR = "gz-guarantee-co"


def doc_hash(text: str) -> str:
    return sm3_hex(text.encode())


def tender_payload(code: str = "JG2025-0001", **changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "project_code": code,
        "title": "白云区某小学教学楼改扩建工程施工总承包",
        "category": "construction",
        "bid_deadline": DEADLINE,
        "opening_time": OPENING,
        "evaluation_method": "comprehensive_evaluation",
        "estimated_value": "12500000.00",
        "bid_bond": "250000.00",
        "committee": COMMITTEE,
        "document_hash": doc_hash("tender document"),
    }
    payload.update(changes)
    return payload


class Sealed:
    """A bidder's sealed bid, kept by the bidder until the opening."""

    def __init__(self, price: str, salt: str | None = None) -> None:
        self.salt = salt or random_nonce() * 2
        self.document_hash = doc_hash(f"bid document at {price} {self.salt}")
        self.price = price
        self.commitment = bid_commitment(self.salt, self.document_hash, price)

    def reveal(self, bid_id: str, **changes: Any) -> dict[str, Any]:
        return {
            "bid_id": bid_id,
            "salt": self.salt,
            "document_hash": self.document_hash,
            "price": self.price,
            **changes,
        }


# --- part 1: the rules, driven directly -----------------------------------------------------


class Ledger:
    """The bidding domain on a state store; each call is one transaction at a block time."""

    def __init__(self) -> None:
        self.state = StateStore()
        self.height = 0
        self.log: list[tuple[SignedTransaction, int]] = []

    def run(self, tx_type: str, submitter: str, payload: dict[str, Any], at: int) -> str:
        env = Envelope("t", tx_type, submitter, "0" * 64, random_nonce(), at, payload)
        tx = SignedTransaction(env, "00")
        self.apply(tx, at)
        self.log.append((tx, at))
        return tx.tx_id

    def apply(self, tx: SignedTransaction, at: int) -> None:
        tx_type = tx.envelope.type
        parsed = parse_payload(domain.specs[tx_type].payload, tx.envelope.payload, tx_type)
        self.height += 1
        view = self.state.overlay()
        roles = MEMBERS[tx.envelope.submitter].roles
        ctx = TxContext(tx, self.height, at, roles, {}, members_host(MEMBERS))
        domain.specs[tx_type].run(view, ctx, parsed)
        view.commit()

    def replay(self) -> Ledger:
        again = Ledger()
        for tx, at in self.log:
            again.apply(tx, at)
        return again

    def refuse(
        self, code: str, tx_type: str, submitter: str, payload: dict[str, Any], at: int
    ) -> None:
        before = json.dumps(self.state.data, sort_keys=True)
        with pytest.raises(RuleViolation) as caught:
            self.run(tx_type, submitter, payload, at)
        assert caught.value.code == code, caught.value.message
        assert json.dumps(self.state.data, sort_keys=True) == before

    def tender(self, code: str = "JG2025-0001") -> Any:
        return self.state.get("bidding.tenders", code)


def opened_tender(
    ledger: Ledger, prices: dict[str, str], code: str = "JG2025-0001", **changes: Any
) -> dict[str, str]:
    """Publish, guarantee, commit and reveal one bid per bidder, open. Bid id by bidder."""
    ledger.run("tender.publish", TENDERER, tender_payload(code, **changes), T0)
    bids = {}
    for i, (bidder, price) in enumerate(prices.items()):
        ledger.run("guarantee.issue", GUARANTOR, guarantee(code, bidder, f"G-{code}-{i}"), T0 + 1)
        sealed = Sealed(price)
        bids[bidder] = ledger.run(
            "bid.commit", bidder, {"project_code": code, "commitment": sealed.commitment}, T0 + 2
        )
        ledger.run("bid.reveal", bidder, sealed.reveal(bids[bidder]), OPENING + 10)
    ledger.run(
        "tender.open",
        TENDERER,
        {"project_code": code, "revealed_bids": list(bids.values())},
        OPENING + 20,
    )
    return bids


def guarantee(
    code: str, bidder: str, number: str, amount: str = "250000.00", opening: int = OPENING
) -> dict[str, Any]:
    return {
        "guarantee_no": number,
        "project_code": code,
        "bidder": bidder,
        "kind": "bank_guarantee",
        "amount": amount,
        "valid_until": opening + 90 * 86_400_000,
        "document_hash": doc_hash(number),
    }


def score_all(
    ledger: Ledger, bids: dict[str, str], scores: dict[str, str], code: str = "JG2025-0001"
) -> None:
    for member in COMMITTEE:
        items = [{"bid_id": bids[b], "score": s} for b, s in scores.items()]
        ledger.run(
            "evaluation.score", member, {"project_code": code, "scores": items}, OPENING + 30
        )


def test_commitment_encoding_is_fixed_bytes() -> None:
    salt, document = "11" * 32, "22" * 32
    expected = sm3_hex(bytes([0x11] * 32) + bytes([0x22] * 32) + b"1250000.00")
    assert bid_commitment(salt, document, "1250000.00") == expected
    # the vector of docs/domains/bidding.md
    vector = bid_commitment(bytes(range(32)).hex(), sm3_hex(b"abc"), "11800000.00")
    assert vector == "73b8aba7de69b445d61c127aa2a9d89136a4e1003af53e7e21a09fd4ec8e97c5"
    # a fixed-length salt and hash: the same bytes cannot be split into another price
    assert bid_commitment(salt, document, "250000.00") != expected


def test_publish_rules() -> None:
    ledger = Ledger()
    refuse = ledger.refuse
    refuse(
        "bond_exceeds_limit", "tender.publish", TENDERER, tender_payload(bid_bond="250000.01"), T0
    )
    refuse(
        "opening_before_deadline",
        "tender.publish",
        TENDERER,
        tender_payload(opening_time=DEADLINE - 1),
        T0,
    )
    refuse("deadline_in_past", "tender.publish", TENDERER, tender_payload(), DEADLINE)
    refuse(
        "invalid_committee", "tender.publish", TENDERER, tender_payload(committee=COMMITTEE[:4]), T0
    )
    refuse(
        "invalid_committee",
        "tender.publish",
        TENDERER,
        tender_payload(committee=[*COMMITTEE[:4], "expert-wang"]),
        T0,
    )
    for outsider in ("expert-nobody", "bidder-alpha"):  # not a member / not an evaluator
        committee = [*COMMITTEE[:4], outsider]
        refuse(
            "unknown_evaluator", "tender.publish", TENDERER, tender_payload(committee=committee), T0
        )
    refuse(
        "invalid_amount",
        "tender.publish",
        TENDERER,
        tender_payload(estimated_value="0.00", bid_bond="0.00"),
        T0,
    )
    for bad in (
        {"estimated_value": "12500000"},  # two decimals
        {"estimated_value": "012.00"},
        {"bid_bond": 250000},  # money is a string, never a number
        {"bid_deadline": "1763700000000"},
        {"evaluation_method": "lottery"},
        {"document_hash": "AB" * 32},
        {"project_code": "jg 1"},
        {"v": 2},
        {"extra": 1},
    ):
        refuse("invalid_payload", "tender.publish", TENDERER, tender_payload(**bad), T0)
    ledger.run("tender.publish", TENDERER, tender_payload(bid_bond="250000.00"), T0)  # exactly 2%
    refuse("tender_exists", "tender.publish", TENDERER, tender_payload(), T0)
    assert ledger.tender()["status"] == "published"


def test_bids_deadlines_and_reveals() -> None:
    ledger = Ledger()
    refuse = ledger.refuse
    ledger.run("tender.publish", TENDERER, tender_payload(), T0)
    a, b = Sealed("11800000.00"), Sealed("11650000.00")
    commit = {"project_code": "JG2025-0001", "commitment": a.commitment}
    refuse(
        "unknown_tender",
        "bid.commit",
        "bidder-alpha",
        {**commit, "project_code": "JG2025-9999"},
        T0,
    )
    refuse("bid_after_deadline", "bid.commit", "bidder-alpha", commit, DEADLINE)
    bid_a = ledger.run("bid.commit", "bidder-alpha", commit, DEADLINE - 1)
    refuse("bid_exists", "bid.commit", "bidder-alpha", {**commit, "commitment": b.commitment}, T0)
    refuse("duplicate_commitment", "bid.commit", "bidder-beta", commit, T0)
    bid_b = ledger.run("bid.commit", "bidder-beta", {**commit, "commitment": b.commitment}, T0)
    # withdraw: only the bidder, only before the deadline
    refuse("not_bid_owner", "bid.withdraw", "bidder-alpha", {"bid_id": bid_b}, T0)
    refuse("unknown_bid", "bid.withdraw", "bidder-beta", {"bid_id": "0" * 64}, T0)
    refuse("withdraw_after_deadline", "bid.withdraw", "bidder-beta", {"bid_id": bid_b}, DEADLINE)
    ledger.run("bid.withdraw", "bidder-beta", {"bid_id": bid_b, "reason": "pricing error"}, T0 + 5)
    refuse("bid_not_sealed", "bid.withdraw", "bidder-beta", {"bid_id": bid_b}, T0 + 6)
    b2 = Sealed("11700000.00")
    bid_b2 = ledger.run(
        "bid.commit", "bidder-beta", {**commit, "commitment": b2.commitment}, T0 + 7
    )
    bid_c = ledger.run(
        "bid.commit", "bidder-gamma", {**commit, "commitment": Sealed("1.00").commitment}, T0 + 8
    )
    # reveal: not before the opening time, and it must open the commitment
    refuse("reveal_before_opening", "bid.reveal", "bidder-alpha", a.reveal(bid_a), OPENING - 1)
    refuse(
        "reveal_mismatch",
        "bid.reveal",
        "bidder-alpha",
        a.reveal(bid_a, price="11800000.01"),
        OPENING,
    )
    refuse(
        "reveal_mismatch", "bid.reveal", "bidder-alpha", a.reveal(bid_a, salt="00" * 32), OPENING
    )
    refuse("not_bid_owner", "bid.reveal", "bidder-beta", a.reveal(bid_a), OPENING)
    refuse("bid_withdrawn", "bid.reveal", "bidder-beta", b.reveal(bid_b), OPENING)
    refuse(
        "invalid_payload", "bid.reveal", "bidder-alpha", a.reveal(bid_a, salt="11" * 16), OPENING
    )
    ledger.run("bid.reveal", "bidder-alpha", a.reveal(bid_a), OPENING)
    refuse("bid_already_revealed", "bid.reveal", "bidder-alpha", a.reveal(bid_a), OPENING + 1)
    ledger.run("bid.reveal", "bidder-beta", b2.reveal(bid_b2), OPENING + 1)
    # opening: the tenderer only, naming exactly the revealed bids; the rest are revoked
    opening = {"project_code": "JG2025-0001", "revealed_bids": [bid_a, bid_b2]}
    refuse("not_tenderer", "tender.open", "other-tenderer", opening, OPENING + 2)
    refuse("open_before_opening_time", "tender.open", TENDERER, opening, OPENING - 1)
    refuse(
        "opening_record_mismatch",
        "tender.open",
        TENDERER,
        {**opening, "revealed_bids": [bid_a]},
        OPENING + 2,
    )
    refuse(
        "opening_record_mismatch",
        "tender.open",
        TENDERER,
        {**opening, "revealed_bids": [bid_a, bid_a]},
        OPENING + 2,
    )
    ledger.run("tender.open", TENDERER, opening, OPENING + 2)
    tender = ledger.tender()
    assert tender["status"] == "failed"  # two bids opened: fewer than three
    assert [b["bid_id"] for b in tender["opening"]["opened"]] == [bid_a, bid_b2]
    assert tender["opening"]["revoked"] == [{"bid_id": bid_c, "bidder": "bidder-gamma"}]
    assert tender["opening"]["withdrawn"] == [bid_b]
    assert ledger.state.get("bidding.bids", bid_c)["status"] == "revoked"
    refuse(
        "tender_already_opened",
        "bid.reveal",
        "bidder-gamma",
        Sealed("1.00").reveal(bid_c),
        OPENING + 3,
    )
    refuse("tender_already_opened", "tender.open", TENDERER, opening, OPENING + 3)
    refuse(
        "tender_failed",
        "evaluation.score",
        "expert-wang",
        {"project_code": "JG2025-0001", "scores": [{"bid_id": bid_a, "score": "80.00"}]},
        OPENING + 3,
    )


def test_guarantees() -> None:
    ledger = Ledger()
    refuse = ledger.refuse
    ledger.run("tender.publish", TENDERER, tender_payload(), T0)
    refuse(
        "guarantee_below_bond",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0001", "bidder-alpha", "G-1", "249999.99"),
        T0,
    )
    refuse(
        "unknown_tender",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0002", "bidder-alpha", "G-1"),
        T0,
    )
    refuse(
        "guarantee_after_deadline",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0001", "bidder-alpha", "G-1"),
        DEADLINE,
    )
    refuse(
        "guarantee_expires_too_early",
        "guarantee.issue",
        GUARANTOR,
        {**guarantee("JG2025-0001", "bidder-alpha", "G-1"), "valid_until": OPENING - 1},
        T0,
    )
    refuse(
        "invalid_payload",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0001", "bidder-alpha", "G-1", "250000.0"),
        T0,
    )
    for nobody in ("bidder-nobody", "expert-wang"):
        refuse(
            "unknown_bidder",
            "guarantee.issue",
            GUARANTOR,
            guarantee("JG2025-0001", nobody, "G-1"),
            T0,
        )
    ledger.run(
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0001", "bidder-alpha", "G-1", "250000.00"),
        T0,
    )
    refuse(
        "guarantee_exists",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0001", "bidder-beta", "G-1"),
        T0,
    )
    refuse(
        "guarantee_exists",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0001", "bidder-alpha", "G-2"),
        T0,
    )
    ledger.run("tender.publish", TENDERER, tender_payload("JG2025-0002", bid_bond="0.00"), T0)
    refuse(
        "no_bond_required",
        "guarantee.issue",
        GUARANTOR,
        guarantee("JG2025-0002", "bidder-alpha", "G-3"),
        T0,
    )


def test_evaluation_report_and_award() -> None:
    ledger = Ledger()
    refuse = ledger.refuse
    prices = {
        "bidder-alpha": "11800000.00",
        "bidder-beta": "11650000.00",
        "bidder-gamma": "12010000.00",
    }
    bids = opened_tender(ledger, prices)
    code = "JG2025-0001"
    assert ledger.tender()["status"] == "opened"
    sheet = {
        "project_code": code,
        "scores": [{"bid_id": bids[b], "score": "80.00"} for b in prices],
    }
    refuse("not_on_committee", "evaluation.score", "expert-outsider", sheet, OPENING + 30)
    refuse(
        "scores_incomplete",
        "evaluation.score",
        "expert-wang",
        {**sheet, "scores": sheet["scores"][:2]},
        OPENING + 30,
    )
    refuse(
        "unknown_bid",
        "evaluation.score",
        "expert-wang",
        {**sheet, "scores": [*sheet["scores"], {"bid_id": "0" * 64, "score": "1.00"}]},
        OPENING + 30,
    )
    refuse(
        "duplicate_score",
        "evaluation.score",
        "expert-wang",
        {**sheet, "scores": [*sheet["scores"], sheet["scores"][0]]},
        OPENING + 30,
    )
    refuse(
        "invalid_payload",
        "evaluation.score",
        "expert-wang",
        {**sheet, "scores": [{"bid_id": bids["bidder-alpha"], "score": "100.01"}]},
        OPENING + 30,
    )
    ranking = [bids["bidder-beta"], bids["bidder-alpha"], bids["bidder-gamma"]]
    propose = {
        "project_code": code,
        "action": "propose",
        "ranking": ranking,
        "document_hash": doc_hash("report"),
    }
    refuse("scores_missing", "evaluation.report", "expert-wang", propose, OPENING + 31)
    score_all(
        ledger, bids, {"bidder-alpha": "86.50", "bidder-beta": "91.25", "bidder-gamma": "78.00"}
    )
    refuse("already_scored", "evaluation.score", "expert-wang", sheet, OPENING + 32)
    refuse(
        "ranking_out_of_order",
        "evaluation.report",
        "expert-wang",
        {**propose, "ranking": ranking[::-1]},
        OPENING + 33,
    )
    refuse(
        "invalid_ranking",
        "evaluation.report",
        "expert-wang",
        {**propose, "ranking": [ranking[0], ranking[0]]},
        OPENING + 33,
    )
    refuse(
        "invalid_payload",
        "evaluation.report",
        "expert-wang",
        {**propose, "report_hash": "0" * 64},
        OPENING + 33,
    )
    refuse("not_on_committee", "evaluation.report", "expert-outsider", propose, OPENING + 33)
    refuse(
        "no_report",
        "evaluation.report",
        "expert-li",
        {"project_code": code, "action": "sign", "report_hash": "0" * 64},
        OPENING + 33,
    )
    award = {"project_code": code, "bid_id": ranking[0], "notice_hash": doc_hash("notice")}
    refuse("report_incomplete", "award.publish", TENDERER, award, OPENING + 33)
    ledger.run("evaluation.report", "expert-wang", propose, OPENING + 34)
    refuse("report_exists", "evaluation.report", "expert-li", propose, OPENING + 34)
    refuse("evaluation_closed", "evaluation.score", "expert-li", sheet, OPENING + 34)
    digest = report_hash(code, ranking, doc_hash("report"))
    answer = {"project_code": code, "report_hash": digest}
    refuse(
        "report_hash_mismatch",
        "evaluation.report",
        "expert-li",
        {**answer, "action": "sign", "report_hash": "1" * 64},
        OPENING + 35,
    )
    refuse(
        "already_answered",
        "evaluation.report",
        "expert-wang",
        {**answer, "action": "sign"},
        OPENING + 35,
    )
    ledger.run("evaluation.report", "expert-li", {**answer, "action": "sign"}, OPENING + 35)
    ledger.run(
        "evaluation.report",
        "expert-chen",
        {**answer, "action": "refuse", "reasons": "技术标评分过高"},
        OPENING + 36,
    )
    ledger.run(
        "evaluation.report",
        "expert-zhang",
        {**answer, "action": "refuse", "reasons": "  "},
        OPENING + 37,
    )
    refuse("report_incomplete", "award.publish", TENDERER, award, OPENING + 38)
    ledger.run("evaluation.report", "expert-zhao", {**answer, "action": "refuse"}, OPENING + 38)
    report = ledger.state.get("bidding.reports", code)
    assert report["status"] == "complete" and report["report_hash"] == digest
    answers = {m: (a["answer"], a["counts_as"]) for m, a in report["answers"].items()}
    assert answers == {
        "expert-wang": ("signed", "assent"),
        "expert-li": ("signed", "assent"),
        "expert-chen": ("refused_with_reasons", "dissent"),
        "expert-zhang": ("refused_without_reasons", "assent"),
        "expert-zhao": ("refused_without_reasons", "assent"),
    }
    assert ledger.tender()["status"] == "evaluated"
    refuse("not_tenderer", "award.publish", "other-tenderer", award, OPENING + 40)
    refuse(
        "winner_not_ranked", "award.publish", TENDERER, {**award, "bid_id": "0" * 64}, OPENING + 40
    )
    refuse(
        "reason_required", "award.publish", TENDERER, {**award, "bid_id": ranking[1]}, OPENING + 40
    )
    ledger.run(
        "award.publish",
        TENDERER,
        {**award, "bid_id": ranking[1], "reason": "第一中标候选人放弃中标"},
        OPENING + 40,
    )
    assert (
        ledger.tender()["award"]["rank"] == 2
        and ledger.tender()["award"]["bidder"] == "bidder-alpha"
    )
    refuse("already_awarded", "award.publish", TENDERER, award, OPENING + 41)


def test_lowest_price_ranking_and_bonds() -> None:
    ledger = Ledger()
    prices = {"bidder-alpha": "980000.00", "bidder-beta": "955000.00", "bidder-gamma": "1010000.00"}
    code = "JG2025-0002"
    ledger.run(
        "tender.publish",
        TENDERER,
        tender_payload(
            code,
            evaluation_method="lowest_evaluated_price",
            estimated_value="1000000.00",
            bid_bond="20000.00",
        ),
        T0,
    )
    bids = {}
    for bidder, price in prices.items():
        if bidder != "bidder-gamma":  # gamma has no guarantee: its bid cannot be ranked
            ledger.run(
                "guarantee.issue", GUARANTOR, guarantee(code, bidder, f"G-{bidder}", "20000.00"), T0
            )
        sealed = Sealed(price)
        bids[bidder] = ledger.run(
            "bid.commit", bidder, {"project_code": code, "commitment": sealed.commitment}, T0
        )
        ledger.run("bid.reveal", bidder, sealed.reveal(bids[bidder]), OPENING)
    ledger.run(
        "tender.open",
        TENDERER,
        {"project_code": code, "revealed_bids": list(bids.values())},
        OPENING,
    )
    assert [b["bond_ok"] for b in ledger.tender(code)["opening"]["opened"]] == [True, True, False]
    score_all(ledger, bids, {b: "60.00" for b in prices}, code)
    propose = {"project_code": code, "action": "propose", "document_hash": doc_hash("r")}
    ledger.refuse(
        "ranking_out_of_order",
        "evaluation.report",
        "expert-wang",
        {**propose, "ranking": [bids["bidder-alpha"], bids["bidder-beta"]]},
        OPENING,
    )
    ledger.refuse(
        "ranking_invalid_bid",
        "evaluation.report",
        "expert-wang",
        {**propose, "ranking": [bids["bidder-beta"], bids["bidder-gamma"]]},
        OPENING,
    )
    ledger.run(
        "evaluation.report",
        "expert-wang",
        {**propose, "ranking": [bids["bidder-beta"], bids["bidder-alpha"]]},
        OPENING,
    )


def test_replay_gives_the_same_state() -> None:
    ledger = Ledger()
    prices = {
        "bidder-alpha": "11800000.00",
        "bidder-beta": "11650000.00",
        "bidder-gamma": "12010000.00",
    }
    bids = opened_tender(ledger, prices)
    score_all(
        ledger, bids, {"bidder-alpha": "86.50", "bidder-beta": "91.25", "bidder-gamma": "78.00"}
    )
    ledger.refuse(
        "not_on_committee",
        "evaluation.score",
        "expert-outsider",
        {
            "project_code": "JG2025-0001",
            "scores": [{"bid_id": bids["bidder-alpha"], "score": "1.00"}],
        },
        OPENING + 40,
    )
    assert ledger.replay().state.data == ledger.state.data
    assert len(ledger.state.get("bidding.events", "JG2025-0001")) == 1 + 3 * 3 + 1 + 5


def test_verify_reports_failed_steps(consortium: Consortium) -> None:
    from ledger.domains.bidding.state import tender_snapshot
    from ledger.domains.bidding.verify import verify_bid, verify_tender

    ledger = Ledger()
    prices = {"bidder-alpha": "1.00", "bidder-beta": "2.00", "bidder-gamma": "3.00"}
    bids = opened_tender(ledger, prices)
    tender, events = tender_snapshot(ledger.state, "JG2025-0001")

    def forged(tx_id: str) -> dict[str, Any]:
        return {"version": 1, "tx_id": tx_id}  # not a receipt of this chain

    result = verify_tender(tender, events, forged, consortium.genesis)
    assert result["verified"] is False
    assert [(s["step"], s["outcome"]) for s in result["steps"]] == [
        ("receipts", "failed"),
        ("published", "failed"),
    ]
    assert result["steps"][0]["detail"].startswith(f"{len(events)} of {len(events)} receipts")
    bid = ledger.state.get("bidding.bids", bids["bidder-alpha"])
    result = verify_bid(bid, tender, events, forged, consortium.genesis)
    assert result["verified"] is False and result["steps"][0]["outcome"] == "failed"


def test_role_table() -> None:
    roles = {t: set(spec.roles) for t, spec in domain.specs.items()}
    assert roles == {
        "tender.publish": {"tenderer"},
        "tender.open": {"tenderer"},
        "bid.commit": {"bidder"},
        "bid.withdraw": {"bidder"},
        "bid.reveal": {"bidder"},
        "guarantee.issue": {"guarantor"},
        "evaluation.score": {"evaluator"},
        "evaluation.report": {"evaluator"},
        "award.publish": {"tenderer"},
    }
    assert all(REGISTRY.by_type[t][0] is domain for t in roles)


# --- part 2: a node over HTTP -----------------------------------------------------------------

EXTRA_MEMBERS = [
    *[(b, ("bidder",)) for b in BIDDERS[1:]],
    *[(e, ("evaluator",)) for e in COMMITTEE[1:]],
    ("expert-outsider", ("evaluator",)),
]


class Http:
    """Sign as any member of the consortium and talk to one node."""

    def __init__(self, node: InProcessNode, consortium: Consortium) -> None:
        self.node, self.consortium = node, consortium
        self.client = node.client()
        self.http = node.http()
        self.keys = FileKeyStore(consortium.home / "keys")
        self._signers: dict[str, PrivateKey] = {}

    def signer(self, member: str) -> PrivateKey:
        if member not in self._signers:
            self._signers[member] = self.keys.signer(member)
        return self._signers[member]

    def tx(self, member: str, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        return make_transaction(
            self.signer(member),
            chain_id=self.consortium.genesis.chain_id,
            type=tx_type,
            submitter=member,
            payload=payload,
        )

    def ok(self, member: str, tx_type: str, payload: dict[str, Any]) -> dict[str, Any]:
        receipt: dict[str, Any] = self.client.submit_and_wait(self.tx(member, tx_type, payload))
        verify_receipt(receipt, self.consortium.genesis)
        return receipt

    def all_ok(self, txs: list[SignedTransaction]) -> list[dict[str, Any]]:
        result = self.client.submit_batch(txs)
        assert result["rejected"] == [], result["rejected"]
        receipts = [self.client.wait_for_receipt(t.tx_id) for t in txs]
        for r in receipts:
            verify_receipt(r, self.consortium.genesis)
        return receipts

    def log_size(self) -> int:
        return int(self.client.checkpoint()["header"]["log_size"])

    def refused(
        self, code: str, member: str, tx_type: str, payload: dict[str, Any], status: int = 422
    ) -> dict[str, Any]:
        """Rejected with a clear 4xx and a stable code, and nothing stored."""
        before = self.log_size()
        tx = self.tx(member, tx_type, payload)
        response = self.http.post("/v1/transactions", json=tx.to_wire())
        assert response.status_code == status, response.text
        error: dict[str, Any] = response.json()["error"]
        assert error["code"] == code, error
        assert error["message"]
        assert self.client.status(tx.tx_id)["status"] == "rejected"
        with pytest.raises(NotFound):
            self.client.receipt(tx.tx_id)
        assert self.log_size() == before
        return error

    def get(self, path: str, status: int = 200, **headers: str) -> Any:
        response = self.http.get(path, headers=headers)
        assert response.status_code == status, response.text
        return response.json()

    def signed_get(self, member: str, path: str, status: int = 200) -> Any:
        return self.get(path, status, **sign_request(self.signer(member), member, "GET", path))

    def register(self, members: list[tuple[str, tuple[str, ...]]]) -> None:
        txs = []
        for member, roles in members:
            public_key = self.keys.generate(member).hex
            payload = {"id": member, "roles": list(roles), "public_key": public_key}
            txs.append(self.tx("gz-gov-service-bureau", "member.register", payload))
        self.all_ok(txs)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def snapshot(h: Http, paths: list[str]) -> dict[str, Any]:
    return {p: h.get(p) for p in paths}


def test_bidding_workflow_over_http(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    node = start_node(consortium.home, db_url)
    h = Http(node, consortium)
    h.register(EXTRA_MEMBERS)

    # every role that may not submit a type is refused it, nothing stored
    members = [(m.id, set(m.roles)) for m in consortium.genesis.members]
    members += [(m, set(r)) for m, r in EXTRA_MEMBERS]
    wrong = [
        h.tx(m, t, {"project_code": "JG2025-1001"})
        for m, roles in members
        for t, spec in domain.specs.items()
        if not roles & spec.roles
    ]
    before = h.log_size()
    result = h.client.submit_batch(wrong)
    assert result["accepted"] == [] and len(result["rejected"]) == len(wrong) > 80
    assert {r["error"]["code"] for r in result["rejected"]} == {"role_not_allowed"}
    assert h.log_size() == before

    code = "JG2025-1001"
    # room for the steps below on a busy machine; the node's clock jumps past it below (no
    # wait), and stays within the 60 s of the wall clock that a signed request may differ by
    deadline = now_ms() + 30_000
    opening = deadline + 1_000
    terms = tender_payload(code, bid_deadline=deadline, opening_time=opening)
    h.refused("bond_exceeds_limit", TENDERER, "tender.publish", {**terms, "bid_bond": "250000.01"})
    committee = [*COMMITTEE[:4], "bidder-alpha"]  # a member, but not an evaluator
    h.refused("unknown_evaluator", TENDERER, "tender.publish", {**terms, "committee": committee})
    error = h.refused(
        "invalid_payload", TENDERER, "tender.publish", {**terms, "bid_bond": "2500.5"}
    )
    assert error["details"]["problems"][0]["field"] == "bid_bond"
    response = h.http.post(
        "/v1/transactions",
        content=json.dumps(h.tx(TENDERER, "tender.publish", terms).to_wire()).replace(
            '"250000.00"', "250000.0"
        ),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_canonical"
    h.refused("role_not_allowed", "bidder-alpha", "tender.publish", terms)
    publish = h.ok(TENDERER, "tender.publish", terms)

    # guarantees (one below the bond) and sealed bids
    h.refused(
        "guarantee_below_bond",
        GUARANTOR,
        "guarantee.issue",
        guarantee(code, "bidder-delta", "BG-2025-0004", "249999.99", opening),
    )
    h.refused(
        "unknown_bidder",
        GUARANTOR,
        "guarantee.issue",
        guarantee(code, "expert-wang", "BG-2025-0005", opening=opening),
    )
    h.all_ok(
        [
            h.tx(
                GUARANTOR, "guarantee.issue", guarantee(code, b, f"BG-2025-000{i}", opening=opening)
            )
            for i, b in enumerate(BIDDERS[:3], start=1)
        ]
    )
    sealed = {
        "bidder-alpha": Sealed("11800000.00"),
        "bidder-beta": Sealed("11990000.00"),
        "bidder-gamma": Sealed("12010000.00"),
        "bidder-delta": Sealed("11500000.00"),
    }
    commits = {
        b: h.tx(b, "bid.commit", {"project_code": code, "commitment": s.commitment})
        for b, s in sealed.items()
    }
    receipts = dict(zip(commits, h.all_ok(list(commits.values())), strict=True))
    bid_ids = {b: tx.tx_id for b, tx in commits.items()}
    # the receipt is the bidder's confirmation of submission, and holds only the commitment
    assert receipts["bidder-alpha"]["transaction"]["envelope"]["payload"] == {
        "project_code": code,
        "commitment": sealed["bidder-alpha"].commitment,
    }
    h.refused(
        "bid_exists",
        "bidder-beta",
        "bid.commit",
        {"project_code": code, "commitment": Sealed("1.00").commitment},
    )
    h.refused("not_bid_owner", "bidder-alpha", "bid.withdraw", {"bid_id": bid_ids["bidder-beta"]})
    h.ok(
        "bidder-beta",
        "bid.withdraw",
        {"bid_id": bid_ids["bidder-beta"], "reason": "报价有误，重新投标"},
    )
    withdrawn_id = bid_ids["bidder-beta"]
    sealed["bidder-beta"] = Sealed("11650000.00")
    bid_ids["bidder-beta"] = h.ok(
        "bidder-beta",
        "bid.commit",
        {"project_code": code, "commitment": sealed["bidder-beta"].commitment},
    )["tx_id"]

    # before opening: public endpoints say only that bids exist
    secrets = [s.salt for s in sealed.values()] + [s.price for s in sealed.values()]
    secrets += [s.commitment for s in sealed.values()] + [s.document_hash for s in sealed.values()]
    secrets += BIDDERS
    public = [
        f"/v1/bidding/tenders/{code}",
        f"/v1/bidding/tenders/{code}/bids",
        "/v1/bidding/tenders",
        f"/v1/bidding/tenders/{code}/timeline?receipts=false",
        f"/v1/bidding/tenders/{code}/verify",
        "/v1/bidding/guarantees/BG-2025-0001",
        *[f"/v1/bidding/bids/{b}" for b in bid_ids.values()],
        *[f"/v1/bidding/bids/{b}/verify" for b in bid_ids.values()],
    ]
    for path in public:
        text = json.dumps(h.get(path), ensure_ascii=False)
        leaked = [s for s in secrets if s in text]
        assert not leaked, (path, leaked)
    view = h.get(f"/v1/bidding/tenders/{code}")
    assert view["bids"] == {"committed": 5, "withdrawn": 1, "active": 4} and view["opening"] is None
    assert h.get(f"/v1/bidding/bids/{bid_ids['bidder-alpha']}")["status"] == "sealed"
    h.get(f"/v1/bidding/tenders/{code}/evaluation", 409)
    events = h.get(f"/v1/bidding/tenders/{code}/timeline")["events"]
    commit_events = [e for e in events if e["type"] == "bid.commit"]
    assert [e["summary"] for e in commit_events] == ["a bid was committed"] * 5
    for e in commit_events:
        assert set(e["details"]) == {"bid_id"}
        assert set(e["receipt"]["transaction"]["envelope"]["payload"]) == {
            "project_code",
            "commitment",
        }
        verify_receipt(e["receipt"], consortium.genesis)
    verdict = h.get(f"/v1/bidding/tenders/{code}/verify")
    assert verdict["verified"], verdict
    assert [s["outcome"] for s in verdict["steps"]][-2] == "not_applicable"

    # the bidder alone reads its sealed bid, with a signed request
    path = f"/v1/bidding/bids/{bid_ids['bidder-alpha']}/sealed"
    assert h.get(path, 401)["error"]["code"] == "unauthenticated"
    for other in ("bidder-beta", TENDERER, "gz-audit-bureau", "expert-wang"):
        assert h.signed_get(other, path, 403)["error"]["code"] == "forbidden"
    headers = sign_request(h.signer("bidder-alpha"), "bidder-alpha", "GET", path)
    own = h.get(path, 200, **headers)
    assert own["commitment"] == sealed["bidder-alpha"].commitment and own["status"] == "sealed"
    assert own["guarantee"]["guarantee_no"] == "BG-2025-0001"
    assert own["receipt"]["tx_id"] == bid_ids["bidder-alpha"]
    assert h.get(path, 401, **headers)["error"]["code"] == "replayed_request"
    mine = f"/v1/bidding/tenders/{code}/my-bids"
    assert [b["bid_id"] for b in h.signed_get("bidder-beta", mine)["bids"]] == [
        withdrawn_id,
        bid_ids["bidder-beta"],
    ]
    h.signed_get(TENDERER, mine, 403)

    # deadlines by block time: no reveal before the opening time, no bid after the deadline
    h.refused(
        "reveal_before_opening",
        "bidder-alpha",
        "bid.reveal",
        sealed["bidder-alpha"].reveal(bid_ids["bidder-alpha"]),
    )
    h.refused(
        "open_before_opening_time",
        TENDERER,
        "tender.open",
        {"project_code": code, "revealed_bids": []},
    )
    node.clock.advance_to(deadline + 50)  # the node's time, which block times come from
    h.refused(
        "bid_after_deadline",
        "bidder-gamma",
        "bid.commit",
        {"project_code": code, "commitment": Sealed("2.00").commitment},
    )
    h.refused(
        "withdraw_after_deadline",
        "bidder-delta",
        "bid.withdraw",
        {"bid_id": bid_ids["bidder-delta"]},
    )
    h.refused(
        "guarantee_after_deadline",
        GUARANTOR,
        "guarantee.issue",
        guarantee(code, "bidder-delta", "BG-2025-0009", opening=opening),
    )
    node.clock.advance_to(opening + 50)

    # reveal (one that does not match), open: delta never reveals and counts as revoked
    h.refused(
        "reveal_mismatch",
        "bidder-alpha",
        "bid.reveal",
        sealed["bidder-alpha"].reveal(bid_ids["bidder-alpha"], price="11800000.01"),
    )
    h.all_ok([h.tx(b, "bid.reveal", sealed[b].reveal(bid_ids[b])) for b in BIDDERS[:3]])
    revealed = [bid_ids[b] for b in BIDDERS[:3]]
    h.refused(
        "opening_record_mismatch",
        TENDERER,
        "tender.open",
        {"project_code": code, "revealed_bids": revealed[:2]},
    )
    h.ok(TENDERER, "tender.open", {"project_code": code, "revealed_bids": revealed})
    view = h.get(f"/v1/bidding/tenders/{code}")
    assert view["status"] == "opened"
    # in the order the bids were committed (beta committed again after withdrawing)
    assert [b["price"] for b in view["opening"]["opened"]] == [
        "11800000.00",
        "12010000.00",
        "11650000.00",
    ]
    assert view["opening"]["revoked"] == [
        {"bid_id": bid_ids["bidder-delta"], "bidder": "bidder-delta"}
    ]
    assert h.get(f"/v1/bidding/bids/{bid_ids['bidder-delta']}")["status"] == "revoked"
    assert h.signed_get("bidder-beta", path)["bidder"] == "bidder-alpha"  # public after opening

    # evaluation: only the committee scores; the report is answered by every member
    scores = {"bidder-alpha": "88.50", "bidder-beta": "91.00", "bidder-gamma": "79.25"}
    sheet = {
        "project_code": code,
        "scores": [{"bid_id": bid_ids[b], "score": s} for b, s in scores.items()],
    }
    h.refused("not_on_committee", "expert-outsider", "evaluation.score", sheet)
    h.all_ok(
        [
            h.tx(
                m,
                "evaluation.score",
                {**sheet, "dissent": "对商务标评分有保留意见" if m == "expert-zhao" else None},
            )
            for m in COMMITTEE
        ]
    )
    ranking = [bid_ids["bidder-beta"], bid_ids["bidder-alpha"], bid_ids["bidder-gamma"]]
    report_doc = doc_hash("评标报告")
    h.ok(
        "expert-wang",
        "evaluation.report",
        {
            "project_code": code,
            "action": "propose",
            "ranking": ranking,
            "document_hash": report_doc,
        },
    )
    digest = report_hash(code, ranking, report_doc)
    answer = {"project_code": code, "report_hash": digest}
    h.refused(
        "not_on_committee", "expert-outsider", "evaluation.report", {**answer, "action": "sign"}
    )
    h.refused(
        "report_incomplete",
        TENDERER,
        "award.publish",
        {"project_code": code, "bid_id": ranking[0], "notice_hash": doc_hash("notice")},
    )
    h.all_ok(
        [
            h.tx("expert-li", "evaluation.report", {**answer, "action": "sign"}),
            h.tx("expert-chen", "evaluation.report", {**answer, "action": "sign"}),
            h.tx(
                "expert-zhang",
                "evaluation.report",
                {**answer, "action": "refuse", "reasons": "第二名技术方案更优"},
            ),
            h.tx("expert-zhao", "evaluation.report", {**answer, "action": "refuse"}),
        ]
    )
    evaluation = h.get(f"/v1/bidding/tenders/{code}/evaluation")
    assert evaluation["report"]["status"] == "complete"
    assert evaluation["signatures"]["refused_with_reasons"] == ["expert-zhang"]
    assert evaluation["signatures"]["refused_without_reasons_counted_as_assent"] == ["expert-zhao"]
    assert {b["bidder"]: b["average_score"] for b in evaluation["bids"]} == scores
    award = h.ok(
        TENDERER,
        "award.publish",
        {"project_code": code, "bid_id": ranking[0], "notice_hash": doc_hash("中标通知书")},
    )
    view = h.get(f"/v1/bidding/tenders/{code}")
    assert view["status"] == "awarded" and view["award"]["bidder"] == "bidder-beta"

    # the timeline: every event in chain order, each with a receipt a verifier accepts
    events = h.get(f"/v1/bidding/tenders/{code}/timeline")["events"]
    assert events[0]["tx_id"] == publish["tx_id"] and events[-1]["tx_id"] == award["tx_id"]
    # publish, 3 guarantees, 5 commits, 1 withdrawal, 3 reveals, open, 5 scores, 5 answers, award
    assert len(events) == 1 + 3 + 5 + 1 + 3 + 1 + 5 + 5 + 1
    positions = [(e["receipt"]["header"]["height"], e["receipt"]["index"]) for e in events]
    assert positions == sorted(positions)
    for e in events:
        assert verify_receipt(e["receipt"], consortium.genesis).tx_id == e["tx_id"]
    first = next(e for e in events if e["details"].get("bid_id") == bid_ids["bidder-alpha"])
    assert first["details"]["bidder"] == "bidder-alpha"  # named now that the tender is opened
    verdict = h.get(f"/v1/bidding/tenders/{code}/verify")
    assert verdict["verified"] and {s["outcome"] for s in verdict["steps"]} == {"passed"}, verdict
    steps = {
        s["step"] for s in h.get(f"/v1/bidding/bids/{bid_ids['bidder-alpha']}/verify")["steps"]
    }
    assert "reveal matches the commitment" in steps
    revoked = h.get(f"/v1/bidding/bids/{bid_ids['bidder-delta']}/verify")
    assert revoked["verified"] and revoked["steps"][-1]["step"] == "revoked"
    withdrawn = h.get(f"/v1/bidding/bids/{withdrawn_id}/verify")
    assert withdrawn["verified"] and withdrawn["steps"][-1]["step"] == "withdrawn"

    # replay from genesis: a restarted node answers exactly the same
    paths = [
        "/v1/bidding/tenders",
        f"/v1/bidding/tenders/{code}",
        f"/v1/bidding/tenders/{code}/bids",
        f"/v1/bidding/tenders/{code}/evaluation",
        f"/v1/bidding/tenders/{code}/timeline",
        f"/v1/bidding/tenders/{code}/verify",
        "/v1/bidding/guarantees/BG-2025-0002",
        *[f"/v1/bidding/bids/{b}" for b in [*bid_ids.values(), withdrawn_id]],
        *[f"/v1/bidding/bids/{b}/verify" for b in [*bid_ids.values(), withdrawn_id]],
    ]
    before_restart = snapshot(h, paths)
    node.stop()
    again = start_node(consortium.home, db_url, clock=node.clock)
    assert snapshot(Http(again, consortium), paths) == before_restart
    again.stop()
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--home", str(consortium.home), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_demo_data_and_unknown_records(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    from ledger.domains.bidding import demo as bidding_demo

    node = start_node(consortium.home, db_url)
    h = Http(node, consortium)
    seen: list[int] = []
    made = bidding_demo.generate(h.client, consortium.home, 3, seen.append)
    genesis_txs = len(consortium.genesis.members)
    assert made == seen[-1] == h.log_size() - genesis_txs and seen == sorted(seen)
    tenders = h.get("/v1/bidding/tenders")["tenders"]
    assert [t["status"] for t in tenders] == ["awarded"] * 3
    for t in tenders:
        verdict = h.get(f"/v1/bidding/tenders/{t['project_code']}/verify")
        assert verdict["verified"], verdict
    views = [h.get(f"/v1/bidding/tenders/{t['project_code']}") for t in tenders]
    # one bid withdrawn and submitted again, one bidder without a guarantee, one never revealed
    assert sorted(v["bids"]["withdrawn"] for v in views) == [0, 0, 1]
    no_bond = [[b["bond_ok"] for b in v["opening"]["opened"]].count(False) for v in views]
    assert sorted(no_bond) == [0, 0, 1]
    assert sorted(len(v["opening"]["revoked"]) for v in views) == [0, 0, 1]
    signatures = [
        h.get(f"/v1/bidding/tenders/{t['project_code']}/evaluation")["signatures"] for t in tenders
    ]
    assert sorted(len(s["refused_with_reasons"]) for s in signatures) == [0, 0, 1]
    assert sorted(len(s["refused_without_reasons_counted_as_assent"]) for s in signatures) == [
        0,
        0,
        1,
    ]

    # unknown records: 404 to a read, a stable code to a transaction, nothing stored
    assert h.get("/v1/bidding/tenders/JG2025-0404", 404)["error"]["code"] == "unknown_tender"
    assert h.get(f"/v1/bidding/bids/{'0' * 64}", 404)["error"]["code"] == "unknown_bid"
    assert h.get(f"/v1/bidding/bids/{'0' * 64}/verify", 404)["error"]["code"] == "unknown_bid"
    assert h.get("/v1/bidding/guarantees/BG-404", 404)["error"]["code"] == "unknown_guarantee"
    assert h.get("/v1/bidding/bids/not-a-bid", 400)["error"]["code"] == "malformed"
    h.refused(
        "unknown_tender",
        "bidder-alpha",
        "bid.commit",
        {"project_code": "JG2025-0404", "commitment": "0" * 64},
    )
    h.refused("unknown_bid", "bidder-alpha", "bid.reveal", Sealed("1.00").reveal("0" * 64))
    error = h.refused(
        "invalid_payload", "bidder-alpha", "bid.commit", {"project_code": "JG2025-0404"}
    )
    assert error["details"]["problems"] == [{"field": "commitment", "problem": "Field required"}]
