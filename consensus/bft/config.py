"""What the BFT engine is given: its settings, the node it orders blocks for, and the store
of its signed record."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from consensus.engine import Application
from consensus.p2p import P2PLimits
from consensus.tendermint import Timeouts
from ledger.model import CommitCertificate, Genesis, SignedTransaction


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


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

    @property
    def p2p_limits(self) -> P2PLimits:
        return P2PLimits(
            max_frame_bytes=self.max_frame_bytes,
            rate_bytes=self.rate_bytes,
            rate_frames=self.rate_frames,
            send_queue=self.send_queue,
        )


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
