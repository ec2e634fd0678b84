"""The HTTP API of a node, every path, over HTTP to a node in the test process.

Also the Python client (``ledger.client``) and the command line (``python -m ledger``) end
to end: submit, wait for the receipt, verify it offline, and see a tampered receipt fail at
the step that names what was tampered with.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from keys import FileKeyStore
from ledger.canonical import canonical
from ledger.client import make_transaction
from ledger.consortium import create
from ledger.crypto import PrivateKey, key_id, random_nonce
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.domains.reopening import demo as reopening_examples
from ledger.errors import InvalidInput, NotFound, ProofError
from ledger.genesis import genesis_block
from ledger.merkle import SM3, tree_root
from ledger.model import Envelope, Header, SignedTransaction
from ledger.verify import verify_checkpoint, verify_log_consistency, verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode, TestClock

DEPOSITOR = "evidence-platform"
DEPOSIT = "evidence.deposit"
SPEC_PATHS = {
    "/v1/transactions": "post",
    "/v1/transactions/batch": "post",
    "/v1/transactions/{tx_id}": "get",
    "/v1/transactions/{tx_id}/receipt": "get",
    "/v1/checkpoint": "get",
    "/v1/blocks/{height}": "get",
    "/v1/proofs/consistency": "get",
    "/v1/genesis": "get",
    "/v1/members": "get",
    "/healthz": "get",
    "/readyz": "get",
}


# --- helpers ------------------------------------------------------------------------------


@cache
def _signer(home: Path, member_id: str) -> PrivateKey:
    return FileKeyStore(home / "keys").signer(member_id)


def make_tx(
    consortium: Consortium,
    member: str = DEPOSITOR,
    tx_type: str = DEPOSIT,
    payload: dict[str, Any] | None = None,
    *,
    sign_with: PrivateKey | None = None,
    **envelope: Any,
) -> SignedTransaction:
    key = _signer(consortium.home, member)
    fields: dict[str, Any] = {
        "chain_id": consortium.genesis.chain_id,
        "type": tx_type,
        "submitter": member,
        "key_id": key.public_key.key_id,
        "nonce": random_nonce(),
        "timestamp": time.time_ns() // 1_000_000,
        "payload": payload if payload is not None else example_deposit_payload(),
    }
    fields.update(envelope)
    env = Envelope(**fields)
    return SignedTransaction(env, (sign_with or key).sign(env.canonical))


def assert_error(
    response: httpx.Response, status: int | range, code: str | None = None
) -> dict[str, Any]:
    """Every error body is JSON ``{"error": {"code", "message"[, "details"]}}``."""
    if isinstance(status, int):
        assert response.status_code == status, (response.status_code, response.text)
    else:
        assert response.status_code in status, (response.status_code, response.text)
    assert response.headers.get("content-type", "").startswith("application/json"), (
        response.headers,
        response.text[:300],
    )
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert {"code", "message"} <= error.keys() <= {"code", "message", "details"}, error
    assert isinstance(error["code"], str) and re.fullmatch(r"[a-z_]+", error["code"]), error
    assert isinstance(error["message"], str) and error["message"], error
    if code is not None:
        assert error["code"] == code, error
    return dict(error)


class Api:
    def __init__(self, node: InProcessNode, consortium: Consortium) -> None:
        self.node = node
        self.consortium = consortium
        self.http = node.http()

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params or None)

    def ok(self, path: str, **params: Any) -> Any:
        response = self.get(path, **params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        return response.json()

    def post(self, tx: SignedTransaction) -> httpx.Response:
        return self.http.post("/v1/transactions", json=tx.to_wire())

    def batch(self, items: list[Any]) -> httpx.Response:
        wire = [t.to_wire() if isinstance(t, SignedTransaction) else t for t in items]
        return self.http.post("/v1/transactions/batch", json={"transactions": wire})

    def wait_committed(self, tx_id: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.ok(f"/v1/transactions/{tx_id}")
            if status["status"] == "committed":
                return dict(status)
            assert status["status"] == "pending", status
            assert time.monotonic() < deadline, f"{tx_id} not committed in {timeout} s"
            time.sleep(0.05)

    def receipt(self, tx_id: str) -> dict[str, Any]:
        self.wait_committed(tx_id)
        receipt: dict[str, Any] = self.ok(f"/v1/transactions/{tx_id}/receipt")
        assert verify_receipt(receipt, self.consortium.genesis).tx_id == tx_id
        return receipt

    def checkpoint(self) -> Header:
        return verify_checkpoint(self.ok("/v1/checkpoint"), self.consortium.genesis.validators)

    def close(self) -> None:
        self.http.close()


@pytest.fixture
def api(node: InProcessNode, consortium: Consortium) -> Iterator[Api]:
    client = Api(node, consortium)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def slow_api(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> Iterator[Api]:
    """A node whose clock stands still: it makes a block only when the test says
    (``make_block``), so that a transaction is seen pending."""
    clock = TestClock()
    clock.freeze()
    client = Api(start_node(consortium.home, db_url, clock=clock), consortium)
    try:
        yield client
    finally:
        client.close()


# --- transactions -------------------------------------------------------------------------


def test_submit_pending_then_committed_with_receipt(slow_api: Api, consortium: Consortium) -> None:
    api = slow_api
    primer = make_tx(consortium)
    assert api.post(primer).status_code == 202
    api.node.make_block()
    api.receipt(primer.tx_id)  # the next block is made when the test says

    tx = make_tx(consortium)
    response = api.post(tx)
    assert response.status_code == 202, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"tx_id": tx.tx_id}
    assert api.ok(f"/v1/transactions/{tx.tx_id}") == {"tx_id": tx.tx_id, "status": "pending"}
    error = assert_error(api.get(f"/v1/transactions/{tx.tx_id}/receipt"), 404, "receipt_not_found")
    assert "pending" in error["message"]

    api.node.make_block()
    status = api.wait_committed(tx.tx_id)
    checkpoint = api.checkpoint()
    assert status == {
        "tx_id": tx.tx_id,
        "status": "committed",
        "height": checkpoint.height,
        "index": 0,
        "log_index": checkpoint.log_size - 1,
    }
    receipt = api.receipt(tx.tx_id)
    assert receipt["transaction"] == tx.to_wire()
    assert receipt["index"] == status["index"]
    assert receipt["header"]["height"] == status["height"]
    assert receipt["submitter_public_key"] == _signer(consortium.home, DEPOSITOR).public_key.hex
    assert receipt["chain_id"] == consortium.genesis.chain_id
    assert receipt["validators"] == consortium.genesis.validators.to_wire()
    assert receipt["validator_history"] == []


def test_batch_with_valid_and_invalid_transactions(api: Api, consortium: Consortium) -> None:
    c = consortium
    a, b = make_tx(c), make_tx(c, "gz-internet-court")
    d = make_tx(c, "acme-manufacturing", "reopening.file", reopening_examples.file_payload())
    forged = make_tx(c, sign_with=_signer(c.home, "bidder-alpha"))
    wrong_role = make_tx(c, "acme-manufacturing")
    wrong_chain = make_tx(c, chain_id="elsewhere")
    stale = make_tx(c, timestamp=time.time_ns() // 1_000_000 - 10 * 60 * 1000)
    missing = make_tx(c).to_wire()
    del missing["envelope"]["nonce"]
    items: list[Any] = [a, forged, b, wrong_role, 42, a, wrong_chain, missing, d, stale]
    # ten transactions: the node verifies them in its worker processes
    response = api.batch(items)
    assert response.status_code == 202, response.text
    body = response.json()
    assert set(body) == {"accepted", "rejected"}
    assert body["accepted"] == [a.tx_id, b.tx_id, d.tx_id]
    expected = {
        1: "bad_signature",
        3: "role_not_allowed",
        4: "malformed",
        5: "duplicate_transaction",
        6: "wrong_chain",
        7: "malformed",
        9: "timestamp_out_of_range",
    }
    assert [r["index"] for r in body["rejected"]] == sorted(expected)
    for rejection in body["rejected"]:
        assert set(rejection) == {"index", "error"}
        assert rejection["error"]["code"] == expected[rejection["index"]]
        assert rejection["error"]["message"]
    for tx in (a, b, d):
        api.receipt(tx.tx_id)
    for tx, code in [
        (forged, "bad_signature"),
        (wrong_role, "role_not_allowed"),
        (wrong_chain, "wrong_chain"),
        (stale, "timestamp_out_of_range"),
    ]:
        status = api.ok(f"/v1/transactions/{tx.tx_id}")
        assert status["status"] == "rejected" and status["error"]["code"] == code, status
        assert_error(api.get(f"/v1/transactions/{tx.tx_id}/receipt"), 404, "receipt_not_found")

    # a small batch is checked in the node's own process, with the same answers
    e = make_tx(c)
    forged_e = SignedTransaction(make_tx(c).envelope, e.signature)
    response = api.batch([forged_e, e])
    assert response.status_code == 202
    assert response.json()["accepted"] == [e.tx_id]
    assert [(r["index"], r["error"]["code"]) for r in response.json()["rejected"]] == [
        (0, "bad_signature")
    ]
    api.receipt(e.tx_id)

    # an empty batch is fine; bodies that are not {"transactions": [...]} are not
    response = api.batch([])
    assert (response.status_code, response.json()) == (202, {"accepted": [], "rejected": []})
    for bad in [
        '{"txs": []}',
        '{"transactions": {}}',
        "[]",
        '{"transactions": [], "x": 1}',
        '{"transactions": [], "transactions": []}',
        '{"transactions": null}',
        "",
        '{"transactions": [' + json.dumps(make_tx(c).to_wire()) + ", 1.5]}",
    ]:
        response = api.http.post("/v1/transactions/batch", content=bad)
        code = "not_canonical" if "1.5" in bad else "malformed"
        assert_error(response, 400, code)


def test_transaction_status_errors(api: Api, consortium: Consortium) -> None:
    unknown = make_tx(consortium).tx_id
    error = assert_error(api.get(f"/v1/transactions/{unknown}"), 404, "tx_not_found")
    assert unknown in error["message"]
    assert_error(api.get(f"/v1/transactions/{unknown}/receipt"), 404, "receipt_not_found")
    for bad in ["ABC", unknown.upper(), unknown[:-1], unknown + "0", "g" * 64, "-" * 64]:
        assert_error(api.get(f"/v1/transactions/{bad}"), 400, "malformed")
        assert_error(api.get(f"/v1/transactions/{bad}/receipt"), 400, "malformed")
    # a genesis transaction is committed at height 0 and proven by genesis.json itself
    first = genesis_block(consortium.genesis).transactions[0]
    status = api.ok(f"/v1/transactions/{first.tx_id}")
    assert status == {
        "tx_id": first.tx_id,
        "status": "committed",
        "height": 0,
        "index": 0,
        "log_index": 0,
    }
    assert_error(api.get(f"/v1/transactions/{first.tx_id}/receipt"), 404, "genesis_transaction")
    # a refused submission answers a JSON error too
    assert_error(api.post(make_tx(consortium, "bidder-alpha")), 422, "role_not_allowed")
    assert_error(api.http.post("/v1/transactions", content="{"), 400, "malformed")


# --- blocks, checkpoints, proofs ----------------------------------------------------------


def test_blocks_checkpoint_and_consistency_proofs(api: Api, consortium: Consortium) -> None:
    genesis = consortium.genesis
    block0 = genesis_block(genesis)
    assert api.ok("/v1/blocks/0") == {
        "header": block0.header.to_wire(),
        "commit": block0.commit.to_wire(),
        "transactions": [t.to_wire() for t in block0.transactions],
    }
    # at height 0 the checkpoint is the genesis header (it has no signatures to verify)
    assert api.ok("/v1/checkpoint")["header"] == block0.header.to_wire()

    first = [make_tx(consortium) for _ in range(3)]
    assert api.batch(first).status_code == 202
    for tx in first:
        api.receipt(tx.tx_id)
    cp1 = api.checkpoint()
    second = [make_tx(consortium) for _ in range(5)]
    for tx in second:
        assert api.post(tx).status_code == 202
    for tx in second:
        api.receipt(tx.tx_id)
    cp2 = api.checkpoint()
    assert cp2.log_size == cp1.log_size + 5 == len(genesis.members) + 8
    assert cp2.height > cp1.height > 0

    # the newest block is the checkpoint; its transactions fold to its tx_root
    latest = api.ok(f"/v1/blocks/{cp2.height}")
    assert latest["header"] == cp2.to_wire()
    assert latest["commit"] == api.ok("/v1/checkpoint")["commit"]
    leaves = [SignedTransaction.from_wire(t).leaf_hash for t in latest["transactions"]]
    assert len(leaves) == cp2.tx_count
    assert tree_root(SM3, leaves).hex() == cp2.tx_root
    # every block links to the one before
    prev = Header.from_wire(api.ok("/v1/blocks/0")["header"])
    for height in range(1, cp2.height + 1):
        header = Header.from_wire(api.ok(f"/v1/blocks/{height}")["header"])
        assert (header.height, header.prev_hash) == (height, prev.block_hash)
        assert header.timestamp > prev.timestamp
        prev = header
    # beyond the tip, and not a height
    error = assert_error(api.get(f"/v1/blocks/{cp2.height + 1}"), 404, "block_not_found")
    assert str(cp2.height + 1) in error["message"]
    for bad in ["-1", "abc", "1.5"]:
        assert_error(api.get(f"/v1/blocks/{bad}"), 400, "malformed")

    # consistency between two checkpoints, verified offline
    proof = api.ok("/v1/proofs/consistency", first=cp1.log_size, second=cp2.log_size)
    assert (proof["first"], proof["second"]) == (cp1.log_size, cp2.log_size)
    assert proof["proof"]
    verify_log_consistency(cp1, cp2, proof["proof"])
    # from the genesis header too, and not for a tampered proof
    verify_log_consistency(
        block0.header,
        cp2,
        api.ok("/v1/proofs/consistency", first=block0.header.log_size, second=cp2.log_size)[
            "proof"
        ],
    )
    with pytest.raises(ProofError):
        verify_log_consistency(cp1, cp2, list(reversed(proof["proof"])))
    with pytest.raises(ProofError):
        verify_log_consistency(cp1, cp2, ["00" * 32, *proof["proof"][1:]])
    # m = n and m = 0 take the empty proof
    for m, n in [(cp2.log_size, cp2.log_size), (0, cp2.log_size), (0, 0)]:
        assert api.ok("/v1/proofs/consistency", first=m, second=n) == {
            "first": m,
            "second": n,
            "proof": [],
        }
    # beyond the log
    error = assert_error(
        api.get("/v1/proofs/consistency", first=1, second=cp2.log_size + 1), 404, "beyond_log"
    )
    assert str(cp2.log_size) in error["message"]
    # first after second is the client's error (spec section 3: m > n is an error)
    for m, n in [(cp2.log_size, cp1.log_size), (1, 0)]:
        error = assert_error(api.get("/v1/proofs/consistency", first=m, second=n), 400, "bad_range")
        assert f"from {m} to {n}" in error["message"]
    # not numbers, missing, negative
    for params in [
        {"first": 1},
        {"second": 1},
        {},
        {"first": -1, "second": 2},
        {"first": "a", "second": 2},
    ]:
        assert_error(api.get("/v1/proofs/consistency", **params), 400, "malformed")


def test_block_height_beyond_64_bits_is_a_json_client_error(api: Api) -> None:
    assert_error(api.get("/v1/blocks/9223372036854775807"), 404, "block_not_found")
    for height in (2**63, 10**30):
        assert_error(api.get(f"/v1/blocks/{height}"), range(400, 500))


# --- chain, operations, documentation -----------------------------------------------------


def test_genesis_members_health_metrics_and_docs(api: Api, consortium: Consortium) -> None:
    assert api.ok("/v1/genesis") == json.loads((consortium.home / "genesis.json").read_text())
    assert api.ok("/v1/genesis") == consortium.genesis.to_wire()

    members = api.ok("/v1/members")["members"]
    assert [m["id"] for m in members] == sorted(m.id for m in consortium.genesis.members)
    by_id = {m.id: m for m in consortium.genesis.members}
    for m in members:
        assert m == {
            "id": m["id"],
            "roles": list(by_id[m["id"]].roles),
            "public_key": by_id[m["id"]].public_key,
            "key_id": key_id(by_id[m["id"]].public_key),
            "active": True,
            "since_height": 0,
        }

    assert api.ok("/healthz") == {"status": "ok"}
    tx = make_tx(consortium)
    assert api.post(tx).status_code == 202
    status = api.wait_committed(tx.tx_id)
    ready = api.ok("/readyz")
    assert ready["status"] == "ready"
    assert (ready["height"], ready["log_size"], ready["pending"]) == (
        status["height"],
        len(consortium.genesis.members) + 1,
        0,
    )

    metrics = api.get("/metrics")
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    height = re.search(r"^ledger_height ([0-9.e+]+)$", metrics.text, re.M)
    assert height is not None, metrics.text[:2000]
    assert float(height.group(1)) == status["height"]
    assert re.search(r"^ledger_log_size ", metrics.text, re.M)

    docs = api.get("/docs")
    assert docs.status_code == 200 and "text/html" in docs.headers["content-type"]
    assert "swagger" in docs.text.lower()
    schema = api.ok("/openapi.json")
    assert schema["openapi"].startswith("3.")
    for path, method in SPEC_PATHS.items():
        assert method in schema["paths"].get(path, {}), path
    post = schema["paths"]["/v1/transactions"]["post"]
    assert "requestBody" in post and "202" in post["responses"]

    # unknown paths and methods answer JSON errors, too
    assert_error(api.get("/v1/nothing-here"), 404, "not_found")
    assert_error(api.http.delete("/v1/checkpoint"), 405, "method_not_allowed")
    assert_error(api.get("/v1/transactions"), 405, "method_not_allowed")
    assert_error(api.http.put("/v1/transactions/batch", json={}), 405, "method_not_allowed")


# --- the Python client --------------------------------------------------------------------


def test_python_client_flow(node: InProcessNode, consortium: Consortium) -> None:
    signer = FileKeyStore(consortium.home / "keys").signer(DEPOSITOR)
    with node.client() as client:
        genesis = client.genesis()
        assert genesis == consortium.genesis
        tx = make_transaction(
            signer,
            chain_id=genesis.chain_id,
            type=DEPOSIT,
            submitter=DEPOSITOR,
            payload=example_deposit_payload(),
        )
        receipt = client.submit_and_wait(tx)
        verified = verify_receipt(receipt, genesis)
        assert verified.tx_id == tx.tx_id
        assert verified.transaction == tx
        # submitting a committed transaction again just returns its receipt
        assert client.submit_and_wait(tx) == receipt
        assert client.status(tx.tx_id)["status"] == "committed"
        assert client.receipt(tx.tx_id) == receipt

        checkpoint = client.checkpoint()
        header = verify_checkpoint(checkpoint, genesis.validators)
        assert client.block(header.height)["header"] == checkpoint["header"]
        older = Header.from_wire(client.block(0)["header"])
        proof = client.consistency(older.log_size, header.log_size)["proof"]
        verify_log_consistency(older, header, proof)
        assert {m["id"] for m in client.members()} == {m.id for m in genesis.members}

        batch = [
            make_transaction(
                signer,
                chain_id=genesis.chain_id,
                type=DEPOSIT,
                submitter=DEPOSITOR,
                payload=example_deposit_payload(),
            )
            for _ in range(3)
        ]
        result = client.submit_batch(batch)
        assert result == {"accepted": [t.tx_id for t in batch], "rejected": []}
        for t in batch:
            verify_receipt(client.wait_for_receipt(t.tx_id), genesis)

        # errors come back as the ledger's exceptions, with the node's code
        refused = make_transaction(
            signer,
            chain_id=genesis.chain_id,
            type="reopening.review",
            submitter=DEPOSITOR,
            payload={},
        )
        with pytest.raises(InvalidInput) as info:
            client.submit(refused)
        assert (info.value.code, info.value.http_status) == ("role_not_allowed", 422)
        with pytest.raises(InvalidInput) as info:
            client.submit_and_wait(refused)
        assert info.value.code == "role_not_allowed"
        with pytest.raises(NotFound) as missing:
            client.receipt(refused.tx_id)
        assert missing.value.code == "receipt_not_found"
        with pytest.raises(NotFound) as missing:
            client.block(client.checkpoint()["header"]["height"] + 1)
        assert missing.value.code == "block_not_found"


# --- the command line ---------------------------------------------------------------------


def _ledger_cli(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def _flip_hex_byte(value: str, position: int) -> str:
    """``value`` with the byte at ``position`` (of the decoded bytes) changed."""
    data = bytearray(bytes.fromhex(value))
    data[position] ^= 0x01
    return data.hex()


def test_cli_submit_and_verify_then_tampered_receipts_fail(
    node: InProcessNode, consortium: Consortium, tmp_path: Path
) -> None:
    home = consortium.home
    url = node.listen()  # the command line runs as a process of its own
    receipt_file = tmp_path / "r.json"
    # non-ASCII text goes through the command line as UTF-8 (a company and street name: no
    # personal data on chain)
    payload = json.dumps(reopening_examples.file_payload(), ensure_ascii=False)
    assert not payload.isascii()
    done = _ledger_cli(
        "submit",
        "--type",
        "reopening.file",
        "--payload",
        payload,
        "--as",
        "acme-manufacturing",
        "--home",
        home,
        "--url",
        url,
        "--out",
        receipt_file,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    receipt = json.loads(receipt_file.read_text())
    verified = verify_receipt(receipt, consortium.genesis)
    assert verified.transaction.envelope.payload == json.loads(payload)

    done = _ledger_cli("verify", receipt_file, "--genesis", home / "genesis.json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout and receipt["tx_id"] in done.stdout

    # one byte of the signature: step 2 fails
    bad_sig = json.loads(json.dumps(receipt))
    sig = bad_sig["transaction"]["signature"]
    bad_sig["transaction"]["signature"] = _flip_hex_byte(sig, len(sig) // 2 - 1)
    # one byte of the header's tx_root: the inclusion proof no longer reaches it (step 3)
    bad_root = json.loads(json.dumps(receipt))
    bad_root["header"]["tx_root"] = _flip_hex_byte(receipt["header"]["tx_root"], 0)
    # one byte of the validators' certificate: step 6
    bad_commit = json.loads(json.dumps(receipt))
    vote = bad_commit["commit"]["signatures"][0]["signature"]
    bad_commit["commit"]["signatures"][0]["signature"] = _flip_hex_byte(vote, len(vote) // 2 - 1)
    for name, tampered, step, code in [
        ("signature", bad_sig, "2 signature", "bad_signature"),
        ("tx_root", bad_root, "3 inclusion", "bad_proof"),
        ("commit", bad_commit, "6 commit", "bad_certificate"),
    ]:
        path = tmp_path / f"tampered-{name}.json"
        path.write_bytes(canonical(tampered))
        done = _ledger_cli("verify", path, "--genesis", home / "genesis.json", cwd=tmp_path)
        output = done.stdout + done.stderr
        assert done.returncode != 0, output
        assert "valid:" not in done.stdout
        assert f"step:     {step}" in output, output
        assert f"({code})" in output, output

    # the genuine receipt against another consortium's genesis fails at its validator set
    other = create(tmp_path / "other", demo=True)
    done = _ledger_cli(
        "verify", receipt_file, "--genesis", other.home / "genesis.json", cwd=tmp_path
    )
    assert done.returncode != 0
    assert "6 validators" in done.stdout + done.stderr

    # a refused submission exits non-zero and names the rule
    done = _ledger_cli(
        "submit",
        "--type",
        DEPOSIT,
        "--payload",
        "{}",
        "--as",
        "acme-manufacturing",
        "--home",
        home,
        "--url",
        url,
        cwd=tmp_path,
    )
    assert done.returncode != 0
    assert "role_not_allowed" in done.stdout + done.stderr
