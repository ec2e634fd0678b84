"""Admission rules (issue: rules checked before a transaction enters a block). Pure.

Order: size, chain id, registered key of the submitter, signature, role allows the type,
payload rules of the type (its domain, through ``ledger.execution``), timestamp window. The
tx_id-not-seen rule needs the store and the mempool, so the node checks it with
:func:`check_not_seen`.
"""

from __future__ import annotations

from collections.abc import Container

from ledger.domains.member.state import KeyRecord, MemberRegistry
from ledger.domains.registry import REGISTRY
from ledger.errors import DuplicateTransaction, RuleViolation, TooLarge
from ledger.model import SignedTransaction


def check_size(size: int, limit: int) -> None:
    if size > limit:
        raise TooLarge(
            f"transaction is {size} bytes; the limit is {limit} bytes", size=size, limit=limit
        )


def check_chain(tx: SignedTransaction, chain_id: str) -> None:
    if tx.envelope.chain_id != chain_id:
        raise RuleViolation(
            f"transaction is for chain {tx.envelope.chain_id!r}; this ledger is {chain_id!r}",
            code="wrong_chain",
        )


def submitter_key(tx: SignedTransaction, registry: MemberRegistry) -> KeyRecord:
    env = tx.envelope
    key = registry.active_key(env.key_id)
    if key is None:
        raise RuleViolation(
            f"key_id {env.key_id} is not an active key of a registered member", code="unknown_key"
        )
    if key.member_id != env.submitter:
        raise RuleViolation(
            f"key_id {env.key_id} belongs to member {key.member_id!r}, not {env.submitter!r}",
            code="unknown_key",
        )
    return key


def check_role(tx: SignedTransaction, registry: MemberRegistry) -> tuple[str, ...]:
    """The submitter's roles, one of which may submit this type."""
    env = tx.envelope
    allowed = REGISTRY.roles_allowed(env.type)
    if allowed is None:
        raise RuleViolation(f"unknown transaction type {env.type!r}", code="unknown_type")
    member = registry.members[env.submitter]
    if not allowed.intersection(member.roles):
        raise RuleViolation(
            f"member {member.id!r} has roles {sorted(member.roles)}; "
            f"{env.type} needs one of {sorted(allowed)}",
            code="role_not_allowed",
        )
    return member.roles


def check_timestamp(tx: SignedTransaction, now_ms: int, tolerance_ms: int) -> None:
    skew = tx.envelope.timestamp - now_ms
    if abs(skew) > tolerance_ms:
        raise RuleViolation(
            f"timestamp is {skew / 1000:+.0f} s from the node's clock; "
            f"at most ±{tolerance_ms // 1000} s is accepted",
            code="timestamp_out_of_range",
            timestamp=tx.envelope.timestamp,
            node_time=now_ms,
        )


def check_not_seen(tx: SignedTransaction, seen: Container[str]) -> None:
    if tx.tx_id in seen:
        raise DuplicateTransaction(f"transaction {tx.tx_id} was already submitted", tx_id=tx.tx_id)
