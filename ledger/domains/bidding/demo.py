"""Demo data for e-bidding: Guangzhou tenders with sealed bids, guarantees, evaluation, award.

``generate(client, home, count, progress)`` registers the bidders, evaluation experts and
guarantors it needs (keys in ``home/keys``), then runs ``count`` tenders through the whole
workflow: publish; electronic bid guarantees; sealed bids (one withdrawn and submitted again);
a wait for the bid deadline and the opening time, a few seconds ahead, by the node's block
time; reveals (one bidder never reveals: revoked); opening; scores; the report signed by the
committee (one refusal with reasons, one without); the award.
"""

from __future__ import annotations

import random
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.crypto import sm3_hex
from ledger.domains.bidding.state import bond_limit_cents, cents, money
from ledger.domains.bidding.verify import bid_commitment, report_hash
from ledger.domains.member.demo import DemoKeys
from ledger.errors import InvalidInput, OperationFailed
from ledger.model import SignedTransaction

if TYPE_CHECKING:  # the caller's client; the demo itself loads no HTTP library
    from ledger.client import LedgerClient

TENDERER = "gz-trading-center"
BIDDERS = (
    "bidder-alpha",
    "gz-yuexiu-construction",
    "gz-tianhe-smart-tech",
    "gz-panyu-road-bridge",
    "gz-huangpu-environment",
    "gz-baiyun-installation",
)
EVALUATORS = (
    "expert-wang",
    "expert-li",
    "expert-chen",
    "expert-zhang",
    "expert-huang",
    "expert-liang",
    "expert-he",
)
GUARANTORS = ("gz-guarantee-co", "icbc-gz-branch", "picc-gz-branch")
EXTRA_MEMBERS = (
    *[(b, "bidder") for b in BIDDERS[1:]],
    *[(e, "evaluator") for e in EVALUATORS[1:]],
    *[(g, "guarantor") for g in GUARANTORS[1:]],
)
GUARANTEE_KIND = {
    "gz-guarantee-co": "guarantor_letter",
    "icbc-gz-branch": "bank_guarantee",
    "picc-gz-branch": "guarantee_insurance",
}

# (title, category, method, estimated value in yuan, bond in yuan)
TEMPLATES = (
    (
        "白云区嘉禾望岗小学教学综合楼新建工程施工总承包",
        "construction",
        "comprehensive_evaluation",
        38_600_000,
        500_000,
    ),
    ("天河区智慧交通信号控制系统采购项目", "goods", "lowest_evaluated_price", 6_850_000, 120_000),
    ("海珠区老旧小区微改造设计服务", "services", "comprehensive_evaluation", 2_400_000, 40_000),
    (
        "黄埔区污水管网修复工程（二期）",
        "construction",
        "lowest_evaluated_price",
        15_200_000,
        300_000,
    ),
    ("越秀区政务服务中心信息化运维服务", "services", "comprehensive_evaluation", 3_180_000, 60_000),
)
WINDOW_MS = 6_000  # bid deadline this far after publication (block time)
OPENING_DELAY_MS = 1_000


@dataclass
class Bid:
    bidder: str
    price: str
    salt: str = field(default_factory=lambda: secrets.token_hex(32))
    document_hash: str = ""
    bid_id: str = ""
    reveal: bool = True

    def __post_init__(self) -> None:
        self.document_hash = sm3_hex(f"投标文件 {self.bidder} {self.price} {self.salt}".encode())

    @property
    def commitment(self) -> str:
        return bid_commitment(self.salt, self.document_hash, self.price)


@dataclass
class Tender:
    code: str
    title: str
    category: str
    method: str
    estimated: int
    bond: int
    committee: list[str]
    bids: list[Bid] = field(default_factory=list)
    withdrawn: list[Bid] = field(default_factory=list)
    guaranteed: set[str] = field(default_factory=set)


