"""Shared fixtures: demo consortia, databases (SQLite and a real PostgreSQL), node processes.

PostgreSQL comes from ``LEDGER_TEST_PG_URL`` (``.ci/run`` starts one). Without it the
PostgreSQL variants are skipped locally; with ``LEDGER_REQUIRE_PG=1`` (as in CI) they fail.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, text

from keys import FileKeyStore
from ledger.client import LedgerClient
from ledger.consortium import create
from ledger.crypto import PrivateKey
from ledger.model import Genesis

PG_URL = os.environ.get("LEDGER_TEST_PG_URL")
REQUIRE_PG = os.environ.get("LEDGER_REQUIRE_PG") == "1"


@dataclass
class Consortium:
    home: Path
    genesis: Genesis

    def key(self, member_id: str) -> PrivateKey:
        return FileKeyStore(self.home / "keys").signer(member_id)


@pytest.fixture
def consortium(tmp_path: Path) -> Consortium:
    c = create(tmp_path / "consortium", demo=True)
    return Consortium(c.home, c.genesis)


def _pg_admin_url() -> str:
    if PG_URL is None:
        if REQUIRE_PG:
            pytest.fail("LEDGER_REQUIRE_PG=1 but LEDGER_TEST_PG_URL is not set")
        pytest.skip("PostgreSQL not configured (set LEDGER_TEST_PG_URL; .ci/run does)")
    return PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)


@contextlib.contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    admin = create_engine(_pg_admin_url(), isolation_level="AUTOCOMMIT")
    name = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = _pg_admin_url().rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


def database_url(kind: str, home: Path) -> contextlib.AbstractContextManager[str]:
    if kind == "sqlite":
        return contextlib.nullcontext(f"sqlite:///{home / 'ledger.db'}")
    return pg_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, consortium: Consortium) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{consortium.home / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NodeProcess:
    """A real ``ledger node`` process on loopback."""

    def __init__(self, home: Path, db: str, env: dict[str, str] | None = None) -> None:
        self.home, self.db = home, db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.entry = ["-m", "ledger", "node"]  # what runs the node, after the interpreter
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = home / f"node-{self.port}.log"

    def start(self, timeout: float = 30) -> NodeProcess:
        cmd = [
            sys.executable,
            *self.entry,
            "--home",
            str(self.home),
            "--port",
            str(self.port),
            "--db",
            self.db,
        ]
        self.proc = subprocess.Popen(
            cmd,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            env=self.env,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node exited: {self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"node not ready: {self.log.read_text()[-3000:]}")

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill9()

    def client(self) -> LedgerClient:
        return LedgerClient(self.url)


@pytest.fixture
def node(consortium: Consortium, db_url: str) -> Iterator[NodeProcess]:
    proc = NodeProcess(consortium.home, db_url).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def spawn() -> Iterator[Callable[..., NodeProcess]]:
    """Start node processes that are stopped at teardown, whatever the test did."""
    started: list[NodeProcess] = []

    def start(home: Path, db: str, env: dict[str, str] | None = None) -> NodeProcess:
        proc = NodeProcess(home, db, env)
        started.append(proc)
        return proc.start()

    yield start
    for proc in started:
        proc.stop()
