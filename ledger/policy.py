"""Which roles may submit which transaction types. One table, read by the admission rules.

Membership and validator set types are listed here; every other type is declared by its domain in
``ledger.domains``. A type that no one declares is refused with ``unknown_type``.
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

MEMBERSHIP_TYPES: dict[str, frozenset[str]] = {
    "member.register": frozenset({"governance"}),
    "member.rotate_key": frozenset({"governance"}),
    "member.revoke": frozenset({"governance"}),
}

# Validator set changes (ledger/validators.py, docs/consensus.md "Validator set changes").
VALIDATOR_CHANGE_TYPES: dict[str, frozenset[str]] = {
    "validator.add": frozenset({"governance"}),
    "validator.remove": frozenset({"governance"}),
    "validator.set_power": frozenset({"governance"}),
}


def _type_roles() -> dict[str, frozenset[str]]:
    from ledger.domains import REGISTRY

    table = {**MEMBERSHIP_TYPES, **VALIDATOR_CHANGE_TYPES}
    for tx_type, roles in REGISTRY.type_roles().items():
        unknown = roles - ROLES
        if unknown:
            raise ValueError(f"{tx_type}: unknown roles {sorted(unknown)}")
        table[tx_type] = roles
    return table


TYPE_ROLES: dict[str, frozenset[str]] = _type_roles()


def roles_allowed(tx_type: str) -> frozenset[str] | None:
    return TYPE_ROLES.get(tx_type)
