"""Running nodes for the tests and the benchmarks: node processes, free ports, waiting on a
condition with a deadline, signing transactions in bulk.

Imported by tests/conftest.py and by bench/ (which puts the repository root on sys.path), so
it needs nothing from pytest. A node inside the test process is tests/inprocess.py.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import httpx

from keys import FileKeyStore
from ledger.client import LedgerClient
from ledger.crypto import PrivateKey

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until(
    condition: Callable[[], T], what: str, timeout: float = 30.0, interval: float = 0.02
) -> T:
    """Poll ``condition`` until it returns something true (and return that), at most
    ``timeout`` seconds; then fail naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(interval)


@functools.cache
def signer(home: Path, member_id: str) -> PrivateKey:
    """A demo consortium member's key (read once per home and member)."""
    return FileKeyStore(home / "keys").signer(member_id)


def assign_p2p_ports(home: Path, validators: Iterable[str]) -> None:
    """Give each validator a free loopback p2p port in HOME/node.json (a validator not in the
    file yet gets an entry)."""
    path = home / "node.json"
    config = json.loads(path.read_text())
    for vid in validators:
        config["validators"].setdefault(vid, {})["p2p"] = f"127.0.0.1:{free_port()}"
    path.write_text(json.dumps(config, indent=2))


class NodeProcess:
    """A real ``python -m ledger node`` on loopback, in its own process group (with its
    verification workers), its output in ``log``."""

    def __init__(
        self, home: Path, db: str, env: dict[str, str] | None = None, log: Path | None = None
    ) -> None:
        self.home, self.db = home, db
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, **(env or {})}
        self.log = log or home / f"node-{self.port}.log"
        self.entry = ["-m", "ledger", "node"]  # what runs the node, after the interpreter
        self.proc: subprocess.Popen[bytes] | None = None
        self.launched = 0.0

    def launch(self) -> NodeProcess:
        """Start the process without waiting for it (see ``wait_ready``)."""
        cmd = [sys.executable, *self.entry, "--home", str(self.home)]
        cmd += ["--port", str(self.port), "--db", self.db]
        with self.log.open("ab") as out:
            self.launched = time.perf_counter()
            self.proc = subprocess.Popen(
                cmd, stdout=out, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
            )
        return self

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from the launch until /readyz answered 200."""
        assert self.proc is not None, "not launched"
        deadline = time.monotonic() + timeout
        with httpx.Client(base_url=self.url, timeout=2) as http:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"the node exited ({self.proc.returncode}):\n{self.tail()}")
                with contextlib.suppress(httpx.HTTPError):
                    if http.get("/readyz").status_code == 200:
                        return time.perf_counter() - self.launched
                time.sleep(0.05)
        raise RuntimeError(f"the node was not ready within {timeout} s:\n{self.tail()}")

    def start(self, timeout: float = 60.0) -> NodeProcess:
        self.launch().wait_ready(timeout)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, "not launched"
        return self.proc.pid

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM to the node (a graceful shutdown: what is pending goes into a block), then
        SIGKILL to whatever is left of its process group."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)

    def client(self, timeout: float = 30.0) -> LedgerClient:
        return LedgerClient(self.url, timeout=timeout)


# --- signing in bulk ---------------------------------------------------------------------------

_SIGN_FN: Callable[[int], Any] | None = None


def _sign_init(make: Callable[..., Any], args: tuple[Any, ...]) -> None:
    global _SIGN_FN
    _SIGN_FN = functools.partial(make, *args)


def _sign_range(start: int, count: int) -> list[Any]:
    assert _SIGN_FN is not None
    return [_SIGN_FN(i) for i in range(start, start + count)]


def signed_chunks(
    make: Callable[..., Any],
    args: tuple[Any, ...],
    start: int,
    total: int,
    chunk: int,
    cores: int,
) -> Iterator[list[Any]]:
    """``make(*args, i)`` for i in ``start .. start + total``, in a pool of ``cores``
    processes, yielded in order as chunks of ``chunk``; a bounded number in flight, so that
    memory stays flat however many are asked for. ``make`` must be a module-level function
    (it is pickled to the workers) and may cache what it loads from ``args``."""
    with ProcessPoolExecutor(cores, initializer=_sign_init, initargs=(make, args)) as pool:
        pending: deque[Future[list[Any]]] = deque()
        nxt, end = start, start + total
        while nxt < end or pending:
            while nxt < end and len(pending) < 3 * cores:
                n = min(chunk, end - nxt)
                pending.append(pool.submit(_sign_range, nxt, n))
                nxt += n
            yield pending.popleft().result()
