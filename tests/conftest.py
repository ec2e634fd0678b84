"""Shared fixtures: demo consortia, databases (SQLite and a real PostgreSQL), nodes.

A test talks HTTP to a node inside the test process (``node``, ``start_node``:
tests/inprocess.py) unless the process itself matters (a crash, a cluster over p2p, a
command-line tool or a browser against a server): then ``node_process`` / ``spawn`` start
``ledger node`` processes (tests/support.py).

PostgreSQL comes from ``LEDGER_TEST_PG_URL`` (``.ci/run`` starts one). Without it the
PostgreSQL variants are skipped locally; with ``LEDGER_REQUIRE_PG=1`` (as in CI) they fail.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from keys import FileKeyStore
from ledger.consortium import create
from ledger.crypto import PrivateKey
from ledger.model import Genesis
from tests.inprocess import InProcessNode, TestClock
from tests.support import NodeProcess

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


@pytest.fixture
def node(consortium: Consortium, db_url: str) -> Iterator[InProcessNode]:
    """A node inside the test process on the demo consortium, over each database."""
    node = InProcessNode(consortium.home, db_url).start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture
def start_node() -> Iterator[Callable[..., InProcessNode]]:
    """Start nodes inside the test process (``InProcessNode`` arguments), stopped at
    teardown whatever the test did."""
    started: list[InProcessNode] = []

    def start(
        home: Path,
        db: str,
        settings: Mapping[str, Any] | None = None,
        clock: TestClock | None = None,
    ) -> InProcessNode:
        node = InProcessNode(home, db, settings, clock)
        started.append(node)
        return node.start()

    yield start
    for node in started:
        node.stop()


@pytest.fixture
def node_process(consortium: Consortium, db_url: str) -> Iterator[NodeProcess]:
    """A real ``ledger node`` process, for what needs one (a command-line tool, a crash)."""
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
