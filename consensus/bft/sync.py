"""Catch-up: blocks fetched from a peer whose status shows a higher tip (``get_block`` on
the p2p link, the same JSON as ``GET /v1/blocks/{h}``), each checked with its certificate
and validated and stored exactly as a decided proposal is; and blocks served to peers."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from consensus import metrics
from consensus.bft.config import BftApplication, BftConfig
from consensus.bft.proposal import ProposalValidator
from consensus.bft.types import (
    LARGE_FRAME,
    EventQueue,
    Fetched,
    PeerStatus,
    PeerTable,
    int_field,
    json_bytes,
)
from consensus.p2p import Channel, P2PNetwork
from consensus.tendermint import Decide
from consensus.value import ProposedBlock
from ledger.block import BuiltBlock
from ledger.canonical import parse_json
from ledger.domains.validator.verify import verify_commit
from ledger.errors import LedgerError, MalformedData, NotFound
from ledger.model import CommitCertificate, Header

log = logging.getLogger("ledger.consensus")

SYNC_AFTER_S = 2.0


class SyncHost(Protocol):
    """What catch-up needs of the engine (``BftEngine``)."""

    halted: str | None
    stopping: bool
    last_decision: Decide[ProposedBlock] | None

    def stale_machine(self) -> bool: ...

    def maybe_start(self) -> None: ...

    async def store_block(self, built: BuiltBlock, certificate: CommitCertificate) -> None: ...

    def after_block(self) -> None: ...


class BlockSync:
    def __init__(
        self,
        app: BftApplication,
        p2p: P2PNetwork,
        config: BftConfig,
        *,
        host: SyncHost,
        queue: EventQueue,
        peers: PeerTable,
        proposals: ProposalValidator,
        decode_value: Callable[[Any], ProposedBlock],
    ) -> None:
        self.app = app
        self.p2p = p2p
        self.config = config
        self.host = host
        self.queue = queue
        self.peers = peers
        self.proposals = proposals
        self.decode_value = decode_value
        self.fetched = 0  # blocks stored from catch-up
        self._wanted = asyncio.Event()
        self._requests: dict[tuple[str, int], asyncio.Future[Any]] = {}
        self._behind: tuple[int, float] | None = None  # (our tip, since when) a peer leads

    def should_sync(self, peers: Mapping[str, PeerStatus]) -> bool:
        """Fetch blocks when a peer is two blocks ahead (or this node's machine is at a
        height already stored). One block behind, the decision's proposal and precommits
        (gossip) usually arrive first: fetch only if that lasts ``SYNC_AFTER_S``."""
        tip = self.app.tip.height
        lead = max((s.tip for s in peers.values()), default=tip) - tip
        if lead <= 0:
            self._behind = None
            return False
        if lead >= 2 or self.host.stale_machine():
            return True
        if self._behind is None or self._behind[0] != tip:
            self._behind = (tip, time.monotonic())
        return time.monotonic() - self._behind[1] > SYNC_AFTER_S

    def want(self) -> None:
        self._wanted.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        host = self.host
        while True:
            await self._wanted.wait()
            self._wanted.clear()
            while not host.stopping and not host.halted:
                tip = self.app.tip.height
                ahead = [
                    (s.tip, random.random(), p)
                    for p, s in self.peers.fresh().items()
                    if s.tip > tip and p in self.p2p.links
                ]
                if not ahead:
                    break
                _, _, peer = max(ahead)
                future: asyncio.Future[Any] = loop.create_future()
                self._requests[(peer, tip + 1)] = future
                self.p2p.send(
                    peer, Channel.CONTROL, json_bytes({"type": "get_block", "height": tip + 1})
                )
                try:
                    block = await asyncio.wait_for(future, self.config.sync_timeout_s)
                except TimeoutError:
                    log.info("peer %s did not send block %d", peer, tip + 1)
                    self.peers.distrust(peer, 5)
                    continue
                finally:
                    self._requests.pop((peer, tip + 1), None)
                if block is None:
                    self.peers.distrust(peer, 1)
                    continue
                done: asyncio.Future[bool] = loop.create_future()
                self.queue.put_nowait(Fetched(block, peer, done))
                if not await done:
                    self.peers.distrust(peer, 30)
            host.maybe_start()

    async def apply(self, value: Any, peer: str) -> bool:
        """Verify a block from a peer (certificate, then re-execution) and store it; on
        the driver task."""
        if not isinstance(value, dict) or set(value) != {"header", "commit", "transactions"}:
            raise MalformedData("block: expected {header, commit, transactions}")
        header = Header.from_wire(value["header"], "block.header")
        tip = self.app.tip
        if header.height != tip.height + 1:
            return header.height <= tip.height
        commit = CommitCertificate.from_wire(value["commit"], "block.commit")
        block = await asyncio.to_thread(
            self.decode_value, {"header": value["header"], "transactions": value["transactions"]}
        )
        try:
            verify_commit(commit, header, self.app.validators_for(header.height), step="catch-up")
        except LedgerError as exc:
            log.warning("block %d from %s: %s", header.height, peer, exc.message)
            metrics.INVALID_BLOCKS.inc()
            return False
        verdict = await self.proposals.built(block)
        if verdict.built is None:
            log.warning("block %d from %s is invalid: %s", header.height, peer, verdict.reason)
            metrics.INVALID_BLOCKS.inc()
            return False
        await self.host.store_block(verdict.built, commit)
        self.fetched += 1
        metrics.SYNCED.inc()
        self.host.last_decision = None
        log.info("caught up block %d from %s", header.height, peer)
        self.host.after_block()
        return True

    # -- frames from peers ----------------------------------------------------------------

    async def serve_block(self, peer: str, obj: Mapping[str, Any]) -> None:
        if set(obj) != {"type", "height"}:
            raise MalformedData("get_block: wrong fields")
        height = int_field(obj, "height", 1)
        block: dict[str, Any] | None
        if height > self.app.tip.height:
            block = None
        else:
            try:
                block = await asyncio.to_thread(self.app.block, height)
            except NotFound:
                block = None
        body = await asyncio.to_thread(json_bytes, {"height": height, "block": block})
        self.p2p.send(peer, Channel.BLOCK, body)

    async def on_block(self, peer: str, body: bytes) -> None:
        value = (
            await asyncio.to_thread(parse_json, body)
            if len(body) > LARGE_FRAME
            else parse_json(body)
        )
        if not isinstance(value, dict) or set(value) != {"height", "block"}:
            raise MalformedData("block: expected {height, block}")
        height = int_field(value, "height", 1)
        future = self._requests.get((peer, height))
        if future is not None and not future.done():
            future.set_result(value["block"])
