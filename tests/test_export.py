"""The streamed export (GET /v1/export, ``ledger export``) over HTTP to a node.

A member's and a domain's transactions in a time range, as JSON lines and CSV; every receipt
verifies offline; who may export; bad parameters; and that the node reads the store one page
at a time however large the export.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from keys import FileKeyStore
from ledger.canonical import canonical, parse_json
from ledger.client import make_transaction
from ledger.consortium import create
from ledger.crypto import PrivateKey
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.errors import VerificationError
from ledger.export import COLUMNS, ExportQuery, RecordVerifier, export_records, read_records
from ledger.node import Node
from ledger.request_auth import sign_request
from ledger.settings import Settings
from ledger.store import Store, StoredTx
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

DEPOSITOR = "evidence-platform"
AUDITOR = "gz-audit-bureau"
GOVERNANCE = "gz-gov-service-bureau"
PAGE = 4  # the node's export page size in these tests: every export spans several pages


@dataclass
class Chain:
    consortium: Consortium
    node: InProcessNode
    http: httpx.Client
    keys: FileKeyStore
    times: list[int]  # the three timestamps of the deposits, oldest first
    deposits: dict[int, list[str]]  # timestamp -> tx ids
    registered: str  # tx id of a member.register

    def signed(self, member: str, path: str) -> httpx.Response:
        headers = sign_request(self.keys.signer(member), member, "GET", path)
        return self.http.get(path, headers=headers)

    def export(self, requester: str, /, **params: Any) -> httpx.Response:
        query = urlencode(params)
        return self.signed(requester, f"/v1/export?{query}" if query else "/v1/export")


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    home = tmp_path_factory.mktemp("export") / "consortium"
    created = create(home, demo=True)
    consortium = Consortium(created.home, created.genesis)
    node = InProcessNode(
        home, f"sqlite:///{home / 'ledger.db'}", {"export_page_size": PAGE, "verify_workers": 0}
    ).start()
    keys = FileKeyStore(home / "keys")
    now = time.time_ns() // 1_000_000
    # after the genesis (so that its transactions come first), within the clock tolerance
    times = [now + 30_000, now + 90_000, now + 150_000]
    deposits: dict[int, list[str]] = {}
    try:
        with node.client() as client:
            for ts in times:
                txs = [
                    make_transaction(
                        keys.signer(DEPOSITOR),
                        chain_id=consortium.genesis.chain_id,
                        type="evidence.deposit",
                        submitter=DEPOSITOR,
                        payload=example_deposit_payload(),
                        timestamp=ts,
                    )
                    for _ in range(5)
                ]
                client.submit_batch(txs)
                for tx in txs:
                    client.wait_for_receipt(tx.tx_id)
                deposits[ts] = [tx.tx_id for tx in txs]
            reg = make_transaction(
                keys.signer(GOVERNANCE),
                chain_id=consortium.genesis.chain_id,
                type="member.register",
                submitter=GOVERNANCE,
                payload={
                    "id": "huangpu-school-9",
                    "roles": ["school"],
                    "public_key": PrivateKey.generate().public_key.hex,
                },
            )
            client.submit_and_wait(reg)
        with node.http(timeout=60) as http:
            yield Chain(consortium, node, http, keys, times, deposits, reg.tx_id)
    finally:
        node.stop()


def _jsonl(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/x-ndjson")
    lines = response.content.decode().splitlines()
    for line in lines:
        assert canonical(json.loads(line)) == line.encode()  # each line is C(record)
    return list(read_records(lines, "jsonl"))


def _check_all(chain: Chain, records: list[dict[str, Any]]) -> None:
    verifier = RecordVerifier(chain.consortium.genesis)
    for record in records:
        verifier.check(record)
        if record["height"] > 0:
            receipt = chain.http.get(f"/v1/transactions/{record['tx_id']}/receipt").json()
            assert record["receipt"] == receipt  # exactly what the receipt path serves
            verify_receipt(record["receipt"], chain.consortium.genesis)
    keys = [(r["timestamp"], r["height"], r["index"]) for r in records]
    assert keys == sorted(keys)


def test_member_export_jsonl_in_a_time_range(chain: Chain) -> None:
    old, middle, new = chain.times
    records = _jsonl(chain.export(AUDITOR, member=DEPOSITOR, from_ms=middle, to_ms=new + 1))
    assert [r["tx_id"] for r in records] == chain.deposits[middle] + chain.deposits[new]
    assert {r["submitter"] for r in records} == {DEPOSITOR}
    _check_all(chain, records)
    # the member itself may export its own transactions; to_ms is exclusive
    own = _jsonl(chain.export(DEPOSITOR, member=DEPOSITOR, from_ms=old, to_ms=new))
    assert [r["tx_id"] for r in own] == chain.deposits[old] + chain.deposits[middle]


def test_member_export_without_range_includes_genesis_transaction(chain: Chain) -> None:
    records = _jsonl(chain.export(DEPOSITOR, member=DEPOSITOR))
    genesis = [r for r in records if r["height"] == 0]
    assert len(genesis) == 1 and genesis[0]["type"] == "member.register"
    assert genesis[0]["receipt"] is None  # proven by genesis.json itself
    assert len(records) == 1 + 15
    _check_all(chain, records)


def test_domain_export_csv(chain: Chain) -> None:
    old, middle, _ = chain.times
    response = chain.export(AUDITOR, domain="evidence", from_ms=old, to_ms=middle + 1, format="csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    text = response.content.decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert tuple(rows[0]) == COLUMNS
    assert [r[0] for r in rows[1:]] == chain.deposits[old] + chain.deposits[middle]
    for row in rows[1:]:
        assert canonical(parse_json(row[-1].encode())).decode() == row[-1]
    records = list(read_records(io.StringIO(text, newline=""), "csv"))
    _check_all(chain, records)
    # the membership domain: genesis registrations (no receipt) and the later one
    members = _jsonl(chain.export(GOVERNANCE, domain="membership"))
    assert members[-1]["tx_id"] == chain.registered
    assert len(members) == len(chain.consortium.genesis.members) + 1
    _check_all(chain, members)


def test_export_streams_in_chunks(chain: Chain) -> None:
    path = f"/v1/export?{urlencode({'domain': 'evidence'})}"
    headers = sign_request(chain.keys.signer(AUDITOR), AUDITOR, "GET", path)
    # the framing is the HTTP server's: over a loopback socket, not the in-memory transport
    with (
        httpx.Client(base_url=chain.node.listen(), timeout=60) as http,
        http.stream("GET", path, headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        assert "content-length" not in response.headers
        assert int(response.headers["x-ledger-log-size"]) >= 12 + 16
        body = b"".join(response.iter_bytes())
    assert body.count(b"\n") == 15


class CountingStore(Store):
    """The real store, counting the pages an export reads."""

    pages: list[int]

    def export_page(self, **kwargs: Any) -> list[StoredTx]:
        page = super().export_page(**kwargs)
        self.pages.append(len(page))
        return page


def test_the_node_reads_one_page_at_a_time(chain: Chain) -> None:
    store = CountingStore(chain.node.db)
    store.pages = []
    node = Node(Settings(home=chain.consortium.home), chain.consortium.genesis, store)
    try:
        query = ExportQuery.parse(
            member=DEPOSITOR, domain=None, from_ms=None, to_ms=None, format="jsonl"
        )
        records = export_records(node, query, log_size=node.tip.log_size, page_size=3)
        first = next(records)
        assert first["height"] == 0
        assert store.pages == [3]  # lazily: one page read for the first record
        rest = list(records)
        assert len(rest) == 15
        assert store.pages == [3] * 5 + [1]
        # the snapshot: nothing beyond log_size, however the range is set
        capped = export_records(node, query, log_size=13, page_size=3)
        assert [r["tx_id"] for r in capped] == [first["tx_id"], chain.deposits[chain.times[0]][0]]
    finally:
        store.close()


def test_who_may_export(chain: Chain) -> None:
    for member, params in (
        ("bidder-alpha", {"member": DEPOSITOR}),
        (DEPOSITOR, {"domain": "evidence"}),
        (DEPOSITOR, {"member": GOVERNANCE}),
        ("gz-internet-court", {"domain": "evidence"}),
    ):
        response = chain.export(member, **params)
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == "forbidden"
        assert b"receipt" not in response.content
    unsigned = chain.http.get("/v1/export?domain=evidence")
    assert unsigned.status_code == 401
    assert unsigned.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({}, 400, "bad_export_query"),
        ({"member": DEPOSITOR, "domain": "evidence"}, 400, "bad_export_query"),
        ({"domain": "weather"}, 400, "unknown_domain"),
        ({"domain": "evidence", "format": "xml"}, 400, "bad_format"),
        ({"domain": "evidence", "from_ms": 10, "to_ms": 5}, 400, "bad_range"),
        ({"domain": "evidence", "from_ms": -1}, 400, "malformed"),
        ({"domain": "evidence", "to_ms": "soon"}, 400, "malformed"),
        ({"domain": "evidence", "to_ms": 2**53}, 400, "malformed"),
        ({"member": "nobody-at-all"}, 404, "unknown_member"),
    ],
)
def test_bad_parameters(chain: Chain, params: dict[str, Any], status: int, code: str) -> None:
    response = chain.export(AUDITOR, **params)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_cli_export_and_verify(chain: Chain, tmp_path: Path) -> None:
    _, middle, new = chain.times
    out = tmp_path / "evidence.csv"
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(middle // 1000))
    cmd = [
        sys.executable,
        "-m",
        "ledger",
        "export",
        "--url",
        chain.node.listen(),  # the command line runs as a process of its own
        "--key",
        str(chain.consortium.home / "keys" / f"{AUDITOR}.pem"),
        "--id",
        AUDITOR,
        "--domain",
        "evidence",
        "--from",
        f"{iso}.{middle % 1000:03d}Z",
        "--to",
        str(new + 1),
        "--format",
        "csv",
        "--out",
        str(out),
        "--verify",
        "--genesis",
        str(chain.consortium.home / "genesis.json"),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "exported 10 transactions" in done.stdout
    assert "verified: 10 receipts" in done.stdout
    with out.open(newline="") as f:
        ids = [r["tx_id"] for r in read_records(f, "csv")]
    assert ids == chain.deposits[middle] + chain.deposits[new]
    bidder = cmd.copy()
    bidder[7:10] = [
        str(chain.consortium.home / "keys" / "bidder-alpha.pem"),
        "--id",
        "bidder-alpha",
    ]
    refused = subprocess.run(
        bidder,
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0
    assert "forbidden" in refused.stderr


def test_an_altered_record_is_named(chain: Chain) -> None:
    _, middle, _ = chain.times
    records = _jsonl(chain.export(AUDITOR, member=DEPOSITOR, from_ms=middle, to_ms=middle + 1))
    verifier = RecordVerifier(chain.consortium.genesis)
    moved = dict(records[1], timestamp=records[1]["timestamp"] + 1)
    with pytest.raises(VerificationError) as info:
        verifier.check(moved)
    assert info.value.step == f"export record {moved['tx_id']} column timestamp"
    forged = json.loads(json.dumps(records[2]))
    forged["receipt"]["index"] = (forged["receipt"]["index"] + 1) % 5
    with pytest.raises(VerificationError) as info:
        verifier.check(forged)
    assert info.value.step.startswith(f"export record {forged['tx_id']} receipt")
