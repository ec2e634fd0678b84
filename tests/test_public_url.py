"""No request header ever enters signed content (issue 11, item 5).

A verification report is evidence before a court, and a card's QR code is what a school's
front desk trusts: a link in either must not be chosen by whoever sends the request. Before,
a report fetched with ``Host: evil.example`` came back signed by the validator with
``receipt_url``, ``portal_url`` and its QR code pointing at ``evil.example``, and passed
``ledger report-verify``; card QR codes followed the ``Host`` header too.

These tests play the adversary against a real node process over HTTP: the node's public URL
is configured (``LEDGER_PUBLIC_URL``) and it also answers to one alias; a forged ``Host`` is
refused outright (``400 bad_host``), and under any allowed name the links and QR targets
start with the configured public URL, never with the name the request used.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.host_check import host_allowed
from ledger.canonical import canonical
from ledger.client import LedgerClient
from ledger.consortium import create
from ledger.crypto import PublicKey
from ledger.domains.edu_card import demo as edu_card_demo
from ledger.model import Genesis
from ledger.report import pdf_layout, pdf_sections, render_pdf, verify_report_pdf
from ledger.settings import Settings
from tests.support import NodeProcess

PUBLIC = "https://ledger.example.gov.cn"
ALIAS = "alias.example"  # a second name the node is configured to answer to
FORGED = "evil.example"


@dataclass
class Node:
    process: NodeProcess
    home: Path
    genesis: Genesis
    tx_id: str  # a committed transaction (a card's issuance) to report on
    card_id: str

    def get(self, path: str, host: str | None = None, **params: str) -> httpx.Response:
        headers = {"Host": host} if host else {}
        return httpx.get(self.process.url + path, headers=headers, params=params, timeout=60)


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    consortium = create(tmp_path_factory.mktemp("public-url") / "consortium", demo=True)
    home = consortium.home
    env = {"LEDGER_PUBLIC_URL": PUBLIC, "LEDGER_ALLOWED_HOSTS": f"127.0.0.1,{ALIAS}"}
    process = NodeProcess(home, f"sqlite:///{home / 'ledger.db'}", env).start()
    try:
        with LedgerClient(process.url, timeout=60) as client:
            edu_card_demo.generate(client, home, 2, lambda n: None)
        card = json.loads((home / edu_card_demo.WALLET).read_text())["cards"][0]
        yield Node(process, home, consortium.genesis, card["issue_tx"], card["card_id"])
    finally:
        process.stop()


def _refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["code"] == "bad_host"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_a_forged_host_gets_no_report_and_no_qr(node: Node) -> None:
    """The report (JSON and PDF) and the card QR endpoints refuse a Host outside the
    configured names, before anything is signed."""
    _refused(node.get(f"/v1/reports/{node.tx_id}.json", FORGED))
    _refused(node.get(f"/v1/reports/{node.tx_id}.pdf", FORGED))
    _refused(node.get(f"/v1/edu_card/cards/{node.card_id}/qr", FORGED))
    # the check is the whole app's, with a port or without, whatever the case
    _refused(node.get("/readyz", f"{FORGED}:{node.process.port}"))
    _refused(node.get("/verify/card", FORGED.upper()))
    _refused(node.get("/v1/checkpoint", f"localhost:{node.process.port}"))  # not configured


def test_a_request_without_a_host_header_is_refused(node: Node) -> None:
    with socket.create_connection(("127.0.0.1", node.process.port), timeout=10) as conn:
        conn.sendall(f"GET /v1/reports/{node.tx_id}.json HTTP/1.0\r\n\r\n".encode())
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", head
    assert json.loads(body)["error"]["code"] == "bad_host"


@pytest.mark.parametrize("host", [None, ALIAS, f"{ALIAS.upper()}:443"])
def test_report_links_come_from_the_public_url(node: Node, host: str | None) -> None:
    """Under every allowed name (the test's own 127.0.0.1:port, an alias) the signed links
    are the configured public URL's; the name the request used appears nowhere in them."""
    signed = node.get(f"/v1/reports/{node.tx_id}.json", host).json()
    report = signed["report"]
    PublicKey(report["node"]["public_key"]).verify(signed["signature"], canonical(report))
    assert report["receipt_url"] == f"{PUBLIC}/v1/transactions/{node.tx_id}/receipt"
    assert report["portal_url"] == f"{PUBLIC}/verify/receipt?tx={node.tx_id}"
    used = (host or f"127.0.0.1:{node.process.port}").lower().removesuffix(":443")
    assert used not in canonical(report).decode().lower()

    pdf = node.get(f"/v1/reports/{node.tx_id}.pdf", host)
    assert pdf.status_code == 200, pdf.text
    checked = verify_report_pdf(pdf.content, node.genesis)
    assert checked["valid"], checked["steps"]
    assert checked["report"]["portal_url"] == report["portal_url"]


def test_the_report_qr_opens_the_portal_page(node: Node, monkeypatch: pytest.MonkeyPatch) -> None:
    """The PDF's QR code encodes the portal's receipt page under the public URL (which
    fetches and checks the receipt), not the raw JSON receipt."""
    signed = node.get(f"/v1/reports/{node.tx_id}.json", ALIAS).json()
    encoded: list[str] = []
    drawing = pdf_layout.qr_drawing

    def spy(text: str, size: float) -> Any:
        encoded.append(text)
        return drawing(text, size)

    monkeypatch.setattr(pdf_sections, "qr_drawing", spy)
    render_pdf(signed)
    assert encoded == [f"{PUBLIC}/verify/receipt?tx={node.tx_id}"]


def test_card_qr_comes_from_the_public_url(node: Node) -> None:
    """A card's QR is the portal's card page under the public URL, whatever name the
    request used, and the verify endpoint reads it."""
    expected = f"{PUBLIC}/verify/card?card={node.card_id}&tx="
    for host in (None, ALIAS):
        answer = node.get(f"/v1/edu_card/cards/{node.card_id}/qr", host).json()
        assert answer["ledger_url"] == PUBLIC
        assert answer["qr"] == expected + answer["tx_id"]
    checked = httpx.post(
        f"{node.process.url}/v1/edu_card/verify", json={"qr": answer["qr"]}, timeout=60
    ).json()
    first = checked["steps"][0]
    assert checked["card_id"] == node.card_id
    assert (first["step"], first["outcome"]) == ("qr_lookup", "passed")


# --- the settings and the check, without a node ---------------------------------------------------


def test_default_public_url_and_names_follow_the_listen_address() -> None:
    settings = Settings(host="127.0.0.1", port=8123)
    assert settings.public_base_url() == "http://127.0.0.1:8123"
    assert settings.allowed_host_names() == {
        "127.0.0.1:8123",
        "localhost:8123",
        "[::1]:8123",
    }
    behind = Settings(port=8123, public_url="https://Ledger.Example.gov.cn:443/")
    assert behind.public_base_url() == "https://Ledger.Example.gov.cn:443"
    assert "ledger.example.gov.cn" in behind.allowed_host_names()
    only = Settings(port=8123, public_url=PUBLIC, allowed_hosts=" a.example , [::1]:80 ")
    assert only.allowed_host_names() == {"ledger.example.gov.cn", "a.example", "[::1]:80"}


@pytest.mark.parametrize(
    "host, allowed",
    [
        ("127.0.0.1:8123", True),
        ("LOCALHOST:8123", True),
        ("localhost:8124", False),
        ("ledger.example.gov.cn", True),
        ("ledger.example.gov.cn:8443", True),  # a name without a port: any port
        ("[::1]:8123", True),
        ("[::1]:8124", False),
        ("evil.example", False),
        ("ledger.example.gov.cn.evil.example", False),
        ("", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    names = Settings(port=8123, public_url=PUBLIC).allowed_host_names()
    assert host_allowed(host, names) is allowed


@pytest.mark.parametrize(
    "url",
    ["ftp://ledger.example", "ledger.example", "http://u@x", "http://x/?q=1", "http://x:99999"],
)
def test_a_malformed_public_url_stops_the_node(tmp_path: Path, url: str) -> None:
    """``ledger node --public-url`` refuses what is not an http(s) base URL, before it starts."""
    run = subprocess.run(
        [sys.executable, "-m", "ledger", "node", "--home", str(tmp_path), "--public-url", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "LEDGER_PUBLIC_URL" in run.stderr
