"""Blocks: the genesis, the tip, and writing a block with its transactions, its tree nodes and
the membership it changes in one database transaction; a block's stored bytes."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import SQLAlchemyError

from ledger.block import Block, upper_nodes
from ledger.canonical import canonical, parse_json
from ledger.domains.member.state import MemberRegistry
from ledger.errors import NotFound, StorageError
from ledger.genesis import genesis_block
from ledger.merkle import SM3, CompactRange, MemoryTree, Node
from ledger.model import CommitCertificate, Genesis, Header
from ledger.store import schema as t
from ledger.store.members import write_members

# --- bulk rows through the driver (docs/performance.md: ingest) ---
_TX_COLUMNS = (
    "tx_id",
    "height",
    "idx",
    "log_index",
    "type",
    "submitter",
    "key_id",
    "timestamp",
    "leaf",
    "leaf_hash",
)
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_rows(
    conn: Any, table: Any, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """``executemany`` of plain tuples on the driver. SQLAlchemy's per-row parameter
    processing cost more CPU than the database's own work for a block's rows, and it ran on
    the core that admits transactions. Values are str, int and bytes, which both drivers
    (sqlite3, psycopg) bind as they are."""
    if not rows:
        return
    mark = _PLACEHOLDERS.get(conn.dialect.paramstyle)
    if mark is None:  # a driver with another style: the portable path
        conn.execute(table.insert(), [dict(zip(columns, row, strict=True)) for row in rows])
        return
    quote = conn.dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join([mark] * len(columns))})"
    )
    conn.exec_driver_sql(sql, rows)


# --- end of bulk rows ---


def write_block(
    conn: Any,
    block: Block,
    block_nodes: list[tuple[Node, bytes]],
    log_nodes: list[tuple[Node, bytes]],
    log_start: int,
) -> None:
    h = block.header
    conn.execute(
        t.blocks.insert(),
        {
            "height": h.height,
            "block_hash": h.block_hash,
            "timestamp": h.timestamp,
            "tx_count": h.tx_count,
            "log_size": h.log_size,
            "header": h.canonical,
            "commit": canonical(block.commit.to_wire()),
        },
    )
    # --- bulk rows through the driver (docs/performance.md: ingest) ---
    _insert_rows(
        conn,
        t.transactions,
        _TX_COLUMNS,
        [
            (
                tx.tx_id,
                h.height,
                i,
                log_start + i,
                tx.envelope.type,
                tx.envelope.submitter,
                tx.envelope.key_id,
                tx.envelope.timestamp,
                tx.leaf,
                tx.leaf_hash,
            )
            for i, tx in enumerate(block.transactions)
        ],
    )
    _insert_rows(
        conn,
        t.block_nodes,
        ("height", "level", "idx", "hash"),
        [(h.height, lv, ix, hv) for (lv, ix), hv in block_nodes],
    )
    _insert_rows(
        conn,
        t.log_nodes,
        ("level", "idx", "hash"),
        [(lv, ix, hv) for (lv, ix), hv in log_nodes],
    )
    # --- end of bulk rows ---


class Blocks:
    engine: Engine

    # --- genesis and tip -------------------------------------------------------------

    def genesis(self) -> Genesis | None:
        with self.engine.connect() as conn:
            value = conn.scalar(select(t.meta.c.value).where(t.meta.c.key == "genesis"))
        return None if value is None else Genesis.from_wire(parse_json(value))

    def initialise(self, genesis: Genesis) -> None:
        """Write the genesis block; refuse a database that holds another chain."""
        existing = self.genesis()
        if existing is not None:
            if existing.hash != genesis.hash:
                raise StorageError(
                    f"the database holds chain {existing.chain_id!r} with genesis "
                    f"{existing.hash}, not this genesis {genesis.hash}"
                )
            return
        block = genesis_block(genesis)
        log = CompactRange(SM3)
        tree = MemoryTree(SM3)
        log_nodes = []
        for tx in block.transactions:
            tree.append(tx.leaf_hash)
            log_nodes.extend(log.append(tx.leaf_hash))
        registry = MemberRegistry.from_genesis(genesis)
        with self.engine.begin() as conn:
            conn.execute(
                t.meta.insert(),
                [
                    {"key": "genesis", "value": canonical(genesis.to_wire()).decode()},
                    {"key": "chain_id", "value": genesis.chain_id},
                ],
            )
            write_block(
                conn,
                Block(block.header, block.commit, block.transactions),
                upper_nodes(tree.nodes.items()),
                upper_nodes(log_nodes),
                0,
            )
            write_members(conn, registry, {m.id for m in genesis.members})

    def tip(self) -> tuple[Header, CommitCertificate] | None:
        with self.engine.connect() as conn:
            row: Any = conn.execute(
                select(t.blocks.c.header, t.blocks.c.commit)
                .order_by(t.blocks.c.height.desc())
                .limit(1)
            ).first()
        if row is None:
            return None
        return (
            Header.from_wire(parse_json(row.header)),
            CommitCertificate.from_wire(parse_json(row.commit)),
        )

    # --- writing ----------------------------------------------------------------------

    def commit_block(
        self,
        block: Block,
        block_nodes: list[tuple[Node, bytes]],
        log_nodes: list[tuple[Node, bytes]],
        log_start: int,
        registry: MemberRegistry | None = None,
        member_changes: Iterable[str] = (),
    ) -> None:
        try:
            with self.engine.begin() as conn:
                write_block(conn, block, block_nodes, log_nodes, log_start)
                if registry is not None:
                    write_members(conn, registry, set(member_changes))
        except SQLAlchemyError as exc:
            raise StorageError(f"block {block.header.height} was not stored: {exc}") from exc

    # --- reading ----------------------------------------------------------------------

    def block_row(self, height: int) -> tuple[bytes, bytes]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.blocks.c.header, t.blocks.c.commit).where(t.blocks.c.height == height)
            ).first()
        if row is None:
            raise NotFound(f"no block at height {height}", code="block_not_found")
        return bytes(row.header), bytes(row.commit)

    def block_rows(self, heights: set[int]) -> dict[int, tuple[bytes, bytes]]:
        if not heights:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(t.blocks.c.height, t.blocks.c.header, t.blocks.c.commit).where(
                    t.blocks.c.height.in_(sorted(heights))
                )
            )
            return {r.height: (bytes(r.header), bytes(r.commit)) for r in rows}
