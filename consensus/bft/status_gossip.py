"""Status gossip: every ``gossip_ms`` a validator tells each peer its stored tip, its height
and round, whether it is deciding, and the keys of the messages of that height it holds (or
is validating). A peer at the same height is sent what it lacks (the paper's gossip); a peer
still at the height just decided here is sent that decision's proposal and precommits."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from consensus.bft.config import BftApplication, BftConfig
from consensus.bft.proposal import ProposalValidator
from consensus.bft.sync import BlockSync
from consensus.bft.types import (
    MessageKey,
    PeerStatus,
    PeerTable,
    WireForms,
    int_field,
    json_bytes,
)
from consensus.p2p import Channel, P2PNetwork
from consensus.tendermint import Decide, Message, Proposal, TendermintMachine
from consensus.value import ProposedBlock
from ledger.errors import MalformedData

log = logging.getLogger("ledger.consensus")

MAX_HAVE = 4096
MAX_RESEND = 256
RESEND_AFTER_S = 1.0
RESEND_PROPOSAL_AFTER_S = 3.0


class StatusHost(Protocol):
    """What status gossip needs of the engine (``BftEngine``)."""

    halted: str | None
    last_decision: Decide[ProposedBlock] | None

    def active(self) -> bool: ...

    def maybe_start(self) -> None: ...

    def update_metrics(self) -> None: ...


def have_to_wire(keys: Sequence[MessageKey]) -> list[list[Any]]:
    return [[k[0], k[1], k[3], k[4], k[5]] for k in keys]


def have_from_wire(value: Any, height: int) -> frozenset[MessageKey]:
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


class StatusGossip:
    def __init__(
        self,
        app: BftApplication,
        p2p: P2PNetwork,
        config: BftConfig,
        *,
        host: StatusHost,
        machine: TendermintMachine[ProposedBlock],
        peers: PeerTable,
        proposals: ProposalValidator,
        sync: BlockSync,
        encode: WireForms,
    ) -> None:
        self.app = app
        self.p2p = p2p
        self.config = config
        self.host = host
        self.machine = machine
        self.peers = peers
        self.proposals = proposals
        self.sync = sync
        self.encode = encode
        self._resent: dict[tuple[str, MessageKey], float] = {}

    async def run(self) -> None:
        host = self.host
        while True:
            await asyncio.sleep(self.config.gossip_ms / 1000)
            if host.halted:
                continue
            try:
                self.send()
                host.maybe_start()
                host.update_metrics()
            except Exception:
                log.exception("gossip failed")

    def new_height(self) -> None:
        """Forget the sends old enough to be repeated anyway."""
        now = time.monotonic()
        self._resent = {k: t for k, t in self._resent.items() if now - t < RESEND_PROPOSAL_AFTER_S}

    def send(self) -> None:
        m = self.machine
        active = self.host.active()
        have: list[MessageKey] = []
        if active:
            keys = [msg.key for msg in m.messages()]
            keys += self.proposals.validating_keys()  # on their way
            have = sorted(set(keys), key=lambda k: -k[3])[:MAX_HAVE]
        status = {
            "type": "status",
            "tip": self.app.tip.height,
            "height": m.height,
            "round": m.round,
            "active": active,
            "have": have_to_wire(have),
        }
        self.p2p.broadcast(Channel.CONTROL, json_bytes(status))

    def on_status(self, peer: str, obj: Mapping[str, Any]) -> None:
        if set(obj) != {"type", "tip", "height", "round", "active", "have"}:
            raise MalformedData("status: wrong fields")
        height = int_field(obj, "height")
        active = obj["active"]
        if not isinstance(active, bool):
            raise MalformedData("status.active: expected a boolean")
        status = PeerStatus(
            tip=int_field(obj, "tip", 0),
            height=height,
            round=int_field(obj, "round", 0),
            active=active,
            have=have_from_wire(obj["have"], height),
            at=time.monotonic(),
        )
        self.peers.status[peer] = status
        host = self.host
        if host.halted:
            return  # never offer messages whose record may not be on disk
        tip = self.app.tip.height
        if status.tip > tip and self.sync.should_sync(self.peers.fresh()):
            self.sync.want()
        if not status.active:
            return
        m = self.machine
        decision = host.last_decision
        if host.active() and status.height == m.height:
            self._offer(peer, status, list(m.messages()))
        elif decision is not None and status.height == decision.height:
            self._offer(peer, status, [decision.proposal, *decision.precommits])
        elif status.height == tip + 1:
            host.maybe_start()

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
            self.p2p.send(peer, Channel.CONSENSUS, self.encode(message))
            sent += 1
            if sent >= MAX_RESEND:
                break
