"""Membership state derived from the chain: members, their keys, no I/O.

The member domain's rules (``ledger/domains/member/rules.py``) decide whether a transaction
may change it; the transitions here apply one that passed. Replaying the chain from genesis
through ``apply`` rebuilds exactly the same registry.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import MutableMapping
from dataclasses import dataclass, replace
from typing import Any

from ledger.crypto import key_id
from ledger.model import Envelope, Genesis


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


class MemberRegistry:
    def __init__(self) -> None:
        self.members: MutableMapping[str, MemberRecord] = {}
        self.keys: MutableMapping[str, KeyRecord] = {}
        # the members whose records changed since this registry was made (what a block stores)
        self.changed: set[str] = set()

    @classmethod
    def from_records(cls, members: list[MemberRecord], keys: list[KeyRecord]) -> MemberRegistry:
        registry = cls()
        registry.members = {m.id: m for m in members}
        registry.keys = {k.key_id: k for k in keys}
        return registry

    def copy(self) -> MemberRegistry:
        return MemberRegistry.from_records(list(self.members.values()), list(self.keys.values()))

    def scratch(self) -> MemberRegistry:
        """A registry that reads through to this one and keeps its own writes: for checking a
        transaction without applying it (admission), in constant time."""
        out = MemberRegistry()
        out.members = ChainMap({}, self.members)
        out.keys = ChainMap({}, self.keys)
        return out

    def active_key(self, key_id_hex: str) -> KeyRecord | None:
        record = self.keys.get(key_id_hex)
        return record if record is not None and record.active else None

    # --- transitions -------------------------------------------------------------------

    def register(
        self, member_id: str, roles: tuple[str, ...], public_key: str, height: int
    ) -> None:
        kid = key_id(public_key)
        self.members[member_id] = MemberRecord(member_id, roles, public_key, kid, True, height)
        self.keys[kid] = KeyRecord(kid, member_id, public_key, True)
        self.changed.add(member_id)

    def rotate_key(self, member_id: str, public_key: str) -> None:
        old = self.members[member_id]
        self.keys[old.key_id] = replace(self.keys[old.key_id], active=False)
        kid = key_id(public_key)
        self.members[old.id] = replace(old, public_key=public_key, key_id=kid)
        self.keys[kid] = KeyRecord(kid, old.id, public_key, True)
        self.changed.add(member_id)

    def revoke(self, member_id: str) -> None:
        old = self.members[member_id]
        self.members[old.id] = replace(old, active=False)
        self.keys[old.key_id] = replace(self.keys[old.key_id], active=False)
        self.changed.add(member_id)

    def apply(self, env: Envelope, height: int) -> None:
        """Apply a membership transaction of a checked chain (replay, audit, tests)."""
        p = env.payload
        if env.type == "member.register":
            self.register(p["id"], tuple(p["roles"]), p["public_key"], height)
        elif env.type == "member.rotate_key":
            self.rotate_key(p["id"], p["public_key"])
        elif env.type == "member.revoke":
            self.revoke(p["id"])

    @classmethod
    def from_genesis(cls, genesis: Genesis) -> MemberRegistry:
        registry = cls()
        for m in genesis.members:
            registry.register(m.id, m.roles, m.public_key, 0)
        registry.changed.clear()
        return registry
