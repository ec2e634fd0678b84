"""Membership rules: who may be registered, re-keyed or revoked, checked against the
membership as it stands in the block, then applied to it."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from typing import Any

from ledger.crypto import key_id
from ledger.domains.base import Domain, TxContext, TxType
from ledger.domains.member.schemas import MemberRegister, MemberRevoke, MemberRotateKey
from ledger.domains.member.state import MemberRecord, MemberRegistry
from ledger.domains.state import Overlay
from ledger.errors import LedgerError, RuleViolation
from ledger.model import SignedTransaction

GOVERNANCE = frozenset({"governance"})


def _existing_active(registry: MemberRegistry, member_id: str, tx_type: str) -> MemberRecord:
    member = registry.members.get(member_id)
    if member is None or not member.active:
        raise RuleViolation(f"{tx_type}: no active member {member_id!r}", code="unknown_member")
    return member


def _check_new_key(registry: MemberRegistry, public_key: str) -> None:
    if key_id(public_key) in registry.keys:
        raise RuleViolation("this public key is already registered", code="key_exists")


KEY_TYPES = ("member.register", "member.rotate_key")


def keys_introduced(txs: Iterable[SignedTransaction]) -> dict[str, str]:
    """The keys that membership transactions among ``txs`` register, by key id: a later
    transaction of the same block may be signed with one (the block's rules, run in order,
    decide whether it was registered before it)."""
    keys: dict[str, str] = {}
    for tx in txs:
        if tx.envelope.type in KEY_TYPES:
            value = tx.envelope.payload.get("public_key")
            if isinstance(value, str) and len(value) == 130:
                with contextlib.suppress(LedgerError, ValueError):
                    keys[key_id(value)] = value
    return keys


class MemberDomain(Domain):
    name = "member"

    def tx_types(self) -> Sequence[TxType[Any]]:
        return (
            TxType(
                "member.register",
                GOVERNANCE,
                MemberRegister,
                self.on_register,
                "register a member with roles and a key",
            ),
            TxType(
                "member.rotate_key",
                GOVERNANCE,
                MemberRotateKey,
                self.on_rotate_key,
                "replace a member's key",
            ),
            TxType(
                "member.revoke",
                GOVERNANCE,
                MemberRevoke,
                self.on_revoke,
                "revoke a member and its key",
            ),
        )

    def on_register(self, state: Overlay, ctx: TxContext, p: MemberRegister) -> None:
        registry = ctx.host.membership()
        if p.id in registry.members:
            raise RuleViolation(f"member {p.id!r} is already registered", code="member_exists")
        _check_new_key(registry, p.public_key)
        registry.register(p.id, tuple(p.roles), p.public_key, ctx.height)

    def on_rotate_key(self, state: Overlay, ctx: TxContext, p: MemberRotateKey) -> None:
        registry = ctx.host.membership()
        _existing_active(registry, p.id, "member.rotate_key")
        _check_new_key(registry, p.public_key)
        registry.rotate_key(p.id, p.public_key)

    def on_revoke(self, state: Overlay, ctx: TxContext, p: MemberRevoke) -> None:
        registry = ctx.host.membership()
        target = _existing_active(registry, p.id, "member.revoke")
        if target.id == ctx.submitter:
            raise RuleViolation("a governance member cannot revoke itself", code="invalid_payload")
        registry.revoke(p.id)


domain = MemberDomain()
