"""Receipts from a real node are accepted by a verifier written from the spec alone, and
each mutation is refused at the same step by it and by ``ledger verify``."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ledger.client import make_transaction
from ledger.consortium import create
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.errors import VerificationError
from ledger.verify import verify_receipt
from tests import independent_verifier as iv
from tests.conftest import Consortium, database_url
from tests.inprocess import InProcessNode


def _flip(hex_text: str, at: int = 0) -> str:
    digit = "1" if hex_text[at] == "0" else "0"
    return hex_text[:at] + digit + hex_text[at + 1 :]


MUTATIONS: dict[str, tuple[int, Any]] = {
    "tx_id": (1, lambda r: r.__setitem__("tx_id", _flip(r["tx_id"]))),
    "payload": (1, lambda r: r["transaction"]["envelope"]["payload"].__setitem__("x", 1)),
    "signature": (
        2,
        lambda r: r["transaction"].__setitem__(
            "signature", _flip(r["transaction"]["signature"], 20)
        ),
    ),
    "public_key": (
        2,
        lambda r: r.__setitem__(
            "submitter_public_key", r["validators"]["validators"][0]["public_key"]
        ),
    ),
    "proof": (
        3,
        lambda r: r.__setitem__(
            "inclusion_proof", [_flip(p) for p in r["inclusion_proof"]] or ["00" * 32]
        ),
    ),
    "index": (3, lambda r: r.__setitem__("index", r["index"] + 1)),
    "tx_root": (3, lambda r: r["header"].__setitem__("tx_root", _flip(r["header"]["tx_root"]))),
    "commit_hash": (
        4,
        lambda r: r["commit"].__setitem__("block_hash", _flip(r["commit"]["block_hash"])),
    ),
    "commit_sig": (
        6,
        lambda r: r["commit"]["signatures"][0].__setitem__(
            "signature", _flip(r["commit"]["signatures"][0]["signature"], 20)
        ),
    ),
    "validators": (6, lambda r: r["validators"]["validators"][0].__setitem__("power", 2)),
    "no_signatures": (6, lambda r: r["commit"].__setitem__("signatures", [])),
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def chain(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Consortium, InProcessNode]]:
    home = tmp_path_factory.mktemp("receipts") / "consortium"
    created = create(home, demo=True)
    with database_url(request.param, home) as url:
        node = InProcessNode(home, url).start()
        try:
            yield Consortium(created.home, created.genesis), node
        finally:
            node.stop()


@pytest.fixture(scope="module")
def consortium(chain: tuple[Consortium, InProcessNode]) -> Consortium:
    return chain[0]


@pytest.fixture(scope="module")
def receipts(chain: tuple[Consortium, InProcessNode]) -> list[dict[str, Any]]:
    consortium, node = chain
    key = consortium.key("evidence-platform")
    chain = consortium.genesis.chain_id
    txs = [
        make_transaction(
            key,
            chain_id=chain,
            type="evidence.deposit",
            submitter="evidence-platform",
            payload=example_deposit_payload(),
        )
        for _ in range(7)
    ]
    with node.client() as client:
        client.submit_batch(txs)
        return [client.wait_for_receipt(tx.tx_id) for tx in txs]


def test_independent_verifier_accepts_node_receipts(
    consortium: Consortium, receipts: list[dict[str, Any]]
) -> None:
    genesis = consortium.genesis.to_wire()
    for r in receipts:
        assert iv.verify(r, genesis) == 0
        verify_receipt(r, consortium.genesis)
    assert len({r["header"]["height"] for r in receipts}) >= 1
    assert sorted(r["index"] for r in receipts if r["header"] == receipts[0]["header"]) == list(
        range(receipts[0]["header"]["tx_count"])
    )


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_mutations_fail_at_the_same_step(
    consortium: Consortium, receipts: list[dict[str, Any]], name: str
) -> None:
    step, mutate = MUTATIONS[name]
    r = copy.deepcopy(receipts[3])
    mutate(r)
    assert iv.verify(r, consortium.genesis.to_wire()) == step
    with pytest.raises(VerificationError) as info:
        verify_receipt(r, consortium.genesis)
    assert info.value.step.startswith(str(step)), info.value.step


def test_cli_verify_names_the_step(
    consortium: Consortium, receipts: list[dict[str, Any]], tmp_path: Any
) -> None:
    genesis = str(consortium.home / "genesis.json")
    good = tmp_path / "good.json"
    good.write_text(json.dumps(receipts[0]))
    ok = subprocess.run(
        [sys.executable, "-m", "ledger", "verify", str(good), "--genesis", genesis],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    bad = copy.deepcopy(receipts[0])
    bad["header"]["tx_root"] = _flip(bad["header"]["tx_root"])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    fail = subprocess.run(
        [sys.executable, "-m", "ledger", "verify", str(path), "--genesis", genesis],
        capture_output=True,
        text=True,
    )
    assert fail.returncode != 0
    assert "3 inclusion" in fail.stderr
