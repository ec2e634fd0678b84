"""Transactions: the stored row, reading them by id, by block, in log order and by domain
type, and the pages of a member's or some types' transactions that an export reads."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, and_, or_, select

from ledger.canonical import parse_json
from ledger.model import SignedTransaction
from ledger.store import schema as t
from ledger.store.engine import chunks


@dataclass(frozen=True)
class StoredTx:
    tx_id: str
    height: int
    idx: int
    log_index: int
    type: str
    submitter: str
    key_id: str
    timestamp: int
    leaf: bytes
    leaf_hash: bytes


def _stored_tx(row: Any) -> StoredTx:
    return StoredTx(
        row.tx_id,
        row.height,
        row.idx,
        row.log_index,
        row.type,
        row.submitter,
        row.key_id,
        row.timestamp,
        bytes(row.leaf),
        bytes(row.leaf_hash),
    )


def signed_transaction(stored: StoredTx) -> SignedTransaction:
    return SignedTransaction.from_wire(parse_json(stored.leaf))


_LEAF_PREFIX = b'{"envelope":'


def transaction_from_leaf(leaf: bytes) -> SignedTransaction:
    """A stored transaction. Its leaf is ``C(signed transaction)``, built from
    ``C(envelope)`` (``SignedTransaction.leaf``), so the envelope's canonical bytes (and
    from them its tx_id) are cut from the leaf instead of being computed again."""
    tx = SignedTransaction.from_wire(parse_json(leaf))
    suffix = b',"signature":"' + tx.signature.encode() + b'"}'
    if leaf.startswith(_LEAF_PREFIX) and leaf.endswith(suffix):
        tx.envelope.__dict__["canonical"] = leaf[len(_LEAF_PREFIX) : -len(suffix)]
        tx.__dict__["leaf"] = leaf
    return tx


class Transactions:
    engine: Engine

    def block_transactions(self, height: int) -> list[StoredTx]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.transactions)
                .where(t.transactions.c.height == height)
                .order_by(t.transactions.c.idx)
            )
            return [_stored_tx(r) for r in rows]

    def transaction(self, tx_id: str) -> StoredTx | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.transactions).where(t.transactions.c.tx_id == tx_id)
            ).first()
        return None if row is None else _stored_tx(row)

    def existing(self, tx_ids: list[str]) -> set[str]:
        found: set[str] = set()
        with self.engine.connect() as conn:
            for chunk in chunks(tx_ids):
                found.update(
                    conn.scalars(
                        select(t.transactions.c.tx_id).where(t.transactions.c.tx_id.in_(chunk))
                    )
                )
        return found

    def domain_transactions(
        self, types: list[str], batch: int = 2000, *, scan: bool = False
    ) -> Iterator[tuple[SignedTransaction, int, int]]:
        """Every transaction of ``types`` in chain order, with its height and block time.

        ``scan``: for types that make up most of the chain (the domains' replay at start),
        walk the log in order and test each row's type. Through the type index, every page
        sorted all the rows of those types again: 0.3 ms a transaction at 1,000,000 of
        them (docs/performance.md: restart)."""
        kind = t.transactions.c.type
        wanted = kind.concat("").in_(types) if scan else kind.in_(types)  # no index on it
        last = -1
        while True:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(
                        t.transactions.c.log_index,
                        t.transactions.c.leaf,
                        t.transactions.c.height,
                        t.blocks.c.timestamp,
                    )
                    .join(t.blocks, t.blocks.c.height == t.transactions.c.height)
                    .where(wanted, t.transactions.c.log_index > last)
                    .order_by(t.transactions.c.log_index)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for r in rows:
                yield transaction_from_leaf(bytes(r.leaf)), r.height, r.timestamp
            last = rows[-1].log_index

    def transactions_after(self, log_index: int, limit: int) -> list[StoredTx]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.transactions)
                .where(t.transactions.c.log_index >= log_index)
                .order_by(t.transactions.c.log_index)
                .limit(limit)
            )
            return [_stored_tx(r) for r in rows]

    def export_page(
        self,
        *,
        submitter: str | None,
        types: list[str] | None,
        from_ms: int,
        to_ms: int,
        log_size: int,
        after: tuple[int, int] | None,
        limit: int,
    ) -> list[StoredTx]:
        """One page of a member's (``submitter``) or some types' transactions with
        ``from_ms <= timestamp < to_ms`` in the first ``log_size`` of the log, ordered by
        (timestamp, log_index) after the cursor ``after`` (indexes ix_transactions_submitter
        and ix_transactions_type)."""
        tx = t.transactions.c
        where = [tx.timestamp >= from_ms, tx.timestamp < to_ms, tx.log_index < log_size]
        if submitter is not None:
            where.append(tx.submitter == submitter)
        if types is not None:
            where.append(tx.type.in_(types))
        if after is not None:
            ts, li = after
            where.append(or_(tx.timestamp > ts, and_(tx.timestamp == ts, tx.log_index > li)))
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.transactions)
                .where(*where)
                .order_by(tx.timestamp, tx.log_index)
                .limit(limit)
            )
            return [_stored_tx(r) for r in rows]
