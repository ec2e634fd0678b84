"""Which roles may submit which transaction types. One table, read by the admission rules.

The domain issues refine this table (payload schemas, state rules); a type that is not
listed here is refused with ``unknown_type``.
"""

from __future__ import annotations

ROLES = frozenset(
    {
        "governance",
        "validator",
        "enterprise",
        "approver",
        "tenderer",
        "bidder",
        "guarantor",
        "evaluator",
        "school",
        "depositor",
        "court",
        "auditor",
    }
)

TYPE_ROLES: dict[str, frozenset[str]] = {
    # membership (this issue)
    "member.register": frozenset({"governance"}),
    "member.rotate_key": frozenset({"governance"}),
    "member.revoke": frozenset({"governance"}),
    # enterprise reopening filings
    "reopening.file": frozenset({"enterprise"}),
    "reopening.amend": frozenset({"enterprise"}),
    "reopening.review": frozenset({"approver"}),
    "reopening.inspect": frozenset({"approver"}),
    # e-bidding
    "tender.publish": frozenset({"tenderer"}),
    "tender.open": frozenset({"tenderer"}),
    "bid.commit": frozenset({"bidder"}),
    "bid.withdraw": frozenset({"bidder"}),
    "bid.reveal": frozenset({"bidder"}),
    "guarantee.issue": frozenset({"guarantor"}),
    "evaluation.score": frozenset({"evaluator"}),
    "evaluation.report": frozenset({"evaluator"}),
    "award.publish": frozenset({"tenderer"}),
    # education identity cards
    "edu_card.issue": frozenset({"school"}),
    "edu_card.suspend": frozenset({"school"}),
    "edu_card.reinstate": frozenset({"school"}),
    "edu_card.revoke": frozenset({"school"}),
    "edu_card.renew": frozenset({"school"}),
    # electronic evidence
    "evidence.deposit": frozenset({"depositor", "court"}),
}


def roles_allowed(tx_type: str) -> frozenset[str] | None:
    return TYPE_ROLES.get(tx_type)
