"""The boundary between a consensus engine and the ledger it orders blocks for.

An engine decides *when* a block is made and *who* certifies it; the ``Application`` (the
node) knows the rules, builds blocks and stores them. A multi-validator BFT engine
implements ``ConsensusEngine`` against the same ``Application``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Protocol

from ledger.block import BuiltBlock
from ledger.model import CommitCertificate, Header, SignedTransaction, ValidatorSet


class Application(Protocol):
    @property
    def tip(self) -> Header: ...

    def validators_for(self, height: int) -> ValidatorSet: ...

    def pending_count(self) -> int: ...

    def reap(self, max_txs: int) -> list[SignedTransaction]: ...

    def build(self, txs: list[SignedTransaction], now_ms: int, proposer: str) -> BuiltBlock: ...

    def commit(self, built: BuiltBlock, certificate: CommitCertificate) -> None:
        """Store the block durably; called from a worker thread."""

    def committed(self, built: BuiltBlock) -> None:
        """Update in-memory state after ``commit``; called on the event loop."""


class ConsensusEngine(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def notify_pending(self) -> None:
        """New transactions entered the mempool."""

    @property
    @abstractmethod
    def status(self) -> dict[str, object]:
        """Height, round, validators seen and the like, for checkpoints and metrics."""
