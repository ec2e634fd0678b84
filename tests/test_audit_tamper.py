"""Changing any stored byte of a block, a transaction, a tree node or the membership the
chain defines makes the audit fail and name where."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import select, update

from ledger.audit import AuditError, StoreAuditor
from ledger.client import make_transaction
from ledger.consortium import create
from ledger.crypto import PrivateKey
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.store import Store
from ledger.store import schema as t
from tests.conftest import Consortium, database_url
from tests.inprocess import InProcessNode


def _flip_byte(data: bytes, at: int) -> bytes:
    b = bytearray(data)
    b[at] ^= 0x01
    return bytes(b)


def _flip_digit(data: bytes, marker: bytes) -> bytes:
    """Change the digit right after ``marker`` so the JSON stays valid."""
    i = data.index(marker) + len(marker)
    d = data[i : i + 1]
    return data[:i] + (b"1" if d != b"1" else b"2") + data[i + 1 :]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, Consortium]]:
    home = tmp_path_factory.mktemp("audit") / "consortium"
    created = create(home, demo=True)
    consortium = Consortium(created.home, created.genesis)
    with database_url(request.param, home) as url:
        node = InProcessNode(home, url).start()
        try:
            store = _build(consortium, node)
        finally:
            node.stop()
        yield store, consortium
        store.close()


def _build(consortium: Consortium, node: InProcessNode) -> Store:
    depositor = consortium.key("evidence-platform")
    gov = consortium.key("gz-gov-service-bureau")
    chain_id = consortium.genesis.chain_id
    with node.client() as client:
        for _ in range(3):
            txs = [
                make_transaction(
                    depositor,
                    chain_id=chain_id,
                    type="evidence.deposit",
                    submitter="evidence-platform",
                    payload=example_deposit_payload(),
                )
                for _ in range(9)
            ]
            client.submit_batch(txs)
            for tx in txs:
                client.wait_for_receipt(tx.tx_id)
        new = PrivateKey.generate()
        reg = make_transaction(
            gov,
            chain_id=chain_id,
            type="member.register",
            submitter="gz-gov-service-bureau",
            payload={
                "id": "huangpu-school-2",
                "roles": ["school"],
                "public_key": new.public_key.hex,
            },
        )
        client.submit_and_wait(reg)
    node.stop()
    store = Store(node.db)
    StoreAuditor(store, consortium.genesis).run()
    return store


def _tamper(
    store: Store, table: Any, where: Any, column: str, change: Callable[[Any], Any]
) -> Callable[[], None]:
    with store.engine.begin() as conn:
        old = conn.execute(select(table.c[column]).where(where)).scalar_one()
        conn.execute(update(table).where(where).values({column: change(old)}))

    def restore() -> None:
        with store.engine.begin() as conn:
            conn.execute(update(table).where(where).values({column: old}))

    return restore


CASES: dict[str, tuple[Any, Callable[[], Any], str, Callable[[Any], Any], str]] = {
    "header bytes": (
        t.blocks,
        lambda: t.blocks.c.height == 2,
        "header",
        lambda v: _flip_digit(v, b'"timestamp":'),
        "block 2",
    ),
    "header root": (
        t.blocks,
        lambda: t.blocks.c.height == 1,
        "header",
        lambda v: v.replace(b'"tx_root":"', b'"tx_root":"f', 1).replace(
            b'","validators_hash"', b'","validators_hash"', 1
        ),
        "block 1",
    ),
    "commit signature": (
        t.blocks,
        lambda: t.blocks.c.height == 3,
        "commit",
        lambda v: v.replace(b'"signature":"30', b'"signature":"31'),
        "block 3 commit",
    ),
    "block_hash column": (
        t.blocks,
        lambda: t.blocks.c.height == 1,
        "block_hash",
        lambda v: "0" + v[1:] if v[0] != "0" else "1" + v[1:],
        "block 1 column block_hash",
    ),
    "tx leaf": (
        t.transactions,
        lambda: (t.transactions.c.height == 2) & (t.transactions.c.idx == 4),
        "leaf",
        lambda v: _flip_digit(v, b'"file_count":'),
        "block 2",
    ),
    "tx leaf_hash": (
        t.transactions,
        lambda: t.transactions.c.log_index == 20,
        "leaf_hash",
        lambda v: _flip_byte(v, 5),
        "column leaf_hash",
    ),
    "tx submitter column": (
        t.transactions,
        lambda: t.transactions.c.log_index == 15,
        "submitter",
        lambda v: "gz-internet-court",
        "column submitter",
    ),
    "tx type column": (
        t.transactions,
        lambda: t.transactions.c.log_index == 16,
        "type",
        lambda v: "evidence.revoke",
        "column type",
    ),
    "log node": (
        t.log_nodes,
        lambda: (t.log_nodes.c.level == 2) & (t.log_nodes.c.idx == 3),
        "hash",
        lambda v: _flip_byte(v, 0),
        "log tree node (level 2, index 3)",
    ),
    "block node": (
        t.block_nodes,
        lambda: (
            (t.block_nodes.c.height == 2)
            & (t.block_nodes.c.level == 1)
            & (t.block_nodes.c.idx == 1)
        ),
        "hash",
        lambda v: _flip_byte(v, 31),
        "block 2 tree node (level 1, index 1)",
    ),
    "member roles": (
        t.members,
        lambda: t.members.c.id == "huangpu-school-2",
        "roles",
        lambda v: '["governance"]',
        "table members row huangpu-school-2",
    ),
    "member key": (
        t.member_keys,
        lambda: t.member_keys.c.member_id == "evidence-platform",
        "active",
        lambda v: not v,
        "table member_keys",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_tampering_is_named(chain: tuple[Store, Consortium], case: str) -> None:
    store, consortium = chain
    table, where, column, change, named = CASES[case]
    restore = _tamper(store, table, where(), column, change)
    with pytest.raises(AuditError) as info:
        StoreAuditor(store, consortium.genesis).run()
    assert named in info.value.step, (info.value.step, info.value.message)
    restore()
    StoreAuditor(store, consortium.genesis).run()


def test_deleted_and_extra_rows_are_found(chain: tuple[Store, Consortium]) -> None:
    store, consortium = chain
    with store.engine.begin() as conn:
        conn.execute(t.log_nodes.insert().values(level=30, idx=0, hash=b"\x00" * 32))
    with pytest.raises(AuditError, match="log_nodes"):
        StoreAuditor(store, consortium.genesis).run()
    with store.engine.begin() as conn:
        conn.execute(t.log_nodes.delete().where(t.log_nodes.c.level == 30))
        row = conn.execute(select(t.transactions).where(t.transactions.c.log_index == 14)).one()
        conn.execute(t.transactions.delete().where(t.transactions.c.log_index == 14))
    with pytest.raises(AuditError) as info:
        StoreAuditor(store, consortium.genesis).run()
    assert "block" in info.value.step
    with store.engine.begin() as conn:
        conn.execute(t.transactions.insert().values(**row._mapping))
    StoreAuditor(store, consortium.genesis).run()


def test_cli_audit_exit_codes(chain: tuple[Store, Consortium]) -> None:
    store, consortium = chain
    cmd = [
        sys.executable,
        "-m",
        "ledger",
        "audit",
        "--home",
        str(consortium.home),
        "--db",
        store.url,
        "--workers",
        "2",
    ]
    ok = subprocess.run(cmd, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "clean" in ok.stdout
    restore = _tamper(
        store,
        t.block_nodes,
        (t.block_nodes.c.height == 1) & (t.block_nodes.c.level == 1) & (t.block_nodes.c.idx == 0),
        "hash",
        lambda v: _flip_byte(v, 3),
    )
    bad = subprocess.run(cmd, capture_output=True, text=True)
    restore()
    assert bad.returncode != 0
    assert "block 1 tree node (level 1, index 0)" in bad.stderr
