"""Four validator processes on loopback running the BFT engine for real (consensus/bft/).

One cluster for the module (SQLite, one database per validator, p2p ports picked free and
written to node.json); the tests run in order and each leaves all four validators up:

- transactions sent to any node are committed, all four hold identical chains, receipts
  carry certificates of at least three valid signatures and verify with ``verify_receipt``
  and with the independent verifier;
- ``kill -9`` one validator: the others keep committing; restarted, it catches up and
  follows;
- ``kill -9`` two of four: nothing is committed and nothing forks; one back: commits resume;
- a validator restarted with an empty database fetches the chain from its peers, checks
  every certificate and block, and follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from consensus.p2p import FRAME, Channel, P2PLimits, P2PNetwork, auth_bytes, frame
from keys import FileKeyStore
from ledger.client import LedgerClient, make_transaction
from ledger.consortium import create
from ledger.crypto import PrivateKey
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.domains.validator.state import ValidatorSchedule, is_validator_type
from ledger.domains.validator.verify import verify_commit
from ledger.errors import NotFound
from ledger.model import CommitCertificate, Genesis, Header, SignedTransaction
from ledger.verify import verify_checkpoint, verify_receipt
from tests import independent_verifier as iv
from tests.support import NodeProcess, assign_p2p_ports, free_port, wait_until

ROOT = Path(__file__).resolve().parent.parent
VALIDATORS = ("v1", "v2", "v3", "v4")
# short timeouts: a round without its proposer costs about a second
ENV = {
    "LEDGER_BFT_TIMEOUT_PROPOSE_MS": "700",
    "LEDGER_BFT_TIMEOUT_PROPOSE_DELTA_MS": "200",
    "LEDGER_BFT_TIMEOUT_PREVOTE_MS": "300",
    "LEDGER_BFT_TIMEOUT_PREVOTE_DELTA_MS": "200",
    "LEDGER_BFT_TIMEOUT_PRECOMMIT_MS": "300",
    "LEDGER_BFT_TIMEOUT_PRECOMMIT_DELTA_MS": "200",
    "LEDGER_BFT_GOSSIP_MS": "100",
    "LEDGER_VERIFY_WORKERS": "1",
}


@dataclass
class Cluster:
    home: Path
    genesis: Genesis
    nodes: dict[str, NodeProcess] = field(default_factory=dict)
    clients: dict[str, LedgerClient] = field(default_factory=dict)

    def db(self, vid: str) -> Path:
        return self.home / f"{vid}.db"

    def start(self, *vids: str) -> None:
        with ThreadPoolExecutor(len(vids)) as pool:
            list(pool.map(lambda v: self.nodes[v].start(timeout=60), vids))

    def client(self, vid: str) -> LedgerClient:
        if vid not in self.clients:
            self.clients[vid] = self.nodes[vid].client()
        return self.clients[vid]

    def alive(self) -> list[str]:
        return [v for v, n in self.nodes.items() if n.running()]

    def tip(self, vid: str) -> int:
        return int(self.client(vid).checkpoint()["header"]["height"])

    def transaction(self) -> dict[str, Any]:
        key = FileKeyStore(self.home / "keys").signer("evidence-platform")
        return make_transaction(
            key,
            chain_id=self.genesis.chain_id,
            type="evidence.deposit",
            submitter="evidence-platform",
            payload=example_deposit_payload(),
        ).to_wire()

    def wait_receipt(self, vid: str, tx_id: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        client = self.client(vid)
        while True:
            try:
                return client.wait_for_receipt(tx_id, timeout=max(0.1, deadline - time.monotonic()))
            except NotFound:  # not gossiped to this node yet
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def wait_tip(self, vid: str, height: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.tip(vid) < height:
            assert time.monotonic() < deadline, f"{vid} is not at height {height}"
            time.sleep(0.1)

    def assert_identical_chains(self, vids: list[str]) -> int:
        """Every height up to the lowest tip: the same block hash on every node, each
        certificate valid for the validator set of its height (replayed from the chain's
        validator transactions, starting from the genesis set)."""
        top = min(self.tip(v) for v in vids)
        schedule = ValidatorSchedule(self.genesis.validators)
        for height in range(1, top + 1):
            hashes = set()
            for vid in vids:
                block = self.client(vid).block(height)
                header = Header.from_wire(block["header"])
                verify_commit(
                    CommitCertificate.from_wire(block["commit"]),
                    header,
                    schedule.at(height),
                    step="test",
                )
                hashes.add(header.block_hash)
            assert len(hashes) == 1, f"height {height}: {len(hashes)} different blocks"
            changes = schedule.begin_block()
            for tx in block["transactions"]:
                envelope = SignedTransaction.from_wire(tx).envelope
                if is_validator_type(envelope.type):
                    changes.apply(envelope)
            schedule.record(height, changes)
        return top


@contextlib.contextmanager
def running_cluster(home: Path, extra: tuple[str, ...] = ()) -> Iterator[Cluster]:
    """Four genesis validators as processes; ``extra`` validator ids get a key and a p2p
    address in node.json (and a ``NodeProcess``, not started), to be added later."""
    consortium = create(home, demo=True, validators=4)
    for vid in extra:
        FileKeyStore(home / "keys").generate(vid)
    assign_p2p_ports(home, (*VALIDATORS, *extra))
    c = Cluster(home, consortium.genesis)
    for vid in (*VALIDATORS, *extra):
        c.nodes[vid] = NodeProcess(home, f"sqlite:///{c.db(vid)}", {**ENV, "LEDGER_VALIDATOR": vid})
    try:
        c.start(*VALIDATORS)
        yield c
    finally:
        for client in c.clients.values():
            client.close()
        for node in c.nodes.values():
            node.stop()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("cluster") / "consortium") as c:
        yield c


def submit_everywhere(cluster: Cluster, vids: list[str], per_node: int) -> list[tuple[str, str]]:
    """``per_node`` transactions to each node (one alone, the rest in a batch)."""
    sent = []
    for vid in vids:
        client = cluster.client(vid)
        txs = [cluster.transaction() for _ in range(per_node)]
        sent.append((client.submit(txs[0]), vid))
        result = client.submit_batch(txs[1:])
        assert not result["rejected"], result
        sent.extend((tx_id, vid) for tx_id in result["accepted"])
    return sent


def test_transactions_sent_to_any_node_are_committed_on_identical_chains(
    cluster: Cluster,
) -> None:
    sent = submit_everywhere(cluster, list(VALIDATORS), per_node=5)
    genesis_wire = cluster.genesis.to_wire()
    for i, (tx_id, origin) in enumerate(sent):
        # ask another node than the one the transaction was sent to
        other = VALIDATORS[(VALIDATORS.index(origin) + 1 + i) % 4]
        receipt = cluster.wait_receipt(other, tx_id)
        assert len(receipt["commit"]["signatures"]) >= 3
        assert verify_receipt(receipt, cluster.genesis).tx_id == tx_id
        assert iv.verify(receipt, genesis_wire) == 0
    heights = {cluster.wait_receipt("v1", tx_id)["header"]["height"] for tx_id, _ in sent}
    for vid in VALIDATORS:
        cluster.wait_tip(vid, max(heights))
    assert cluster.assert_identical_chains(list(VALIDATORS)) >= max(heights)

    # the checkpoint keeps header and commit as the spec says, with the node's view beside
    checkpoint = cluster.client("v2").checkpoint()
    verify_checkpoint(checkpoint, cluster.genesis.validators)
    consensus = checkpoint["consensus"]
    assert consensus["engine"] == "bft" and consensus["validator"] == "v2"
    assert consensus["height"] >= checkpoint["header"]["height"] + 1
    assert isinstance(consensus["round"], int)
    assert set(consensus["peers_seen"]) == {"v1", "v3", "v4"}
    assert len(consensus["last_commit"]["signers"]) >= 3
    metrics = httpx.get(f"{cluster.nodes['v3'].url}/metrics").text
    for name in (
        "ledger_consensus_height",
        "ledger_consensus_round",
        "ledger_consensus_peers_connected 3.0",
        'ledger_consensus_peer_last_seen_seconds{peer="v1"}',
        "ledger_consensus_last_commit_signed{validator=",
    ):
        assert name in metrics, name


def test_one_validator_killed_the_others_commit_and_it_catches_up_when_restarted(
    cluster: Cluster,
) -> None:
    victim = cluster.nodes["v2"]
    victim.kill9()
    others = ["v1", "v3", "v4"]
    sent = submit_everywhere(cluster, others, per_node=3)
    receipts = [cluster.wait_receipt(origin, tx_id) for tx_id, origin in sent]
    assert all("v2" not in {s["validator"] for s in r["commit"]["signatures"]} for r in receipts), (
        "a dead validator signed"
    )
    top = max(r["header"]["height"] for r in receipts)

    victim.start(timeout=60)
    cluster.wait_tip("v2", top)
    # it follows: a transaction sent to it is committed, and its chain is everyone's
    tx_id = cluster.client("v2").submit(cluster.transaction())
    receipt = cluster.wait_receipt("v2", tx_id)
    assert receipt["header"]["height"] > top
    for vid in VALIDATORS:
        cluster.wait_tip(vid, receipt["header"]["height"])
    cluster.assert_identical_chains(list(VALIDATORS))


def test_two_of_four_killed_nothing_commits_one_back_commits_resume(cluster: Cluster) -> None:
    for vid in ("v3", "v4"):
        cluster.nodes[vid].kill9()
    before = {vid: cluster.tip(vid) for vid in ("v1", "v2")}
    tx_id = cluster.client("v1").submit(cluster.transaction())

    def voting(vid: str) -> bool:
        """At the next height and past its proposal: it has voted (or moved on a round)."""
        view = cluster.client(vid).checkpoint()["consensus"]
        return bool(
            view["height"] == before[vid] + 1 and (view["round"] or view["step"] != "propose")
        )

    # both have voted on the height of the transaction; two of four cannot commit it
    wait_until(lambda: voting("v1") and voting("v2"), "v1 and v2 voting on the next height")
    assert {vid: cluster.tip(vid) for vid in ("v1", "v2")} == before
    assert cluster.client("v1").status(tx_id)["status"] == "pending"
    assert cluster.client("v2").status(tx_id)["status"] == "pending"

    cluster.start("v3")
    receipt = cluster.wait_receipt("v1", tx_id)
    assert len(receipt["commit"]["signatures"]) >= 3
    assert verify_receipt(receipt, cluster.genesis).tx_id == tx_id
    cluster.start("v4")
    for vid in VALIDATORS:
        cluster.wait_tip(vid, receipt["header"]["height"])
    cluster.assert_identical_chains(list(VALIDATORS))


def test_a_validator_with_an_empty_database_catches_up_from_peers(cluster: Cluster) -> None:
    node = cluster.nodes["v4"]
    node.kill9()
    for suffix in ("", "-wal", "-shm"):
        path = Path(f"{cluster.db('v4')}{suffix}")
        if path.exists():
            os.remove(path)
    sent = submit_everywhere(cluster, ["v1", "v2", "v3"], per_node=2)
    top = max(cluster.wait_receipt(origin, tx_id)["header"]["height"] for tx_id, origin in sent)

    node.start(timeout=60)
    cluster.wait_tip("v4", top, timeout=60)
    checkpoint = cluster.client("v4").checkpoint()
    assert checkpoint["consensus"]["blocks_fetched"] >= top
    tx_id = cluster.client("v4").submit(cluster.transaction())
    receipt = cluster.wait_receipt("v4", tx_id)
    assert iv.verify(receipt, cluster.genesis.to_wire()) == 0
    for vid in VALIDATORS:
        cluster.wait_tip(vid, receipt["header"]["height"])
    cluster.assert_identical_chains(list(VALIDATORS))


def test_an_equivocating_validator_never_splits_the_honest_ones(cluster: Cluster) -> None:
    """v1 restarted as a Byzantine validator (tests/byzantine_node.py): as proposer it sends
    one block to half of its peers and another to the rest, and each of its votes goes out
    with a conflicting twin. The honest three see the equivocations, never decide two
    blocks at one height, and keep committing."""
    byzantine = cluster.nodes["v1"]
    byzantine.stop()
    byzantine.entry = ["-m", "tests.byzantine_node"]
    # the tests package, wherever pytest was started from
    paths = [str(ROOT), byzantine.env.get("PYTHONPATH", "")]
    byzantine.env = {**byzantine.env, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}
    byzantine.start(timeout=60)
    honest = ["v2", "v3", "v4"]
    start = max(cluster.tip(v) for v in honest)
    receipts = []
    while not receipts or max(r["header"]["height"] for r in receipts) < start + 6:
        sent = submit_everywhere(cluster, honest, per_node=1)
        receipts += [cluster.wait_receipt(origin, tx_id) for tx_id, origin in sent]
    top = max(r["header"]["height"] for r in receipts)
    for vid in VALIDATORS:
        cluster.wait_tip(vid, top)
    cluster.assert_identical_chains(list(VALIDATORS))
    seen = sum(cluster.client(v).checkpoint()["consensus"]["equivocations"] for v in honest)
    assert seen > 0
    assert "equivocating (testing): proposal" in byzantine.log.read_text()


def test_p2p_links_only_validators_and_closes_on_oversized_frames() -> None:
    """In one process: a link needs the peer's signature over a fresh nonce; a stranger (or a
    validator's id with another key) is refused; a frame over its channel's limit closes the
    link, and the dialling side links again."""
    keys = {"a": PrivateKey.generate(), "b": PrivateKey.generate()}
    ports = {"a": free_port(), "b": free_port()}
    received: list[tuple[str, Channel, bytes]] = []

    async def handler(peer: str, channel: Channel, body: bytes) -> None:
        received.append((peer, channel, body))

    def network(me: str) -> P2PNetwork:
        return P2PNetwork(
            chain_id="test-chain",
            node_id=me,
            signer=keys[me],
            peers={p: ("127.0.0.1", port) for p, port in ports.items()},
            listen=("127.0.0.1", ports[me]),
            public_key=lambda v: keys[v].public_key.hex if v in keys else None,
            handler=handler,
            limits=P2PLimits(max_frame_bytes=4096, redial_min_s=0.05, redial_max_s=0.2),
        )

    async def until(condition: Any, timeout: float = 5) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)

    async def impostor(claimed: str) -> None:
        """Handshake as ``claimed`` with a key that is not its key: is the link refused?"""
        reader, writer = await asyncio.open_connection("127.0.0.1", ports["b"])
        hello = {
            "type": "hello",
            "version": 1,
            "chain_id": "test-chain",
            "validator": claimed,
            "nonce": "0" * 32,
        }
        writer.write(frame(Channel.HANDSHAKE, json.dumps(hello).encode()))
        length, _ = FRAME.unpack(await reader.readexactly(FRAME.size))
        theirs = json.loads(await reader.readexactly(length))
        forged = PrivateKey.generate().sign(auth_bytes("test-chain", claimed, "b", theirs["nonce"]))
        auth = {"type": "auth", "signature": forged}
        writer.write(frame(Channel.HANDSHAKE, json.dumps(auth).encode()))
        await writer.drain()
        try:
            while await reader.read(65536):  # b sends its auth, then closes
                pass
        except ConnectionError:
            pass
        writer.close()

    async def scenario() -> None:
        a, b = network("a"), network("b")
        await a.start()
        await b.start()
        try:
            await until(lambda: "b" in a.links and "a" in b.links)
            assert a.send("b", Channel.CONTROL, b'{"type":"x"}')
            await until(lambda: received)
            assert received[0][:2] == ("a", Channel.CONTROL)
            first = b.links["a"]
            await impostor("a")
            assert b.links.get("a") is first  # the impostor did not replace the real link
            # a frame over the limit of its channel closes the link; a dials again
            first_a = a.links["b"]
            first_a.writer.write(FRAME.pack(10_000, Channel.TXS) + b"x" * 10_000)
            await until(lambda: b.links.get("a") not in (None, first))
            assert a.send("b", Channel.CONTROL, b'{"type":"y"}')
            await until(lambda: len(received) == 2)
        finally:
            await a.stop()
            await b.stop()

    asyncio.run(scenario())
