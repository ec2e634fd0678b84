"""The BFT engine: ``TendermintMachine`` driven on asyncio, over authenticated TCP links.

One task (the *driver*) owns the machine: every event (a peer's message, a timer, a built
block, the start of a height, a block fetched from a peer) goes through one queue, and the
outputs of each event are executed strictly in order before the next event is taken:

- ``Persist``: the record is written to the database (committed, fsynced on SQLite) before
  anything that follows it, in particular before the messages it covers leave the process;
- ``Broadcast``: sent to every linked validator (and offered again by gossip);
- ``ScheduleTimeout``: an asyncio timer that queues the timeout;
- ``RequestValue``: reap the mempool and build the block (``Application.build`` with this
  validator's clock as the timestamp) in a worker thread, then queue ``on_value``;
- ``Decide``: store the block with the precommits as its commit certificate, then start the
  next height (after ``commit_wait_ms``, and once there is something to order).

``valid(block)`` is the ledger's: before a proposal reaches the machine, its transactions'
signatures are verified in the node's worker pool and the block is re-built from them with
the proposer's timestamp through ``ledger.block.build_block``; the header must come out
identical with no transaction rejected. At ``valid`` time the timestamp must also be later
than the previous block's and at most ``max_clock_drift_ms`` ahead of this validator's
clock (monotone: a block once valid stays valid). docs/consensus.md, "The runtime".
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consensus import metrics
from consensus.engine import Application, ConsensusEngine
from consensus.p2p import Channel, P2PLimits, P2PNetwork, ProtocolError
from consensus.tendermint import (
    Broadcast,
    Decide,
    Evidence,
    LastSigned,
    Message,
    Output,
    Persist,
    Proposal,
    ProposerPriorities,
    Rejected,
    RequestValue,
    ScheduleTimeout,
    Step,
    TendermintMachine,
    Timeout,
    Timeouts,
    decode_message,
    message_from_wire,
    sm2_verify,
)
from consensus.tendermint.messages import MAX_VOTE_BYTES
from consensus.value import ProposedBlock, decoder, same_json, value_id
from ledger.block import BuiltBlock
from ledger.canonical import parse_json
from ledger.crypto import Signer
from ledger.domains.validator.verify import verify_commit
from ledger.errors import LedgerError, MalformedData, NotFound, StorageError, TooLarge
from ledger.model import CommitCertificate, Genesis, Header, SignedTransaction

log = logging.getLogger("ledger.consensus")

MessageKey = tuple[str, str, int, int, str | None, int]
MAX_HAVE = 4096
MAX_RESEND = 256
RESEND_AFTER_S = 1.0
RESEND_PROPOSAL_AFTER_S = 3.0
PEER_STATUS_TTL_S = 3.0
SYNC_AFTER_S = 2.0
BOOT_LISTEN_S = 3.0
MEMPOOL_ON_LINK = 20_000  # pending transactions offered to a peer when its link comes up
LARGE_FRAME = 256 * 1024
KNOWN_TXS = 50_000  # admitted transactions kept by signature, for decoding proposals
TX_IN_FRAMES = 256  # gossip batches waiting for admission (a burst from three peers) ...
TX_IN_BYTES = 64 * 1024 * 1024  # ... and their bytes


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def json_bytes(value: Any) -> bytes:
    """Compact JSON (the receiver parses strictly: no floats, no duplicate keys)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


class SubmitOutcome(Protocol):
    @property
    def accepted(self) -> list[str]: ...


class RecordStore(Protocol):
    def save_consensus_record(
        self,
        validator: str,
        height: int,
        record: bytes,
        values: Sequence[tuple[str, bytes]] = (),
    ) -> None: ...

    def consensus_record(self, validator: str) -> tuple[int, bytes, dict[str, bytes]] | None: ...


class BftApplication(Application, Protocol):
    """What the BFT engine needs of the node beyond ``Application`` (ledger.node.Node)."""

    @property
    def genesis(self) -> Genesis: ...

    @property
    def tip_commit(self) -> CommitCertificate: ...

    on_admitted: Callable[[list[SignedTransaction]], None]

    @property
    def mempool(self) -> Mapping[str, SignedTransaction]: ...

    def reap(self, max_txs: int, max_bytes: int | None = None) -> list[SignedTransaction]: ...

    async def verify_block_signatures(self, txs: Sequence[SignedTransaction]) -> str | None: ...

    async def submit(self, values: Sequence[Any], *, gossip: bool = True) -> Any: ...

    def block(self, height: int) -> dict[str, Any]: ...

    def validator_public_key(self, validator_id: str) -> str | None:
        """The key of a validator of any epoch: removed and pending validators keep their
        links, follow the chain by catch-up and vote again once a set includes them."""


@dataclass(frozen=True)
class BftConfig:
    timeouts: Timeouts = field(default_factory=Timeouts)
    commit_wait_ms: int = 50
    max_clock_drift_ms: int = 10_000
    gossip_ms: int = 200
    max_block_txs: int = 5000
    max_block_bytes: int = 8 * 1024 * 1024
    max_tx_bytes: int = 1024 * 1024
    max_gossip_txs: int = 10_000
    empty_blocks: bool = False
    # testing only (a demo consortium): "equivocate" makes this validator Byzantine: as
    # proposer it sends one block to half of its peers and another to the rest, and every
    # vote goes out with a conflicting twin. Its machine and record stay honest.
    byzantine: str | None = None
    sync_timeout_s: float = 10.0
    rate_bytes: int = 64 * 1024 * 1024
    rate_frames: int = 2000
    send_queue: int = 2000

    @property
    def max_frame_bytes(self) -> int:
        return max(self.max_block_bytes, self.max_tx_bytes) + 1024 * 1024

    @property
    def max_proposal_bytes(self) -> int:
        return self.max_block_bytes + 512 * 1024


