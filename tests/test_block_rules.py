"""Rules of a block as a whole, played by a faulty or Byzantine proposer: the same
transaction twice in one block (spec section 2: a block MUST NOT hold a tx_id twice), and a
member registered in a block signing later in the same block, which block building, the
proposal check and ``ledger audit`` must judge alike.

An in-process node on SQLite with inline verification, a fixed clock and real signatures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from keys import FileKeyStore
from ledger.audit import AuditError, Auditor, SourceBlock, StoreAuditor, StoreSource
from ledger.block import BuiltBlock
from ledger.crypto import PrivateKey
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.model import CommitCertificate, CommitSignature, SignedTransaction, commit_vote
from ledger.node import Node
from ledger.settings import Settings
from ledger.store import Store
from ledger.transactions import make_transaction
from tests.conftest import Consortium

GOVERNANCE = "gz-gov-service-bureau"
DEPOSITOR = "evidence-platform"


@pytest.fixture
def node(consortium: Consortium) -> Iterator[Node]:
    store = Store(f"sqlite:///{consortium.home / 'ledger.db'}")
    now = consortium.genesis.timestamp + 60_000
    n = Node(
        Settings(home=consortium.home, verify_workers=0), consortium.genesis, store, lambda: now
    )
    try:
        yield n
    finally:
        store.close()


def _tx(c: Consortium, node: Node, member: str, tx_type: str, payload: dict, signer=None):
    return make_transaction(
        signer or FileKeyStore(c.home / "keys").signer(member),
        chain_id=c.genesis.chain_id,
        type=tx_type,
        submitter=member,
        payload=payload,
        timestamp=node.clock(),
    )


def _certify(c: Consortium, built: BuiltBlock) -> CommitCertificate:
    header = built.header
    validator = c.genesis.validators.validators[0].id
    vote = commit_vote(header.chain_id, header.height, 0, header.block_hash)
    signature = FileKeyStore(c.home / "keys").signer(validator).sign(vote)
    return CommitCertificate(
        header.height, 0, header.block_hash, (CommitSignature(validator, signature),)
    )


def _store(c: Consortium, node: Node, txs: list[SignedTransaction]) -> BuiltBlock:
    built = node.build(txs, node.clock() + 1_000, node.tip.proposer)
    node.commit(built, _certify(c, built))
    node.committed(built)
    return built


def test_a_transaction_twice_in_one_block_is_taken_once(consortium: Consortium, node: Node) -> None:
    deposit = _tx(consortium, node, DEPOSITOR, "evidence.deposit", example_deposit_payload())
    built = node.build([deposit, deposit], node.clock() + 1_000, node.tip.proposer)
    assert [tx.tx_id for tx in built.transactions] == [deposit.tx_id]
    assert [(tx.tx_id, exc.code) for tx, exc in built.rejected] == [
        (deposit.tx_id, "duplicate_transaction")
    ]


def test_a_block_with_a_transaction_twice_fails_the_audit(
    consortium: Consortium, node: Node
) -> None:
    """A node serving a block that lists one transaction twice (over HTTP, say)."""
    deposit = _tx(consortium, node, DEPOSITOR, "evidence.deposit", example_deposit_payload())
    _store(consortium, node, [deposit])

    class Doubling(StoreSource):
        def blocks(self) -> Iterator[SourceBlock]:
            for block in super().blocks():
                if block.height == 1:
                    block.transactions = [*block.transactions, *block.transactions]
                yield block

    with pytest.raises(AuditError) as failure:
        Auditor(Doubling(node.store), consortium.genesis).run()
    assert failure.value.step == "block 1 transaction 1 (" + deposit.tx_id + ")"
    assert "appears twice in the block" in failure.value.message


def test_a_member_registered_in_a_block_may_sign_later_in_it(
    consortium: Consortium, node: Node
) -> None:
    key = PrivateKey.generate()
    register = _tx(
        consortium,
        node,
        GOVERNANCE,
        "member.register",
        {"id": "baiyun-depositor", "roles": ["depositor"], "public_key": key.public_key.hex},
    )
    deposit = _tx(
        consortium, node, "baiyun-depositor", "evidence.deposit", example_deposit_payload(), key
    )
    assert asyncio.run(node.verify_block_signatures([register, deposit])) is None
    built = _store(consortium, node, [register, deposit])
    assert [tx.tx_id for tx in built.transactions] == [register.tx_id, deposit.tx_id]
    report = StoreAuditor(node.store, consortium.genesis).run()
    assert report.transactions >= 2

    # signed before the key is registered: refused by the block rules, whatever the order
    late = PrivateKey.generate()
    early = _tx(
        consortium, node, "late-depositor", "evidence.deposit", example_deposit_payload(), late
    )
    register_late = _tx(
        consortium,
        node,
        GOVERNANCE,
        "member.register",
        {"id": "late-depositor", "roles": ["depositor"], "public_key": late.public_key.hex},
    )
    built = node.build([early, register_late], node.clock() + 2_000, node.tip.proposer)
    assert [tx.tx_id for tx in built.transactions] == [register_late.tx_id]
    assert [exc.code for _, exc in built.rejected] == ["unknown_key"]
