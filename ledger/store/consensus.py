"""The consensus record: each BFT validator's signed state, with the blocks it refers to,
saved before the validator sends what it signed."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine, delete, select
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import StorageError
from ledger.store import schema as t


class ConsensusRecords:
    engine: Engine

    def save_consensus_record(
        self,
        validator: str,
        height: int,
        record: bytes,
        values: Iterable[tuple[str, bytes]] = (),
    ) -> None:
        """Replace ``validator``'s record, with the blocks it refers to, in one transaction.

        Committed (and, on SQLite with ``synchronous=FULL``, fsynced) before returning: the
        caller sends what it signed only afterwards. Values of lower heights are dropped.
        """
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(t.consensus_values).where(t.consensus_values.c.height < height))
                new = list(values)
                if new:
                    hashes = [h for h, _ in new]
                    conn.execute(
                        delete(t.consensus_values).where(
                            t.consensus_values.c.block_hash.in_(hashes)
                        )
                    )
                    conn.execute(
                        t.consensus_values.insert(),
                        [{"block_hash": h, "height": height, "value": v} for h, v in new],
                    )
                conn.execute(
                    delete(t.consensus_state).where(t.consensus_state.c.validator == validator)
                )
                conn.execute(
                    t.consensus_state.insert(),
                    {"validator": validator, "height": height, "record": record},
                )
        except SQLAlchemyError as exc:
            raise StorageError(f"the consensus record was not stored: {exc}") from exc

    def consensus_record(self, validator: str) -> tuple[int, bytes, dict[str, bytes]] | None:
        """``(height, record, {block_hash: value})`` as last saved, or None."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.consensus_state.c.height, t.consensus_state.c.record).where(
                    t.consensus_state.c.validator == validator
                )
            ).first()
            if row is None:
                return None
            values = {
                str(r.block_hash): bytes(r.value)
                for r in conn.execute(
                    select(t.consensus_values.c.block_hash, t.consensus_values.c.value).where(
                        t.consensus_values.c.height == row.height
                    )
                )
            }
        return int(row.height), bytes(row.record), values
