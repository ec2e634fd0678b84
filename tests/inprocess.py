"""A node inside the test process: the API app (``api.app.create_app``) with its lifespan run
on an event loop in a background thread, requests going straight to the app over an
in-memory ASGI transport, and a clock the test moves.

No process to start, no port, no fixed sleeps: ``make_block`` moves the node's clock past
the block interval and wakes the engine, so the next block is built now. ``listen`` also
serves the app on a loopback port, for a command-line tool run as a subprocess.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock

import httpx

import ledger.node
from api.app import create_app
from api.runtime import NodeRuntime
from ledger.client import LedgerClient
from ledger.node import Node
from ledger.settings import Settings
from tests.support import free_port, wait_until

T = TypeVar("T")
BASE_URL = "http://in-process"


def wall_ms() -> int:
    return time.time_ns() // 1_000_000


class TestClock:
    """Milliseconds since the epoch: the wall clock plus an offset that the test moves
    forward, or (once frozen) a time that moves only when the test moves it."""

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self.offset_ms = 0
        self.frozen_at: int | None = None

    def __call__(self) -> int:
        base = wall_ms() if self.frozen_at is None else self.frozen_at
        return base + self.offset_ms

    def freeze(self) -> None:
        self.frozen_at = wall_ms()

    def advance(self, ms: int) -> None:
        self.offset_ms += ms

    def advance_to(self, ms: int) -> None:
        """At least ``ms`` from now on."""
        self.offset_ms += max(0, ms - self())


class LoopThread:
    """An asyncio event loop running in a daemon thread."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 120) -> T:
        return self.submit(coro).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(30)
        self.loop.close()


class SyncASGITransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app served by a ``LoopThread``."""

    def __init__(self, app: Any, loop: LoopThread) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()  # the body as bytes, which the async transport can stream too

        async def exchange() -> tuple[int, httpx.Headers, bytes]:
            response = await self._asgi.handle_async_request(request)
            assert isinstance(response.stream, httpx.AsyncByteStream)
            body = b"".join([part async for part in response.stream])
            return response.status_code, response.headers, body

        status, headers, body = self._loop.run(exchange())
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


class InProcessNode:
    """One node on HOME and database ``db``; ``settings`` override fields of ``Settings``
    (as ``LEDGER_*`` variables would for a process). Restart it with ``stop`` and ``start``
    (the same clock), or start another on the same database."""

    def __init__(
        self,
        home: Path,
        db: str,
        settings: Mapping[str, Any] | None = None,
        clock: TestClock | None = None,
    ) -> None:
        self.home, self.db = home, db
        self.overrides = dict(settings or {})
        self.clock = clock or TestClock()
        self.url = BASE_URL
        self._loop: LoopThread | None = None
        self._serving: concurrent.futures.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self._server: Any = None
        self._listener: concurrent.futures.Future[None] | None = None

    # -- lifecycle

    def start(self) -> InProcessNode:
        assert self._loop is None, "already running"
        # links name the in-memory transport's host; loopback on any port for ``listen``
        hosts = {
            "public_url": BASE_URL,
            "allowed_hosts": f"{BASE_URL.split('//', 1)[1]},127.0.0.1,localhost",
        }
        self.settings = Settings(home=self.home, db_url=self.db, **{**hosts, **self.overrides})
        self.runtime = NodeRuntime(self.settings, clock=self.clock)
        self.app = create_app(self.settings, self.runtime)
        loop = self._loop = LoopThread(f"node-{self.home.name}")
        started = threading.Event()
        try:
            # tune_gc_for_serving freezes the heap of the process that serves; here that is
            # the test process, whose heap outlives the node: the collector is left as it is
            with mock.patch.object(ledger.node, "tune_gc_for_serving", lambda: None):
                serving = self._serving = loop.submit(self._serve(started))
                while not started.wait(0.01):
                    if serving.done():
                        serving.result()  # raises what the startup raised
                        raise RuntimeError("the app's lifespan ended during startup")
        except BaseException:
            self._loop = None
            loop.close()
            raise
        self.transport = SyncASGITransport(self.app, self._loop)
        return self

    async def _serve(self, started: threading.Event) -> None:
        self._stop = asyncio.Event()
        async with self.app.router.lifespan_context(self.app):
            started.set()
            await self._stop.wait()

    def running(self) -> bool:
        return self._serving is not None and not self._serving.done()

    def stop(self) -> None:
        """A graceful shutdown (what is pending goes into a block, as on SIGTERM)."""
        if self._loop is None:
            return
        loop, serving, stop = self._loop, self._serving, self._stop
        assert serving is not None and stop is not None
        try:
            if self._server is not None:
                self._server.should_exit = True
                assert self._listener is not None
                self._listener.result(30)
            loop.loop.call_soon_threadsafe(stop.set)
            serving.result(60)
        finally:
            self._server = None
            self._loop = None
            loop.close()

    # -- talking to it

    def http(self, timeout: float = 30.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, transport=self.transport, timeout=timeout)

    def client(self, timeout: float = 30.0) -> LedgerClient:
        return LedgerClient(self.url, timeout=timeout, transport=self.transport)

    @property
    def node(self) -> Node:
        return self.runtime.node

    def call(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run a coroutine on the node's event loop (where the engine and the app run)."""
        assert self._loop is not None, "not running"
        return self._loop.run(coro)

    def listen(self) -> str:
        """Also serve the app on a loopback port (for a subprocess); its base URL."""
        import uvicorn

        assert self._loop is not None, "not running"
        if self._server is None:
            port = free_port()
            config = uvicorn.Config(
                self.app, host="127.0.0.1", port=port, lifespan="off", log_level="warning"
            )
            server = self._server = uvicorn.Server(config)
            serving = self._listener = self._loop.submit(server.serve())
            wait_until(lambda: server.started or serving.done(), "the loopback listener")
            if serving.done():
                serving.result()
                raise RuntimeError("the loopback listener stopped at once")
            self.listening = f"http://127.0.0.1:{port}"
        return self.listening

    # -- blocks on demand

    def make_block(self) -> None:
        """Build the next block now: the clock moves past the block interval and the engine
        is woken (it builds when something is pending)."""
        self.clock.advance(self.settings.block_interval_ms)
        engine = self.runtime.engine
        assert engine is not None and self._loop is not None
        self._loop.loop.call_soon_threadsafe(engine.notify_pending)

    def pending(self) -> int:
        return self.node.pending_count()

    def settle(self, timeout: float = 30.0) -> None:
        """Wait until the mempool is empty: whatever was admitted is committed (or dropped)
        and no block is in the making (transactions leave the mempool once committed)."""
        wait_until(lambda: self.pending() == 0, "an empty mempool", timeout)
