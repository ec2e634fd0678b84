"""The ledger's storage: SQLite (default, WAL) or PostgreSQL, through SQLAlchemy Core.

A block, its transactions, its tree nodes and the membership it changes are written in one
database transaction, so after a crash a block is wholly there or wholly absent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, and_, create_engine, delete, event, func, or_, select, text
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from ledger.access_log import GENESIS_HASH, AccessEntry, next_entry
from ledger.block import Block, upper_nodes
from ledger.canonical import canonical, parse_json
from ledger.cosign import Cosignature
from ledger.domains.member.state import KeyRecord, MemberRecord, MemberRegistry
from ledger.errors import NotFound, StorageError
from ledger.genesis import genesis_block
from ledger.merkle import SM3, CompactRange, MemoryTree, Node
from ledger.model import CommitCertificate, Genesis, Header, SignedTransaction
from ledger.store import schema as t

_CHUNK = 400
_APPEND_ATTEMPTS = 20  # access log: retries when another writer took the same seq
MIGRATIONS = Path(__file__).parent / "migrations"


def _chunks(items: list[Any], size: int = _CHUNK) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


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
        self._access_lock = threading.Lock()
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
                    # The scope goes inside each term: SQLite then looks up every node by the
                    # whole primary key; with ``height = :h AND (... OR ...)`` outside the OR
                    # it scanned all the block's nodes (0.65 ms against 0.05 ms).
                    terms.append(f"({scope}level = :l{k} AND idx = :x{k})")
                sql = f"SELECT level, idx, hash FROM {table} WHERE {' OR '.join(terms)}"
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

    # --- checkpoint history and witness cosignatures (ledger/cosign.py) -----------------

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

    # --- read-access log and export (issue 5: auditor tools) ----------------------------

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

    # --- end of issue 5 section -----------------------------------------------------------


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
