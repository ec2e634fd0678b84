"""A ledger node: admission, mempool, block storage and proofs around the pure cores.

The node is the consensus engine's ``Application``. Stateless checks (shape, size, chain id,
signature) run in a process pool so that both cores verify signatures; stateful checks
(key, role, payload, timestamp, duplicates) run on the event loop against the registry.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import itertools
import logging
import os
import signal
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ledger import metrics
from ledger.admission import Checked, Refusal, check_chunk, prepare_chunk
from ledger.block import Block, BuiltBlock, build_block
from ledger.canonical import parse_json
from ledger.domains.member.rules import keys_introduced
from ledger.domains.member.state import MemberRegistry
from ledger.domains.member.views import member_list
from ledger.domains.registry import REGISTRY
from ledger.domains.state import PendingState, StateStore
from ledger.domains.validator.state import ValidatorSchedule, history_entry
from ledger.errors import (
    InvalidInput,
    LedgerError,
    NotFound,
    StorageError,
    TooLarge,
    Unavailable,
)
from ledger.execution import ExecutionHost, check_signer, run
from ledger.genesis import genesis_block
from ledger.merkle import SM3, consistency_ranges, inclusion_ranges, nodes_for, proof_from_nodes
from ledger.model import CommitCertificate, Genesis, Header, SignedTransaction, ValidatorSet
from ledger.rules import check_not_seen, check_timestamp
from ledger.settings import Settings
from ledger.store import Store, StoredTx

log = logging.getLogger("ledger.node")

Clock = Callable[[], int]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def worker_init() -> None:
    """Workers end with the node, even when it is killed with SIGKILL (Linux)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL)
        if os.getppid() == 1:  # the node died before the call above
            os._exit(1)


# --- garbage collection while serving (docs/performance.md: ingest) ---
GC_THRESHOLDS = (50_000, 20, 10)


