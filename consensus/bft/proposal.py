"""``valid(v)`` for the machine: a proposal reaches it only once its block is validated.

The proposal's signature and proposer are checked first (cheap); then the transactions'
signatures in the node's worker pool, and the block is re-built from them with the
proposer's timestamp through ``ledger.block.build_block``: the header must come out
identical with no transaction rejected. The verdict is kept per block hash for the current
tip. At ``valid`` time the timestamp must also be later than the previous block's and at
most ``max_clock_drift_ms`` ahead of this validator's clock (monotone: a block once valid
stays valid)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from typing import Any

from consensus import metrics
from consensus.bft.config import BftApplication, BftConfig
from consensus.bft.tx_gossip import TxGossip
from consensus.bft.types import Built, EventQueue, MessageKey, Received, Tick, Verdict
from consensus.tendermint import Proposal, ProposerPriorities, sm2_verify
from consensus.value import ProposedBlock
from ledger.block import BuiltBlock
from ledger.errors import LedgerError, TooLarge

log = logging.getLogger("ledger.consensus")


class CachedVerifier:
    """SM2 verification with positive verdicts remembered (a proposal's signature is checked
    before its block is validated; the machine then asks again and gets the answer here)."""

    def __init__(self, size: int = 20_000) -> None:
        self.size = size
        self._ok: OrderedDict[tuple[str, bytes, str], None] = OrderedDict()

    def __call__(self, public_key: str, message: bytes, signature: str) -> bool:
        key = (public_key, message, signature)
        if key in self._ok:
            return True
        if not sm2_verify(public_key, message, signature):
            return False
        self._ok[key] = None
        if len(self._ok) > self.size:
            self._ok.popitem(last=False)
        return True


class ProposerSchedule:
    """Proposer priorities of each height, replayed from height 1 (cached forward)."""

    def __init__(self, app: BftApplication) -> None:
        self.app = app
        self._cached: tuple[int, ProposerPriorities] | None = None

    def at(self, height: int) -> ProposerPriorities:
        cached = self._cached
        if cached is None or cached[0] > height:
            cached = (1, ProposerPriorities.initial(self.app.validators_for(1)))
        h, prio = cached
        while h < height:
            h += 1
            validators = self.app.validators_for(h)
            prio = (
                prio.next_height()
                if validators == prio.validators
                else prio.with_validators(validators)
            )
        self._cached = (h, prio)
        return prio


class ProposalValidator:
    def __init__(
        self,
        app: BftApplication,
        config: BftConfig,
        *,
        validator_id: str,
        txs: TxGossip,
        queue: EventQueue,
        state_lock: asyncio.Lock,
        priorities: ProposerSchedule,
        proposals_per_round: int,
        spawn: Callable[[Coroutine[Any, Any, None], str], None],
        clock: Callable[[], int],
    ) -> None:
        self.app = app
        self.config = config
        self.validator_id = validator_id
        self.chain_id = app.genesis.chain_id
        self.txs = txs
        self.queue = queue
        self.state_lock = state_lock
        self.priorities = priorities
        self.proposals_per_round = proposals_per_round
        self.spawn = spawn
        self.clock = clock
        self.verifier = CachedVerifier()
        self.invalid = 0  # proposed blocks found invalid
        # validation verdicts for blocks on the current tip, by block hash
        self._verdicts: dict[str, Verdict] = {}
        self._verdicts_tip = ""
        self._validating: dict[str, list[Proposal[ProposedBlock]]] = {}
        self._deferred: dict[str, list[Tick]] = {}  # timeoutPropose waiting for a verdict
        self._budget: dict[tuple[int, int], int] = {}  # blocks validated per (height, round)

    # -- verdicts -------------------------------------------------------------------------

    def tip_verdicts(self) -> dict[str, Verdict]:
        """The verdicts on the current tip (emptied when the tip moves)."""
        tip = self.app.tip.block_hash
        if self._verdicts_tip != tip:
            self._verdicts = {}
            self._verdicts_tip = tip
        return self._verdicts

    def put(self, tip_hash: str, block_hash: str, verdict: Verdict) -> None:
        if tip_hash == self.app.tip.block_hash:
            self.tip_verdicts()[block_hash] = verdict

    async def built(self, block: ProposedBlock) -> Verdict:
        """The block's verdict with the block as built here, validating it if needed."""
        verdict = self.tip_verdicts().get(block.block_hash)
        if verdict is None or verdict.built is None:
            verdict = await self.prevalidate(block)
        return verdict

    def valid(self, height: int, block: ProposedBlock) -> bool:
        """The machine's ``valid(v)``."""
        verdict = self.tip_verdicts().get(block.block_hash)
        if verdict is None or not verdict.ok:
            return False
        tip = self.app.tip
        header = block.header
        if height != tip.height + 1 or header.prev_hash != tip.block_hash:
            return False
        if header.timestamp <= tip.timestamp:
            return False
        return header.timestamp <= self.clock() + self.config.max_clock_drift_ms

    async def build(self, height: int, round_: int) -> None:
        """Build this validator's block for ``(height, round_)`` (``RequestValue``): reap
        the mempool, build with this validator's clock, queue it for the machine."""
        app, cfg = self.app, self.config
        async with self.state_lock:
            tip = app.tip
            if tip.height + 1 != height:
                return
            txs = app.reap(cfg.max_block_txs, cfg.max_block_bytes)
            built = await asyncio.to_thread(app.build, txs, self.clock(), self.validator_id)
        block = ProposedBlock(built.header, tuple(built.transactions))
        self.put(tip.block_hash, block.block_hash, Verdict(True, built))
        self.queue.put_nowait(Built(height, round_, block))

    # -- peers' proposals on their way to the machine -------------------------------------

    def on_proposal(self, proposal: Proposal[ProposedBlock]) -> None:
        """Validate the block (once per hash) before the machine sees the proposal."""
        tip = self.app.tip
        if proposal.chain_id != self.chain_id or proposal.height != tip.height + 1:
            return  # another height: gossip or catch-up deals with it
        block_hash = proposal.block_hash
        if block_hash in self.tip_verdicts():
            self.queue.put_nowait(Received(proposal))
            return
        waiting = self._validating.get(block_hash)
        if waiting is not None:
            if len(waiting) < 8:
                waiting.append(proposal)
            return
        # cheap checks before the expensive validation (the machine repeats them)
        validators = self.app.validators_for(proposal.height)
        member = validators.get(proposal.proposer)
        if member is None or proposal.value.block_hash != block_hash:
            metrics.REJECTED.inc()
            return
        if proposal.proposer != self.priorities.at(proposal.height).proposer(proposal.round):
            metrics.REJECTED.inc()
            return
        if not self.verifier(member.public_key, proposal.signing_bytes, proposal.signature):
            metrics.REJECTED.inc()
            return
        slot = (proposal.height, proposal.round)
        if self._budget.get(slot, 0) >= self.proposals_per_round:
            metrics.DROPPED.labels("proposal").inc()
            return
        self._budget[slot] = self._budget.get(slot, 0) + 1
        self._validating[block_hash] = [proposal]
        self.spawn(self._validate(proposal.value, self.txs.received), "bft-validate")

    def holds(self, key: tuple[Any, ...]) -> bool:
        """A proposal with this key is being validated."""
        return any(p.key == key for ps in self._validating.values() for p in ps)

    def validating_keys(self) -> list[MessageKey]:
        return [p.key for ps in self._validating.values() for p in ps]

    def defer(self, tick: Tick) -> bool:
        """Hold a ``timeoutPropose`` until its round's proposal, being validated, has reached
        the machine; False if no proposal of that round is being validated."""
        t = tick.timeout
        for block_hash, proposals in self._validating.items():
            if any(p.height == t.height and p.round == t.round for p in proposals):
                self._deferred.setdefault(block_hash, []).append(tick)
                return True
        return False

    def new_height(self) -> None:
        self._budget.clear()

    async def _validate(self, block: ProposedBlock, gossip_upto: int) -> None:
        tip_hash = self.app.tip.block_hash
        try:
            verdict = await self.prevalidate(block, gossip_upto)
        except Exception as exc:  # a bug must not leave the proposal waiting forever
            log.exception("validating block %s", block.block_hash)
            verdict = Verdict(False, None, f"validation failed: {exc!r}")
        if not verdict.ok:
            self.invalid += 1
            metrics.INVALID_BLOCKS.inc()
            log.warning("proposed block %s is invalid: %s", block.block_hash[:12], verdict.reason)
        if verdict.ok:
            self.txs.remember(block.transactions)  # every signature verified
        if not verdict.tip_moved:
            self.put(tip_hash, block.block_hash, verdict)
        for proposal in self._validating.pop(block.block_hash, []):
            self.queue.put_nowait(Received(proposal))
        for tick in self._deferred.pop(block.block_hash, []):
            self.queue.put_nowait(tick)

    # -- validation -----------------------------------------------------------------------

    async def prevalidate(self, block: ProposedBlock, gossip_upto: int = 0) -> Verdict:
        """Signatures in the worker pool, then a re-build through ``build_block``."""
        app, cfg = self.app, self.config
        tip = app.tip
        header = block.header

        def fail(reason: str) -> Verdict:
            return Verdict(False, None, reason)

        if header.chain_id != self.chain_id:
            return fail("block of another chain")
        if header.height != tip.height + 1 or header.prev_hash != tip.block_hash:
            return fail(f"block {header.height} does not extend our tip {tip.height}")
        if header.timestamp <= tip.timestamp:
            return fail("timestamp is not later than the previous block's")
        if len(block.transactions) > cfg.max_block_txs:
            return fail(f"{len(block.transactions)} transactions, over {cfg.max_block_txs}")
        if app.validators_for(header.height).get(header.proposer) is None:
            return fail(f"proposer {header.proposer!r} is not a validator")
        await self.txs.admitted(gossip_upto)
        problem = await app.verify_block_signatures(block.transactions)
        if problem is not None:
            return fail(problem)
        async with self.state_lock:
            if app.tip.block_hash != tip.block_hash:
                return Verdict(False, None, "the tip moved during validation", tip_moved=True)
            try:
                built = await asyncio.to_thread(self._rebuild, block)
            except LedgerError as exc:
                return fail(exc.message)
        if built.rejected:
            tx, error = built.rejected[0]
            return fail(f"transaction {tx.tx_id} breaks the rules: {error.message}")
        if built.header != header:
            ours, theirs = built.header.to_wire(), header.to_wire()
            fields = sorted(k for k in ours if ours[k] != theirs[k])
            return fail(f"re-building the block gives another header ({', '.join(fields)})")
        return Verdict(True, built)

    def _rebuild(self, block: ProposedBlock) -> BuiltBlock:
        """In a worker thread, under the state lock: the size limit, then ``build``."""
        txs = block.transactions
        size = sum(len(tx.leaf) for tx in txs)
        if size > self.config.max_block_bytes and len(txs) > 1:
            raise TooLarge(f"{size} bytes of transactions, over {self.config.max_block_bytes}")
        header = block.header
        return self.app.build(list(txs), header.timestamp, header.proposer)
