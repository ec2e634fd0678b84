"""The ledger's storage: SQLite (default, WAL) or PostgreSQL, through SQLAlchemy Core.

A block, its transactions, its tree nodes and the membership it changes are written in one
database transaction, so after a crash a block is wholly there or wholly absent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, delete, event, func, select, text
from sqlalchemy.exc import SQLAlchemyError

from ledger.block import Block, upper_nodes
from ledger.canonical import canonical, parse_json
from ledger.errors import NotFound, StorageError
from ledger.genesis import genesis_block
from ledger.merkle import SM3, CompactRange, MemoryTree, Node
from ledger.model import CommitCertificate, Genesis, Header, SignedTransaction
from ledger.state import KeyRecord, MemberRecord, MemberRegistry
from ledger.store import schema as t

_CHUNK = 400
MIGRATIONS = Path(__file__).parent / "migrations"


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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


def create_db_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


class Store:
    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine = create_db_engine(url)
            self.migrate()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database: {exc}") from exc

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

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
            self._write_block(
                conn,
                Block(block.header, block.commit, block.transactions),
                upper_nodes(tree.nodes.items()),
                upper_nodes(log_nodes),
                0,
            )
            self._write_members(conn, registry, {m.id for m in genesis.members})

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

    def log_range(self, size: int) -> CompactRange:
        """The compact range of the log at ``size``, from stored nodes."""
        nodes = self.log_nodes(set(CompactRange.frontier_nodes(size)))
        return CompactRange(SM3, size, [nodes[n] for n in CompactRange.frontier_nodes(size)])

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
                self._write_block(conn, block, block_nodes, log_nodes, log_start)
                if registry is not None:
                    self._write_members(conn, registry, set(member_changes))
        except SQLAlchemyError as exc:
            raise StorageError(f"block {block.header.height} was not stored: {exc}") from exc

    @staticmethod
    def _write_block(
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
        if block.transactions:
            conn.execute(
                t.transactions.insert(),
                [
                    {
                        "tx_id": tx.tx_id,
                        "height": h.height,
                        "idx": i,
                        "log_index": log_start + i,
                        "type": tx.envelope.type,
                        "submitter": tx.envelope.submitter,
                        "key_id": tx.envelope.key_id,
                        "timestamp": tx.envelope.timestamp,
                        "leaf": tx.leaf,
                        "leaf_hash": tx.leaf_hash,
                    }
                    for i, tx in enumerate(block.transactions)
                ],
            )
        if block_nodes:
            conn.execute(
                t.block_nodes.insert(),
                [
                    {"height": h.height, "level": lv, "idx": ix, "hash": hv}
                    for (lv, ix), hv in block_nodes
                ],
            )
        if log_nodes:
            conn.execute(
                t.log_nodes.insert(),
                [{"level": lv, "idx": ix, "hash": hv} for (lv, ix), hv in log_nodes],
            )

    @staticmethod
    def _write_members(conn: Any, registry: MemberRegistry, changed: set[str]) -> None:
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

    # --- consensus state (BFT validators) -------------------------------------------

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

    # --- reading ----------------------------------------------------------------------

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

    def block_row(self, height: int) -> tuple[bytes, bytes]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t.blocks.c.header, t.blocks.c.commit).where(t.blocks.c.height == height)
            ).first()
        if row is None:
            raise NotFound(f"no block at height {height}", code="block_not_found")
        return bytes(row.header), bytes(row.commit)

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
            for chunk in _chunks(tx_ids):
                found.update(
                    conn.scalars(
                        select(t.transactions.c.tx_id).where(t.transactions.c.tx_id.in_(chunk))
                    )
                )
        return found

    def log_nodes(self, nodes: set[Node]) -> dict[Node, bytes]:
        return self._nodes(nodes, "log", "log_index", "", "log_nodes", {})

    def block_nodes(self, height: int, nodes: set[Node]) -> dict[Node, bytes]:
        return self._nodes(
            nodes, f"block {height}", "idx", "height = :h AND ", "block_nodes", {"h": height}
        )

    def _nodes(
        self,
        nodes: set[Node],
        tree: str,
        leaf_column: str,
        scope: str,
        table: str,
        params: dict[str, int],
    ) -> dict[Node, bytes]:
        """Stored hashes of ``nodes``: leaves from the transactions, the rest from ``table``.

        Plain SQL with one primary-key equality per node: a proof needs a few dozen nodes,
        and building the same query through expression objects cost more than running it
        (SQLite also answers a row-value IN list with a table scan)."""
        out: dict[Node, bytes] = {}
        leaves = sorted(i for lv, i in nodes if lv == 0)
        upper = sorted(n for n in nodes if n[0] > 0)
        with self.engine.connect() as conn:
            for chunk in _chunks(leaves):
                binds = {**params, **{f"i{k}": v for k, v in enumerate(chunk)}}
                marks = ",".join(f":i{k}" for k in range(len(chunk)))
                sql = (
                    f"SELECT {leaf_column}, leaf_hash FROM transactions "
                    f"WHERE {scope}{leaf_column} IN ({marks})"
                )
                for index, leaf_hash in conn.execute(text(sql), binds):
                    out[(0, index)] = bytes(leaf_hash)
            for chunk in _chunks(upper):
                binds = dict(params)
                terms = []
                for k, (level, idx) in enumerate(chunk):
                    binds[f"l{k}"], binds[f"x{k}"] = level, idx
                    terms.append(f"(level = :l{k} AND idx = :x{k})")
                sql = f"SELECT level, idx, hash FROM {table} WHERE {scope}({' OR '.join(terms)})"
                for level, idx, value in conn.execute(text(sql), binds):
                    out[(level, idx)] = bytes(value)
        return self._complete(out, nodes, tree)

    @staticmethod
    def _complete(found: dict[Node, bytes], wanted: set[Node], tree: str) -> dict[Node, bytes]:
        missing = wanted - found.keys()
        if missing:
            raise StorageError(f"{tree} tree: stored nodes missing: {sorted(missing)[:5]}")
        return found

    def all_block_nodes(self, height: int) -> dict[Node, bytes]:
        with self.engine.connect() as conn:
            return {
                (r.level, r.idx): bytes(r.hash)
                for r in conn.execute(
                    select(t.block_nodes.c.level, t.block_nodes.c.idx, t.block_nodes.c.hash).where(
                        t.block_nodes.c.height == height
                    )
                )
            }

    def count(self, table: str) -> int:
        tab = t.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(tab)) or 0)

    def domain_transactions(
        self, types: list[str], batch: int = 2000
    ) -> Iterator[tuple[SignedTransaction, int, int]]:
        """Every transaction of ``types`` in chain order, with its height and block time."""
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
                    .where(t.transactions.c.type.in_(types), t.transactions.c.log_index > last)
                    .order_by(t.transactions.c.log_index)
                    .limit(batch)
                ).all()
            if not rows:
                return
            for r in rows:
                yield SignedTransaction.from_wire(parse_json(r.leaf)), r.height, r.timestamp
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


def signed_transaction(stored: StoredTx) -> SignedTransaction:
    return SignedTransaction.from_wire(parse_json(stored.leaf))