def tune_gc_for_serving() -> None:
    """Keep the cyclic garbage collector off what lives as long as the process.

    Under ingest the default thresholds (700, 10, 10) ran a young collection every few
    hundred allocations and full collections over the whole heap (modules, the replayed
    domain state, the mempool): a third of the main process's CPU in the ingest benchmark.
    What is alive when serving starts moves to the permanent generation (``gc.freeze``:
    before the verification workers fork, it also keeps their copy-on-write pages shared)
    and young collections run less often. Reference counting still frees everything that
    is not in a cycle at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


# --- end of garbage collection ---


@dataclass(frozen=True)
class SubmitResult:
    accepted: list[str]
    rejected: list[tuple[int, Refusal]]


def _key_id_of(value: Any) -> str | None:
    try:
        key = value["envelope"]["key_id"]
    except (KeyError, TypeError):
        return None
    return key if isinstance(key, str) else None


class Node:
    def __init__(
        self, settings: Settings, genesis: Genesis, store: Store, clock: Clock = wall_clock_ms
    ) -> None:
        self.settings = settings
        self.genesis = genesis
        self.store = store
        self.clock = clock
        store.initialise(genesis)
        tip = store.tip()
        if tip is None:
            raise StorageError("the database has no genesis block")
        self._tip, self._tip_commit = tip
        stored_genesis = Header.from_wire(parse_json(store.block_row(0)[0]))
        expected = genesis_block(genesis).header
        if stored_genesis != expected:
            raise StorageError(
                f"block 0 in the database ({stored_genesis.block_hash}) is not the genesis "
                f"block of genesis.json ({expected.block_hash}); run `ledger audit`"
            )
        self.registry = store.load_registry()
        self.params = MappingProxyType(dict(genesis.params))
        self.log = store.log_range(self._tip.log_size)
        self.domain_state = StateStore()
        self.validators = ValidatorSchedule(genesis.validators)
        self._replay_domains()
        self.pending = PendingState(self.domain_state)
        self._stored: tuple[Header, CommitCertificate] | None = None
        self.mempool: OrderedDict[str, SignedTransaction] = OrderedDict()
        self.rejected: OrderedDict[str, Refusal] = OrderedDict()
        self._recent_commits: deque[tuple[int, frozenset[str]]] = deque(maxlen=64)
        self._generation = 0
        self._pool: ProcessPoolExecutor | None = None
        self.on_pending: Callable[[], None] = lambda: None
        # called with transactions admitted from a client (not from a peer's gossip)
        self.on_admitted: Callable[[list[SignedTransaction]], None] = lambda txs: None
        metrics.HEIGHT.set(self._tip.height)
        metrics.LOG_SIZE.set(self._tip.log_size)

    # --- lifecycle ----------------------------------------------------------------------

    def start_workers(self) -> None:
        tune_gc_for_serving()
        if self.settings.verify_workers > 0 and self._pool is None:
            self._pool = ProcessPoolExecutor(self.settings.verify_workers, initializer=worker_init)
            for f in [
                self._pool.submit(check_chunk, [], "", 0)
                for _ in range(self.settings.verify_workers)
            ]:
                f.result()

    def stop_workers(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    # --- Application (consensus/engine.py) ---------------------------------------------

    @property
    def tip(self) -> Header:
        return self._tip

    @property
    def tip_commit(self) -> CommitCertificate:
        return self._tip_commit

    def validators_for(self, height: int) -> ValidatorSet:
        return self.validators.at(height)

    def validator_public_key(self, validator_id: str) -> str | None:
        """The key of a validator of any epoch (past, current or pending), else of a
        registered member with the role validator (a set may include it later)."""
        known = self.validators.public_key(validator_id)
        member = self.registry.members.get(validator_id)
        if known is None and member is not None and member.active:
            known = member.public_key if "validator" in member.roles else None
        return known

    def pending_count(self) -> int:
        return len(self.mempool)

    def reap(self, max_txs: int, max_bytes: int | None = None) -> list[SignedTransaction]:
        out: list[SignedTransaction] = []
        size = 0
        for tx in self.mempool.values():
            if len(out) >= max_txs:
                break
            if max_bytes is not None:
                size += len(tx.leaf)
                if size > max_bytes and out:
                    break
            out.append(tx)
        return out

    def build(self, txs: list[SignedTransaction], now_ms: int, proposer: str) -> BuiltBlock:
        """Build the next block at timestamp ``max(now_ms, tip.timestamp + 1)``.

        Deterministic: a BFT validator re-builds a proposed block by calling this with the
        proposer's transactions, timestamp and id, and compares the headers."""
        height = self._tip.height + 1
        return build_block(
            prev=self._tip,
            log=self.log,
            registry=self.registry,
            domain_state=self.domain_state,
            params=self.params,
            candidates=txs,
            now_ms=now_ms,
            tolerance_ms=self.settings.timestamp_tolerance_ms,
            proposer=proposer,
            validators=self.validators.at(height),
            next_validators=self.validators.at(height + 1),
            schedule=self.validators,
        )

    def commit(self, built: BuiltBlock, certificate: CommitCertificate) -> None:
        started = time.perf_counter()
        block = Block(built.header, certificate, tuple(built.transactions))
        self.store.commit_block(
            block,
            built.block_nodes,
            built.log_nodes,
            self.log.size,
            built.registry,
            built.member_changes,
        )
        self._stored = (built.header, certificate)  # the new tip, without reading it back
        metrics.COMMIT_SECONDS.observe(time.perf_counter() - started)

    def committed(self, built: BuiltBlock) -> None:
        header = built.header
        tip = self._stored
        if tip is None or tip[0] is not header:
            tip = self.store.tip()
        assert tip is not None and tip[0].block_hash == header.block_hash
        self._tip, self._tip_commit = tip
        self.registry = built.registry
        self.log = built.log
        if built.schedule is not None:
            self.validators = built.schedule
        built.domain_view.commit()
        ids = frozenset(tx.tx_id for tx in built.transactions)
        took_prefix = self._took_prefix(built)
        self._generation += 1
        self._recent_commits.append((self._generation, ids))
        for tx_id in ids:
            self.mempool.pop(tx_id, None)
        for tx, exc in built.rejected:
            self.mempool.pop(tx.tx_id, None)
            self._remember_rejection(Refusal.of(exc, tx.tx_id))
        if took_prefix:
            self._rebase_pending(built)
        else:
            self._recheck_mempool()
        metrics.BLOCKS.inc()
        metrics.COMMITTED.inc(len(ids))
        metrics.HEIGHT.set(header.height)
        metrics.LOG_SIZE.set(header.log_size)
        metrics.MEMPOOL.set(len(self.mempool))
        metrics.BLOCK_TXS.observe(len(ids))

    # --- domain state -------------------------------------------------------------------

    def _replay_domains(self) -> None:
        """Rebuild the domains' state from the chain, as every node and auditor can.

        Membership transactions are replayed alongside, so each domain transaction runs
        against the membership as it stood at its height."""
        collecting = gc.isenabled()
        gc.disable()  # the state only grows here; reference counting frees the rest
        try:
            self._replay_domains_from_store()
        finally:
            if collecting:
                gc.enable()

    def _replay_domains_from_store(self) -> None:
        """Every transaction of every domain, in chain order, through the same path as block
        building: the membership, the validator schedule and the domains' state."""
        registry = MemberRegistry.from_genesis(self.genesis)
        schedule = ValidatorSchedule(self.genesis.validators)
        view = self.domain_state.overlay()
        host: ExecutionHost | None = None
        block_height = 0
        types = list(REGISTRY.type_roles())
        for tx, height, block_time in self.store.domain_transactions(types, scan=True):
            if height == 0:
                continue
            if host is None or height != block_height:
                if host is not None:
                    schedule.record(block_height, host.validator_changes())
                host = ExecutionHost(registry, schedule.begin_block(), self.params)
                block_height = height
            try:
                run(tx, host, view, check_signer(tx, registry), height=height, time_ms=block_time)
            except LedgerError as exc:
                raise StorageError(
                    f"replaying transaction {tx.tx_id} at height {height} failed: "
                    f"{exc.message}; run `ledger audit`"
                ) from exc
        if host is not None:
            schedule.record(block_height, host.validator_changes())
        self.validators = schedule
        view.commit()

    # --- pending state: rebase or re-check (docs/performance.md: ingest) ---

    def _took_prefix(self, built: BuiltBlock) -> bool:
        """The block holds the first transactions of the mempool, in its order, all of them
        accepted, and changed no membership: the pending state needs no re-check. Called
        before the block's transactions leave the mempool."""
        n = len(built.transactions)
        if built.rejected or built.member_changes or len(self.mempool) < n:
            return False
        head = itertools.islice(self.mempool, n)
        return all(a == tx.tx_id for a, tx in zip(head, built.transactions, strict=True))

    def _rebase_pending(self, built: BuiltBlock) -> None:
        if self.mempool:
            self.pending.drop(tx.tx_id for tx in built.transactions)
        else:
            self.pending = PendingState(self.domain_state)

    def _execute_pending(
        self, tx: SignedTransaction, now: int, roles: tuple[str, ...] | None = None
    ) -> None:
        """Run a transaction over the pending state. Membership and validator changes are
        checked on scratch copies and applied only when a block takes them."""
        if roles is None:
            roles = check_signer(tx, self.registry)
        height = self._tip.height + 1
        host = ExecutionHost(self.registry.scratch(), self.validators.begin_block, self.params)
        self.pending.apply(
            tx.tx_id, lambda view: run(tx, host, view, roles, height=height, time_ms=now)
        )

    def _recheck_mempool(self) -> None:
        """Re-run pending domain transactions over the new state; drop those that fail."""
        self.pending = PendingState(self.domain_state)
        now = self.clock()
        for tx in list(self.mempool.values()):
            try:
                self._execute_pending(tx, now)
            except LedgerError as exc:
                del self.mempool[tx.tx_id]
                self._remember_rejection(Refusal.of(exc, tx.tx_id))

    # --- end of pending state ---

    # --- admission ----------------------------------------------------------------------

    def _remember_rejection(self, refusal: Refusal) -> None:
        metrics.REJECTED.labels(refusal.code).inc()
        if refusal.tx_id is None or self.settings.rejected_cache_size == 0:
            return
        self.rejected[refusal.tx_id] = refusal
        self.rejected.move_to_end(refusal.tx_id)
        while len(self.rejected) > self.settings.rejected_cache_size:
            self.rejected.popitem(last=False)

    def _verifies_inline(self, items: Sequence[tuple[Any, str | None]]) -> bool:
        return self._pool is None or len(items) < 8

    async def _check_in_pool(
        self, items: Sequence[tuple[Any, str | None]]
    ) -> list[Checked | Refusal]:
        """``admission.check_chunk`` over ``items`` in chunks of ``verify_chunk_txs``, in order."""
        chain_id, limit = self.genesis.chain_id, self.settings.max_tx_bytes
        size = self.settings.verify_chunk_txs
        loop = asyncio.get_running_loop()
        parts = await asyncio.gather(
            *[
                loop.run_in_executor(self._pool, check_chunk, items[i : i + size], chain_id, limit)
                for i in range(0, len(items), size)
            ]
        )
        return [r for part in parts for r in part]

    async def _prepare(self, values: Sequence[Any]) -> list[SignedTransaction | Refusal]:
        items = []
        for value in values:
            record = self.registry.active_key(_key_id_of(value) or "")
            items.append((value, None if record is None else record.public_key))
        if self._verifies_inline(items):
            return prepare_chunk(items, self.genesis.chain_id, self.settings.max_tx_bytes)
        results = await self._check_in_pool(items)
        return [
            r if isinstance(r, Refusal) else SignedTransaction.from_checked(value, *r)
            for value, r in zip(values, results, strict=True)
        ]

    async def verify_block_signatures(self, txs: Sequence[SignedTransaction]) -> str | None:
        """Check the signatures of a proposed block's transactions in the worker pool.

        A transaction already in the mempool with the same signature was verified at
        admission and is not verified again. The key is the one named by ``key_id``: from
        the registry (active or not: the block rules decide whether it may sign at that
        point), or registered by a membership transaction of the same block. Returns the
        first problem, or None when every signature verifies."""
        block_keys = keys_introduced(txs)
        items: list[tuple[Any, str | None]] = []
        for tx in txs:
            known = self.mempool.get(tx.tx_id)
            if known is not None and known.signature == tx.signature:
                continue
            record = self.registry.keys.get(tx.envelope.key_id)
            public_key = record.public_key if record else block_keys.get(tx.envelope.key_id)
            if public_key is None:
                return f"transaction {tx.tx_id}: key_id {tx.envelope.key_id} is unknown"
            items.append((tx.to_wire(), public_key))
        if not items:
            return None
        results: Sequence[object]
        if self._verifies_inline(items):
            results = prepare_chunk(items, self.genesis.chain_id, self.settings.max_tx_bytes)
        else:
            results = await self._check_in_pool(items)
        for result in results:
            if isinstance(result, Refusal):
                return f"transaction {result.tx_id}: {result.message}"
        return None

    async def submit(self, values: Sequence[Any], *, gossip: bool = True) -> SubmitResult:
        """Admit transactions; ``gossip=False`` for those a peer gossiped (not relayed)."""
        if len(values) > self.settings.mempool_max_txs:
            raise TooLarge(
                f"{len(values)} transactions in one request; the mempool holds at most "
                f"{self.settings.mempool_max_txs}"
            )
        if len(self.mempool) + len(values) > self.settings.mempool_max_txs:
            raise Unavailable(
                f"the node has {len(self.mempool)} pending transactions; retry in a moment",
                retry_after_ms=self.settings.block_interval_ms,
            )
        generation = self._generation
        prepared = await self._prepare(values)
        ids = [p.tx_id for p in prepared if isinstance(p, SignedTransaction)]
        in_store = await asyncio.to_thread(self.store.existing, ids) if ids else set()
        for gen, committed in self._recent_commits:
            if gen > generation:
                in_store |= committed & set(ids)
        now = self.clock()
        accepted: list[str] = []
        rejected: list[tuple[int, Refusal]] = []
        for i, p in enumerate(prepared):
            if isinstance(p, Refusal):
                rejected.append((i, p))
                self._remember_rejection(p)
                continue
            try:
                check_not_seen(p, in_store)
                check_not_seen(p, self.mempool)
                roles = check_signer(p, self.registry)
                check_timestamp(p, now, self.settings.timestamp_tolerance_ms)
                self._execute_pending(p, now, roles)
            except LedgerError as exc:
                refusal = Refusal.of(exc, p.tx_id)
                rejected.append((i, refusal))
                if exc.code != "duplicate_transaction":
                    self._remember_rejection(refusal)
                else:
                    metrics.REJECTED.labels(exc.code).inc()
                continue
            self.mempool[p.tx_id] = p
            self.rejected.pop(p.tx_id, None)
            accepted.append(p.tx_id)
        metrics.ADMITTED.inc(len(accepted))
        metrics.MEMPOOL.set(len(self.mempool))
        if accepted:
            if gossip:
                self.on_admitted([self.mempool[tx_id] for tx_id in accepted])
            self.on_pending()
        return SubmitResult(accepted, rejected)

    # --- queries ------------------------------------------------------------------------

    def status(self, tx_id: str) -> dict[str, Any]:
        if tx_id in self.mempool:
            return {"tx_id": tx_id, "status": "pending"}
        stored = self.store.transaction(tx_id)
        if stored is not None:
            return {
                "tx_id": tx_id,
                "status": "committed",
                "height": stored.height,
                "index": stored.idx,
                "log_index": stored.log_index,
            }
        refusal = self.rejected.get(tx_id)
        if refusal is not None:
            return {"tx_id": tx_id, "status": "rejected", "error": refusal.to_dict()}
        raise NotFound(f"transaction {tx_id} is not known to this node", code="tx_not_found")

    def receipt(self, tx_id: str) -> dict[str, Any]:
        stored = self.store.transaction(tx_id)
        if stored is None:
            state = "pending" if tx_id in self.mempool else "not known"
            raise NotFound(
                f"transaction {tx_id} is {state}; no receipt until it is committed",
                code="receipt_not_found",
            )
        return self.receipt_of(stored)

    # --- receipt builder, shared with ledger/export.py (issue 5) -------------------------

    def receipt_of(
        self,
        stored: StoredTx,
        block_row: tuple[bytes, bytes] | None = None,
        public_key: str | None = None,
    ) -> dict[str, Any]:
        """The receipt of a stored transaction; ``block_row`` and ``public_key`` when the
        caller already read them (an export builds many receipts of the same blocks)."""
        if stored.height == 0:
            raise NotFound(
                "transactions of the genesis block are proven by genesis.json itself",
                code="genesis_transaction",
            )
        header_bytes, commit_bytes = block_row or self.store.block_row(stored.height)
        header = parse_json(header_bytes)
        ranges = inclusion_ranges(stored.idx, header["tx_count"])
        nodes = self.store.block_nodes(stored.height, nodes_for(ranges))
        proof = proof_from_nodes(SM3, ranges, nodes)
        public_key = public_key or self.store.public_key(stored.key_id)
        if public_key is None:
            raise StorageError(f"no stored public key for key_id {stored.key_id}")
        return {
            "version": 1,
            "chain_id": self.genesis.chain_id,
            "tx_id": stored.tx_id,
            "transaction": parse_json(stored.leaf),
            "submitter_public_key": public_key,
            "index": stored.idx,
            "inclusion_proof": [p.hex() for p in proof],
            "header": header,
            "commit": parse_json(commit_bytes),
            "validators": self.validators_for(stored.height).to_wire(),
            "validator_history": self.validator_history(stored.height),
        }

    # --- end of receipt builder ----------------------------------------------------------

    def validator_history(self, height: int) -> list[dict[str, Any]]:
        """Spec section 6: for each set change up to ``height``, the outgoing set's last
        header with its certificate, and the incoming set."""
        entries = []
        for epoch in self.validators.handovers(height):
            header_bytes, commit_bytes = self.store.block_row(epoch.height - 1)
            entries.append(
                history_entry(parse_json(header_bytes), parse_json(commit_bytes), epoch.validators)
            )
        return entries

    def checkpoint(self) -> dict[str, Any]:
        return {"header": self._tip.to_wire(), "commit": self._tip_commit.to_wire()}

    def block(self, height: int) -> dict[str, Any]:
        header_bytes, commit_bytes = self.store.block_row(height)
        return {
            "header": parse_json(header_bytes),
            "commit": parse_json(commit_bytes),
            "transactions": [parse_json(t.leaf) for t in self.store.block_transactions(height)],
        }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        size = self._tip.log_size
        if not 0 <= first <= second:
            raise InvalidInput(
                f"no consistency proof from {first} to {second}: need 0 <= first <= second",
                code="bad_range",
            )
        if second > size:
            raise NotFound(
                f"the log holds {size} transactions; second={second} is beyond it",
                code="beyond_log",
            )
        ranges = consistency_ranges(first, second)
        proof = proof_from_nodes(SM3, ranges, self.store.log_nodes(nodes_for(ranges)))
        return {"first": first, "second": second, "proof": [p.hex() for p in proof]}

    def members(self) -> list[dict[str, Any]]:
        return member_list(self.registry)
