"""``kill -9`` of a node during heavy ingest, then a restart: every transaction that had a
receipt is still there, the audit is clean, and the node accepts new transactions.
Repeated three times on each database."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from ledger.client import make_transaction
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.errors import LedgerError
from ledger.model import SignedTransaction
from ledger.verify import verify_checkpoint, verify_log_consistency, verify_receipt
from tests.conftest import Consortium
from tests.support import NodeProcess, signed_chunks, signer


def _deposit(home: str, chain_id: str, i: int) -> dict[str, Any]:
    return make_transaction(
        signer(Path(home), "evidence-platform"),
        chain_id=chain_id,
        type="evidence.deposit",
        submitter="evidence-platform",
        payload=example_deposit_payload(),
    ).to_wire()


def _sign(home: str, chain_id: str, start: int, count: int) -> list[dict[str, Any]]:
    return [_deposit(home, chain_id, i) for i in range(start, start + count)]


def presign(consortium: Consortium, count: int) -> list[dict[str, Any]]:
    args = (str(consortium.home), consortium.genesis.chain_id)
    return [tx for part in signed_chunks(_deposit, args, 0, count, 500, 2) for tx in part]


class Sender(threading.Thread):
    """Sends batches until told to stop or the node goes away."""

    def __init__(self, url: str, txs: list[dict[str, Any]]) -> None:
        super().__init__(daemon=True)
        self.url, self.txs = url, txs
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=10) as http:
            for i in range(0, len(self.txs), 250):
                if self.stop.is_set():
                    return
                try:
                    http.post(
                        "/v1/transactions/batch", json={"transactions": self.txs[i : i + 250]}
                    )
                except httpx.HTTPError:
                    return
                self.sent = i + 250


def test_kill9_during_ingest_loses_no_receipt(
    consortium: Consortium, db_url: str, spawn: Callable[..., NodeProcess]
) -> None:
    rounds, per_round = 3, 5000
    txs = presign(consortium, rounds * per_round)
    kept: dict[str, dict[str, Any]] = {}
    checkpoints: list[dict[str, Any]] = []
    for round_ in range(rounds):
        node = spawn(consortium.home, db_url)
        batch = txs[round_ * per_round : (round_ + 1) * per_round]
        sender = Sender(node.url, batch)
        sender.start()
        with node.client() as client:
            # wait until blocks are being committed mid-ingest, then take receipts
            deadline = time.monotonic() + 60
            base = client.checkpoint()["header"]["log_size"]
            while client.checkpoint()["header"]["log_size"] < base + 300:
                assert time.monotonic() < deadline, "ingest did not start"
                time.sleep(0.02)
            height = client.checkpoint()["header"]["height"]
            for tx in client.block(height)["transactions"][:40]:
                tx_id = SignedTransaction.from_wire(tx).tx_id
                kept[tx_id] = client.receipt(tx_id)
            checkpoint = client.checkpoint()
        assert sender.is_alive(), "ingest ended before the kill"
        node.kill9()
        checkpoints.append(checkpoint)
        sender.stop.set()
        sender.join(15)

        node = spawn(consortium.home, db_url)
        try:
            with node.client() as client:
                for tx_id, receipt in kept.items():
                    assert client.receipt(tx_id) == receipt
                    verify_receipt(receipt, consortium.genesis)
                # everything certified before the kill is still there, unchanged
                now = verify_checkpoint(client.checkpoint(), consortium.genesis.validators)
                for old in checkpoints:
                    before = verify_checkpoint(old, consortium.genesis.validators)
                    assert client.block(before.height)["header"] == old["header"]
                    proof = client.consistency(before.log_size, now.log_size)["proof"]
                    verify_log_consistency(before, now, proof)
                audit = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "ledger",
                        "audit",
                        "--home",
                        str(consortium.home),
                        "--db",
                        db_url,
                        "--workers",
                        "1",
                    ],
                    capture_output=True,
                    text=True,
                )
                assert audit.returncode == 0, audit.stderr
                # resubmitting the whole round is safe: committed ones are duplicates,
                # those lost with the mempool are accepted now
                result = client.submit_batch(batch)
                codes = {r["error"]["code"] for r in result["rejected"]}
                assert codes <= {"duplicate_transaction"}, codes
                for tx_id in result["accepted"][-5:]:
                    verify_receipt(client.wait_for_receipt(tx_id), consortium.genesis)
                fresh = SignedTransaction.from_wire(
                    _sign(str(consortium.home), consortium.genesis.chain_id, 10**6 + round_, 1)[0]
                )
                verify_receipt(client.submit_and_wait(fresh), consortium.genesis)
        except LedgerError as exc:
            raise AssertionError(f"{exc.code}: {exc.message}") from exc
        finally:
            node.stop()
    assert len(kept) >= rounds


def test_graceful_stop_commits_pending(
    consortium: Consortium, db_url: str, spawn: Callable[..., NodeProcess]
) -> None:
    """SIGTERM puts what is pending into a block before the node exits."""
    slow = {"LEDGER_BLOCK_INTERVAL_MS": "600000", "LEDGER_MAX_BLOCK_TXS": "100000"}
    node = spawn(consortium.home, db_url, env=slow)
    txs = [
        SignedTransaction.from_wire(t)
        for t in _sign(str(consortium.home), consortium.genesis.chain_id, 0, 30)
    ]
    with node.client() as client:
        client.submit_batch(txs)
        assert client.status(txs[0].tx_id)["status"] == "pending"
    node.stop()
    node = spawn(consortium.home, db_url)
    try:
        with node.client() as client:
            for tx in txs:
                verify_receipt(client.receipt(tx.tx_id), consortium.genesis)
    finally:
        node.stop()


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_workers_die_with_the_node(
    consortium: Consortium, tmp_path: Path, spawn: Callable[..., NodeProcess]
) -> None:
    node = spawn(consortium.home, f"sqlite:///{tmp_path / 'w.db'}", {"LEDGER_VERIFY_WORKERS": "2"})
    assert node.proc is not None
    workers = _children(node.proc.pid)
    assert len(workers) >= 2
    node.kill9()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)
