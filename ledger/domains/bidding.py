"""E-bidding (电子招投标). Schemas and rules: to be written (issue 3)."""

from ledger.domains.base import SchemaPendingDomain

domain = SchemaPendingDomain(
    "bidding",
    {
        "tender.publish": frozenset({"tenderer"}),
        "tender.open": frozenset({"tenderer"}),
        "bid.commit": frozenset({"bidder"}),
        "bid.withdraw": frozenset({"bidder"}),
        "bid.reveal": frozenset({"bidder"}),
        "guarantee.issue": frozenset({"guarantor"}),
        "evaluation.score": frozenset({"evaluator"}),
        "evaluation.report": frozenset({"evaluator"}),
        "award.publish": frozenset({"tenderer"}),
    },
)
