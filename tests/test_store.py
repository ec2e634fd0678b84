"""Storage on SQLite and PostgreSQL: atomic blocks, O(log n) proof reads, proofs that match
an in-memory tree, reopening."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from ledger.block import Block, build_block
from ledger.crypto import random_nonce
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.errors import StorageError
from ledger.merkle import (
    SM3,
    MemoryTree,
    consistency_ranges,
    inclusion_ranges,
    nodes_for,
    proof_from_nodes,
)
from ledger.model import CommitCertificate, Envelope, SignedTransaction
from ledger.store import Store
from tests.conftest import Consortium

# one valid deposit payload for all: the random nonce keeps the transactions distinct
DEPOSIT_PAYLOAD = example_deposit_payload()


def _unsigned(consortium: Consortium) -> SignedTransaction:
    """Storage does not check signatures, so these need none (the rules check the key)."""
    key = consortium.key("evidence-platform").public_key
    env = Envelope(
        consortium.genesis.chain_id,
        "evidence.deposit",
        "evidence-platform",
        key.key_id,
        random_nonce(),
        consortium.genesis.timestamp + 1000,
        DEPOSIT_PAYLOAD,
    )
    return SignedTransaction(env, "3006020101020101")


def _append_blocks(store: Store, consortium: Consortium, sizes: list[int]) -> list[bytes]:
    tip = store.tip()
    assert tip is not None
    header = tip[0]
    registry = store.load_registry()
    log = store.log_range(header.log_size)
    leaves = []
    for size in sizes:
        txs = [_unsigned(consortium) for _ in range(size)]
        vs = consortium.genesis.validators
        built = build_block(
            prev=header,
            log=log,
            registry=registry,
            candidates=txs,
            now_ms=header.timestamp + 1,
            tolerance_ms=10**12,
            proposer="v1",
            validators=vs,
            next_validators=vs,
        )
        assert not built.rejected
        cert = CommitCertificate(built.header.height, 0, built.header.block_hash, ())
        store.commit_block(
            Block(built.header, cert, tuple(built.transactions)),
            built.block_nodes,
            built.log_nodes,
            log.size,
        )
        header, log = built.header, built.log
        leaves.extend(tx.leaf_hash for tx in built.transactions)
    return leaves


@pytest.fixture
def store(db_url: str, consortium: Consortium) -> Any:
    s = Store(db_url)
    s.initialise(consortium.genesis)
    yield s
    s.close()


def test_proofs_from_store_match_memory_tree(store: Store, consortium: Consortium) -> None:
    genesis_leaves = [tx.leaf_hash for tx in (SignedTransaction.from_wire(t) for t in [])]
    _append_blocks(store, consortium, [1, 7, 64, 100, 3])
    tree = MemoryTree(SM3)
    for h in range(6):
        for row in store.block_transactions(h):
            tree.append(row.leaf_hash)
    assert not genesis_leaves
    size = tree.size
    for first in (1, 5, 12, 13, 64, 100, size - 1, size):
        ranges = consistency_ranges(first, size)
        got = proof_from_nodes(SM3, ranges, store.log_nodes(nodes_for(ranges)))
        assert got == tree.consistency_proof(first, size)
    for index in (0, 11, 12, 77, size - 1):
        ranges = inclusion_ranges(index, size)
        got = proof_from_nodes(SM3, ranges, store.log_nodes(nodes_for(ranges)))
        assert got == tree.inclusion_proof(index, size)
    tip = store.tip()
    assert tip is not None and tip[0].log_root == tree.root().hex()


def test_proof_reads_are_logarithmic(store: Store, consortium: Consortium) -> None:
    _append_blocks(store, consortium, [1000] * 8)
    tip = store.tip()
    assert tip is not None
    size = tip[0].log_size
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(store.engine, "before_cursor_execute", count)
    try:
        for first in (1, 999, 4097, size - 3):
            statements.clear()
            ranges = consistency_ranges(first, size)
            wanted = nodes_for(ranges)
            store.log_nodes(wanted)
            assert len(wanted) <= 2 * size.bit_length()
            assert len(statements) <= 2
        statements.clear()
        ranges = inclusion_ranges(517, 1000)
        store.block_nodes(5, nodes_for(ranges))
        assert len(nodes_for(ranges)) <= 2 * (1000).bit_length()
        assert len(statements) <= 2
    finally:
        event.remove(store.engine, "before_cursor_execute", count)


def test_failed_block_leaves_nothing(store: Store, consortium: Consortium) -> None:
    _append_blocks(store, consortium, [5])
    tip = store.tip()
    assert tip is not None
    before = {t: store.count(t) for t in ("blocks", "transactions", "log_nodes", "block_nodes")}
    existing = store.block_transactions(1)[2]
    dup = SignedTransaction.from_wire(__import__("json").loads(existing.leaf))
    header = tip[0]
    vs = consortium.genesis.validators
    txs = [_unsigned(consortium) for _ in range(6)] + [dup]
    built = build_block(
        prev=header,
        log=store.log_range(header.log_size),
        registry=store.load_registry(),
        candidates=txs,
        now_ms=header.timestamp + 1,
        tolerance_ms=10**12,
        proposer="v1",
        validators=vs,
        next_validators=vs,
    )
    cert = CommitCertificate(built.header.height, 0, built.header.block_hash, ())
    with pytest.raises(StorageError):
        store.commit_block(
            Block(built.header, cert, tuple(built.transactions)),
            built.block_nodes,
            built.log_nodes,
            header.log_size,
        )
    after = {t: store.count(t) for t in before}
    assert after == before
    new_tip = store.tip()
    assert new_tip is not None and new_tip[0] == header


def test_reopen_and_refuse_other_genesis(
    db_url: str, store: Store, consortium: Consortium, tmp_path: Any
) -> None:
    _append_blocks(store, consortium, [3, 4])
    store.close()
    again = Store(db_url)
    again.initialise(consortium.genesis)
    tip = again.tip()
    assert (
        tip is not None
        and tip[0].height == 2
        and tip[0].log_size == 7 + len(consortium.genesis.members) - 0
    )
    from ledger.consortium import create

    other = create(tmp_path / "other", demo=True)
    with pytest.raises(StorageError, match="genesis"):
        again.initialise(other.genesis)
    again.close()
