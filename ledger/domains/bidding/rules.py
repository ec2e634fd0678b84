"""E-bidding (电子招投标): tenders, sealed bids, electronic bid guarantees, evaluation, award.

Workflow (all deadlines by BLOCK time, ``ctx.time_ms``, never the client's timestamp):

1. ``tender.publish`` (tenderer): project code, title, bid deadline, opening time, evaluation
   method, estimated value, bid bond (at most 2% of the estimated value), the evaluation
   committee (evaluator member ids) and the SM3 of the tender document.
2. ``bid.commit`` (bidder, before the deadline): only a commitment
   ``hex SM3(salt[32 bytes] ‖ document_hash[32 bytes] ‖ ASCII(price))``. The bid id is the
   transaction id; the receipt is the bidder's confirmation of submission.
   ``bid.withdraw`` (the same bidder, before the deadline).
3. ``guarantee.issue`` (guarantor, before the deadline): an electronic bid guarantee (保函)
   for a bidder and a tender, for at least the required bond.
4. ``bid.reveal`` (the bidder, at or after the opening time, before ``tender.open``): salt,
   document hash and price, which must open the commitment.
5. ``tender.open`` (the tenderer, at or after the opening time): the opening record; it
   names the revealed bids, every bid still sealed counts as revoked (撤销). Fewer than three
   opened bids: the tender fails (招标投标法 Art. 28) and goes no further.
6. ``evaluation.score`` (each committee evaluator): a score per opened bid, dissent in writing.
   ``evaluation.report``: one evaluator proposes the ranking (the report hash is computed by
   the ledger); every other member signs that hash or refuses, with or without reasons; a
   refusal without reasons counts as assent (招标投标法实施条例 Art. 53). Complete once every
   member of the committee has answered.
7. ``award.publish`` (the tenderer, once the report is complete): a ranked candidate.

Money is a decimal string with exactly two decimals (``"1250000.00"``), compared as integer
cents; scores likewise (``"0.00"``..``"100.00"``). See docs/domains/bidding.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ledger.domains.base import Domain, TxContext, TxType
from ledger.domains.bidding.schemas import (
    AwardPublish,
    BidCommit,
    BidReveal,
    BidWithdraw,
    EvaluationReport,
    EvaluationScore,
    GuaranteeIssue,
    TenderOpen,
    TenderPublish,
)
from ledger.domains.bidding.state import (
    BOND_LIMIT_PERCENT,
    NS_ACTIVE,
    NS_BIDS,
    NS_COMMITMENTS,
    NS_EVENTS,
    NS_GUARANTEES,
    NS_REPORTS,
    NS_SCORES,
    NS_TENDER_BIDS,
    NS_TENDER_GUARANTEE,
    NS_TENDERS,
    bond_limit_cents,
    cents,
    key,
    money,
)
from ledger.domains.bidding.verify import bid_commitment, report_hash
from ledger.domains.state import Overlay, StateView
from ledger.errors import RuleViolation

NAME = "bidding"
MIN_OPENED_BIDS = 3  # 招标投标法 Art. 28: fewer than three bidders -> tender again
MIN_COMMITTEE = 5  # 招标投标法 Art. 37: five or more members, an odd number


# --- the domain ----------------------------------------------------------------------------


def _fail(message: str, code: str, **details: Any) -> RuleViolation:
    return RuleViolation(message, code=code, **details)


def _event(state: Overlay, code: str, ctx: TxContext, tx_type: str, **refs: Any) -> None:
    events = state.get(NS_EVENTS, code) or []
    event = {"type": tx_type, "tx_id": ctx.tx_id, "height": ctx.height, "time_ms": ctx.time_ms}
    state.put(NS_EVENTS, code, [*events, {**event, **refs}])


def _when(ctx: TxContext) -> dict[str, Any]:
    return {"tx_id": ctx.tx_id, "height": ctx.height, "time_ms": ctx.time_ms}


class BiddingDomain(Domain):
    name = NAME

    def tx_types(self) -> Sequence[TxType[Any]]:
        return (
            TxType(
                "tender.publish",
                frozenset({"tenderer"}),
                TenderPublish,
                self.on_tender_publish,
                "publish a tender",
            ),
            TxType(
                "tender.open",
                frozenset({"tenderer"}),
                TenderOpen,
                self.on_tender_open,
                "the opening record",
            ),
            TxType(
                "bid.commit",
                frozenset({"bidder"}),
                BidCommit,
                self.on_bid_commit,
                "submit a sealed bid",
            ),
            TxType(
                "bid.withdraw",
                frozenset({"bidder"}),
                BidWithdraw,
                self.on_bid_withdraw,
                "withdraw a sealed bid",
            ),
            TxType(
                "bid.reveal",
                frozenset({"bidder"}),
                BidReveal,
                self.on_bid_reveal,
                "open one's own bid",
            ),
            TxType(
                "guarantee.issue",
                frozenset({"guarantor"}),
                GuaranteeIssue,
                self.on_guarantee_issue,
                "an electronic bid guarantee",
            ),
            TxType(
                "evaluation.score",
                frozenset({"evaluator"}),
                EvaluationScore,
                self.on_evaluation_score,
                "score sheet",
            ),
            TxType(
                "evaluation.report",
                frozenset({"evaluator"}),
                EvaluationReport,
                self.on_evaluation_report,
                "propose, sign or refuse the report",
            ),
            TxType(
                "award.publish",
                frozenset({"tenderer"}),
                AwardPublish,
                self.on_award_publish,
                "publish the award",
            ),
        )

    # --- shared checks ---------------------------------------------------------------------

    @staticmethod
    def _tender(state: StateView, code: str) -> dict[str, Any]:
        tender = state.get(NS_TENDERS, code)
        if tender is None:
            raise _fail(f"no tender with project code {code!r} on the ledger", "unknown_tender")
        return dict(tender)

    @staticmethod
    def _bid(state: StateView, bid_id: str, ctx: TxContext) -> dict[str, Any]:
        bid = state.get(NS_BIDS, bid_id)
        if bid is None:
            raise _fail(f"no bid {bid_id} on the ledger", "unknown_bid")
        if bid["bidder"] != ctx.submitter:
            # the same answer whoever asks, so that a probe learns nothing about the bidder
            raise _fail(
                f"bid {bid_id} was not committed by {ctx.submitter!r}; only its bidder may "
                "withdraw or reveal it",
                "not_bid_owner",
            )
        return dict(bid)

    @staticmethod
    def _own_tender(tender: Mapping[str, Any], ctx: TxContext) -> None:
        if tender["tenderer"] != ctx.submitter:
            raise _fail(
                f"tender {tender['project_code']} was published by {tender['tenderer']!r}; "
                f"only that tenderer may open it or publish its award, not {ctx.submitter!r}",
                "not_tenderer",
            )

    @staticmethod
    def _committee_member(tender: Mapping[str, Any], ctx: TxContext) -> None:
        if ctx.submitter not in tender["committee"]:
            raise _fail(
                f"{ctx.submitter!r} is not on the evaluation committee of tender "
                f"{tender['project_code']} (members: {', '.join(tender['committee'])})",
                "not_on_committee",
            )

    @staticmethod
    def _evaluable(tender: Mapping[str, Any]) -> None:
        status, code = tender["status"], tender["project_code"]
        if status == "published":
            raise _fail(f"tender {code} has not been opened yet", "tender_not_opened")
        if status == "failed":
            raise _fail(
                f"tender {code} failed at opening (fewer than {MIN_OPENED_BIDS} bids opened); "
                "it must be tendered again",
                "tender_failed",
            )
        if status != "opened":
            raise _fail(f"the evaluation of tender {code} is closed", "evaluation_closed")

    # --- tender.publish --------------------------------------------------------------------

    def on_tender_publish(self, state: Overlay, ctx: TxContext, p: TenderPublish) -> None:
        if state.get(NS_TENDERS, p.project_code) is not None:
            raise _fail(f"tender {p.project_code} is already on the ledger", "tender_exists")
        if p.bid_deadline <= ctx.time_ms:
            raise _fail(
                f"the bid deadline {p.bid_deadline} is not after the block time {ctx.time_ms}",
                "deadline_in_past",
                bid_deadline=p.bid_deadline,
                block_time=ctx.time_ms,
            )
        if p.opening_time < p.bid_deadline:
            raise _fail(
                f"the opening time {p.opening_time} is before the bid deadline {p.bid_deadline}",
                "opening_before_deadline",
            )
        estimated, bond = cents(p.estimated_value), cents(p.bid_bond)
        if estimated == 0:
            raise _fail("the estimated value must be more than 0.00", "invalid_amount")
        if bond * 100 > estimated * BOND_LIMIT_PERCENT:
            raise _fail(
                f"the bid bond {p.bid_bond} is more than {BOND_LIMIT_PERCENT}% of the "
                f"estimated value {p.estimated_value} (at most "
                f"{money(bond_limit_cents(p.estimated_value))})",
                "bond_exceeds_limit",
                limit=money(bond_limit_cents(p.estimated_value)),
            )
        committee = list(p.committee)
        if len(set(committee)) != len(committee):
            raise _fail("the committee lists a member twice", "invalid_committee")
        if len(committee) < MIN_COMMITTEE or len(committee) % 2 == 0:
            raise _fail(
                f"the committee has {len(committee)} members; it needs an odd number, "
                f"at least {MIN_COMMITTEE} (招标投标法 Art. 37)",
                "invalid_committee",
            )
        not_evaluators = [m for m in committee if not _has_role(ctx, m, "evaluator")]
        if not_evaluators:
            raise _fail(
                "committee members must be active members with the role evaluator: "
                f"{', '.join(not_evaluators)} are not",
                "unknown_evaluator",
                members=not_evaluators,
            )
        tender = {
            "project_code": p.project_code,
            "title": p.title,
            "category": p.category,
            "tenderer": ctx.submitter,
            "bid_deadline": p.bid_deadline,
            "opening_time": p.opening_time,
            "evaluation_method": p.evaluation_method,
            "estimated_value": p.estimated_value,
            "bid_bond": p.bid_bond,
            "committee": committee,
            "document_hash": p.document_hash,
            "status": "published",
            "published": _when(ctx),
            "opening": None,
            "award": None,
        }
        state.put(NS_TENDERS, p.project_code, tender)
        state.put(NS_TENDER_BIDS, p.project_code, [])
        _event(state, p.project_code, ctx, "tender.publish")

    # --- bids ------------------------------------------------------------------------------

    def on_bid_commit(self, state: Overlay, ctx: TxContext, p: BidCommit) -> None:
        tender = self._tender(state, p.project_code)
        if ctx.time_ms >= tender["bid_deadline"]:
            raise _fail(
                f"the bid deadline of tender {p.project_code} ({tender['bid_deadline']}) has "
                f"passed at block time {ctx.time_ms}; no more bids are accepted",
                "bid_after_deadline",
                bid_deadline=tender["bid_deadline"],
                block_time=ctx.time_ms,
            )
        active = state.get(NS_ACTIVE, key(p.project_code, ctx.submitter))
        if active is not None:
            raise _fail(
                f"{ctx.submitter!r} already has bid {active} on tender {p.project_code}; "
                "withdraw it (bid.withdraw) before committing a new one",
                "bid_exists",
                bid_id=active,
            )
        if state.get(NS_COMMITMENTS, key(p.project_code, p.commitment)) is not None:
            raise _fail(
                "this commitment was already submitted to this tender; use a fresh random salt",
                "duplicate_commitment",
            )
        bid = {
            "bid_id": ctx.tx_id,
            "project_code": p.project_code,
            "bidder": ctx.submitter,
            "commitment": p.commitment,
            "status": "sealed",
            "committed": _when(ctx),
            "withdrawn": None,
            "revealed": None,
        }
        state.put(NS_BIDS, ctx.tx_id, bid)
        state.put(
            NS_TENDER_BIDS, p.project_code, [*state.get(NS_TENDER_BIDS, p.project_code), ctx.tx_id]
        )
        state.put(NS_ACTIVE, key(p.project_code, ctx.submitter), ctx.tx_id)
        state.put(NS_COMMITMENTS, key(p.project_code, p.commitment), ctx.tx_id)
        _event(state, p.project_code, ctx, "bid.commit", bid_id=ctx.tx_id)

    def on_bid_withdraw(self, state: Overlay, ctx: TxContext, p: BidWithdraw) -> None:
        bid = self._bid(state, p.bid_id, ctx)
        tender = self._tender(state, bid["project_code"])
        if ctx.time_ms >= tender["bid_deadline"]:
            raise _fail(
                f"the bid deadline of tender {tender['project_code']} has passed at block time "
                f"{ctx.time_ms}; a bid can be withdrawn only before it",
                "withdraw_after_deadline",
            )
        if bid["status"] != "sealed":
            raise _fail(f"bid {p.bid_id} is {bid['status']}", "bid_not_sealed")
        state.put(NS_BIDS, p.bid_id, {**bid, "status": "withdrawn", "withdrawn": _when(ctx)})
        state.delete(NS_ACTIVE, key(bid["project_code"], ctx.submitter))
        _event(state, bid["project_code"], ctx, "bid.withdraw", bid_id=p.bid_id)

    def on_bid_reveal(self, state: Overlay, ctx: TxContext, p: BidReveal) -> None:
        bid = self._bid(state, p.bid_id, ctx)
        tender = self._tender(state, bid["project_code"])
        if ctx.time_ms < tender["opening_time"]:
            raise _fail(
                f"tender {tender['project_code']} opens at {tender['opening_time']}; block "
                f"time is {ctx.time_ms}: a bid cannot be revealed before the opening time",
                "reveal_before_opening",
                opening_time=tender["opening_time"],
                block_time=ctx.time_ms,
            )
        if tender["status"] != "published":
            raise _fail(
                f"tender {tender['project_code']} has already been opened; a bid not revealed "
                "by then counts as revoked",
                "tender_already_opened",
            )
        if bid["status"] == "withdrawn":
            raise _fail(f"bid {p.bid_id} was withdrawn", "bid_withdrawn")
        if bid["status"] != "sealed":
            raise _fail(f"bid {p.bid_id} is already revealed", "bid_already_revealed")
        computed = bid_commitment(p.salt, p.document_hash, p.price)
        if computed != bid["commitment"]:
            raise _fail(
                "salt, document hash and price do not open the commitment of this bid: "
                f"SM3(salt ‖ document_hash ‖ price) = {computed}, committed {bid['commitment']}",
                "reveal_mismatch",
                expected=bid["commitment"],
                found=computed,
            )
        revealed = {
            **_when(ctx),
            "salt": p.salt,
            "document_hash": p.document_hash,
            "price": p.price,
        }
        state.put(NS_BIDS, p.bid_id, {**bid, "status": "revealed", "revealed": revealed})
        _event(state, bid["project_code"], ctx, "bid.reveal", bid_id=p.bid_id)

    # --- guarantees ------------------------------------------------------------------------

    def on_guarantee_issue(self, state: Overlay, ctx: TxContext, p: GuaranteeIssue) -> None:
        tender = self._tender(state, p.project_code)
        if state.get(NS_GUARANTEES, p.guarantee_no) is not None:
            raise _fail(f"guarantee {p.guarantee_no} is already on the ledger", "guarantee_exists")
        if ctx.time_ms >= tender["bid_deadline"]:
            raise _fail(
                f"the bid deadline of tender {p.project_code} has passed; a bid guarantee must "
                "be in place before it",
                "guarantee_after_deadline",
            )
        if cents(tender["bid_bond"]) == 0:
            raise _fail(f"tender {p.project_code} requires no bid bond", "no_bond_required")
        if cents(p.amount) < cents(tender["bid_bond"]):
            raise _fail(
                f"the guarantee amount {p.amount} is below the bid bond {tender['bid_bond']} "
                f"required by tender {p.project_code}",
                "guarantee_below_bond",
                required=tender["bid_bond"],
                amount=p.amount,
            )
        if p.valid_until < tender["opening_time"]:
            raise _fail(
                f"the guarantee expires at {p.valid_until}, before the opening time "
                f"{tender['opening_time']}",
                "guarantee_expires_too_early",
            )
        if not _has_role(ctx, p.bidder, "bidder"):
            raise _fail(
                f"{p.bidder!r} is not an active member with the role bidder", "unknown_bidder"
            )
        pair = key(p.project_code, p.bidder)
        existing = state.get(NS_TENDER_GUARANTEE, pair)
        if existing is not None:
            raise _fail(
                f"{p.bidder!r} already has guarantee {existing} for tender {p.project_code}",
                "guarantee_exists",
            )
        guarantee = {
            "guarantee_no": p.guarantee_no,
            "project_code": p.project_code,
            "bidder": p.bidder,
            "guarantor": ctx.submitter,
            "kind": p.kind,
            "amount": p.amount,
            "valid_until": p.valid_until,
            "document_hash": p.document_hash,
            "issued": _when(ctx),
        }
        state.put(NS_GUARANTEES, p.guarantee_no, guarantee)
        state.put(NS_TENDER_GUARANTEE, pair, p.guarantee_no)
        _event(state, p.project_code, ctx, "guarantee.issue", guarantee_no=p.guarantee_no)

    # --- opening ---------------------------------------------------------------------------

    def on_tender_open(self, state: Overlay, ctx: TxContext, p: TenderOpen) -> None:
        tender = self._tender(state, p.project_code)
        self._own_tender(tender, ctx)
        if ctx.time_ms < tender["opening_time"]:
            raise _fail(
                f"tender {p.project_code} opens at {tender['opening_time']}; block time is "
                f"{ctx.time_ms}",
                "open_before_opening_time",
            )
        if tender["status"] != "published":
            raise _fail(f"tender {p.project_code} is already opened", "tender_already_opened")
        bids = [state.get(NS_BIDS, b) for b in state.get(NS_TENDER_BIDS, p.project_code)]
        revealed = [b for b in bids if b["status"] == "revealed"]
        named = list(p.revealed_bids)
        if len(set(named)) != len(named) or set(named) != {b["bid_id"] for b in revealed}:
            raise _fail(
                "revealed_bids must list exactly the bids revealed on the ledger: "
                f"{sorted(b['bid_id'] for b in revealed)}",
                "opening_record_mismatch",
                revealed=sorted(b["bid_id"] for b in revealed),
            )
        bond_required = cents(tender["bid_bond"]) > 0
        opened = []
        for b in revealed:
            guarantee = state.get(NS_TENDER_GUARANTEE, key(p.project_code, b["bidder"]))
            opened.append(
                {
                    "bid_id": b["bid_id"],
                    "bidder": b["bidder"],
                    "price": b["revealed"]["price"],
                    "document_hash": b["revealed"]["document_hash"],
                    "guarantee_no": guarantee,
                    "bond_ok": (not bond_required) or guarantee is not None,
                }
            )
        revoked = []
        for b in bids:
            if b["status"] == "sealed":
                revoked.append({"bid_id": b["bid_id"], "bidder": b["bidder"]})
                state.put(NS_BIDS, b["bid_id"], {**b, "status": "revoked"})
        withdrawn = [b["bid_id"] for b in bids if b["status"] == "withdrawn"]
        failed = len(opened) < MIN_OPENED_BIDS
        opening = {
            **_when(ctx),
            "opened": opened,
            "revoked": revoked,
            "withdrawn": withdrawn,
            "result": "failed" if failed else "opened",
        }
        status = "failed" if failed else "opened"
        state.put(NS_TENDERS, p.project_code, {**tender, "status": status, "opening": opening})
        _event(state, p.project_code, ctx, "tender.open")

    # --- evaluation ------------------------------------------------------------------------

    def on_evaluation_score(self, state: Overlay, ctx: TxContext, p: EvaluationScore) -> None:
        tender = self._tender(state, p.project_code)
        self._committee_member(tender, ctx)
        self._evaluable(tender)
        if state.get(NS_REPORTS, p.project_code) is not None:
            raise _fail(
                f"the report of tender {p.project_code} is already proposed; scoring is closed",
                "evaluation_closed",
            )
        if state.get(NS_SCORES, key(p.project_code, ctx.submitter)) is not None:
            raise _fail(
                f"{ctx.submitter!r} has already scored tender {p.project_code}", "already_scored"
            )
        opened = [b["bid_id"] for b in tender["opening"]["opened"]]
        given = [s.bid_id for s in p.scores]
        if len(set(given)) != len(given):
            raise _fail("a bid is scored twice", "duplicate_score")
        unknown = sorted(set(given) - set(opened))
        if unknown:
            raise _fail(
                f"not opened bids of tender {p.project_code}: {', '.join(unknown)}",
                "unknown_bid",
            )
        missing = [b for b in opened if b not in set(given)]
        if missing:
            raise _fail(
                f"every opened bid needs a score; missing: {', '.join(missing)}",
                "scores_incomplete",
                missing=missing,
            )
        by_bid = {s.bid_id: s for s in p.scores}
        sheet = {
            "evaluator": ctx.submitter,
            "scores": [
                {"bid_id": b, "score": by_bid[b].score, "note": by_bid[b].note} for b in opened
            ],
            "dissent": p.dissent,
            **_when(ctx),
        }
        state.put(NS_SCORES, key(p.project_code, ctx.submitter), sheet)
        _event(state, p.project_code, ctx, "evaluation.score", evaluator=ctx.submitter)

    def on_evaluation_report(self, state: Overlay, ctx: TxContext, p: EvaluationReport) -> None:
        tender = self._tender(state, p.project_code)
        self._committee_member(tender, ctx)
        self._evaluable(tender)
        if p.action == "propose":
            self._propose(state, ctx, tender, p)
        else:
            self._answer(state, ctx, tender, p)

    def _propose(
        self, state: Overlay, ctx: TxContext, tender: dict[str, Any], p: EvaluationReport
    ) -> None:
        code = p.project_code
        assert p.ranking is not None and p.document_hash is not None
        if state.get(NS_REPORTS, code) is not None:
            raise _fail(f"tender {code} already has a proposed report", "report_exists")
        sheets = {m: state.get(NS_SCORES, key(code, m)) for m in tender["committee"]}
        missing = [m for m, s in sheets.items() if s is None]
        if missing:
            raise _fail(
                f"not every committee member has scored yet: {', '.join(missing)}",
                "scores_missing",
                missing=missing,
            )
        ranking = list(p.ranking)
        if len(set(ranking)) != len(ranking):
            raise _fail("the ranking lists a bid twice", "invalid_ranking")
        opened = {b["bid_id"]: b for b in tender["opening"]["opened"]}
        for bid_id in ranking:
            bid = opened.get(bid_id)
            if bid is None:
                raise _fail(f"{bid_id} is not an opened bid of tender {code}", "invalid_ranking")
            if not bid["bond_ok"]:
                raise _fail(
                    f"bid {bid_id} has no bid guarantee for the required bond; it cannot be ranked",
                    "ranking_invalid_bid",
                )
        if tender["evaluation_method"] == "lowest_evaluated_price":
            keys = [cents(opened[b]["price"]) for b in ranking]
            if keys != sorted(keys):
                raise _fail(
                    "by the lowest evaluated price method the ranking goes from the lowest "
                    "price up",
                    "ranking_out_of_order",
                )
        else:
            totals = _score_totals(sheets.values())
            keys = [totals[b] for b in ranking]
            if keys != sorted(keys, reverse=True):
                raise _fail(
                    "by the comprehensive evaluation method the ranking goes from the highest "
                    "total score down",
                    "ranking_out_of_order",
                )
        digest = report_hash(code, ranking, p.document_hash)
        report = {
            "project_code": code,
            "ranking": ranking,
            "document_hash": p.document_hash,
            "report_hash": digest,
            "proposed_by": ctx.submitter,
            "proposed": _when(ctx),
            "answers": {ctx.submitter: _answer_record(ctx, "signed", None)},
            "status": "awaiting_signatures",
        }
        self._store_report(state, tender, report)
        _event(state, code, ctx, "evaluation.report", evaluator=ctx.submitter, action="propose")

    def _answer(
        self, state: Overlay, ctx: TxContext, tender: dict[str, Any], p: EvaluationReport
    ) -> None:
        code = p.project_code
        report = state.get(NS_REPORTS, code)
        if report is None:
            raise _fail(f"no report of tender {code} has been proposed yet", "no_report")
        if p.report_hash != report["report_hash"]:
            raise _fail(
                f"the report of tender {code} has hash {report['report_hash']}, not "
                f"{p.report_hash}",
                "report_hash_mismatch",
                expected=report["report_hash"],
            )
        if ctx.submitter in report["answers"]:
            raise _fail(
                f"{ctx.submitter!r} has already answered the report of tender {code}",
                "already_answered",
            )
        if p.action == "sign":
            kind = "signed"
        elif p.reasons is not None and p.reasons.strip():
            kind = "refused_with_reasons"
        else:
            kind = "refused_without_reasons"
        answers = {**report["answers"], ctx.submitter: _answer_record(ctx, kind, p.reasons)}
        self._store_report(state, tender, {**report, "answers": answers})
        _event(state, code, ctx, "evaluation.report", evaluator=ctx.submitter, action=kind)

    @staticmethod
    def _store_report(state: Overlay, tender: dict[str, Any], report: dict[str, Any]) -> None:
        code = tender["project_code"]
        if set(report["answers"]) == set(tender["committee"]):
            report = {**report, "status": "complete"}
            state.put(NS_TENDERS, code, {**tender, "status": "evaluated"})
        state.put(NS_REPORTS, code, report)

    # --- award -----------------------------------------------------------------------------

    def on_award_publish(self, state: Overlay, ctx: TxContext, p: AwardPublish) -> None:
        tender = self._tender(state, p.project_code)
        self._own_tender(tender, ctx)
        status = tender["status"]
        if status == "awarded":
            raise _fail(f"tender {p.project_code} is already awarded", "already_awarded")
        if status != "evaluated":
            if status in ("published", "failed"):
                self._evaluable(tender)
            raise _fail(
                f"the evaluation report of tender {p.project_code} is not complete: every "
                "committee member must sign or refuse it first",
                "report_incomplete",
            )
        report = state.get(NS_REPORTS, p.project_code)
        ranking = report["ranking"]
        if p.bid_id not in ranking:
            raise _fail(
                f"bid {p.bid_id} is not a ranked candidate of tender {p.project_code}",
                "winner_not_ranked",
                ranking=ranking,
            )
        rank = ranking.index(p.bid_id) + 1
        if rank > 1 and not (p.reason and p.reason.strip()):
            raise _fail(
                f"bid {p.bid_id} is ranked {rank}; awarding other than the first candidate "
                "needs a reason (for example: the first candidate declined)",
                "reason_required",
            )
        opened = {b["bid_id"]: b for b in tender["opening"]["opened"]}
        award = {
            **_when(ctx),
            "bid_id": p.bid_id,
            "bidder": opened[p.bid_id]["bidder"],
            "price": opened[p.bid_id]["price"],
            "rank": rank,
            "notice_hash": p.notice_hash,
            "reason": p.reason,
        }
        state.put(NS_TENDERS, p.project_code, {**tender, "status": "awarded", "award": award})
        _event(state, p.project_code, ctx, "award.publish", bid_id=p.bid_id)


def _has_role(ctx: TxContext, member_id: str, role: str) -> bool:
    """Whether ``member_id`` is an active member holding ``role`` at this transaction."""
    member = ctx.members.get(member_id)
    return member is not None and member.active and role in member.roles


def _answer_record(ctx: TxContext, kind: str, reasons: str | None) -> dict[str, Any]:
    return {
        "answer": kind,
        "counts_as": "dissent" if kind == "refused_with_reasons" else "assent",
        "reasons": reasons,
        **_when(ctx),
    }


def _score_totals(sheets: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    """Sum of every evaluator's score per bid, in hundredths of a point."""
    totals: dict[str, int] = {}
    for sheet in sheets:
        if sheet is None:
            continue
        for item in sheet["scores"]:
            totals[item["bid_id"]] = totals.get(item["bid_id"], 0) + cents(item["score"])
    return totals


domain = BiddingDomain()
