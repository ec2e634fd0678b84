"""The read-access log's table (ledger/access_log.py; issue 5: auditor tools): appending an
entry chained to the last, the head, and reading entries in order."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, OperationalError

from ledger.access_log import GENESIS_HASH, AccessEntry, next_entry
from ledger.store import schema as t

_APPEND_ATTEMPTS = 20  # access log: retries when another writer took the same seq


class AccessLog:
    engine: Engine
    _access_lock: threading.Lock

    def access_log_append(
        self, *, at_ms: int, reader: str, key_id: str, action: str, resource: str
    ) -> AccessEntry:
        """Append one entry: seq = last + 1, chained to the last hash, in one transaction.

        One writer at a time: a lock within the process and, across processes, the primary
        key on ``seq`` (a concurrent writer's insert fails and is retried on the new tail)."""
        for attempt in range(_APPEND_ATTEMPTS):
            try:
                with self._access_lock, self.engine.begin() as conn:
                    entry = next_entry(
                        *self._access_tail(conn),
                        at_ms=at_ms,
                        reader=reader,
                        key_id=key_id,
                        action=action,
                        resource=resource,
                    )
                    conn.execute(t.access_log.insert().values(**entry.to_wire()))
                return entry
            except (IntegrityError, OperationalError):
                if attempt == _APPEND_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def access_log_head(self) -> tuple[int, str]:
        """(seq, entry_hash) of the last entry; (0, 64 zeros) when the log is empty."""
        with self.engine.connect() as conn:
            return self._access_tail(conn)

    @staticmethod
    def _access_tail(conn: Any) -> tuple[int, str]:
        last = conn.execute(
            select(t.access_log.c.seq, t.access_log.c.entry_hash)
            .order_by(t.access_log.c.seq.desc())
            .limit(1)
        ).first()
        return (0, GENESIS_HASH) if last is None else (int(last.seq), str(last.entry_hash))

    def access_log_entries(self, from_seq: int, limit: int) -> list[AccessEntry]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.access_log)
                .where(t.access_log.c.seq >= from_seq)
                .order_by(t.access_log.c.seq)
                .limit(limit)
            )
            return [AccessEntry(**{k: r._mapping[k] for k in r._mapping}) for r in rows]

    def access_log_all(self, batch: int = 2000) -> Iterator[AccessEntry]:
        """Every entry in seq order, read ``batch`` at a time."""
        after = 0
        while True:
            page = self.access_log_entries(after + 1, batch)
            yield from page
            if len(page) < batch:
                return
            after = page[-1].seq
