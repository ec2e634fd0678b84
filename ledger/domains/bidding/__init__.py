"""E-bidding (电子招投标): sealed bids by commitment, bid guarantees, evaluation, award.

``rules`` holds the payload schemas and the deterministic rules, ``views`` what the HTTP
endpoints show (public, restricted) and the verification steps, ``http`` the routes.
See docs/domains/bidding.md.
"""

from ledger.domains.bidding.rules import (
    AwardPublish,
    BidCommit,
    BiddingDomain,
    BidReveal,
    BidWithdraw,
    EvaluationReport,
    EvaluationScore,
    GuaranteeIssue,
    TenderOpen,
    TenderPublish,
    bid_commitment,
    bond_limit_cents,
    cents,
    domain,
    money,
    report_hash,
)

__all__ = [
    "AwardPublish",
    "BidCommit",
    "BidReveal",
    "BidWithdraw",
    "BiddingDomain",
    "EvaluationReport",
    "EvaluationScore",
    "GuaranteeIssue",
    "TenderOpen",
    "TenderPublish",
    "bid_commitment",
    "bond_limit_cents",
    "cents",
    "domain",
    "money",
    "report_hash",
]
