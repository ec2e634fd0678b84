"""A validator's runtime around ``TendermintMachine``: what the real node runtime must do too.

For every output of the machine, in order:

- ``Persist``: write the record to "disk" (kept across crashes) before anything after it;
- ``Broadcast``: send to every peer;
- ``ScheduleTimeout`` / ``RequestValue``: feed ``on_timeout`` / ``on_value`` back later;
- ``Decide``: store the block with its proof (the disk), wait ``commit_wait_ms``, then
  ``start_height(height + 1)``.

And, because the network loses messages, gossip: every ``gossip_ms`` a node tells its peers
its height, round and which messages of the height it holds (``Status``); a peer answers
with the messages it holds that the node lacks (the relay the paper's gossip assumes, so
Byzantine messages reach everyone too), or, if the node is behind, with the proposal and
precommits that decided the node's height (catch-up inside the protocol: line 49 accepts
precommits of any round).

A crash loses everything but the disk; a crash may hit in the middle of a batch of outputs
(after the ``Persist``, before the sends). A restart resumes from the disk: ``restore`` if
the record is for the next height, else ``start_height``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from consensus.tendermint.messages import Message, Precommit, Prevote, Proposal
from consensus.tendermint.state import (
    Broadcast,
    Decide,
    Evidence,
    LastSigned,
    Output,
    Persist,
    Rejected,
    RequestValue,
    ScheduleTimeout,
    TendermintMachine,
    Timeout,
)
from ledger.crypto import sm3_hex
from ledger.model import Header
from tests.sim.chain import CHAIN_ID, invalid_block, make_block, valid_block
from tests.sim.crypto import validator_id, validator_key

if TYPE_CHECKING:
    from tests.sim.scenario import World

MessageKey = tuple[str, str, int, int, str | None, int]


@dataclass(frozen=True)
class Status:
    """Gossip: "I am at this height and round, I hold these messages of it"."""

    height: int
    round: int
    decided: bool
    have: frozenset[MessageKey]


class SimNode:
    byzantine = False

    def __init__(self, world: World, index: int) -> None:
        self.world = world
        self.index = index
        self.id = validator_id(index)
        self.key = validator_key(index)
        self.alive = False
        self.incarnation = 0
        self.machine: TendermintMachine[Header] | None = None
        self.crash_after: int | None = None
        # the disk: survives crashes
        self.record: LastSigned[Header] | None = None
        self.blocks: dict[int, Decide[Header]] = {}

    # -- chain ----------------------------------------------------------------------------

    @property
    def tip_height(self) -> int:
        return max(self.blocks, default=0)

    @property
    def tip(self) -> Header:
        height = self.tip_height
        return self.blocks[height].value if height else self.world.genesis

    def _valid(self, height: int, block: Header) -> bool:
        world = self.world
        return height == self.tip_height + 1 and valid_block(
            self.tip, world.validators_at(height), block, world.validators_at(height + 1)
        )

    def make_value(self, height: int, round_: int) -> Header:
        world = self.world
        return make_block(
            self.tip,
            world.validators_at(height),
            self.id,
            world.clock.now,
            f"r{round_}",
            world.validators_at(height + 1),
        )

    # -- life and death -------------------------------------------------------------------

    def boot(self) -> None:
        self.incarnation += 1
        self.alive = True
        self.crash_after = None
        world = self.world
        machine: TendermintMachine[Header] = TendermintMachine(
            chain_id=CHAIN_ID,
            validator_id=self.id,
            signer=self.key,
            value_id=lambda block: block.block_hash,
            valid=self._valid,
            timeouts=world.timeouts,
            verifier=world.verifier,
        )
        self.machine = machine
        height = self.tip_height + 1
        priorities = world.priorities(height)
        record = self.record
        if record is not None and record.height == height:
            world.trace(self, f"restart at h{height} r{record.round} {record.step.name}")
            outputs = machine.restore(record, world.validators_at(height), priorities)
        else:
            world.trace(self, f"start at h{height}")
            outputs = machine.start_height(height, world.validators_at(height), priorities)
        self.execute(outputs)
        self._schedule_gossip(self.incarnation)

    def crash(self, mid_batch_after: int | None) -> None:
        """Crash now, or (``mid_batch_after = k``) after k outputs of the next batch."""
        if not self.alive:
            return
        if mid_batch_after is None:
            self._die()
        else:
            self.crash_after = mid_batch_after

    def restart(self) -> None:
        if self.crash_after is not None:
            self._die()
        if not self.alive:
            self.boot()

    def _die(self) -> None:
        self.world.trace(self, "crash")
        self.alive = False
        self.machine = None
        self.crash_after = None
        self.world.crashes += 1

    def _current(self, incarnation: int) -> TendermintMachine[Header] | None:
        return self.machine if self.alive and incarnation == self.incarnation else None

    # -- acting on outputs ----------------------------------------------------------------

    def execute(self, outputs: Iterable[Output[Header]]) -> None:
        queue = deque(outputs)
        done = 0
        while queue and self.alive:
            if self.crash_after is not None and done >= self.crash_after:
                self._die()
                return
            self._act(queue.popleft())
            done += 1

    def _act(self, out: Output[Header]) -> None:
        world = self.world
        inc = self.incarnation
        if isinstance(out, Persist):
            self.record = out.state
        elif isinstance(out, Broadcast):
            if not self.byzantine:
                world.on_honest_signed(self, out.message)
            self.send_own(out.message)
        elif isinstance(out, ScheduleTimeout):
            timeout = out.timeout
            world.clock.after(out.delay_ms, lambda: self._on_timer(inc, timeout))
        elif isinstance(out, RequestValue):
            h, r = out.height, out.round
            world.clock.after(world.plan.build_ms, lambda: self._on_value_ready(inc, h, r))
        elif isinstance(out, Decide):
            self.blocks[out.height] = out
            world.trace(self, f"decide h{out.height} r{out.round} {out.value.block_hash[:8]}")
            world.on_decide(self, out)
            nxt = out.height + 1
            world.clock.after(world.plan.commit_wait_ms, lambda: self._start_next(inc, nxt))
        elif isinstance(out, Evidence):
            world.evidence += 1
        elif isinstance(out, Rejected):
            world.rejected += 1

    def _on_timer(self, incarnation: int, timeout: Timeout) -> None:
        machine = self._current(incarnation)
        if machine is not None:
            self.execute(machine.on_timeout(timeout))

    def _on_value_ready(self, incarnation: int, height: int, round_: int) -> None:
        machine = self._current(incarnation)
        if machine is not None and machine.height == height:
            self.execute(machine.on_value(height, round_, self.make_value(height, round_)))

    def _start_next(self, incarnation: int, height: int) -> None:
        machine = self._current(incarnation)
        if machine is not None and machine.height == height - 1:
            world = self.world
            validators = world.validators_at(height)
            self.execute(machine.start_height(height, validators, world.priorities(height)))

    # -- network --------------------------------------------------------------------------

    def peers(self) -> list[int]:
        return [n.index for n in self.world.nodes if n.index != self.index]

    def send_own(self, message: Message[Header]) -> None:
        self.world.network.broadcast(self.index, self.peers(), message)

    def deliver(self, src: int, payload: Any) -> None:
        machine = self.machine
        if not self.alive or machine is None:
            return
        if isinstance(payload, Status):
            self._on_status(src, payload, machine)
        else:
            self.execute(machine.receive(payload))

    def _schedule_gossip(self, incarnation: int) -> None:
        self.world.clock.after(self.world.plan.gossip_ms, lambda: self._gossip(incarnation))

    def _gossip(self, incarnation: int) -> None:
        machine = self._current(incarnation)
        if machine is None:
            return
        status = Status(
            machine.height,
            machine.round,
            machine.decision is not None,
            frozenset(m.key for m in machine.messages()),
        )
        self.world.network.broadcast(self.index, self.peers(), status)
        self._schedule_gossip(incarnation)

    def _on_status(self, src: int, status: Status, machine: TendermintMachine[Header]) -> None:
        network = self.world.network
        proof = self.blocks.get(status.height)
        if proof is not None and not status.decided:
            network.send(self.index, src, proof.proposal)
            for precommit in proof.precommits:
                network.send(self.index, src, precommit)
        elif status.height == machine.height and machine.decision is None:
            for message in machine.messages():
                if message.key not in status.have:
                    network.send(self.index, src, message)


BEHAVIOURS = (
    "equivocate",  # as proposer, a different block to each half of the peers
    "double_vote",  # every vote comes with a conflicting twin, split among the peers
    "vote_everything",  # prevote and precommit every proposal it sees
    "invalid_block",  # as proposer, a block that fails valid()
    "garbage",  # forged, wrong-chain, far-future-round and future-height messages
    "amnesia",  # restarts without its record: forgets its locks and what it signed
)


class ByzantineNode(SimNode):
    """A faulty validator: the honest machine for bookkeeping, misbehaviour on the way out."""

    byzantine = True

    def __init__(self, world: World, index: int, behaviours: frozenset[str]) -> None:
        super().__init__(world, index)
        self.behaviours = behaviours
        self._voted_on: set[tuple[int, int, str]] = set()

    def make_value(self, height: int, round_: int) -> Header:
        world = self.world
        if "invalid_block" in self.behaviours and world.rng.random() < 0.5:
            return invalid_block(
                self.tip,
                world.validators_at(height),
                self.id,
                world.clock.now,
                world.validators_at(height + 1),
            )
        return super().make_value(height, round_)

    def _split(self, a: Any, b: Any) -> None:
        """Send ``a`` to some peers, ``b`` to the others, both (in random order) to some."""
        rng = self.world.rng
        network = self.world.network
        for peer in self.peers():
            choice = rng.randrange(3)
            first, second = (a, b) if rng.random() < 0.5 else (b, a)
            network.send(self.index, peer, a if choice == 0 else b if choice == 1 else first)
            if choice == 2:
                network.send(self.index, peer, second)

    def send_own(self, message: Message[Header]) -> None:
        world = self.world
        if isinstance(message, Proposal) and "equivocate" in self.behaviours:
            h = message.height
            twin = make_block(
                self.tip,
                world.validators_at(h),
                self.id,
                world.clock.now,
                f"twin{message.round}",
                world.validators_at(h + 1),
            )
            other = Proposal.sign(
                self.key,
                self.id,
                CHAIN_ID,
                message.height,
                message.round,
                twin.block_hash,
                message.valid_round,
                twin,
            )
            world.trace(self, f"equivocates h{message.height} r{message.round}")
            self._split(message, other)
            return
        if isinstance(message, Prevote | Precommit) and "double_vote" in self.behaviours:
            choices: list[str | None] = [None, sm3_hex(b"%d" % world.rng.randrange(1 << 30))]
            if self.machine is not None:
                choices += [
                    m.block_hash
                    for m in self.machine.messages()
                    if isinstance(m, Proposal) and m.round == message.round
                ]
            choices = [c for c in choices if c != message.block_hash]
            twin_vote = type(message).sign(
                self.key,
                self.id,
                CHAIN_ID,
                message.height,
                message.round,
                world.rng.choice(choices),
            )
            self._split(message, twin_vote)
            return
        super().send_own(message)

    def deliver(self, src: int, payload: Any) -> None:
        super().deliver(src, payload)
        machine = self.machine
        if (
            "vote_everything" in self.behaviours
            and isinstance(payload, Proposal)
            and machine is not None
            and payload.height == machine.height
        ):
            mark = (payload.height, payload.round, payload.block_hash)
            if mark not in self._voted_on:
                self._voted_on.add(mark)
                for kind in (Prevote, Precommit):
                    vote = kind.sign(
                        self.key, self.id, CHAIN_ID, payload.height, payload.round, mark[2]
                    )
                    self.world.network.broadcast(self.index, self.peers(), vote)

    def _gossip(self, incarnation: int) -> None:
        super()._gossip(incarnation)
        machine = self._current(incarnation)
        rng = self.world.rng
        if machine is None:
            return
        if "garbage" in self.behaviours and rng.random() < 0.2:
            self._send_garbage(machine)
        if (
            "amnesia" in self.behaviours
            and self.world.clock.now < self.world.plan.faults.heal_at
            and rng.random() < 0.1
        ):
            self.world.trace(self, "amnesia: restart without its record")
            self.record = None
            self._die()
            self.boot()

    def _send_garbage(self, machine: TendermintMachine[Header]) -> None:
        rng = self.world.rng
        h, r = machine.height, machine.round
        kind = rng.randrange(4)
        junk: Message[Header]
        if kind == 0:  # a vote in another validator's name, signed with this one's key
            victim = validator_id(rng.choice(self.peers()))
            mine = Prevote.sign(self.key, self.id, CHAIN_ID, h, r, None)
            junk = Prevote(CHAIN_ID, h, r, None, victim, mine.signature)
        elif kind == 1:
            junk = Precommit.sign(self.key, self.id, "another-chain", h, r, None)
        elif kind == 2:
            junk = Precommit.sign(self.key, self.id, CHAIN_ID, h, r + 10_000, None)
        else:
            junk = Prevote.sign(self.key, self.id, CHAIN_ID, h + 3, 0, None)
        self.world.network.broadcast(self.index, self.peers(), junk)
