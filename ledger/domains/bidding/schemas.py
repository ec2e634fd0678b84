"""Payloads of the e-bidding types, and the patterns their fields follow.

Money is a decimal string with exactly two decimals (``"1250000.00"``), scores likewise
(``"0.00"``..``"100.00"``); both are compared as integer cents (``state.cents``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from ledger.domains.base import Payload

MAX_SAFE_INT = 2**53 - 1
MAX_COMMITTEE = 25

MONEY_PATTERN = r"^(0|[1-9][0-9]{0,14})\.[0-9]{2}$"
SCORE_PATTERN = r"^(100\.00|[1-9]?[0-9]\.[0-9]{2})$"
HEX64_PATTERN = r"^[0-9a-f]{64}$"
CODE_PATTERN = r"^[A-Z0-9][A-Z0-9-]{2,47}$"
GUARANTEE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9-]{2,63}$"
MEMBER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$"

Money = Annotated[str, StringConstraints(pattern=MONEY_PATTERN)]
Score = Annotated[str, StringConstraints(pattern=SCORE_PATTERN)]
Hex64 = Annotated[str, StringConstraints(pattern=HEX64_PATTERN)]
ProjectCode = Annotated[str, StringConstraints(pattern=CODE_PATTERN)]
MemberId = Annotated[str, StringConstraints(pattern=MEMBER_PATTERN)]
Millis = Annotated[int, Field(ge=0, le=MAX_SAFE_INT)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"\S")]
Reason = Annotated[str, StringConstraints(max_length=500)]
Note = Annotated[str, StringConstraints(max_length=1000)]
Statement = Annotated[str, StringConstraints(max_length=4000)]


class TenderPublish(Payload):
    v: Literal[1] = 1
    project_code: ProjectCode
    title: Title
    category: Literal["construction", "goods", "services"]
    bid_deadline: Millis
    opening_time: Millis
    evaluation_method: Literal["lowest_evaluated_price", "comprehensive_evaluation"]
    estimated_value: Money
    bid_bond: Money
    committee: list[MemberId] = Field(min_length=1, max_length=MAX_COMMITTEE)
    document_hash: Hex64


class BidCommit(Payload):
    v: Literal[1] = 1
    project_code: ProjectCode
    commitment: Hex64


class BidWithdraw(Payload):
    v: Literal[1] = 1
    bid_id: Hex64
    reason: Reason | None = None


class BidReveal(Payload):
    v: Literal[1] = 1
    bid_id: Hex64
    salt: Hex64
    document_hash: Hex64
    price: Money


class GuaranteeIssue(Payload):
    v: Literal[1] = 1
    guarantee_no: Annotated[str, StringConstraints(pattern=GUARANTEE_PATTERN)]
    project_code: ProjectCode
    bidder: MemberId
    kind: Literal["bank_guarantee", "guarantee_insurance", "guarantor_letter"]
    amount: Money
    valid_until: Millis
    document_hash: Hex64


class TenderOpen(Payload):
    v: Literal[1] = 1
    project_code: ProjectCode
    revealed_bids: list[Hex64] = Field(max_length=1000)


class ScoreItem(Payload):
    bid_id: Hex64
    score: Score
    note: Note | None = None


class EvaluationScore(Payload):
    v: Literal[1] = 1
    project_code: ProjectCode
    scores: list[ScoreItem] = Field(min_length=1, max_length=1000)
    dissent: Statement | None = None


class EvaluationReport(Payload):
    v: Literal[1] = 1
    project_code: ProjectCode
    action: Literal["propose", "sign", "refuse"]
    ranking: list[Hex64] | None = Field(default=None, min_length=1, max_length=3)
    document_hash: Hex64 | None = None
    report_hash: Hex64 | None = None
    reasons: Statement | None = None

    @model_validator(mode="after")
    def _fields_of_action(self) -> EvaluationReport:
        if self.action == "propose":
            if self.ranking is None or self.document_hash is None:
                raise ValueError("action 'propose' needs ranking and document_hash")
            if self.report_hash is not None or self.reasons is not None:
                raise ValueError("action 'propose' takes no report_hash or reasons")
        else:
            if self.report_hash is None:
                raise ValueError(f"action {self.action!r} needs the report_hash being answered")
            if self.ranking is not None or self.document_hash is not None:
                raise ValueError(f"action {self.action!r} takes no ranking or document_hash")
            if self.action == "sign" and self.reasons is not None:
                raise ValueError("action 'sign' takes no reasons (dissent goes with a refusal)")
        return self


class AwardPublish(Payload):
    v: Literal[1] = 1
    project_code: ProjectCode
    bid_id: Hex64
    notice_hash: Hex64
    reason: Statement | None = None
