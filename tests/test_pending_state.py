"""The mempool's pending domain state: rebased after a block that took a prefix of the
mempool, re-checked from scratch after any other block, and the same either way.

An in-process node on SQLite with inline verification and a fixed clock, so that the
admission-time and re-check-time values can be compared exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from keys import FileKeyStore
from ledger.client import make_transaction
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.domains.evidence.state import DEPOSITS, STATS
from ledger.domains.state import PendingState, StateStore
from ledger.model import CommitCertificate, SignedTransaction
from ledger.node import Node
from ledger.settings import Settings
from ledger.store import Store
from tests.conftest import Consortium

DEPOSITOR = "evidence-platform"


def test_drop_shows_the_store_for_keys_the_dropped_transactions_wrote_last() -> None:
    store = StateStore()
    pending = PendingState(store)

    def writes(**values: Any) -> Any:
        return lambda view: [view.put("ns", k, v) for k, v in values.items()]

    pending.apply("t1", writes(a="t1", b="t1"))
    pending.apply("t2", writes(b="t2", c="t2"))
    pending.apply("t3", lambda view: view.delete("ns", "d"))
    store.data["ns"] = {"a": "stored", "b": "stored", "d": "stored"}
    pending.drop(["t1"])
    assert dict(pending.view.items("ns")) == {"a": "stored", "b": "t2", "c": "t2"}
    pending.drop(["t2", "t3"])
    assert dict(pending.view.items("ns")) == store.data["ns"]
    assert pending.view.writes == {"ns": {}}


def test_a_failed_transaction_leaves_nothing_behind() -> None:
    pending = PendingState(StateStore())

    def fails(view: Any) -> None:
        view.put("ns", "a", 1)
        raise ValueError("refused")

    with pytest.raises(ValueError):
        pending.apply("t1", fails)
    assert pending.view.get("ns", "a") is None
    pending.drop(["t1"])


class _Clock:
    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def node(consortium: Consortium) -> Iterator[Node]:
    store = Store(f"sqlite:///{consortium.home / 'ledger.db'}")
    clock = _Clock(consortium.genesis.timestamp + 60_000)
    settings = Settings(home=consortium.home, verify_workers=0)
    n = Node(settings, consortium.genesis, store, clock=clock)
    try:
        yield n
    finally:
        store.close()


def _deposits(consortium: Consortium, node: Node, count: int) -> list[SignedTransaction]:
    signer = FileKeyStore(consortium.home / "keys").signer(DEPOSITOR)
    txs = [
        make_transaction(
            signer,
            chain_id=consortium.genesis.chain_id,
            type="evidence.deposit",
            submitter=DEPOSITOR,
            payload=example_deposit_payload(),
            timestamp=node.clock(),
        )
        for _ in range(count)
    ]
    result = asyncio.run(node.submit([tx.to_wire() for tx in txs]))
    assert result.accepted == [tx.tx_id for tx in txs]
    return txs


def _block(node: Node, txs: list[SignedTransaction], later_ms: int = 1_000) -> None:
    built = node.build(txs, node.clock() + later_ms, node.tip.proposer)
    certificate = CommitCertificate(built.header.height, 0, built.header.block_hash, ())
    node.commit(built, certificate)
    node.committed(built)


def _pending(node: Node) -> dict[str, dict[str, Any]]:
    """The pending state, leaving out the height and time of still pending deposits: those
    are guesses (the block that takes them sets them), made at admission when rebased and at
    the re-check otherwise."""
    guessed = {"height", "time_ms"}
    deposits = {
        k: {f: v for f, v in record.items() if f not in guessed or k not in node.mempool}
        for k, record in node.pending.view.items(DEPOSITS)
    }
    return {DEPOSITS: deposits, STATS: dict(node.pending.view.items(STATS))}


def _rechecked(node: Node) -> dict[str, dict[str, Any]]:
    node._recheck_mempool()
    return _pending(node)


def test_prefix_block_rebases_to_what_a_recheck_gives(consortium: Consortium, node: Node) -> None:
    txs = _deposits(consortium, node, 5)
    _block(node, node.reap(2))  # the block's time differs from the admission clock
    assert list(node.mempool) == [tx.tx_id for tx in txs[2:]]
    rebased = _pending(node)
    for tx in txs[:2]:  # committed: the stored record, with the block's height and time
        assert rebased[DEPOSITS][tx.tx_id] == node.domain_state.get(DEPOSITS, tx.tx_id)
        assert rebased[DEPOSITS][tx.tx_id]["time_ms"] == node.tip.timestamp
    assert len(rebased[DEPOSITS]) == 5
    assert rebased[STATS]["totals"]["deposits"] == 5
    assert node.domain_state.get(STATS, "totals")["deposits"] == 2
    assert rebased == _rechecked(node)

    _block(node, node.reap(10))  # the whole mempool: a fresh pending state
    assert not node.mempool
    assert node.pending.view.writes == {}
    assert _pending(node)[STATS]["totals"]["deposits"] == 5


def test_other_blocks_recheck_the_mempool(consortium: Consortium, node: Node) -> None:
    txs = _deposits(consortium, node, 4)
    # a proposal from another validator: not a prefix of this node's mempool
    _block(node, [txs[2]])
    assert list(node.mempool) == [txs[0].tx_id, txs[1].tx_id, txs[3].tx_id]
    pending = _pending(node)
    assert pending[STATS]["totals"]["deposits"] == 4
    assert pending == _rechecked(node)
    # a block that refuses a candidate (its timestamp is far from the block's time)
    _block(node, node.reap(10), later_ms=node.settings.timestamp_tolerance_ms + 1)
    assert not node.mempool
    assert node.status(txs[0].tx_id)["status"] == "rejected"
    assert _pending(node)[STATS]["totals"]["deposits"] == 1


def test_restart_replays_the_same_domain_state(consortium: Consortium, db_url: str) -> None:
    """The replay at start walks the log in order (``domain_transactions(scan=True)``) and
    cuts each envelope's canonical bytes from its stored leaf: same state, same tx ids."""
    store = Store(db_url)
    try:
        clock = _Clock(consortium.genesis.timestamp + 60_000)
        first = Node(
            Settings(home=consortium.home, verify_workers=0), consortium.genesis, store, clock
        )
        txs = _deposits(consortium, first, 3)
        _block(first, first.reap(2))
        _block(first, first.reap(10))
        again = Node(
            Settings(home=consortium.home, verify_workers=0), consortium.genesis, store, clock
        )
        assert again.domain_state.data == first.domain_state.data
        assert set(again.domain_state.data[DEPOSITS]) == {tx.tx_id for tx in txs}
        replayed = [tx for tx, _, _ in store.domain_transactions(["evidence.deposit"], scan=True)]
        assert [tx.tx_id for tx in replayed] == [tx.tx_id for tx in txs]
        for tx, original in zip(replayed, txs, strict=True):
            assert tx.envelope.canonical == original.envelope.canonical
            assert tx.leaf == original.leaf
        indexed = [tx.tx_id for tx, _, _ in store.domain_transactions(["evidence.deposit"])]
        assert indexed == [tx.tx_id for tx in txs]
    finally:
        store.close()
