"""The roles a consortium member may hold. Which roles may submit which transaction type is
declared by each type's domain (``ledger.domains.registry``); a type that no domain declares
is refused with ``unknown_type``.
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
