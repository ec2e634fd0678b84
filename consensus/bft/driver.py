"""The driver: the one task that owns ``TendermintMachine``.

Every event (a peer's message, a timer, a built block, the start of a height, a block
fetched from a peer) goes through one queue, and the outputs of each event are executed
strictly in order before the next event is taken:

- ``Persist``: the record is written to the database (committed, fsynced on SQLite) before
  anything that follows it, in particular before the messages it covers leave the process;
  if it cannot be written the engine halts;
- ``Broadcast``: sent to every linked validator (and offered again by gossip);
- ``ScheduleTimeout``: an asyncio timer that queues the timeout;
- ``RequestValue``: reap the mempool and build the block (``Application.build`` with this
  validator's clock as the timestamp) in a worker thread, then queue ``on_value``;
- ``Decide``: store the block with the precommits as its commit certificate, then start the
  next height (after ``commit_wait_ms``, and once there is something to order).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from consensus import metrics
from consensus.bft.config import BftApplication
from consensus.bft.intake import ConsensusIntake
from consensus.bft.proposal import ProposalValidator, ProposerSchedule
from consensus.bft.record import SignedRecord
from consensus.bft.report import EngineReport
from consensus.bft.status_gossip import StatusGossip
from consensus.bft.sync import BlockSync
from consensus.bft.types import Event, EventQueue, Fetched, Received, StartHeight, Tick
from consensus.tendermint import (
    Broadcast,
    Decide,
    Evidence,
    Message,
    Output,
    Persist,
    Rejected,
    RequestValue,
    ScheduleTimeout,
    Step,
    TendermintMachine,
)
from consensus.value import ProposedBlock
from ledger.block import BuiltBlock
from ledger.errors import StorageError
from ledger.model import CommitCertificate

log = logging.getLogger("ledger.consensus")


class DriverHost(Protocol):
    """What the driver needs of the engine (``BftEngine``)."""

    halted: str | None
    last_decision: Decide[ProposedBlock] | None

    def active(self) -> bool: ...

    def stale_machine(self) -> bool: ...

    def halt(self, reason: str) -> None: ...

    def broadcast(self, message: Message[ProposedBlock]) -> None: ...

    async def store_block(self, built: BuiltBlock, certificate: CommitCertificate) -> None: ...

    def after_block(self) -> None: ...

    def update_metrics(self) -> None: ...


class Driver:
    def __init__(
        self,
        app: BftApplication,
        *,
        host: DriverHost,
        machine: TendermintMachine[ProposedBlock],
        queue: EventQueue,
        record: SignedRecord,
        priorities: ProposerSchedule,
        proposals: ProposalValidator,
        intake: ConsensusIntake,
        sync: BlockSync,
        status_gossip: StatusGossip,
        report: EngineReport,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
    ) -> None:
        self.app = app
        self.host = host
        self.machine = machine
        self.queue = queue
        self.record = record
        self.priorities = priorities
        self.proposals = proposals
        self.intake = intake
        self.sync = sync
        self.status_gossip = status_gossip
        self.report = report
        self.spawn = spawn
        self.start_queued = False  # a StartHeight is in the queue
        self._timers: list[asyncio.TimerHandle] = []

    def cancel_timers(self) -> None:
        for handle in self._timers:
            handle.cancel()

    async def run(self) -> None:
        while True:
            event = await self.queue.get()
            if self.host.halted:
                if isinstance(event, Fetched) and not event.done.done():
                    event.done.set_result(False)
                continue
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consensus event %s failed", type(event).__name__)
                if isinstance(event, Fetched) and not event.done.done():
                    event.done.set_result(False)
            self.host.update_metrics()

    async def _handle(self, event: Event) -> None:
        m, host = self.machine, self.host
        if isinstance(event, Fetched):
            ok = await self.sync.apply(event.block, event.peer)
            if not event.done.done():
                event.done.set_result(ok)
            return
        if isinstance(event, StartHeight):
            self.start_queued = False
            await self._start_height(event.height)
            return
        if isinstance(event, Received) and not host.active():
            # the next height has not started here yet: keep its messages until it does
            self.intake.hold_early(event.message)
            return
        if host.stale_machine():
            return  # timers of a height already fetched from peers
        if (
            isinstance(event, Tick)
            and event.timeout.step is Step.PROPOSE
            # timeoutPropose waits for the round's proposal being validated: a timeout
            # only serves liveness, and a proposal that arrived in time should not lose
            # its round to the time its transactions take to verify
            and (self.intake.defer(event) or self.proposals.defer(event))
        ):
            return
        if isinstance(event, Received):
            outputs = m.receive(event.message)
        elif isinstance(event, Tick):
            outputs = m.on_timeout(event.timeout)
        else:
            outputs = m.on_value(event.height, event.round, event.block)
        await self._execute(outputs)

    async def _execute(self, outputs: list[Output[ProposedBlock]]) -> None:
        loop = asyncio.get_running_loop()
        host = self.host
        for out in outputs:
            if host.halted:
                return
            if isinstance(out, Persist):
                try:
                    await self.record.persist(out.state)
                except (StorageError, OSError) as exc:
                    host.halt(f"cannot write the consensus record: {exc}")
                    raise
            elif isinstance(out, Broadcast):
                host.broadcast(out.message)
            elif isinstance(out, ScheduleTimeout):
                handle = loop.call_later(
                    out.delay_ms / 1000, self.queue.put_nowait, Tick(out.timeout)
                )
                self._timers.append(handle)
            elif isinstance(out, RequestValue):
                self.spawn(self.proposals.build(out.height, out.round), "bft-build")
            elif isinstance(out, Decide):
                await self._decide(out)
            elif isinstance(out, Evidence):
                self.report.on_evidence(out)
            elif isinstance(out, Rejected):
                self.report.on_rejected(out)

    async def _start_height(self, height: int) -> None:
        tip = self.app.tip
        if height != tip.height + 1 or self.machine.height >= height or self.host.halted:
            return
        self.cancel_timers()
        self._timers = []
        self.intake.new_height()
        self.status_gossip.new_height()
        self.proposals.new_height()
        validators = self.app.validators_for(height)
        priorities = self.priorities.at(height)
        record = self.record.last
        if record is not None and record.height == height:
            for block in self.record.blocks():
                if block.block_hash not in self.proposals.tip_verdicts():
                    verdict = await self.proposals.prevalidate(block)
                    self.proposals.put(tip.block_hash, block.block_hash, verdict)
            log.info("restoring height %d round %d from the record", height, record.round)
            outputs = self.machine.restore(record, validators, priorities)
        else:
            outputs = self.machine.start_height(height, validators, priorities)
        await self._execute(outputs)
        for message in self.intake.take_early():
            if message.height == height and self.host.active():
                await self._execute(self.machine.receive(message))

    async def _decide(self, decision: Decide[ProposedBlock]) -> None:
        host = self.host
        host.last_decision = decision
        metrics.DECIDED_ROUND.observe(decision.round)
        if decision.height <= self.app.tip.height:
            return  # fetched from a peer meanwhile
        verdict = await self.proposals.built(decision.value)
        if verdict.built is None:
            host.halt(f"decided block {decision.height} does not re-build: {verdict.reason}")
            return
        await host.store_block(verdict.built, decision.certificate)
        log.debug(
            "decided %d round %d: %d txs, signed by %s",
            decision.height,
            decision.round,
            decision.value.header.tx_count,
            ",".join(s.validator for s in decision.certificate.signatures),
        )
        host.after_block()
