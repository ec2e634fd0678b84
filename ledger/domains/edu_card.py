"""Trusted education identity cards (可信教育数字身份). Schemas and rules: to be written."""

from ledger.domains.base import SchemaPendingDomain

domain = SchemaPendingDomain(
    "edu_card",
    {
        "edu_card.issue": frozenset({"school"}),
        "edu_card.suspend": frozenset({"school"}),
        "edu_card.reinstate": frozenset({"school"}),
        "edu_card.revoke": frozenset({"school"}),
        "edu_card.renew": frozenset({"school"}),
    },
)
