"""Re-verify a whole chain from its genesis: links, roots, certificates, every signature.

Works over any ``ChainSource``: the local database (which also checks every stored column,
tree node and the derived membership tables) or a node's HTTP API. The first thing that does
not hold raises ``AuditError`` naming the block, the transaction or node, and the field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.access_log import AccessLogError, verify_chain
from ledger.canonical import canonical, parse_json
from ledger.crypto import PublicKey
from ledger.domains.member.rules import keys_introduced
from ledger.domains.member.state import MemberRegistry
from ledger.domains.state import StateStore
from ledger.domains.validator.state import ValidatorSchedule
from ledger.domains.validator.verify import verify_commit
from ledger.errors import InvalidInput, LedgerError, VerificationError
from ledger.execution import ExecutionHost, execute
from ledger.genesis import genesis_block
from ledger.merkle import SM3, CompactRange, MemoryTree, Node
from ledger.model import CommitCertificate, Genesis, Header, SignedTransaction


class AuditError(VerificationError):
    code = "audit_failed"


@dataclass
class SourceBlock:
    height: int
    header: Any
    commit: Any
    transactions: list[Any]
    header_bytes: bytes | None = None


class ChainSource(Protocol):
    def genesis(self) -> Genesis: ...

    def height(self) -> int: ...

    def blocks(self) -> Iterator[SourceBlock]: ...


def _verify_signatures(items: Sequence[tuple[str, str, bytes]]) -> list[int]:
    """Indexes of the (public key, signature, message) triples that do not verify."""
    bad = []
    for i, (pk, sig, msg) in enumerate(items):
        try:
            PublicKey(pk).verify(sig, msg)
        except LedgerError:
            bad.append(i)
    return bad


@dataclass
class AuditReport:
    blocks: int
    transactions: int
    log_size: int
    log_root: str


class Auditor:
    def __init__(
        self,
        source: ChainSource,
        genesis: Genesis,
        *,
        workers: int = 0,
        progress: Callable[[int, int], None] = lambda done, total: None,
    ) -> None:
        self.source = source
        self.genesis = genesis
        self.workers = workers
        self.progress = progress
        self.registry = MemberRegistry()
        self.schedule = ValidatorSchedule(genesis.validators)
        self.domain_state = StateStore()
        self.log = CompactRange(SM3)
        self.prev: Header | None = None
        self.pool: ProcessPoolExecutor | None = None
        self.transactions = 0

    def fail(self, where: str, message: str, expected: Any = None, found: Any = None) -> None:
        raise AuditError(where, message, expected=expected, found=found)

    def run(self) -> AuditReport:
        if self.source.genesis().hash != self.genesis.hash:
            self.fail(
                "genesis",
                "the chain's genesis is not the trusted genesis",
                expected=self.genesis.hash,
                found=self.source.genesis().hash,
            )
        total = self.source.height() + 1
        self.pool = ProcessPoolExecutor(self.workers) if self.workers > 1 else None
        try:
            done = 0
            for block in self.source.blocks():
                self.check_block(block)
                done += 1
                self.progress(done, total)
            if done < total:
                self.fail(f"block {done}", "block missing", expected=total, found=done)
        finally:
            if self.pool is not None:
                self.pool.shutdown()
        assert self.prev is not None
        return AuditReport(done, self.transactions, self.log.size, self.log.root().hex())

    def _parse(self, where: str, fn: Callable[[Any], Any], value: Any) -> Any:
        try:
            return fn(value)
        except InvalidInput as exc:
            raise AuditError(where, exc.message) from None

    def check_block(self, block: SourceBlock) -> list[SignedTransaction]:
        where = f"block {block.height}"
        header: Header = self._parse(f"{where} header", Header.from_wire, block.header)
        commit = self._parse(f"{where} commit", CommitCertificate.from_wire, block.commit)
        if block.header_bytes is not None and block.header_bytes != header.canonical:
            self.fail(f"{where} header", "stored header bytes are not canonical")
        if header.height != block.height:
            self.fail(f"{where} header.height", "wrong height", block.height, header.height)
        if header.chain_id != self.genesis.chain_id:
            self.fail(
                f"{where} header.chain_id", "another chain", self.genesis.chain_id, header.chain_id
            )
        txs = [
            self._parse(f"{where} transaction {i}", SignedTransaction.from_wire, t)
            for i, t in enumerate(block.transactions)
        ]
        if block.height == 0:
            expected = genesis_block(self.genesis)
            if header.block_hash != expected.header.block_hash:
                for name, value in expected.header.to_wire().items():
                    if header.to_wire()[name] != value:
                        self.fail(
                            f"{where} header.{name}",
                            "genesis block differs from the one genesis.json defines",
                            value,
                            header.to_wire()[name],
                        )
            if [t.leaf for t in txs] != [t.leaf for t in expected.transactions]:
                self.fail(f"{where} transactions", "genesis transactions differ from genesis.json")
        else:
            assert self.prev is not None
            if header.prev_hash != self.prev.block_hash:
                self.fail(
                    f"{where} header.prev_hash",
                    "does not link to the previous block",
                    self.prev.block_hash,
                    header.prev_hash,
                )
            if header.timestamp <= self.prev.timestamp:
                self.fail(
                    f"{where} header.timestamp",
                    "not later than the previous block",
                    f"> {self.prev.timestamp}",
                    header.timestamp,
                )
            validators = self.schedule.at(block.height)
            if header.validators_hash != validators.hash:
                self.fail(
                    f"{where} header.validators_hash",
                    "not the validator set",
                    validators.hash,
                    header.validators_hash,
                )
            try:
                verify_commit(commit, header, validators, step=f"{where} commit")
            except VerificationError as exc:
                raise AuditError(
                    exc.step, exc.message, expected=exc.expected, found=exc.found
                ) from None
            self._check_signatures(where, txs)
        # the handover: the set the chain's own validator transactions give for the next height
        next_validators = self.schedule.at(block.height + 1)
        if header.next_validators_hash != next_validators.hash:
            self.fail(
                f"{where} header.next_validators_hash",
                "not the validator set of the next height",
                next_validators.hash,
                header.next_validators_hash,
            )
        changes = self.schedule.begin_block()
        host = ExecutionHost(self.registry, changes, self.genesis.params)
        tree = MemoryTree(SM3)
        view = self.domain_state.overlay()
        self.new_log_nodes: list[tuple[Node, bytes]] = []
        for i, tx in enumerate(txs):
            if block.height == 0:
                self.registry.apply(tx.envelope, 0)  # the founding members (spec section 5.1)
            else:
                try:
                    execute(tx, host, view, height=block.height, time_ms=header.timestamp)
                except LedgerError as exc:
                    self.fail(
                        f"{where} transaction {i} ({tx.tx_id})",
                        f"breaks a rule at this height: {exc.message}",
                    )
            tree.append(tx.leaf_hash)
            self.new_log_nodes.extend(self.log.append(tx.leaf_hash))
        view.commit()
        self.schedule.record(block.height, changes)
        self._compare(where, "tx_count", len(txs), header.tx_count)
        self._compare(where, "tx_root", tree.root().hex(), header.tx_root)
        self._compare(where, "log_size", self.log.size, header.log_size)
        self._compare(where, "log_root", self.log.root().hex(), header.log_root)
        self.after_block(block, header, txs, tree)
        self.prev = header
        self.transactions += len(txs)
        return txs

    def _compare(self, where: str, field: str, expected: Any, found: Any) -> None:
        if expected != found:
            self.fail(f"{where} header.{field}", "recomputed value differs", expected, found)

    def _check_signatures(self, where: str, txs: list[SignedTransaction]) -> None:
        items = []
        block_keys = keys_introduced(txs)
        seen: set[str] = set()
        for i, tx in enumerate(txs):
            if tx.tx_id in seen:
                self.fail(f"{where} transaction {i} ({tx.tx_id})", "appears twice in the block")
            seen.add(tx.tx_id)
            key = self.registry.keys.get(tx.envelope.key_id)
            public_key = key.public_key if key else block_keys.get(tx.envelope.key_id)
            if public_key is None:
                self.fail(
                    f"{where} transaction {i} ({tx.tx_id}) key_id",
                    "not a key registered before it",
                    found=tx.envelope.key_id,
                )
                return
            items.append((public_key, tx.signature, tx.envelope.canonical))
        if self.pool is not None and len(items) > 64:
            size = max(1, len(items) // (self.workers * 2))
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
            bad: list[int] = []
            offset = 0
            for chunk, result in zip(
                chunks, self.pool.map(_verify_signatures, chunks), strict=True
            ):
                bad.extend(offset + b for b in result)
                offset += len(chunk)
        else:
            bad = _verify_signatures(items)
        if bad:
            i = bad[0]
            self.fail(
                f"{where} transaction {i} ({txs[i].tx_id}) signature",
                "SM2 signature does not verify under the submitter's key",
                found=txs[i].signature,
            )

    def after_block(
        self, block: SourceBlock, header: Header, txs: list[SignedTransaction], tree: MemoryTree
    ) -> None:
        """Hook for sources that hold more than the wire blocks (see ``StoreAuditor``)."""


# --- sources ------------------------------------------------------------------------------


class HttpSource:
    def __init__(self, client: Any) -> None:
        self.client = client
        self._genesis: Genesis | None = None
        self._height = -1

    def genesis(self) -> Genesis:
        if self._genesis is None:
            self._genesis = self.client.genesis()
        return self._genesis

    def height(self) -> int:
        if self._height < 0:
            self._height = int(self.client.checkpoint()["header"]["height"])
        return self._height

    def blocks(self) -> Iterator[SourceBlock]:
        for h in range(self.height() + 1):
            b = self.client.block(h)
            yield SourceBlock(h, b["header"], b["commit"], b["transactions"])


class StoreSource:
    def __init__(self, store: Any) -> None:
        self.store = store

    def genesis(self) -> Genesis:
        genesis = self.store.genesis()
        if genesis is None:
            raise AuditError("genesis", "the database holds no chain")
        return genesis  # type: ignore[no-any-return]

    def height(self) -> int:
        tip = self.store.tip()
        return -1 if tip is None else int(tip[0].height)

    def blocks(self) -> Iterator[SourceBlock]:
        for h in range(self.height() + 1):
            try:
                header_bytes, commit_bytes = self.store.block_row(h)
            except LedgerError:
                raise AuditError(f"block {h}", "block missing from the database") from None
            rows = self.store.block_transactions(h)
            where = f"block {h}"
            header = _parse_stored(f"{where} header", header_bytes)
            commit = _parse_stored(f"{where} commit", commit_bytes)
            txs = [_parse_stored(f"{where} transaction {r.idx} leaf", r.leaf) for r in rows]
            block = SourceBlock(h, header, commit, txs, header_bytes)
            block.rows = rows  # type: ignore[attr-defined]
            yield block


def _parse_stored(where: str, data: bytes) -> Any:
    try:
        return parse_json(data)
    except InvalidInput as exc:
        raise AuditError(where, f"stored bytes are not valid JSON: {exc.message}") from None


class StoreAuditor(Auditor):
    """Also checks every stored column, tree node and the derived membership tables."""

    def __init__(self, store: Any, genesis: Genesis, **kwargs: Any) -> None:
        super().__init__(StoreSource(store), genesis, **kwargs)
        self.store = store
        self.block_node_rows = 0
        self.log_node_rows = 0

    def after_block(
        self, block: SourceBlock, header: Header, txs: list[SignedTransaction], tree: MemoryTree
    ) -> None:
        where = f"block {block.height}"
        rows = block.rows  # type: ignore[attr-defined]
        commit_bytes = self.store.block_row(block.height)[1]
        if commit_bytes != canonical(block.commit):
            self.fail(f"{where} commit", "stored certificate bytes are not canonical")
        self._check_block_columns(where, header)
        start = self.log.size - len(txs)
        for i, (row, tx) in enumerate(zip(rows, txs, strict=True)):
            w = f"{where} transaction {i} ({row.tx_id})"
            checks = {
                "idx": (i, row.idx),
                "log_index": (start + i, row.log_index),
                "tx_id": (tx.tx_id, row.tx_id),
                "type": (tx.envelope.type, row.type),
                "submitter": (tx.envelope.submitter, row.submitter),
                "key_id": (tx.envelope.key_id, row.key_id),
                "timestamp": (tx.envelope.timestamp, row.timestamp),
                "leaf": (tx.leaf, row.leaf),
                "leaf_hash": (tx.leaf_hash, row.leaf_hash),
            }
            for field, (expected, found) in checks.items():
                if expected != found:
                    self.fail(
                        f"{w} column {field}",
                        "stored value differs from the transaction",
                        _show(expected),
                        _show(found),
                    )
        stored = self.store.all_block_nodes(block.height)
        expected_nodes = {n: h for n, h in tree.nodes.items() if n[0] > 0}
        self._compare_nodes(f"{where} tree", expected_nodes, stored)
        self.block_node_rows += len(stored)
        new_log = {n: h for n, h in self.new_log_nodes if n[0] > 0}
        if new_log:
            try:
                stored_log = self.store.log_nodes(set(new_log))
            except LedgerError as exc:
                raise AuditError(f"{where} log tree", exc.message) from None
            self._compare_nodes("log tree", new_log, stored_log)
        self.log_node_rows += len(new_log)

    def _check_block_columns(self, where: str, header: Header) -> None:
        from sqlalchemy import select

        from ledger.store.schema import blocks

        with self.store.engine.connect() as conn:
            row = conn.execute(select(blocks).where(blocks.c.height == header.height)).one()
        for field, expected in (
            ("block_hash", header.block_hash),
            ("timestamp", header.timestamp),
            ("tx_count", header.tx_count),
            ("log_size", header.log_size),
        ):
            if getattr(row, field) != expected:
                self.fail(
                    f"{where} column {field}",
                    "stored value differs from the header",
                    expected,
                    getattr(row, field),
                )

    def _compare_nodes(
        self, where: str, expected: dict[Node, bytes], stored: dict[Node, bytes]
    ) -> None:
        for node in sorted(expected.keys() | stored.keys()):
            if expected.get(node) != stored.get(node):
                self.fail(
                    f"{where} node (level {node[0]}, index {node[1]})",
                    "stored hash differs from the recomputed one",
                    _show(expected.get(node)),
                    _show(stored.get(node)),
                )

    def run(self) -> AuditReport:
        report = super().run()
        for table, expected in (
            ("transactions", self.transactions),
            ("block_nodes", self.block_node_rows),
            ("log_nodes", self.log_node_rows),
        ):
            found = self.store.count(table)
            if found != expected:
                self.fail(
                    f"table {table}", "holds rows that no block accounts for", expected, found
                )
        stored = self.store.load_registry()
        for name, mine, theirs in (
            ("members", self.registry.members, stored.members),
            ("member_keys", self.registry.keys, stored.keys),
        ):
            for key in sorted(mine.keys() | theirs.keys()):
                if mine.get(key) != theirs.get(key):
                    self.fail(
                        f"table {name} row {key}",
                        "differs from the membership the chain defines",
                        _record(mine.get(key)),
                        _record(theirs.get(key)),
                    )
        # --- the read-access log's hash chain (issue 5; ledger/access_log.py) ---
        try:
            verify_chain(self.store.access_log_all())
        except AccessLogError as exc:
            self.fail(exc.step, exc.reason, exc.expected, exc.found)
        # --- end of access log check ---
        return report


def _show(value: Any) -> Any:
    return value.hex() if isinstance(value, bytes) else value


def _record(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value.__dict__, default=list))
