"""One path for every transaction type: the signer's key and role, then the type's domain.

Block building, admission, the node's replay and the auditor all run transactions through
:func:`execute`, each with an :class:`ExecutionHost` that says what the system domains
change: a block's working membership and validator changes, or (at admission) scratch
copies that are thrown away, so that a transaction is checked without being applied.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from ledger.domains.member.state import MemberRecord, MemberRegistry
from ledger.domains.registry import REGISTRY
from ledger.domains.state import Overlay, StateStore
from ledger.domains.validator.state import ChangeBatch
from ledger.errors import RuleViolation
from ledger.model import SignedTransaction
from ledger.rules import check_role, submitter_key


class ExecutionHost:
    """The :class:`~ledger.domains.base.DomainHost` of one block (or of one admission check).

    ``registry`` is what transactions see and what the member domain changes;
    ``validator_changes`` gives the block's validator changes (None: none may be made)."""

    def __init__(
        self,
        registry: MemberRegistry,
        validator_changes: Callable[[], ChangeBatch] | ChangeBatch | None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        self.registry = registry
        self._changes = validator_changes
        self.params: Mapping[str, Any] = (
            params if isinstance(params, MappingProxyType) else MappingProxyType(dict(params or {}))
        )

    @property
    def members(self) -> Mapping[str, MemberRecord]:
        return self.registry.members

    def membership(self) -> MemberRegistry:
        return self.registry

    def validator_changes(self) -> ChangeBatch:
        changes = self._changes
        if changes is None:
            raise RuleViolation(
                "validator set changes need the validator schedule", code="unknown_type"
            )
        if not isinstance(changes, ChangeBatch):
            changes = self._changes = changes()
        return changes


def members_host(members: Mapping[str, MemberRecord]) -> ExecutionHost:
    """A host whose membership is ``members`` (no keys) and that refuses validator changes:
    for running a record domain's handlers on their own."""
    return ExecutionHost(MemberRegistry.from_records(list(members.values()), []), None)


def check_signer(tx: SignedTransaction, registry: MemberRegistry) -> tuple[str, ...]:
    """The submitter's key is active and one of its roles may submit the type: its roles."""
    submitter_key(tx, registry)
    return check_role(tx, registry)


def run(
    tx: SignedTransaction,
    host: ExecutionHost,
    view: Overlay,
    roles: tuple[str, ...],
    *,
    height: int,
    time_ms: int,
) -> None:
    """Run the type's rules and state changes (its domain's handler) for a checked signer."""
    REGISTRY.execute(
        view, tx, host=host, height=height, time_ms=time_ms, roles=roles, params=host.params
    )


def execute(
    tx: SignedTransaction, host: ExecutionHost, view: Overlay, *, height: int, time_ms: int
) -> None:
    """Check the submitter's key and role, then run the type's rules and state changes."""
    run(tx, host, view, check_signer(tx, host.registry), height=height, time_ms=time_ms)


def check_state(
    tx: SignedTransaction,
    registry: MemberRegistry,
    validator_changes: ChangeBatch | None = None,
    view: Overlay | None = None,
    *,
    height: int = 1,
    time_ms: int = 0,
    params: Mapping[str, Any] | None = None,
) -> None:
    """Whether ``tx`` may be applied now, applying it nowhere: its rules run on scratch
    copies of the membership, the validator changes and ``view`` (default: empty state)."""
    host = ExecutionHost(
        registry.scratch(),
        None if validator_changes is None else validator_changes.scratch(),
        params,
    )
    scratch = (view if view is not None else StateStore().overlay()).child()
    execute(tx, host, scratch, height=height, time_ms=time_ms)
