"""`ledger demo` fills a running node through the CLI, and the chain it leaves audits clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from ledger.crypto import sm3_hex
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.support import NodeProcess


def test_demo_command_fills_a_node(consortium: Consortium, node_process: NodeProcess) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "demo",
            "--url",
            node_process.url,
            "--home",
            str(consortium.home),
            "--domain",
            "evidence",
            "--domain",
            "edu_card",
            "--domain",
            "reopening",
            "--scale",
            "0.1",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "done:" in run.stdout
    with node_process.client() as client:
        assert client.checkpoint()["header"]["log_size"] > 40
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--url", node_process.url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert audit.returncode == 0, audit.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "ledger", "demo", "--url", node_process.url, "--domain", "weather"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2


def test_deposit_command_and_court_check(
    consortium: Consortium, node_process: NodeProcess, tmp_path: Path
) -> None:
    evidence = tmp_path / "合同.txt"
    evidence.write_text("甲方与乙方于2026年签订买卖合同。")
    receipt_path = tmp_path / "receipt.json"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "deposit",
            str(evidence),
            "--title",
            "买卖合同",
            "--source",
            "https://shop.example/order/1",
            "--home",
            str(consortium.home),
            "--url",
            node_process.url,
            "--out",
            str(receipt_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    receipt = json.loads(receipt_path.read_text())
    verify_receipt(receipt, consortium.genesis)
    private = json.loads(receipt_path.with_suffix(".private.json").read_text())
    assert private["metadata"]["files"][0]["sm3"] == sm3_hex(evidence.read_bytes())
    for content, result in ((evidence.read_bytes(), "match"), (b"tampered", "mismatch")):
        answer = httpx.post(
            f"{node_process.url}/v1/evidence/verify",
            files={"file": ("f.txt", content)},
            data={"deposit_id": receipt["tx_id"]},
        ).json()
        assert answer["result"] == result
