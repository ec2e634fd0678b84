"""Consensus messages from peers, on their way to the driver: decoded (a large frame, which
can only be a proposal, in worker threads), sorted by height, proposals sent to validation
first. Messages of the next height that arrive before it starts here are held until it
does, those of the height after it until this node has stored the block in between."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from consensus import metrics
from consensus.bft.config import BftApplication, BftConfig
from consensus.bft.proposal import ProposalValidator
from consensus.bft.tx_gossip import TxGossip
from consensus.bft.types import LARGE_FRAME, EventQueue, Received, Tick
from consensus.tendermint import (
    Message,
    Proposal,
    TendermintMachine,
    Timeout,
    decode_message,
    message_from_wire,
)
from consensus.tendermint.messages import MAX_VOTE_BYTES
from consensus.value import ProposedBlock
from ledger.canonical import parse_json
from ledger.errors import TooLarge

HELD_MESSAGES = 1024  # messages held for the next height, and for the one after it


class ConsensusIntake:
    def __init__(
        self,
        app: BftApplication,
        config: BftConfig,
        *,
        machine: TendermintMachine[ProposedBlock],
        queue: EventQueue,
        proposals: ProposalValidator,
        txs: TxGossip,
        decode_value: Callable[[Any], ProposedBlock],
    ) -> None:
        self.app = app
        self.config = config
        self.machine = machine
        self.queue = queue
        self.proposals = proposals
        self.txs = txs
        self.decode_value = decode_value
        self.early: list[Message[ProposedBlock]] = []  # for the next height, before it starts
        self._ahead: list[Message[ProposedBlock]] = []  # for the height after the next
        self._decoding = 0  # large consensus frames (proposals) being decoded
        self._deferred_decoding: list[Tick] = []
        self._waited_decoding: set[Timeout] = set()

    async def on_frame(self, body: bytes) -> None:
        max_bytes = self.config.max_proposal_bytes
        if len(body) <= LARGE_FRAME:
            self.dispatch(decode_message(body, self.decode_value, max_proposal_bytes=max_bytes))
            return
        # a large frame can only be a proposal: the limits of decode_message, then its two
        # halves in a thread, with a look at the signed fields in between so that a copy of
        # a proposal already held (gossip offers it again while it is being validated) is
        # dropped before its block is decoded
        if len(body) > max_bytes:
            raise TooLarge(f"consensus message of {len(body)} bytes is over the limit")
        upto = self.txs.received
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
            await self.txs.admitted(upto)
            message = await asyncio.to_thread(message_from_wire, value, self.decode_value)
            self.dispatch(message)
        finally:
            # timeoutPropose also waits for a proposal still being decoded (then, if it is
            # this round's, for its validation)
            self._decoding -= 1
            if not self._decoding:
                ticks, self._deferred_decoding = self._deferred_decoding, []
                for tick in ticks:
                    self.queue.put_nowait(tick)

    def _holds(self, key: tuple[Any, ...]) -> bool:
        """A proposal with this key was verified here (it is validated, being validated, or
        waiting for its height): another copy is not needed."""
        if self.proposals.holds(key):
            return True
        if any(m.key == key for m in self.early):
            return True
        return self.machine.height == key[2] and any(
            m.key == key for m in self.machine.messages() if isinstance(m, Proposal)
        )

    def dispatch(self, message: Message[ProposedBlock]) -> None:
        tip = self.app.tip.height
        if message.height == tip + 2:
            # peers a block ahead (this node is still storing it): keep a few for then
            if len(self._ahead) < HELD_MESSAGES:
                self._ahead.append(message)
            return
        if message.height != tip + 1:
            return  # another height: gossip or catch-up deals with it
        if isinstance(message, Proposal):
            self.proposals.on_proposal(message)
        elif self.queue.qsize() < 10_000:
            self.queue.put_nowait(Received(message))
        else:
            metrics.DROPPED.labels("vote").inc()

    def hold_early(self, message: Message[ProposedBlock]) -> None:
        """Keep a message of the next height until it starts here."""
        if message.height == self.app.tip.height + 1 and len(self.early) < HELD_MESSAGES:
            self.early.append(message)

    def take_early(self) -> list[Message[ProposedBlock]]:
        early, self.early = self.early, []
        return early

    def release_ahead(self) -> None:
        """A block was stored: the messages held for the height after it are now next."""
        ahead, self._ahead = self._ahead, []
        for message in ahead:
            self.dispatch(message)

    def defer(self, tick: Tick) -> bool:
        """Hold a ``timeoutPropose`` until the large frames being decoded are, once per
        timeout (a peer streaming large junk frames cannot hold the round forever)."""
        if self._decoding and tick.timeout not in self._waited_decoding:
            self._waited_decoding.add(tick.timeout)
            self._deferred_decoding.append(tick)
            return True
        return False

    def new_height(self) -> None:
        self._waited_decoding.clear()