@dataclass(frozen=True)
class Verdict:
    ok: bool
    built: BuiltBlock | None = None
    reason: str = ""


@dataclass(frozen=True)
class PeerStatus:
    tip: int
    height: int
    round: int
    active: bool
    have: frozenset[MessageKey]
    at: float


# --- driver events ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Msg:
    message: Message[ProposedBlock]


@dataclass(frozen=True)
class _Tick:
    timeout: Timeout


@dataclass(frozen=True)
class _Value:
    height: int
    round: int
    block: ProposedBlock


@dataclass(frozen=True)
class _Start:
    height: int


@dataclass(frozen=True)
class _Fetched:
    block: Any
    peer: str
    done: asyncio.Future[bool]


_Event = _Msg | _Tick | _Value | _Start | _Fetched


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


def _have_to_wire(keys: Sequence[MessageKey]) -> list[list[Any]]:
    return [[k[0], k[1], k[3], k[4], k[5]] for k in keys]


def _have_from_wire(value: Any, height: int) -> frozenset[MessageKey]:
    if not isinstance(value, list) or len(value) > MAX_HAVE:
        raise MalformedData(f"status.have: expected a list of at most {MAX_HAVE} entries")
    out: set[MessageKey] = set()
    for item in value:
        if not isinstance(item, list) or len(item) != 5:
            raise MalformedData("status.have: entries are [kind, sender, round, hash, vr]")
        kind, sender, round_, block_hash, vr = item
        if not (
            isinstance(kind, str)
            and isinstance(sender, str)
            and isinstance(round_, int)
            and (block_hash is None or isinstance(block_hash, str))
            and isinstance(vr, int)
        ):
            raise MalformedData("status.have: malformed entry")
        out.add((kind, sender, height, round_, block_hash, vr))
    return frozenset(out)


