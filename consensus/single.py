"""The single-validator engine: batch every ``block_interval_ms`` or ``max_block_txs``.

``BlockSchedule`` is the deterministic core (no clock, no I/O): given the time, the number
of pending transactions and when the last block was made, it says build now or wait until
when. ``SingleValidatorEngine`` drives it with an injected clock on asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from consensus.engine import Application, ConsensusEngine
from keys import Signer
from ledger.block import BuiltBlock
from ledger.domains.validator.state import certifies_alone
from ledger.errors import LedgerError, OperationFailed
from ledger.model import CommitCertificate, CommitSignature, SignedTransaction, commit_vote

log = logging.getLogger("ledger.consensus")


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class BlockSchedule:
    interval_ms: int
    max_txs: int

    def next_build(self, now_ms: int, pending: int, last_block_ms: int) -> int | None:
        """The time to build the next block (``<= now_ms``: build now); None: nothing to do."""
        if pending == 0:
            return None
        if pending >= self.max_txs:
            return now_ms
        return max(now_ms, last_block_ms + self.interval_ms)


class SingleValidatorEngine(ConsensusEngine):
    def __init__(
        self,
        app: Application,
        validator_id: str,
        signer: Signer,
        schedule: BlockSchedule,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.app = app
        self.validator_id = validator_id
        self.signer = signer
        self.schedule = schedule
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_block_ms = clock()
        self.last_error: str | None = None
        self._stopping = False

    def certify(self, height: int, block_hash: str, chain_id: str) -> CommitCertificate:
        vote = commit_vote(chain_id, height, 0, block_hash)
        signature = self.signer.sign(vote)
        return CommitCertificate(
            height, 0, block_hash, (CommitSignature(self.validator_id, signature),)
        )

    def check_power(self, height: int) -> None:
        """A set change may leave this validator without more than 2/3 of the power: then
        one signature is no certificate, and the chain needs the BFT engine."""
        validators = self.app.validators_for(height)
        if not certifies_alone(validators, self.validator_id):
            me = validators.get(self.validator_id)
            raise OperationFailed(
                f"validator {self.validator_id} alone cannot certify height {height}: its "
                f"power is {0 if me is None else me.power} of {validators.total_power}; "
                "run the validators of the new set with the BFT engine",
                code="needs_bft",
            )

    def produce_block(self, txs: list[SignedTransaction]) -> BuiltBlock:
        """Build, certify and store one block (runs in a worker thread)."""
        built = self.app.build(txs, self.clock(), self.validator_id)
        h = built.header
        self.check_power(h.height)
        certificate = self.certify(h.height, h.block_hash, h.chain_id)
        self.app.commit(built, certificate)
        return built

    async def _run(self) -> None:
        while True:
            now = self.clock()
            pending = self.app.pending_count()
            if self._stopping:
                if pending == 0:
                    return
                at: int | None = now
            else:
                at = self.schedule.next_build(now, pending, self._last_block_ms)
            if at is None or at > now:
                self._wake.clear()
                timeout = None if at is None else (at - now) / 1000
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout)
                continue
            try:
                txs = self.app.reap(self.schedule.max_txs)
                built = await asyncio.to_thread(self.produce_block, txs)
                self.app.committed(built)
                self.last_error = None
            except LedgerError as exc:
                self.last_error = exc.message
                log.error("block production failed: %s", exc.message)
                if self._stopping:
                    return
                await asyncio.sleep(self.schedule.interval_ms / 1000)
            self._last_block_ms = self.clock()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="single-validator-engine")

    async def stop(self, drain_timeout: float = 30.0) -> None:
        """Put what is pending into blocks, then stop (a graceful shutdown loses nothing)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), drain_timeout)
        except TimeoutError:
            log.error("pending transactions not drained within %.0f s", drain_timeout)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    def notify_pending(self) -> None:
        self._wake.set()

    @property
    def status(self) -> dict[str, object]:
        return {
            "engine": "single-validator",
            "validator": self.validator_id,
            "round": 0,
            "last_error": self.last_error,
        }
