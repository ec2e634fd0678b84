"""`ledger demo` fills a running node through the CLI, and the chain it leaves audits clean."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import Consortium, NodeProcess


def test_demo_command_fills_a_node(consortium: Consortium, node: NodeProcess) -> None:
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "demo",
            "--url",
            node.url,
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
    with node.client() as client:
        assert client.checkpoint()["header"]["log_size"] > 40
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--url", node.url],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert audit.returncode == 0, audit.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "ledger", "demo", "--url", node.url, "--domain", "weather"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2