def _int_field(obj: Mapping[str, Any], key: str, minimum: int = -1) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < 2**53:
        raise MalformedData(f"{key}: expected an integer")
    return value


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
        self.records = records
        self.config = cfg = config or BftConfig()
        self.clock = clock
        self.chain_id = app.genesis.chain_id
        # transactions admitted here (from clients or gossip), by signature: a proposal's
        # copies of them decode to these objects, their ids and leaf hashes already known
        self._known: dict[str, SignedTransaction] = {}
        self._decode_value = decoder(cfg.max_block_txs, self._known.get)
        self._verifier = CachedVerifier()
        self.machine: TendermintMachine[ProposedBlock] = TendermintMachine(
            chain_id=self.chain_id,
            validator_id=validator_id,
            signer=signer,
            value_id=value_id,
            valid=self._valid,
            timeouts=cfg.timeouts,
            verifier=self._verifier,
        )
        self.p2p = P2PNetwork(
            chain_id=self.chain_id,
            node_id=validator_id,
            signer=signer,
            peers=peers,
            listen=listen,
            public_key=self._peer_key,
            handler=self._on_frame,
            on_link=self._on_link,
            limits=P2PLimits(
                max_frame_bytes=cfg.max_frame_bytes,
                rate_bytes=cfg.rate_bytes,
                rate_frames=cfg.rate_frames,
                send_queue=cfg.send_queue,
            ),
        )
        self._queue: asyncio.Queue[_Event] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._spawned: set[asyncio.Task[Any]] = set()
        self._timers: list[asyncio.TimerHandle] = []
        self._stopping = False
        self.halted: str | None = None
        self.last_error: str | None = None
        # validation verdicts for blocks on the current tip, by block hash
        self._verdicts: dict[str, Verdict] = {}
        self._verdicts_tip = ""
        self._validating: dict[str, list[Proposal[ProposedBlock]]] = {}
        self._deferred: dict[str, list[_Tick]] = {}
        self._decoding = 0  # large consensus frames (proposals) being decoded
        self._deferred_decoding: list[_Tick] = []
        self._waited_decoding: set[Timeout] = set()
        self._budget: dict[tuple[int, int], int] = {}
        self._state_lock = asyncio.Lock()
        # persistence
        self._record: LastSigned[ProposedBlock] | None = None
        self._written: set[tuple[int, str]] = set()
        # heights
        self._prio: tuple[int, ProposerPriorities] | None = None
        self._start_queued = False
        self._not_before = 0.0
        self._last_decision: Decide[ProposedBlock] | None = None
        self._last_commit: CommitCertificate | None = None
        # peers
        self._peers: dict[str, PeerStatus] = {}
        self._resent: dict[tuple[str, MessageKey], float] = {}
        self._encoded: OrderedDict[MessageKey, bytes] = OrderedDict()  # recent wire forms
        self._early: list[Message[ProposedBlock]] = []  # for the next height, before it starts
        self._ahead: list[Message[ProposedBlock]] = []  # for the height after the next
        self._sync_wanted = asyncio.Event()
        self._requests: dict[tuple[str, int], asyncio.Future[Any]] = {}
        self._distrust: dict[str, float] = {}
        self._behind: tuple[int, float] | None = None  # (our tip, since when) a peer leads
        # without a record at start (new or wiped database), first hear the peers: a height
        # they hold a message of ours for was signed before the record was lost
        self._boot_guard: float | None = None
        self._skip_upto = 0
        # transaction gossip
        self._tx_out: list[SignedTransaction] = []
        self._tx_flush: asyncio.TimerHandle | None = None
        self._tx_in: asyncio.Queue[tuple[str, bytes, int]] = asyncio.Queue(TX_IN_FRAMES)
        self._tx_in_bytes = 0
        self._tx_received = 0  # gossip batches queued, numbered in arrival order
        self._tx_admitted = 0  # the last one admitted (FIFO)
        self._tx_event = asyncio.Event()
        # counters
        self.rejected = 0
        self.evidence = 0
        self.invalid = 0
        self.fetched = 0

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        self._stopping = False
        self.app.on_admitted = self._on_admitted
        self._last_commit = self.app.tip_commit
        self._load_record()
        if self._record is None:
            self._boot_guard = time.monotonic() + BOOT_LISTEN_S
        await self.p2p.start()
        self._tasks = [
            asyncio.create_task(self._drive(), name="bft-driver"),
            asyncio.create_task(self._gossip_loop(), name="bft-gossip"),
            asyncio.create_task(self._sync_loop(), name="bft-sync"),
            asyncio.create_task(self._tx_loop(), name="bft-tx-gossip"),
        ]
        self._update_metrics()
        self._maybe_start()
        log.info(
            "BFT validator %s at height %d; peers %s",
            self.validator_id,
            self.app.tip.height,
            ", ".join(sorted(self.p2p.peers)),
        )

    async def stop(self) -> None:
        self._stopping = True
        for handle in self._timers:
            handle.cancel()
        if self._tx_flush is not None:
            self._tx_flush.cancel()
        for task in [*self._tasks, *self._spawned]:
            task.cancel()
        for task in [*self._tasks, *self._spawned]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self.p2p.stop()

    def notify_pending(self) -> None:
        self._maybe_start()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    def _halt(self, reason: str) -> None:
        """Stop taking part (a record could not be written): never send what is not on disk."""
        log.critical("consensus halted: %s", reason)
        self.halted = reason
        self.last_error = reason
        for handle in self._timers:
            handle.cancel()

    # -- helpers --------------------------------------------------------------------------

    def _peer_key(self, peer_id: str) -> str | None:
        return self.app.validator_public_key(peer_id)

    def _priorities_for(self, height: int) -> ProposerPriorities:
        """Proposer priorities of ``height``, replayed from height 1 (cached forward)."""
        cached = self._prio
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
        self._prio = (h, prio)
        return prio

    def _tip_verdicts(self) -> dict[str, Verdict]:
        tip = self.app.tip.block_hash
        if self._verdicts_tip != tip:
            self._verdicts = {}
            self._verdicts_tip = tip
        return self._verdicts

    def _put_verdict(self, tip_hash: str, block_hash: str, verdict: Verdict) -> None:
        if tip_hash == self.app.tip.block_hash:
            self._tip_verdicts()[block_hash] = verdict

    def _stale_machine(self) -> bool:
        """The machine is at a height already stored (fetched from peers meanwhile)."""
        return self.machine.height <= self.app.tip.height and self.machine.decision is None

    def _active(self) -> bool:
        m = self.machine
        return m.height == self.app.tip.height + 1 and m.decision is None

    def _fresh_peers(self) -> dict[str, PeerStatus]:
        now = time.monotonic()
        return {
            p: s
            for p, s in self._peers.items()
            if now - s.at < PEER_STATUS_TTL_S and self._distrust.get(p, 0) < now
        }

    # -- valid(v) -------------------------------------------------------------------------

    def _valid(self, height: int, block: ProposedBlock) -> bool:
        verdict = self._tip_verdicts().get(block.block_hash)
        if verdict is None or not verdict.ok:
            return False
        tip = self.app.tip
        header = block.header
        if height != tip.height + 1 or header.prev_hash != tip.block_hash:
            return False
        if header.timestamp <= tip.timestamp:
            return False
        return header.timestamp <= self.clock() + self.config.max_clock_drift_ms

    async def _prevalidate(self, block: ProposedBlock, gossip_upto: int = 0) -> Verdict:
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
        await self._gossip_admitted(gossip_upto)
        problem = await app.verify_block_signatures(block.transactions)
        if problem is not None:
            return fail(problem)
        async with self._state_lock:
            if app.tip.block_hash != tip.block_hash:
                return fail("the tip moved during validation")
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

    async def _validate_proposal(self, block: ProposedBlock, gossip_upto: int) -> None:
        tip_hash = self.app.tip.block_hash
        try:
            verdict = await self._prevalidate(block, gossip_upto)
        except Exception as exc:  # a bug must not leave the proposal waiting forever
            log.exception("validating block %s", block.block_hash)
            verdict = Verdict(False, None, f"validation failed: {exc!r}")
        if not verdict.ok:
            self.invalid += 1
            metrics.INVALID_BLOCKS.inc()
            log.warning("proposed block %s is invalid: %s", block.block_hash[:12], verdict.reason)
        if verdict.ok:
            self._remember(block.transactions)  # every signature verified
        if verdict.ok or verdict.reason != "the tip moved during validation":
            self._put_verdict(tip_hash, block.block_hash, verdict)
        for proposal in self._validating.pop(block.block_hash, []):
            self._queue.put_nowait(_Msg(proposal))
        for tick in self._deferred.pop(block.block_hash, []):
            self._queue.put_nowait(tick)

    # -- the driver -----------------------------------------------------------------------

    async def _drive(self) -> None:
        while True:
            event = await self._queue.get()
            if self.halted:
                if isinstance(event, _Fetched) and not event.done.done():
                    event.done.set_result(False)
                continue
            try:
                await self._handle(event)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("consensus event %s failed", type(event).__name__)
                if isinstance(event, _Fetched) and not event.done.done():
                    event.done.set_result(False)
            self._update_metrics()

    async def _handle(self, event: _Event) -> None:
        m = self.machine
        if isinstance(event, _Fetched):
            ok = await self._apply_fetched(event.block, event.peer)
            if not event.done.done():
                event.done.set_result(ok)
            return
        if isinstance(event, _Start):
            self._start_queued = False
            await self._start_height(event.height)
            return
        if isinstance(event, _Msg) and not self._active():
            # the next height has not started here yet: keep its messages until it does
            if event.message.height == self.app.tip.height + 1 and len(self._early) < 1024:
                self._early.append(event.message)
            return
        if self._stale_machine():
            return  # timers of a height already fetched from peers
        if isinstance(event, _Tick) and event.timeout.step is Step.PROPOSE:
            # timeoutPropose waits for the round's proposal being validated: a timeout
            # only serves liveness, and a proposal that arrived in time should not lose
            # its round to the time its transactions take to verify
            t = event.timeout
            if self._decoding and t not in self._waited_decoding:
                # once only: a peer streaming large junk frames cannot hold the round forever
                self._waited_decoding.add(t)
                self._deferred_decoding.append(event)
                return
            for block_hash, proposals in self._validating.items():
                if any(p.height == t.height and p.round == t.round for p in proposals):
                    self._deferred.setdefault(block_hash, []).append(event)
                    return
        if isinstance(event, _Msg):
            outputs = m.receive(event.message)
        elif isinstance(event, _Tick):
            outputs = m.on_timeout(event.timeout)
        else:
            outputs = m.on_value(event.height, event.round, event.block)
        await self._execute(outputs)

    async def _execute(self, outputs: list[Output[ProposedBlock]]) -> None:
        loop = asyncio.get_running_loop()
        for out in outputs:
            if self.halted:
                return
            if isinstance(out, Persist):
                await self._persist(out.state)
            elif isinstance(out, Broadcast):
                self._broadcast(out.message)
            elif isinstance(out, ScheduleTimeout):
                handle = loop.call_later(
                    out.delay_ms / 1000, self._queue.put_nowait, _Tick(out.timeout)
                )
                self._timers.append(handle)
            elif isinstance(out, RequestValue):
                self._spawn(self._build_value(out.height, out.round), "bft-build")
            elif isinstance(out, Decide):
                await self._decide(out)
            elif isinstance(out, Evidence):
                self.evidence += 1
                metrics.EVIDENCE.inc()
                a, b = out.equivocation.first, out.equivocation.second
                log.warning(
                    "equivocation by %s at %d/%d: %s %s and %s",
                    a.sender,
                    a.height,
                    a.round,
                    a.TYPE,
                    a.block_hash,
                    b.block_hash,
                )
            elif isinstance(out, Rejected):
                self.rejected += 1
                metrics.REJECTED.inc()
                log.info(
                    "rejected %s from %s: %s", out.message.TYPE, out.message.sender, out.reason
                )

    async def _persist(self, record: LastSigned[ProposedBlock]) -> None:
        values: dict[str, ProposedBlock] = {}

        def reference(block: ProposedBlock) -> str:
            values[block.block_hash] = block
            return block.block_hash

        wire = record.to_wire(reference)
        height = record.height
        new = {h: v for h, v in values.items() if (height, h) not in self._written}

        def write() -> None:
            encoded = [(h, json_bytes(v.to_wire())) for h, v in new.items()]
            self.records.save_consensus_record(self.validator_id, height, json_bytes(wire), encoded)

        try:
            await asyncio.to_thread(write)
        except (StorageError, OSError) as exc:
            self._halt(f"cannot write the consensus record: {exc}")
            raise
        self._written = {w for w in self._written if w[0] == height} | {(height, h) for h in new}
        self._record = record

    def _load_record(self) -> None:
        stored = self.records.consensus_record(self.validator_id)
        if stored is None:
            return
        height, body, raw_values = stored
        values = {h: self._decode_value(parse_json(v)) for h, v in raw_values.items()}

        def lookup(ref: Any) -> ProposedBlock:
            if not isinstance(ref, str) or ref not in values:
                raise MalformedData(f"consensus record refers to an unknown block {ref!r}")
            return values[ref]

        self._record = LastSigned.from_wire(parse_json(body), lookup)
        self._written = {(height, h) for h in values}
        log.info(
            "consensus record: height %d round %d %s",
            height,
            self._record.round,
            self._record.step.name.lower(),
        )

    def _encode(self, message: Message[ProposedBlock]) -> bytes:
        """The wire form of a message, remembered for the messages of the last heights."""
        key = message.key
        body = self._encoded.get(key)
        if body is None:
            body = json_bytes(message.to_wire(ProposedBlock.to_wire))
            self._encoded[key] = body
            if len(self._encoded) > 4096:
                self._encoded.popitem(last=False)
        return body

    def _broadcast(self, message: Message[ProposedBlock]) -> None:
        if isinstance(message, Proposal) and self._tx_flush is not None:
            # the block may hold transactions admitted since the last gossip flush: send
            # them first (same links, in order), so that peers admit them from gossip
            # before the proposal and verify each only once
            self._tx_flush.cancel()
            self._flush_txs()
        if self.config.byzantine == "equivocate":
            self._equivocate(message)
            return
        self.p2p.broadcast(Channel.CONSENSUS, self._encode(message))

    def _equivocate(self, message: Message[ProposedBlock]) -> None:
        """Testing only: send ``message`` to half the peers and a conflicting twin to the
        others (the tests check that honest validators still never fork)."""
        twin: Message[ProposedBlock]
        if isinstance(message, Proposal):
            block = message.value
            other = self.app.build(
                list(block.transactions), block.header.timestamp + 1, self.validator_id
            )
            value = ProposedBlock(other.header, tuple(other.transactions))
            twin = Proposal.sign(
                self.signer,
                self.validator_id,
                self.chain_id,
                message.height,
                message.round,
                value.block_hash,
                message.valid_round,
                value,
            )
        else:
            proposals = [
                m.block_hash
                for m in self.machine.messages()
                if isinstance(m, Proposal) and m.round == message.round
            ]
            choices = [h for h in [None, *proposals] if h != message.block_hash]
            target = choices[-1] if choices else None
            twin = type(message).sign(
                self.signer,
                self.validator_id,
                self.chain_id,
                message.height,
                message.round,
                target,
            )
        log.warning(
            "equivocating (testing): %s at %d/%d", message.TYPE, message.height, message.round
        )
        for i, peer in enumerate(sorted(self.p2p.links)):
            chosen = message if i % 2 == 0 else twin
            self.p2p.send(
                peer, Channel.CONSENSUS, json_bytes(chosen.to_wire(ProposedBlock.to_wire))
            )

    async def _build_value(self, height: int, round_: int) -> None:
        app, cfg = self.app, self.config
        async with self._state_lock:
            tip = app.tip
            if tip.height + 1 != height:
                return
            txs = app.reap(cfg.max_block_txs, cfg.max_block_bytes)
            built = await asyncio.to_thread(app.build, txs, self.clock(), self.validator_id)
        block = ProposedBlock(built.header, tuple(built.transactions))
        self._put_verdict(tip.block_hash, block.block_hash, Verdict(True, built))
        self._queue.put_nowait(_Value(height, round_, block))

    async def _start_height(self, height: int) -> None:
        tip = self.app.tip
        if height != tip.height + 1 or self.machine.height >= height or self.halted:
            return
        for handle in self._timers:
            handle.cancel()
        self._timers = []
        self._waited_decoding.clear()
        now = time.monotonic()
        self._resent = {k: t for k, t in self._resent.items() if now - t < RESEND_PROPOSAL_AFTER_S}
        self._budget.clear()
        validators = self.app.validators_for(height)
        priorities = self._priorities_for(height)
        record = self._record
        if record is not None and record.height == height:
            for block in {
                v.block_hash: v
                for v in (
                    record.locked_value,
                    record.valid_value,
                    *(m.value for m in record.messages if isinstance(m, Proposal)),
                )
                if v is not None
            }.values():
                if block.block_hash not in self._tip_verdicts():
                    self._put_verdict(
                        tip.block_hash, block.block_hash, await self._prevalidate(block)
                    )
            log.info("restoring height %d round %d from the record", height, record.round)
            outputs = self.machine.restore(record, validators, priorities)
        else:
            outputs = self.machine.start_height(height, validators, priorities)
        await self._execute(outputs)
        early, self._early = self._early, []
        for message in early:
            if message.height == height and self._active():
                await self._execute(self.machine.receive(message))

    async def _store_block(self, built: BuiltBlock, certificate: CommitCertificate) -> None:
        delay = 0.2
        while True:
            try:
                async with self._state_lock:
                    await asyncio.to_thread(self.app.commit, built, certificate)
                    self.app.committed(built)
                break
            except StorageError as exc:
                if self._stopping:
                    raise
                self.last_error = exc.message
                log.error("storing block %d failed, retrying: %s", built.header.height, exc.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        self.last_error = None
        self._last_commit = certificate
        self._tip_verdicts()
        ahead, self._ahead = self._ahead, []
        for message in ahead:
            self._dispatch(message)

    async def _decide(self, decision: Decide[ProposedBlock]) -> None:
        self._last_decision = decision
        metrics.DECIDED_ROUND.observe(decision.round)
        if decision.height <= self.app.tip.height:
            return  # fetched from a peer meanwhile
        verdict = self._tip_verdicts().get(decision.value.block_hash)
        if verdict is None or verdict.built is None:
            verdict = await self._prevalidate(decision.value)
        if verdict.built is None:
            self._halt(f"decided block {decision.height} does not re-build: {verdict.reason}")
            return
        await self._store_block(verdict.built, decision.certificate)
        log.debug(
            "decided %d round %d: %d txs, signed by %s",
            decision.height,
            decision.round,
            decision.value.header.tx_count,
            ",".join(s.validator for s in decision.certificate.signatures),
        )
        self._after_block()

    def _after_block(self) -> None:
        wait = self.config.commit_wait_ms / 1000
        self._not_before = time.monotonic() + wait
        asyncio.get_running_loop().call_later(wait, self._maybe_start)

    def _heard_peers(self, peers: Mapping[str, PeerStatus]) -> bool:
        """Without a record at start: wait for the linked peers' status (at most
        ``BOOT_LISTEN_S``), and stay out of any height one of them holds a message of ours
        for (we signed it before the record was lost, and cannot know what)."""
        assert self._boot_guard is not None
        linked = set(self.p2p.links)
        if time.monotonic() < self._boot_guard and not (linked and linked <= set(peers)):
            return False
        self._boot_guard = None
        for status in peers.values():
            if status.active and any(key[1] == self.validator_id for key in status.have):
                self._skip_upto = max(self._skip_upto, status.height)
        if self._skip_upto:
            log.warning(
                "peers hold messages this validator signed at height %d, and its record is "
                "gone: it stays out of that height (and follows it by catch-up)",
                self._skip_upto,
            )
        return True

    def _maybe_start(self) -> None:
        """Start the next height when there is something to order (or a peer is at it)."""
        if self._stopping or self.halted or self._start_queued:
            return
        tip = self.app.tip.height
        if self.machine.height > tip or time.monotonic() < self._not_before:
            return
        peers = self._fresh_peers()
        if self._should_sync(peers):
            self._sync_wanted.set()
            return
        if self._boot_guard is not None and not self._heard_peers(peers):
            return
        if tip + 1 <= self._skip_upto:
            return  # a height this validator may have voted in before losing its record
        record = self._record
        if not (
            (record is not None and record.height == tip + 1)
            or self.config.empty_blocks
            or self.app.pending_count() > 0
            or any(s.active and s.height == tip + 1 for s in peers.values())
        ):
            return
        self._start_queued = True
        self._queue.put_nowait(_Start(tip + 1))

    # -- catch-up -------------------------------------------------------------------------

    def _should_sync(self, peers: Mapping[str, PeerStatus]) -> bool:
        """Fetch blocks when a peer is two blocks ahead (or this node's machine is at a
        height already stored). One block behind, the decision's proposal and precommits
        (gossip) usually arrive first: fetch only if that lasts ``SYNC_AFTER_S``."""
        tip = self.app.tip.height
        lead = max((s.tip for s in peers.values()), default=tip) - tip
        if lead <= 0:
            self._behind = None
            return False
        if lead >= 2 or self._stale_machine():
            return True
        if self._behind is None or self._behind[0] != tip:
            self._behind = (tip, time.monotonic())
        return time.monotonic() - self._behind[1] > SYNC_AFTER_S

    async def _sync_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._sync_wanted.wait()
            self._sync_wanted.clear()
            while not self._stopping and not self.halted:
                tip = self.app.tip.height
                ahead = [
                    (s.tip, random.random(), p)
                    for p, s in self._fresh_peers().items()
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
                    self._distrust[peer] = time.monotonic() + 5
                    continue
                finally:
                    self._requests.pop((peer, tip + 1), None)
                if block is None:
                    self._distrust[peer] = time.monotonic() + 1
                    continue
                done: asyncio.Future[bool] = loop.create_future()
                self._queue.put_nowait(_Fetched(block, peer, done))
                if not await done:
                    self._distrust[peer] = time.monotonic() + 30
            self._maybe_start()

    async def _apply_fetched(self, value: Any, peer: str) -> bool:
        """Verify a block from a peer (certificate, then re-execution) and store it."""
        if not isinstance(value, dict) or set(value) != {"header", "commit", "transactions"}:
            raise MalformedData("block: expected {header, commit, transactions}")
        header = Header.from_wire(value["header"], "block.header")
        tip = self.app.tip
        if header.height != tip.height + 1:
            return header.height <= tip.height
        commit = CommitCertificate.from_wire(value["commit"], "block.commit")
        block = await asyncio.to_thread(
            self._decode_value, {"header": value["header"], "transactions": value["transactions"]}
        )
        try:
            verify_commit(commit, header, self.app.validators_for(header.height), step="catch-up")
        except LedgerError as exc:
            log.warning("block %d from %s: %s", header.height, peer, exc.message)
            metrics.INVALID_BLOCKS.inc()
            return False
        verdict = self._tip_verdicts().get(header.block_hash)
        if verdict is None or verdict.built is None:
            verdict = await self._prevalidate(block)
        if verdict.built is None:
            log.warning("block %d from %s is invalid: %s", header.height, peer, verdict.reason)
            metrics.INVALID_BLOCKS.inc()
            return False
        await self._store_block(verdict.built, commit)
        self.fetched += 1
        metrics.SYNCED.inc()
        self._last_decision = None
        log.info("caught up block %d from %s", header.height, peer)
        self._after_block()
        return True

    # -- gossip ---------------------------------------------------------------------------

    async def _gossip_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.gossip_ms / 1000)
            if self.halted:
                continue
            try:
                self._send_status()
                self._maybe_start()
                self._update_metrics()
            except Exception:
                log.exception("gossip failed")

    def _send_status(self) -> None:
        m = self.machine
        active = self._active()
        have: list[MessageKey] = []
        if active:
            keys = [msg.key for msg in m.messages()]
            keys += [p.key for ps in self._validating.values() for p in ps]  # on their way
            have = sorted(set(keys), key=lambda k: -k[3])[:MAX_HAVE]
        status = {
            "type": "status",
            "tip": self.app.tip.height,
            "height": m.height,
            "round": m.round,
            "active": active,
            "have": _have_to_wire(have),
        }
        self.p2p.broadcast(Channel.CONTROL, json_bytes(status))

    def _on_status(self, peer: str, obj: Mapping[str, Any]) -> None:
        if set(obj) != {"type", "tip", "height", "round", "active", "have"}:
            raise MalformedData("status: wrong fields")
        height = _int_field(obj, "height")
        active = obj["active"]
        if not isinstance(active, bool):
            raise MalformedData("status.active: expected a boolean")
        status = PeerStatus(
            tip=_int_field(obj, "tip", 0),
            height=height,
            round=_int_field(obj, "round", 0),
            active=active,
            have=_have_from_wire(obj["have"], height),
            at=time.monotonic(),
        )
        self._peers[peer] = status
        if self.halted:
            return  # never offer messages whose record may not be on disk
        tip = self.app.tip.height
        if status.tip > tip and self._should_sync(self._fresh_peers()):
            self._sync_wanted.set()
        if not status.active:
            return
        m = self.machine
        if self._active() and status.height == m.height:
            self._offer(peer, status, list(m.messages()))
        elif self._last_decision is not None and status.height == self._last_decision.height:
            d = self._last_decision
            self._offer(peer, status, [d.proposal, *d.precommits])
        elif status.height == tip + 1:
            self._maybe_start()

    def _offer(self, peer: str, status: PeerStatus, messages: list[Message[ProposedBlock]]) -> None:
        """Send a peer the messages of its height it does not hold (the paper's gossip)."""
        now = time.monotonic()
        sent = 0
        for message in messages:
            key = message.key
            if key in status.have:
                continue
            last = self._resent.get((peer, key))
            after = RESEND_PROPOSAL_AFTER_S if isinstance(message, Proposal) else RESEND_AFTER_S
            if last is not None and now - last < after:
                continue
            self._resent[(peer, key)] = now
            self.p2p.send(peer, Channel.CONSENSUS, self._encode(message))
            sent += 1
            if sent >= MAX_RESEND:
                break

    # -- frames from peers ----------------------------------------------------------------

    async def _on_frame(self, peer: str, channel: Channel, body: bytes) -> None:
        if channel is Channel.CONSENSUS:
            await self._on_consensus(body)
        elif channel is Channel.TXS:
            if self._tx_in_bytes + len(body) > TX_IN_BYTES:
                metrics.DROPPED.labels("tx_batch").inc()
                return
            try:
                self._tx_in.put_nowait((peer, body, self._tx_received + 1))
                self._tx_received += 1
                self._tx_in_bytes += len(body)
            except asyncio.QueueFull:
                metrics.DROPPED.labels("tx_batch").inc()
        elif channel is Channel.BLOCK:
            await self._on_block(peer, body)
        elif channel is Channel.CONTROL:
            obj = parse_json(body)
            if not isinstance(obj, dict):
                raise ProtocolError("control frames are JSON objects")
            kind = obj.get("type")
            if kind == "status":
                self._on_status(peer, obj)
            elif kind == "get_block":
                await self._serve_block(peer, obj)
            else:
                raise ProtocolError(f"unknown control message {kind!r}")

    async def _on_consensus(self, body: bytes) -> None:
        max_bytes = self.config.max_proposal_bytes
        if len(body) <= LARGE_FRAME:
            self._dispatch(decode_message(body, self._decode_value, max_proposal_bytes=max_bytes))
            return
        # a large frame can only be a proposal: the limits of decode_message, then its two
        # halves in a thread, with a look at the signed fields in between so that a copy of
        # a proposal already held (gossip offers it again while it is being validated) is
        # dropped before its block is decoded
        if len(body) > max_bytes:
            raise TooLarge(f"consensus message of {len(body)} bytes is over the limit")
        upto = self._tx_received
        self._decoding += 1
        try:
            value = await asyncio.to_thread(parse_json, body)
            if not isinstance(value, dict) or value.get("type") != Proposal.TYPE:
                raise TooLarge(f"vote of {len(body)} bytes is over {MAX_VOTE_BYTES}")
            key = (
                Proposal.TYPE,
                value.get("proposer"),
                value.get("height"),
                value.get("round"),
                value.get("block_hash"),
                value.get("valid_round"),
            )
            if self._holds(key):
                return
            # the proposer gossiped its transactions before this frame: once they are
            # admitted here, the block's copies of them decode to the admitted objects
            await self._gossip_admitted(upto)
            message = await asyncio.to_thread(message_from_wire, value, self._decode_value)
            self._dispatch(message)
        finally:
            # timeoutPropose also waits for a proposal still being decoded (then, if it is
            # this round's, for its validation)
            self._decoding -= 1
            if not self._decoding:
                ticks, self._deferred_decoding = self._deferred_decoding, []
                for tick in ticks:
                    self._queue.put_nowait(tick)

    def _holds(self, key: tuple[Any, ...]) -> bool:
        """A proposal with this key was verified here (it is validated, being validated, or
        waiting for its height): another copy is not needed."""
        if any(p.key == key for ps in self._validating.values() for p in ps):
            return True
        if any(m.key == key for m in self._early):
            return True
        return self.machine.height == key[2] and any(
            m.key == key for m in self.machine.messages() if isinstance(m, Proposal)
        )

    def _dispatch(self, message: Message[ProposedBlock]) -> None:
        tip = self.app.tip.height
        if message.height == tip + 2:
            # peers a block ahead (this node is still storing it): keep a few for then
            if len(self._ahead) < 1024:
                self._ahead.append(message)
            return
        if message.height != tip + 1:
            return  # another height: gossip or catch-up deals with it
        if isinstance(message, Proposal):
            self._on_proposal(message)
        elif self._queue.qsize() < 10_000:
            self._queue.put_nowait(_Msg(message))
        else:
            metrics.DROPPED.labels("vote").inc()

    def _on_proposal(self, proposal: Proposal[ProposedBlock]) -> None:
        """Validate the block (once per hash) before the machine sees the proposal."""
        tip = self.app.tip
        if proposal.chain_id != self.chain_id or proposal.height != tip.height + 1:
            return  # another height: gossip or catch-up deals with it
        block_hash = proposal.block_hash
        if block_hash in self._tip_verdicts():
            self._queue.put_nowait(_Msg(proposal))
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
        if proposal.proposer != self._priorities_for(proposal.height).proposer(proposal.round):
            metrics.REJECTED.inc()
            return
        if not self._verifier(member.public_key, proposal.signing_bytes, proposal.signature):
            metrics.REJECTED.inc()
            return
        slot = (proposal.height, proposal.round)
        if self._budget.get(slot, 0) >= self.machine.limits.proposals_per_round:
            metrics.DROPPED.labels("proposal").inc()
            return
        self._budget[slot] = self._budget.get(slot, 0) + 1
        self._validating[block_hash] = [proposal]
        self._spawn(self._validate_proposal(proposal.value, self._tx_received), "bft-validate")

    async def _serve_block(self, peer: str, obj: Mapping[str, Any]) -> None:
        if set(obj) != {"type", "height"}:
            raise MalformedData("get_block: wrong fields")
        height = _int_field(obj, "height", 1)
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

    async def _on_block(self, peer: str, body: bytes) -> None:
        value = (
            await asyncio.to_thread(parse_json, body)
            if len(body) > LARGE_FRAME
            else parse_json(body)
        )
        if not isinstance(value, dict) or set(value) != {"height", "block"}:
            raise MalformedData("block: expected {height, block}")
        height = _int_field(value, "height", 1)
        future = self._requests.get((peer, height))
        if future is not None and not future.done():
            future.set_result(value["block"])

    # -- transaction gossip ---------------------------------------------------------------

    def _remember(self, txs: Sequence[SignedTransaction]) -> None:
        known = self._known
        for tx in txs:
            known[tx.signature] = tx
        for _ in range(len(known) - KNOWN_TXS):
            del known[next(iter(known))]

    def _holds_tx(self, item: Any) -> bool:
        signature = item.get("signature") if isinstance(item, dict) else None
        held = self._known.get(signature) if isinstance(signature, str) else None
        return held is not None and same_json(item, held.to_wire())

    def _on_admitted(self, txs: list[SignedTransaction]) -> None:
        if not self.p2p.peers:
            return
        self._remember(txs)
        self._tx_out.extend(txs)
        if self._tx_flush is None:
            self._tx_flush = asyncio.get_running_loop().call_later(0.01, self._flush_txs)

    def _flush_txs(self) -> None:
        self._tx_flush = None
        txs, self._tx_out = self._tx_out, []
        for body in self._tx_batches(txs):
            self.p2p.broadcast(Channel.TXS, body)

    def _tx_batches(self, txs: Sequence[SignedTransaction]) -> list[bytes]:
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

    def _on_link(self, peer: str) -> None:
        """A (re)linked peer may have missed gossip: offer it what is pending here."""
        pending = self.app.reap(MEMPOOL_ON_LINK)
        if pending:
            for body in self._tx_batches(pending):
                self.p2p.send(peer, Channel.TXS, body)

    async def _tx_loop(self) -> None:
        while True:
            peer, body, seq = await self._tx_in.get()
            self._tx_in_bytes -= len(body)
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
                fresh = [item for item in value["transactions"] if not self._holds_tx(item)]
                if not fresh:
                    continue
                result = await self.app.submit(fresh, gossip=False)
                mempool = self.app.mempool
                self._remember([mempool[i] for i in result.accepted if i in mempool])
            except LedgerError as exc:
                log.info("gossiped transactions from %s: %s", peer, exc.message)
            except Exception:
                log.exception("gossiped transactions from %s", peer)
            finally:
                self._tx_admitted = seq
                self._tx_event.set()

    async def _gossip_admitted(self, upto: int, timeout: float = 2.0) -> None:
        """Wait (a little) until the gossiped transactions received up to ``upto`` are in
        the mempool: a proposer gossips its transactions before its proposal on the same
        link, so its block's signatures are then verified at admission only, not twice."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._tx_admitted < upto:
            self._tx_event.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._tx_event.wait(), remaining)

    # -- status ---------------------------------------------------------------------------

    def _update_metrics(self) -> None:
        m = self.machine
        metrics.HEIGHT.set(max(m.height, self.app.tip.height + 1))
        metrics.ROUND.set(m.round if self._active() else 0)
        metrics.PEERS.set(len(self.p2p.links))
        for peer, ms in self.p2p.seen.items():
            metrics.PEER_SEEN.labels(peer).set(ms / 1000)
        commit = self._last_commit
        if commit is not None:
            signed = {s.validator for s in commit.signatures}
            for v in self.app.validators_for(self.app.tip.height + 1).validators:
                metrics.LAST_COMMIT_SIGNED.labels(v.id).set(1 if v.id in signed else 0)
            metrics.LAST_COMMIT_SIGNATURES.set(len(commit.signatures))

    @property
    def status(self) -> dict[str, object]:
        m = self.machine
        tip = self.app.tip.height
        active = self._active()
        commit = self._last_commit
        now_ms = wall_clock_ms()
        return {
            "engine": "bft",
            "validator": self.validator_id,
            "height": m.height if active else tip + 1,
            "round": m.round if active else 0,
            "step": m.step.name.lower() if active else "waiting",
            "proposer": m.proposer(m.round) if active else None,
            "locked_round": m.locked_round if active else -1,
            "peers": self.p2p.connected,
            "peers_seen": {
                p: {"last_seen_ms_ago": now_ms - ms, "connected": p in self.p2p.links}
                for p, ms in sorted(self.p2p.seen.items())
            },
            "last_commit": None
            if commit is None
            else {
                "height": commit.height,
                "round": commit.round,
                "signers": [s.validator for s in commit.signatures],
            },
            "rejected_messages": self.rejected,
            "equivocations": self.evidence,
            "invalid_blocks": self.invalid,
            "blocks_fetched": self.fetched,
            "halted": self.halted,
            "last_error": self.last_error,
        }
