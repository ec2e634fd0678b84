"""Electronic evidence (电子证据存证). Schemas and rules: to be written (see issue 3)."""

from ledger.domains.base import SchemaPendingDomain

domain = SchemaPendingDomain(
    "evidence",
    {"evidence.deposit": frozenset({"depositor", "court"})},
)
