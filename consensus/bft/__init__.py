"""The BFT engine: ``TendermintMachine`` driven on asyncio, over authenticated TCP links.

- ``engine``: ``BftEngine``, the node's ``ConsensusEngine``; builds the parts below, routes
  the p2p frames, stores blocks and starts heights on demand.
- ``driver``: the one task that owns the machine; events in, outputs executed in order.
- ``proposal``: ``valid(v)``: a proposal reaches the machine once its block is re-built and
  found identical; and the block this validator proposes.
- ``intake``: peers' consensus messages, decoded and sorted by height.
- ``sync``: catch-up, blocks fetched from peers and served to them.
- ``status_gossip``, ``tx_gossip``: what peers are told of this validator, and transactions.
- ``record``: the signed record, written before the messages it covers leave the process.
- ``report``: the ``consensus`` object of ``/v1/checkpoint`` and the ``/metrics`` series.
- ``config``, ``types``: what the engine is given, and the values its parts pass around.

docs/consensus.md, "The runtime".
"""

from consensus.bft.config import (
    BftApplication,
    BftConfig,
    RecordStore,
    SubmitOutcome,
    wall_clock_ms,
)
from consensus.bft.engine import BftEngine
from consensus.bft.proposal import CachedVerifier
from consensus.bft.types import MessageKey, PeerStatus, Verdict, json_bytes

__all__ = [
    "BftApplication",
    "BftConfig",
    "BftEngine",
    "CachedVerifier",
    "MessageKey",
    "PeerStatus",
    "RecordStore",
    "SubmitOutcome",
    "Verdict",
    "json_bytes",
    "wall_clock_ms",
]
