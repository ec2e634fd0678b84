"""Enterprise reopening filings (企业复工报备). Schemas and rules: to be written (issue 3)."""

from ledger.domains.base import SchemaPendingDomain

domain = SchemaPendingDomain(
    "reopening",
    {
        "reopening.file": frozenset({"enterprise"}),
        "reopening.amend": frozenset({"enterprise"}),
        "reopening.review": frozenset({"approver"}),
        "reopening.inspect": frozenset({"approver"}),
    },
)