class _Run(DemoKeys):
    def __init__(self, client: LedgerClient, home: Path, progress: Callable[[int], None]) -> None:
        super().__init__(home, client.genesis().chain_id)
        self.client = client
        self.progress = progress
        self.done = 0
        self.offset_ms = 0  # node block time minus local clock, from the newest receipt

    def node_time(self) -> int:
        return time.time_ns() // 1_000_000 + self.offset_ms

    def submit(self, txs: Sequence[SignedTransaction], retry_code: str | None = None) -> None:
        """Submit a batch and wait for every receipt; retry those refused with ``retry_code``
        (a reveal a moment before the node's clock reaches the opening time)."""
        pending = list(txs)
        for _ in range(100):
            if not pending:
                break
            result = self.client.submit_batch(pending)
            again = []
            for item in result["rejected"]:
                error = item["error"]
                if error["code"] == retry_code:
                    again.append(pending[item["index"]])
                elif error["code"] != "duplicate_transaction":
                    raise InvalidInput(error["message"], code=error["code"])
            done = [t for t in pending if t not in again]
            receipt: Any = None
            for t in done:
                receipt = self.client.wait_for_receipt(t.tx_id, timeout=60)
            if receipt is not None:
                self.offset_ms = receipt["header"]["timestamp"] - time.time_ns() // 1_000_000
            self.done += len(done)
            self.progress(self.done)
            pending = again
            if pending:
                time.sleep(0.2)
        if pending:
            raise OperationFailed(f"{len(pending)} transactions kept being refused")

    def wait_for_node_time(self, ms: int) -> None:
        while self.node_time() < ms:
            time.sleep(0.1)

    # --- members -------------------------------------------------------------------------

    def ensure_members(self) -> None:
        registered = {m["id"] for m in self.client.members()}
        txs = self.registrations(((m, [role]) for m, role in EXTRA_MEMBERS), registered)
        if txs:
            self.submit(txs)
        else:  # learn the node's block time from the newest block
            header = self.client.checkpoint()["header"]
            self.offset_ms = header["timestamp"] - time.time_ns() // 1_000_000

    def fresh_code(self, rng: random.Random) -> str:
        year = time.gmtime(self.node_time() / 1000).tm_year
        while True:
            code = f"JG{year}-{rng.randrange(10_000, 99_999)}"
            if self.client.http.get(f"/v1/bidding/tenders/{code}").status_code == 404:
                return code


