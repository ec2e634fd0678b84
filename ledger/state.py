"""Membership state derived from the chain: a deterministic state machine, no I/O.

``MemberRegistry.check`` says whether a transaction may be applied now (raising a
``RuleViolation`` naming the rule), ``apply`` applies one that passed. Replaying the chain
from genesis through ``apply`` rebuilds exactly the same registry.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from ledger.crypto import PublicKey, key_id
from ledger.errors import InvalidKey, RuleViolation
from ledger.model import ID_PATTERN, Envelope, Genesis
from ledger.policy import ROLES


@dataclass(frozen=True)
class MemberRecord:
    id: str
    roles: tuple[str, ...]
    public_key: str
    key_id: str
    active: bool
    since_height: int

    def to_wire(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "roles": list(self.roles),
            "public_key": self.public_key,
            "key_id": self.key_id,
            "active": self.active,
            "since_height": self.since_height,
        }


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    member_id: str
    public_key: str
    active: bool


def payload_keys(env: Envelope, required: set[str], optional: frozenset[str] = frozenset()) -> None:
    keys = set(env.payload)
    missing, extra = required - keys, keys - required - optional
    if missing or extra:
        raise RuleViolation(
            f"{env.type} payload must hold {sorted(required)}"
            + (f" and may hold {sorted(optional)}" if optional else "")
            + f"; found {sorted(keys)}",
            code="invalid_payload",
        )


def payload_member_id(env: Envelope) -> str:
    value = env.payload.get("id")
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise RuleViolation(f"{env.type}: payload.id is not a member id", code="invalid_payload")
    return value


def _public_key(env: Envelope) -> PublicKey:
    value = env.payload.get("public_key")
    try:
        return PublicKey(value if isinstance(value, str) else "")
    except InvalidKey as exc:
        raise RuleViolation(
            f"{env.type}: payload.public_key: {exc.message}", code="invalid_payload"
        ) from None


class MemberRegistry:
    def __init__(self) -> None:
        self.members: dict[str, MemberRecord] = {}
        self.keys: dict[str, KeyRecord] = {}

    @classmethod
    def from_records(cls, members: list[MemberRecord], keys: list[KeyRecord]) -> MemberRegistry:
        registry = cls()
        registry.members = {m.id: m for m in members}
        registry.keys = {k.key_id: k for k in keys}
        return registry

    def copy(self) -> MemberRegistry:
        return MemberRegistry.from_records(list(self.members.values()), list(self.keys.values()))

    def active_key(self, key_id_hex: str) -> KeyRecord | None:
        record = self.keys.get(key_id_hex)
        return record if record is not None and record.active else None

    # --- checks ------------------------------------------------------------------------

    def check(self, env: Envelope) -> None:
        """Payload rules of membership transactions, against the state as it is now."""
        if env.type == "member.register":
            payload_keys(env, {"id", "roles", "public_key"})
            member_id = payload_member_id(env)
            roles = env.payload["roles"]
            if (
                not isinstance(roles, list)
                or not roles
                or not all(isinstance(r, str) and r in ROLES for r in roles)
                or len(set(roles)) != len(roles)
            ):
                raise RuleViolation(
                    f"member.register: roles must be distinct names from {sorted(ROLES)}",
                    code="invalid_payload",
                )
            if member_id in self.members:
                raise RuleViolation(
                    f"member {member_id!r} is already registered", code="member_exists"
                )
            self._check_new_key(_public_key(env))
        elif env.type == "member.rotate_key":
            payload_keys(env, {"id", "public_key"})
            self._existing_active(payload_member_id(env), env.type)
            self._check_new_key(_public_key(env))
        elif env.type == "member.revoke":
            payload_keys(env, {"id"}, frozenset({"reason"}))
            target = self._existing_active(payload_member_id(env), env.type)
            if target.id == env.submitter:
                raise RuleViolation(
                    "a governance member cannot revoke itself", code="invalid_payload"
                )
            reason = env.payload.get("reason", "")
            if not isinstance(reason, str):
                raise RuleViolation(
                    "member.revoke: reason must be a string", code="invalid_payload"
                )

    def _existing_active(self, member_id: str, tx_type: str) -> MemberRecord:
        member = self.members.get(member_id)
        if member is None or not member.active:
            raise RuleViolation(f"{tx_type}: no active member {member_id!r}", code="unknown_member")
        return member

    def _check_new_key(self, public_key: PublicKey) -> None:
        if public_key.key_id in self.keys:
            raise RuleViolation("this public key is already registered", code="key_exists")

    # --- transitions -------------------------------------------------------------------

    def register(
        self, member_id: str, roles: tuple[str, ...], public_key: str, height: int
    ) -> None:
        kid = key_id(public_key)
        self.members[member_id] = MemberRecord(member_id, roles, public_key, kid, True, height)
        self.keys[kid] = KeyRecord(kid, member_id, public_key, True)

    def apply(self, env: Envelope, height: int) -> None:
        p = env.payload
        if env.type == "member.register":
            self.register(p["id"], tuple(p["roles"]), p["public_key"], height)
        elif env.type == "member.rotate_key":
            old = self.members[p["id"]]
            self.keys[old.key_id] = replace(self.keys[old.key_id], active=False)
            kid = key_id(p["public_key"])
            self.members[old.id] = replace(old, public_key=p["public_key"], key_id=kid)
            self.keys[kid] = KeyRecord(kid, old.id, p["public_key"], True)
        elif env.type == "member.revoke":
            old = self.members[p["id"]]
            self.members[old.id] = replace(old, active=False)
            self.keys[old.key_id] = replace(self.keys[old.key_id], active=False)

    @classmethod
    def from_genesis(cls, genesis: Genesis) -> MemberRegistry:
        registry = cls()
        for m in genesis.members:
            registry.register(m.id, m.roles, m.public_key, 0)
        return registry
