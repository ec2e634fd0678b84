"""Values passed between the parts of the BFT engine: validation verdicts, what a peer said
of itself, the driver's events, and the JSON helpers of the p2p frames."""

from __future__ import annotations

import asyncio
import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from consensus.tendermint import Message, Timeout
from consensus.value import ProposedBlock
from ledger.block import BuiltBlock
from ledger.errors import MalformedData

# a message as peers name it in their status: (type, sender, height, round, block hash,
# valid round)
MessageKey = tuple[str, str, int, int, str | None, int]
LARGE_FRAME = 256 * 1024  # frames above this are parsed in a worker thread
PEER_STATUS_TTL_S = 3.0


def json_bytes(value: Any) -> bytes:
    """Compact JSON (the receiver parses strictly: no floats, no duplicate keys)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def int_field(obj: Mapping[str, Any], key: str, minimum: int = -1) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value < 2**53:
        raise MalformedData(f"{key}: expected an integer")
    return value


class WireForms:
    """The wire form of messages, remembered for the messages of the last heights (a
    message is broadcast, then offered again to the peers that lack it)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._encoded: OrderedDict[MessageKey, bytes] = OrderedDict()

    def __call__(self, message: Message[ProposedBlock]) -> bytes:
        key = message.key
        body = self._encoded.get(key)
        if body is None:
            body = json_bytes(message.to_wire(ProposedBlock.to_wire))
            self._encoded[key] = body
            if len(self._encoded) > self.size:
                self._encoded.popitem(last=False)
        return body


@dataclass(frozen=True)
class Verdict:
    """A block validated on the current tip: ``built`` if it is valid, else ``reason``."""

    ok: bool
    built: BuiltBlock | None = None
    reason: str = ""
    # says nothing of the block: the tip moved while it was being validated
    tip_moved: bool = False


@dataclass(frozen=True)
class PeerStatus:
    tip: int
    height: int
    round: int
    active: bool
    have: frozenset[MessageKey]
    at: float


class PeerTable:
    """The last status of each peer, and the peers distrusted for a while (catch-up)."""

    def __init__(self) -> None:
        self.status: dict[str, PeerStatus] = {}
        self._distrust: dict[str, float] = {}

    def fresh(self) -> dict[str, PeerStatus]:
        """Peers heard lately and trusted now."""
        now = time.monotonic()
        return {
            p: s
            for p, s in self.status.items()
            if now - s.at < PEER_STATUS_TTL_S and self._distrust.get(p, 0) < now
        }

    def distrust(self, peer: str, seconds: float) -> None:
        self._distrust[peer] = time.monotonic() + seconds


# --- the driver's events (one queue, taken in order) -------------------------------------


@dataclass(frozen=True)
class Received:
    """A peer's message of the next height, its block (if a proposal) validated."""

    message: Message[ProposedBlock]


@dataclass(frozen=True)
class Tick:
    timeout: Timeout


@dataclass(frozen=True)
class Built:
    """The block this validator proposes."""

    height: int
    round: int
    block: ProposedBlock


@dataclass(frozen=True)
class StartHeight:
    height: int


@dataclass(frozen=True)
class Fetched:
    """A block (its JSON) from a peer, for catch-up; ``done`` says whether it was stored."""

    block: Any
    peer: str
    done: asyncio.Future[bool]


Event = Received | Tick | Built | StartHeight | Fetched
EventQueue = asyncio.Queue[Event]