def _price(estimated: int, rng: random.Random) -> str:
    """A bid between 88% and 99.5% of the estimated value, to the yuan."""
    return money(estimated * 100 * rng.randrange(8800, 9950) // 10_000 // 100 * 100)


def _plan(run: _Run, count: int, rng: random.Random) -> list[Tender]:
    tenders = []
    for i in range(count):
        title, category, method, estimated, bond = TEMPLATES[i % len(TEMPLATES)]
        if i >= len(TEMPLATES):
            title = f"{title}（第{i // len(TEMPLATES) + 1}批）"
        assert bond * 100 <= bond_limit_cents(money(estimated * 100))
        committee = [EVALUATORS[(i + k) % len(EVALUATORS)] for k in range(5)]
        tender = Tender(run.fresh_code(rng), title, category, method, estimated, bond, committee)
        bidders = rng.sample(BIDDERS, 4 + i % 2)
        tender.bids = [Bid(b, _price(estimated, rng)) for b in bidders]
        # every bidder but (in the second tender) one has a guarantee; in the third tender one
        # bidder never reveals its bid, which then counts as revoked
        tender.guaranteed = {b.bidder for b in tender.bids}
        if i % 3 == 1:
            tender.guaranteed.discard(tender.bids[-1].bidder)
        if i % 3 == 2:
            tender.bids[-1].reveal = False
        tenders.append(tender)
    return tenders


def generate(client: LedgerClient, home: Path, count: int, progress: Callable[[int], None]) -> int:
    """Run ``count`` tenders through the whole e-bidding workflow; returns the number of
    transactions committed."""
    run = _Run(client, home, progress)
    rng = random.Random(secrets.randbits(64))
    run.ensure_members()
    tenders = _plan(run, max(1, count), rng)

    # publish, with the deadline a few seconds ahead in block time
    deadline = run.node_time() + WINDOW_MS
    opening = deadline + OPENING_DELAY_MS
    run.submit(
        [
            run.tx(
                TENDERER,
                "tender.publish",
                {
                    "project_code": t.code,
                    "title": t.title,
                    "category": t.category,
                    "bid_deadline": deadline,
                    "opening_time": opening,
                    "evaluation_method": t.method,
                    "estimated_value": money(t.estimated * 100),
                    "bid_bond": money(t.bond * 100),
                    "committee": t.committee,
                    "document_hash": sm3_hex(f"招标文件 {t.code} {t.title}".encode()),
                },
            )
            for t in tenders
        ]
    )

    # guarantees and sealed bids; in the first tender one bidder withdraws and bids again
    txs = []
    for t in tenders:
        for n, bid in enumerate(t.bids):
            if bid.bidder in t.guaranteed:
                guarantor = GUARANTORS[(n + len(t.code)) % len(GUARANTORS)]
                txs.append(
                    run.tx(
                        guarantor,
                        "guarantee.issue",
                        {
                            "guarantee_no": f"BH-{t.code}-{n + 1:02d}",
                            "project_code": t.code,
                            "bidder": bid.bidder,
                            "kind": GUARANTEE_KIND[guarantor],
                            "amount": money(t.bond * 100),
                            "valid_until": opening + 90 * 86_400_000,
                            "document_hash": sm3_hex(f"保函 {t.code} {bid.bidder}".encode()),
                        },
                    )
                )
            commit = run.tx(
                bid.bidder, "bid.commit", {"project_code": t.code, "commitment": bid.commitment}
            )
            bid.bid_id = commit.tx_id
            txs.append(commit)
    run.submit(txs)
    first = tenders[0]
    changed = first.bids[0]
    run.submit(
        [run.tx(changed.bidder, "bid.withdraw", {"bid_id": changed.bid_id, "reason": "报价调整"})]
    )
    first.withdrawn.append(changed)
    replacement = Bid(changed.bidder, _price(first.estimated, rng))
    commit = run.tx(
        replacement.bidder,
        "bid.commit",
        {"project_code": first.code, "commitment": replacement.commitment},
    )
    replacement.bid_id = commit.tx_id
    first.bids[0] = replacement
    run.submit([commit])

    # after the opening time (block time): reveals, then the opening records
    run.wait_for_node_time(opening + 100)
    reveals = [
        run.tx(
            b.bidder,
            "bid.reveal",
            {
                "bid_id": b.bid_id,
                "salt": b.salt,
                "document_hash": b.document_hash,
                "price": b.price,
            },
        )
        for t in tenders
        for b in t.bids
        if b.reveal
    ]
    run.submit(reveals, retry_code="reveal_before_opening")
    run.submit(
        [
            run.tx(
                TENDERER,
                "tender.open",
                {"project_code": t.code, "revealed_bids": [b.bid_id for b in t.bids if b.reveal]},
            )
            for t in tenders
        ],
        retry_code="open_before_opening_time",
    )

    # evaluation: every committee member scores every opened bid
    totals: dict[str, dict[str, int]] = {}
    txs = []
    for t in tenders:
        opened = [b for b in t.bids if b.reveal]
        totals[t.code] = {b.bid_id: 0 for b in opened}
        if len(opened) < 3:
            continue
        for member in t.committee:
            items = []
            for b in opened:
                score = money(rng.randrange(7000, 9600))
                totals[t.code][b.bid_id] += cents(score)
                items.append({"bid_id": b.bid_id, "score": score})
            dissent = "对部分投标人业绩认定有不同意见" if member == t.committee[-1] else None
            payload = {"project_code": t.code, "scores": items, "dissent": dissent}
            txs.append(run.tx(member, "evaluation.score", payload))
    run.submit(txs)

    # the report: proposed by the first member, answered by the others
    proposals, answers, rankings = [], [], {}
    for i, t in enumerate(tenders):
        eligible = [b for b in t.bids if b.reveal and b.bidder in t.guaranteed]
        if len([b for b in t.bids if b.reveal]) < 3 or not eligible:
            continue
        if t.method == "lowest_evaluated_price":
            eligible.sort(key=lambda b: cents(b.price))
        else:
            scores = totals[t.code]
            eligible.sort(key=lambda b: -scores[b.bid_id])
        ranking = [b.bid_id for b in eligible[:3]]
        rankings[t.code] = ranking
        document = sm3_hex(f"评标报告 {t.code} {ranking}".encode())
        proposals.append(
            run.tx(
                t.committee[0],
                "evaluation.report",
                {
                    "project_code": t.code,
                    "action": "propose",
                    "ranking": ranking,
                    "document_hash": document,
                },
            )
        )
        digest = report_hash(t.code, ranking, document)
        for k, member in enumerate(t.committee[1:]):
            answer: dict[str, Any] = {"project_code": t.code, "report_hash": digest}
            if k == 3 and i % 3 == 0:
                answer.update(action="refuse", reasons="对第一中标候选人的技术评分持保留意见")
            elif k == 3 and i % 3 == 1:
                answer.update(action="refuse")  # no reasons: counts as assent
            else:
                answer.update(action="sign")
            answers.append(run.tx(member, "evaluation.report", answer))
    run.submit(proposals)
    run.submit(answers)

    # the award to the first candidate
    run.submit(
        [
            run.tx(
                TENDERER,
                "award.publish",
                {
                    "project_code": code,
                    "bid_id": ranking[0],
                    "notice_hash": sm3_hex(f"中标通知书 {code} {ranking[0]}".encode()),
                },
            )
            for code, ranking in rankings.items()
        ]
    )
    return run.done
