"""Transaction gossip: transactions admitted here go to every peer in batches, and batches
from peers go through the node's admission (``submit(gossip=False)``: every validator is
linked to every other, so nothing is relayed further)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from consensus import metrics
from consensus.bft.config import BftApplication, BftConfig
from consensus.bft.types import LARGE_FRAME, json_bytes
from consensus.p2p import Channel, P2PNetwork
from consensus.value import same_json
from ledger.canonical import parse_json
from ledger.errors import LedgerError, MalformedData
from ledger.model import SignedTransaction

log = logging.getLogger("ledger.consensus")

MEMPOOL_ON_LINK = 20_000  # pending transactions offered to a peer when its link comes up
KNOWN_TXS = 50_000  # admitted transactions kept by signature, for decoding proposals
TX_IN_FRAMES = 256  # gossip batches waiting for admission (a burst from three peers) ...
TX_IN_BYTES = 64 * 1024 * 1024  # ... and their bytes


class TxGossip:
    def __init__(self, app: BftApplication, p2p: P2PNetwork, config: BftConfig) -> None:
        self.app = app
        self.p2p = p2p
        self.config = config
        # transactions admitted here (from clients or gossip), by signature: a proposal's
        # copies of them decode to these objects, their ids and leaf hashes already known
        self.known: dict[str, SignedTransaction] = {}
        self._out: list[SignedTransaction] = []
        self._flush: asyncio.TimerHandle | None = None
        self._in: asyncio.Queue[tuple[str, bytes, int]] = asyncio.Queue(TX_IN_FRAMES)
        self._in_bytes = 0
        self.received = 0  # gossip batches queued, numbered in arrival order
        self._admitted = 0  # the last one admitted (FIFO)
        self._admitted_event = asyncio.Event()

    def stop(self) -> None:
        if self._flush is not None:
            self._flush.cancel()

    def remember(self, txs: Sequence[SignedTransaction]) -> None:
        known = self.known
        for tx in txs:
            known[tx.signature] = tx
        for _ in range(len(known) - KNOWN_TXS):
            del known[next(iter(known))]

    def _holds(self, item: Any) -> bool:
        signature = item.get("signature") if isinstance(item, dict) else None
        held = self.known.get(signature) if isinstance(signature, str) else None
        return held is not None and same_json(item, held.to_wire())

    # -- out ------------------------------------------------------------------------------

    def on_admitted(self, txs: list[SignedTransaction]) -> None:
        if not self.p2p.peers:
            return
        self.remember(txs)
        self._out.extend(txs)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().call_later(0.01, self._send_pending)

    def flush(self) -> None:
        """Send the transactions waiting for the next batch now (before a proposal that may
        hold them: same links, in order, so that peers admit them from gossip first and
        verify each only once)."""
        if self._flush is not None:
            self._flush.cancel()
            self._send_pending()

    def _send_pending(self) -> None:
        self._flush = None
        txs, self._out = self._out, []
        for body in self._batches(txs):
            self.p2p.broadcast(Channel.TXS, body)

    def _batches(self, txs: Sequence[SignedTransaction]) -> list[bytes]:
        limit = min(self.config.max_frame_bytes // 2, 4 * 1024 * 1024)
        bodies: list[bytes] = []
        batch: list[dict[str, Any]] = []
        size = 0
        for tx in txs:
            if batch and (size + len(tx.leaf) > limit or len(batch) >= self.config.max_gossip_txs):
                bodies.append(json_bytes({"transactions": batch}))
                batch, size = [], 0
            batch.append(tx.to_wire())
            size += len(tx.leaf) + 16
        if batch:
            bodies.append(json_bytes({"transactions": batch}))
        return bodies

    def on_link(self, peer: str) -> None:
        """A (re)linked peer may have missed gossip: offer it what is pending here."""
        pending = self.app.reap(MEMPOOL_ON_LINK)
        if pending:
            for body in self._batches(pending):
                self.p2p.send(peer, Channel.TXS, body)

    # -- in -------------------------------------------------------------------------------

    def receive(self, peer: str, body: bytes) -> None:
        """Queue a batch from a peer for admission (dropped if too much is waiting)."""
        if self._in_bytes + len(body) > TX_IN_BYTES:
            metrics.DROPPED.labels("tx_batch").inc()
            return
        try:
            self._in.put_nowait((peer, body, self.received + 1))
            self.received += 1
            self._in_bytes += len(body)
        except asyncio.QueueFull:
            metrics.DROPPED.labels("tx_batch").inc()

    async def run(self) -> None:
        while True:
            peer, body, seq = await self._in.get()
            self._in_bytes -= len(body)
            try:
                value = (
                    await asyncio.to_thread(parse_json, body)
                    if len(body) > LARGE_FRAME
                    else parse_json(body)
                )
                if (
                    not isinstance(value, dict)
                    or set(value) != {"transactions"}
                    or not isinstance(value["transactions"], list)
                    or len(value["transactions"]) > self.config.max_gossip_txs
                ):
                    raise MalformedData("txs: expected {transactions: [...]} within the limit")
                # a transaction held here already (admitted, or verified in a proposal that
                # a slow gossip batch trails) is not verified again
                fresh = [item for item in value["transactions"] if not self._holds(item)]
                if not fresh:
                    continue
                result = await self.app.submit(fresh, gossip=False)
                mempool = self.app.mempool
                self.remember([mempool[i] for i in result.accepted if i in mempool])
            except LedgerError as exc:
                log.info("gossiped transactions from %s: %s", peer, exc.message)
            except Exception:
                log.exception("gossiped transactions from %s", peer)
            finally:
                self._admitted = seq
                self._admitted_event.set()

    async def admitted(self, upto: int, timeout: float = 2.0) -> None:
        """Wait (a little) until the gossiped transactions received up to ``upto`` are in
        the mempool: a proposer gossips its transactions before its proposal on the same
        link, so its block's signatures are then verified at admission only, not twice."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._admitted < upto:
            self._admitted_event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._admitted_event.wait(), remaining)
