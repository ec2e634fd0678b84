"""Checkpoint history and witness cosignatures (ledger/cosign.py): the blocks' stored bytes a
witness reads, and the newest cosignature each witness sent."""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, select
from sqlalchemy.exc import SQLAlchemyError

from ledger.cosign import Cosignature
from ledger.errors import StorageError
from ledger.store import schema as t


class Cosignatures:
    engine: Engine

    def checkpoint_rows(self, from_height: int, limit: int) -> list[tuple[bytes, bytes]]:
        """``(header, commit)`` bytes of up to ``limit`` blocks from ``from_height`` up."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.blocks.c.header, t.blocks.c.commit)
                .where(t.blocks.c.height >= from_height)
                .order_by(t.blocks.c.height)
                .limit(limit)
            ).all()
        return [(bytes(r.header), bytes(r.commit)) for r in rows]

    def save_cosignature(self, cosignature: Cosignature, received_ms: int) -> None:
        """Keep ``cosignature``; it replaces the same witness's one for the same height."""
        c = t.cosignatures.c
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    delete(t.cosignatures).where(
                        c.witness == cosignature.witness, c.height == cosignature.height
                    )
                )
                conn.execute(
                    t.cosignatures.insert(),
                    {**cosignature.to_wire(), "received_ms": received_ms},
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"the cosignature was not stored: {exc}") from exc

    def latest_cosignatures(self) -> list[Cosignature]:
        """The newest (highest) cosignature of each witness, by witness id."""
        c = t.cosignatures.c
        newest = (
            select(c.witness, func.max(c.height).label("height")).group_by(c.witness).subquery()
        )
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.cosignatures)
                .join(newest, (c.witness == newest.c.witness) & (c.height == newest.c.height))
                .order_by(c.witness)
            ).all()
        return [
            Cosignature(
                r.witness, r.key_id, r.height, r.log_size, r.log_root, r.block_hash, r.signature
            )
            for r in rows
        ]
