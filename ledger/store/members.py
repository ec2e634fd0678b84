"""The membership tables: members and their keys, as the registry's changed entries."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, delete, select

from ledger.domains.member.state import KeyRecord, MemberRecord, MemberRegistry
from ledger.store import schema as t


def write_members(conn: Any, registry: MemberRegistry, changed: set[str]) -> None:
    """Replace the rows of the ``changed`` members and their keys, in ``conn``'s transaction."""
    if not changed:
        return
    ids = sorted(changed)
    conn.execute(delete(t.members).where(t.members.c.id.in_(ids)))
    conn.execute(delete(t.member_keys).where(t.member_keys.c.member_id.in_(ids)))
    conn.execute(
        t.members.insert(),
        [
            {
                "id": m.id,
                "roles": json.dumps(list(m.roles)),
                "public_key": m.public_key,
                "key_id": m.key_id,
                "active": m.active,
                "since_height": m.since_height,
            }
            for m in (registry.members[i] for i in ids)
        ],
    )
    conn.execute(
        t.member_keys.insert(),
        [
            {
                "key_id": k.key_id,
                "member_id": k.member_id,
                "public_key": k.public_key,
                "active": k.active,
            }
            for k in registry.keys.values()
            if k.member_id in changed
        ],
    )


class Members:
    engine: Engine

    def load_registry(self) -> MemberRegistry:
        with self.engine.connect() as conn:
            members = [
                MemberRecord(
                    r.id,
                    tuple(json.loads(r.roles)),
                    r.public_key,
                    r.key_id,
                    bool(r.active),
                    r.since_height,
                )
                for r in conn.execute(select(t.members))
            ]
            keys = [
                KeyRecord(r.key_id, r.member_id, r.public_key, bool(r.active))
                for r in conn.execute(select(t.member_keys))
            ]
        return MemberRegistry.from_records(members, keys)

    def public_key(self, key_id: str) -> str | None:
        with self.engine.connect() as conn:
            value = conn.scalar(
                select(t.member_keys.c.public_key).where(t.member_keys.c.key_id == key_id)
            )
        return None if value is None else str(value)
