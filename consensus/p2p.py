"""Authenticated links between validators: TCP to the p2p addresses of node.json.

A frame is a 4-byte big-endian body length, a 1-byte channel and a JSON body (never pickle
or any other code-carrying format). Limits hold before anything is parsed: a frame longer
than its channel allows closes the link, and reading from a peer is throttled by a token
bucket of bytes and of frames per second (a flooding peer slows down only its own link).

Each pair of validators keeps one link, dialled by the one whose id sorts first (with
back-off while the other is down). A link opens with a mutual handshake: each side sends
``hello`` (chain id, its validator id, a fresh random nonce) and answers the other's with
``auth``, its SM2 signature of ``C({"type": "p2p-auth", "chain_id", "validator", "peer",
"nonce"})`` over the other's nonce. Until both signatures verify under the public keys of
the validator set, nothing else is read. The handshake only tells who is at the other end
("peers seen"); every consensus message is still signed and checked on its own by the state
machine, every gossiped transaction goes through admission, every fetched block through
its commit certificate and re-execution.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from ledger.canonical import canonical, parse_json
from ledger.crypto import PublicKey, Signer
from ledger.errors import InvalidSignature, LedgerError, MalformedData

log = logging.getLogger("ledger.p2p")

FRAME = struct.Struct(">IB")
PROTOCOL_VERSION = 1
HANDSHAKE_MAX_BYTES = 1024
MAX_HANDSHAKES = 32  # inbound handshakes in progress at once


class Channel(IntEnum):
    CONTROL = 0  # status, get_block: small JSON objects
    CONSENSUS = 1  # proposal, prevote, precommit: consensus.tendermint.decode_message
    TXS = 2  # {"transactions": [...]}: gossiped transactions
    BLOCK = 3  # {"height": h, "block": {header, commit, transactions} | null}
    HANDSHAKE = 4  # hello, auth


class ProtocolError(Exception):
    """The peer broke the protocol: the link is closed."""


@dataclass(frozen=True)
class P2PLimits:
    max_frame_bytes: int
    max_control_bytes: int = 256 * 1024
    rate_bytes: int = 64 * 1024 * 1024
    rate_frames: int = 2000
    send_queue: int = 2000
    handshake_timeout_s: float = 5.0
    redial_min_s: float = 0.1
    redial_max_s: float = 1.0

    def limit(self, channel: Channel) -> int:
        if channel is Channel.HANDSHAKE:
            return HANDSHAKE_MAX_BYTES
        if channel is Channel.CONTROL:
            return self.max_control_bytes
        return self.max_frame_bytes


class TokenBucket:
    """``rate`` units per second, bursts up to ``burst``; ``take`` waits for its share."""

    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = burst
        self.stamp = time.monotonic()
        self.waited = 0.0

    async def take(self, amount: float) -> None:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= amount
        if self.tokens < 0:
            delay = -self.tokens / self.rate
            self.waited += delay
            await asyncio.sleep(delay)


def frame(channel: Channel, body: bytes) -> bytes:
    return FRAME.pack(len(body), channel) + body


def encode_json(value: Any) -> bytes:
    return canonical(value)


def auth_bytes(chain_id: str, signer_id: str, peer_id: str, nonce: str) -> bytes:
    return canonical(
        {
            "type": "p2p-auth",
            "chain_id": chain_id,
            "validator": signer_id,
            "peer": peer_id,
            "nonce": nonce,
        }
    )


Handler = Callable[[str, Channel, bytes], Awaitable[None]]


class Link:
    """One authenticated connection to a peer, with its send queue and tasks."""

    def __init__(
        self,
        network: P2PNetwork,
        peer_id: str,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        outbound: bool,
    ) -> None:
        self.network = network
        self.peer_id = peer_id
        self.reader, self.writer = reader, writer
        self.outbound = outbound
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(network.limits.send_queue)
        self.closed = asyncio.Event()
        self.dropped = 0
        limits = network.limits
        self.bytes_bucket = TokenBucket(limits.rate_bytes, limits.rate_bytes)
        self.frames_bucket = TokenBucket(limits.rate_frames, limits.rate_frames)
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name=f"p2p-write-{self.peer_id}"),
            asyncio.create_task(self._read_loop(), name=f"p2p-read-{self.peer_id}"),
        ]

    def send(self, data: bytes) -> bool:
        if self.closed.is_set():
            return False
        try:
            self.queue.put_nowait(data)
        except asyncio.QueueFull:
            self.dropped += 1
            return False
        return True

    async def _write_loop(self) -> None:
        try:
            while True:
                data = await self.queue.get()
                self.writer.write(data)
                await self.writer.drain()
        except (ConnectionError, OSError) as exc:
            log.info("link to %s: write failed: %s", self.peer_id, exc)
        finally:
            self.close()

    async def _read_loop(self) -> None:
        network = self.network
        limits = network.limits
        try:
            while True:
                length, code = FRAME.unpack(await self.reader.readexactly(FRAME.size))
                try:
                    channel = Channel(code)
                except ValueError:
                    raise ProtocolError(f"unknown channel {code}") from None
                if channel is Channel.HANDSHAKE or length > limits.limit(channel):
                    raise ProtocolError(f"frame of {length} bytes on channel {channel.name}")
                await self.bytes_bucket.take(length + FRAME.size)
                await self.frames_bucket.take(1)
                body = await self.reader.readexactly(length)
                network.seen[self.peer_id] = time.time_ns() // 1_000_000
                network.received += 1
                try:
                    await network.handler(self.peer_id, channel, body)
                except ProtocolError:
                    raise
                except LedgerError as exc:
                    network.refused += 1
                    log.info("from %s (%s): %s", self.peer_id, channel.name, exc.message)
                except Exception:
                    log.exception("handling a frame from %s", self.peer_id)
        except ProtocolError as exc:
            log.warning("link to %s closed: %s", self.peer_id, exc)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        finally:
            self.close()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        with contextlib.suppress(Exception):
            self.writer.close()
        self.network._forget(self)


class P2PNetwork:
    def __init__(
        self,
        *,
        chain_id: str,
        node_id: str,
        signer: Signer,
        peers: Mapping[str, tuple[str, int]],
        listen: tuple[str, int],
        public_key: Callable[[str], str | None],
        handler: Handler,
        limits: P2PLimits,
        on_link: Callable[[str], None] = lambda peer_id: None,
    ) -> None:
        self.chain_id = chain_id
        self.node_id = node_id
        self.signer = signer
        self.peers = {k: v for k, v in peers.items() if k != node_id}
        self.listen = listen
        self.public_key = public_key
        self.handler = handler
        self.limits = limits
        self.on_link = on_link
        self.links: dict[str, Link] = {}
        self.seen: dict[str, int] = {}
        self.received = 0
        self.refused = 0
        self._server: asyncio.Server | None = None
        self._handshakes = asyncio.Semaphore(MAX_HANDSHAKES)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        host, port = self.listen
        self._server = await asyncio.start_server(self._accept, host, port, limit=2**16)
        for peer_id in sorted(self.peers):
            if self.node_id < peer_id:
                self._tasks.append(
                    asyncio.create_task(self._dial_loop(peer_id), name=f"p2p-dial-{peer_id}")
                )
        log.info("p2p listening on %s:%d; peers %s", host, port, ", ".join(sorted(self.peers)))

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for link in list(self.links.values()):
            link.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    # -- sending --------------------------------------------------------------------------

    @property
    def connected(self) -> list[str]:
        return sorted(self.links)

    def send(self, peer_id: str, channel: Channel, body: bytes) -> bool:
        link = self.links.get(peer_id)
        return link is not None and link.send(frame(channel, body))

    def broadcast(self, channel: Channel, body: bytes) -> int:
        data = frame(channel, body)
        return sum(1 for link in list(self.links.values()) if link.send(data))

    # -- links ----------------------------------------------------------------------------

    async def _dial_loop(self, peer_id: str) -> None:
        host, port = self.peers[peer_id]
        delay = self.limits.redial_min_s
        while not self._stopping:
            try:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(host, port, limit=2**16),
                    self.limits.handshake_timeout_s,
                )
            except (OSError, TimeoutError):
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.limits.redial_max_s)
                continue
            link = await self._establish(reader, writer, expected=peer_id)
            if link is None:
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.limits.redial_max_s)
                continue
            delay = self.limits.redial_min_s
            await link.closed.wait()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._handshakes.locked():  # too many strangers at once
            writer.close()
            return
        async with self._handshakes:
            await self._establish(reader, writer, expected=None)

    async def _establish(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expected: str | None
    ) -> Link | None:
        try:
            peer_id = await asyncio.wait_for(
                self._handshake(reader, writer, expected), self.limits.handshake_timeout_s
            )
        except (
            ProtocolError,
            LedgerError,
            TimeoutError,
            asyncio.IncompleteReadError,
            ConnectionError,
            OSError,
        ) as exc:
            if not isinstance(exc, asyncio.IncompleteReadError | ConnectionError):
                log.info("handshake with %s failed: %s", expected or "an inbound peer", exc)
            with contextlib.suppress(Exception):
                writer.close()
            return None
        if self._stopping:
            writer.close()
            return None
        old = self.links.get(peer_id)
        link = Link(self, peer_id, reader, writer, outbound=expected is not None)
        self.links[peer_id] = link
        if old is not None:
            old.close()
        link.start()
        log.info("linked with %s (%s)", peer_id, "outbound" if link.outbound else "inbound")
        try:
            self.on_link(peer_id)
        except Exception:
            log.exception("on_link(%s)", peer_id)
        return link

    def _forget(self, link: Link) -> None:
        if self.links.get(link.peer_id) is link:
            del self.links[link.peer_id]
            log.info("link with %s closed", link.peer_id)

    async def _read_handshake(self, reader: asyncio.StreamReader) -> dict[str, Any]:
        length, code = FRAME.unpack(await reader.readexactly(FRAME.size))
        if code != Channel.HANDSHAKE or length > HANDSHAKE_MAX_BYTES:
            raise ProtocolError("expected a handshake frame")
        value = parse_json(await reader.readexactly(length))
        if not isinstance(value, dict):
            raise ProtocolError("handshake: expected a JSON object")
        return value

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, expected: str | None
    ) -> str:
        nonce = os.urandom(16).hex()
        hello = {
            "type": "hello",
            "version": PROTOCOL_VERSION,
            "chain_id": self.chain_id,
            "validator": self.node_id,
            "nonce": nonce,
        }
        writer.write(frame(Channel.HANDSHAKE, encode_json(hello)))
        await writer.drain()
        theirs = await self._read_handshake(reader)
        if set(theirs) != set(hello) or theirs["type"] != "hello":
            raise ProtocolError("handshake: malformed hello")
        if theirs["version"] != PROTOCOL_VERSION or theirs["chain_id"] != self.chain_id:
            raise ProtocolError("handshake: another protocol version or chain")
        peer_id, peer_nonce = theirs["validator"], theirs["nonce"]
        if not isinstance(peer_id, str) or not isinstance(peer_nonce, str):
            raise ProtocolError("handshake: malformed hello")
        if len(peer_nonce) != 32 or peer_id == self.node_id:
            raise ProtocolError("handshake: bad nonce or own id")
        if expected is not None and peer_id != expected:
            raise ProtocolError(f"handshake: expected {expected}, found {peer_id}")
        public_key = self.public_key(peer_id)
        if public_key is None or peer_id not in self.peers:
            raise ProtocolError(f"handshake: {peer_id!r} is not a configured validator")
        signature = self.signer.sign(auth_bytes(self.chain_id, self.node_id, peer_id, peer_nonce))
        writer.write(
            frame(Channel.HANDSHAKE, encode_json({"type": "auth", "signature": signature}))
        )
        await writer.drain()
        auth = await self._read_handshake(reader)
        if set(auth) != {"type", "signature"} or auth["type"] != "auth":
            raise ProtocolError("handshake: malformed auth")
        try:
            PublicKey(public_key).verify(
                str(auth["signature"]), auth_bytes(self.chain_id, peer_id, self.node_id, nonce)
            )
        except (InvalidSignature, MalformedData) as exc:
            raise ProtocolError(f"handshake: {peer_id}'s signature does not verify") from exc
        return str(peer_id)
