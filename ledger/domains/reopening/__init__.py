"""Enterprise reopening filings (企业复工报备).

An ``enterprise`` files its reopening (``reopening.file``) and amends it with new complete
versions (``reopening.amend``); the reviewing body the routing rule names approves, rejects
or returns it (``reopening.review``, role ``approver``); an approver of the district records
on-site inspections (``reopening.inspect``); ``governance`` sets the routing rule
(``reopening.configure``). See docs/domains/reopening.md.
"""

from ledger.domains.reopening.codes import (
    check_character,
    credit_code_problem,
    is_valid_credit_code,
)
from ledger.domains.reopening.rules import ReopeningDomain, domain

__all__ = [
    "ReopeningDomain",
    "check_character",
    "credit_code_problem",
    "domain",
    "is_valid_credit_code",
]
