"""``BftEngine``: the node's ``ConsensusEngine`` when there are several validators.

It builds the parts and is the hub they report to: it starts and stops them, routes the
frames of the p2p links, stores decided and fetched blocks, and starts each height on
demand. The parts: ``driver`` (the task that owns the machine), ``proposal`` (``valid(v)``
and this validator's blocks), ``intake`` (peers' consensus messages), ``sync``
(catch-up), ``status_gossip`` and ``tx_gossip``, ``record`` (the signed record), ``report``
(status and metrics).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

from consensus.bft.config import BftApplication, BftConfig, RecordStore, wall_clock_ms
from consensus.bft.driver import Driver
from consensus.bft.intake import ConsensusIntake
from consensus.bft.proposal import ProposalValidator, ProposerSchedule
from consensus.bft.record import LostRecordGuard, SignedRecord
from consensus.bft.report import EngineReport
from consensus.bft.status_gossip import StatusGossip
from consensus.bft.sync import BlockSync
from consensus.bft.tx_gossip import TxGossip
from consensus.bft.types import EventQueue, PeerTable, StartHeight, WireForms
from consensus.engine import ConsensusEngine
from consensus.p2p import Channel, P2PNetwork, ProtocolError
from consensus.tendermint import Decide, Limits, Message, Proposal, TendermintMachine
from consensus.value import ProposedBlock, decoder, value_id
from ledger.block import BuiltBlock
from ledger.canonical import parse_json
from ledger.crypto import Signer
from ledger.errors import StorageError
from ledger.model import CommitCertificate

log = logging.getLogger("ledger.consensus")


class BftEngine(ConsensusEngine):
    def __init__(
        self,
        app: BftApplication,
        *,
        validator_id: str,
        signer: Signer,
        records: RecordStore,
        peers: Mapping[str, tuple[str, int]],
        listen: tuple[str, int],
        config: BftConfig | None = None,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.app = app
        self.validator_id = validator_id
        self.signer = signer
        self.config = cfg = config or BftConfig()
        self.chain_id = app.genesis.chain_id
        self.p2p = P2PNetwork(
            chain_id=self.chain_id,
            node_id=validator_id,
            signer=signer,
            peers=peers,
            listen=listen,
            public_key=app.validator_public_key,
            handler=self._on_frame,
            on_link=self._on_link,
            limits=cfg.p2p_limits,
        )
        queue: EventQueue = asyncio.Queue()
        self._queue = queue
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[Any]] = set()
        self._state_lock = asyncio.Lock()
        self.stopping = False
        self.halted: str | None = None
        self.last_error: str | None = None
        self.last_decision: Decide[ProposedBlock] | None = None
        self._not_before = 0.0  # the next height starts after commit_wait_ms
        self.encode = WireForms()
        # the parts
        self.txs = TxGossip(app, self.p2p, cfg)
        decode_value = decoder(cfg.max_block_txs, self.txs.known.get)
        self.record = SignedRecord(records, validator_id, decode_value)
        self._lost_record = LostRecordGuard(validator_id)
        self.priorities = ProposerSchedule(app)
        limits = Limits()
        self.proposals = ProposalValidator(
            app,
            cfg,
            validator_id=validator_id,
            txs=self.txs,
            queue=queue,
            state_lock=self._state_lock,
            priorities=self.priorities,
            proposals_per_round=limits.proposals_per_round,
            spawn=self._spawn,
            clock=clock,
        )
        self.machine: TendermintMachine[ProposedBlock] = TendermintMachine(
            chain_id=self.chain_id,
            validator_id=validator_id,
            signer=signer,
            value_id=value_id,
            valid=self.proposals.valid,
            timeouts=cfg.timeouts,
            verifier=self.proposals.verifier,
            limits=limits,
        )
        self.intake = ConsensusIntake(
            app,
            cfg,
            machine=self.machine,
            queue=queue,
            proposals=self.proposals,
            txs=self.txs,
            decode_value=decode_value,
        )
        self.peers = PeerTable()
        self.sync = BlockSync(
            app,
            self.p2p,
            cfg,
            host=self,
            queue=queue,
            peers=self.peers,
            proposals=self.proposals,
            decode_value=decode_value,
        )
        self.status_gossip = StatusGossip(
            app,
            self.p2p,
            cfg,
            host=self,
            machine=self.machine,
            peers=self.peers,
            proposals=self.proposals,
            sync=self.sync,
            encode=self.encode,
        )
        self.report = EngineReport(
            validator_id,
            app,
            machine=self.machine,
            p2p=self.p2p,
            proposals=self.proposals,
            sync=self.sync,
        )
        self.driver = Driver(
            app,
            host=self,
            machine=self.machine,
            queue=queue,
            record=self.record,
            priorities=self.priorities,
            proposals=self.proposals,
            intake=self.intake,
            sync=self.sync,
            status_gossip=self.status_gossip,
            report=self.report,
            spawn=self._spawn,
        )

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self.stopping = False
        self.app.on_admitted = self.txs.on_admitted
        self.report.last_commit = self.app.tip_commit
        self.record.load()
        if self.record.last is None:
            self._lost_record.arm()
        await self.p2p.start()
        self._tasks = [
            asyncio.create_task(self.driver.run(), name="bft-driver"),
            asyncio.create_task(self.status_gossip.run(), name="bft-gossip"),
            asyncio.create_task(self.sync.run(), name="bft-sync"),
            asyncio.create_task(self.txs.run(), name="bft-tx-gossip"),
        ]
        self.update_metrics()
        self.maybe_start()
        log.info(
            "BFT validator %s at height %d; peers %s",
            self.validator_id,
            self.app.tip.height,
            ", ".join(sorted(self.p2p.peers)),
        )

    async def stop(self) -> None:
        self.stopping = True
        self.driver.cancel_timers()
        self.txs.stop()
        for task in [*self._tasks, *self._spawned]:
            task.cancel()
        for task in [*self._tasks, *self._spawned]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.p2p.stop()

    def notify_pending(self) -> None:
        self.maybe_start()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    def halt(self, reason: str) -> None:
        """Stop taking part (a record could not be written): never send what is not on disk."""
        log.critical("consensus halted: %s", reason)
        self.halted = reason
        self.last_error = reason
        self.driver.cancel_timers()

    def stale_machine(self) -> bool:
        """The machine is at a height already stored (fetched from peers meanwhile)."""
        return self.machine.height <= self.app.tip.height and self.machine.decision is None

    def active(self) -> bool:
        m = self.machine
        return m.height == self.app.tip.height + 1 and m.decision is None

    # -- frames from peers ----------------------------------------------------------------

    async def _on_frame(self, peer: str, channel: Channel, body: bytes) -> None:
        if channel is Channel.CONSENSUS:
            await self.intake.on_frame(body)
        elif channel is Channel.TXS:
            self.txs.receive(peer, body)
        elif channel is Channel.BLOCK:
            await self.sync.on_block(peer, body)
        elif channel is Channel.CONTROL:
            obj = parse_json(body)
            if not isinstance(obj, dict):
                raise ProtocolError("control frames are JSON objects")
            kind = obj.get("type")
            if kind == "status":
                self.status_gossip.on_status(peer, obj)
            elif kind == "get_block":
                await self.sync.serve_block(peer, obj)
            else:
                raise ProtocolError(f"unknown control message {kind!r}")

    def _on_link(self, peer: str) -> None:
        self.txs.on_link(peer)

    # -- messages this validator signed ---------------------------------------------------

    def broadcast(self, message: Message[ProposedBlock]) -> None:
        if isinstance(message, Proposal):
            # the block may hold transactions admitted since the last gossip flush
            self.txs.flush()
        self._send_consensus(message)

    def _send_consensus(self, message: Message[ProposedBlock]) -> None:
        """Send to every linked validator (tests override this to make one Byzantine)."""
        self.p2p.broadcast(Channel.CONSENSUS, self.encode(message))

    # -- blocks and heights ---------------------------------------------------------------

    async def store_block(self, built: BuiltBlock, certificate: CommitCertificate) -> None:
        """Store a decided or fetched block, retrying while the database refuses."""
        delay = 0.2
        while True:
            try:
                async with self._state_lock:
                    await asyncio.to_thread(self.app.commit, built, certificate)
                    self.app.committed(built)
                break
            except StorageError as exc:
                if self.stopping:
                    raise
                self.last_error = exc.message
                log.error("storing block %d failed, retrying: %s", built.header.height, exc.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.last_error = None
        self.report.last_commit = certificate
        self.proposals.tip_verdicts()
        self.intake.release_ahead()

    def after_block(self) -> None:
        wait = self.config.commit_wait_ms / 1000
        self._not_before = time.monotonic() + wait
        asyncio.get_running_loop().call_later(wait, self.maybe_start)

    def maybe_start(self) -> None:
        """Start the next height when there is something to order (or a peer is at it)."""
        if self.stopping or self.halted or self.driver.start_queued:
            return
        tip = self.app.tip.height
        if self.machine.height > tip or time.monotonic() < self._not_before:
            return
        peers = self.peers.fresh()
        if self.sync.should_sync(peers):
            self.sync.want()
            return
        if not self._lost_record.allows(tip + 1, peers, self.p2p.links):
            return
        record = self.record.last
        if not (
            (record is not None and record.height == tip + 1)
            or self.config.empty_blocks
            or self.app.pending_count() > 0
            or any(s.active and s.height == tip + 1 for s in peers.values())
        ):
            return
        self.driver.start_queued = True
        self._queue.put_nowait(StartHeight(tip + 1))

    # -- status ---------------------------------------------------------------------------

    def update_metrics(self) -> None:
        self.report.update_metrics(self.active())

    @property
    def status(self) -> dict[str, object]:
        return self.report.status(
            active=self.active(), halted=self.halted, last_error=self.last_error
        )
