"""The validator's signed record (``LastSigned``): what it proposed and voted at its last
height, written before any message it covers leaves the process, read back at start."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from consensus.bft.config import RecordStore
from consensus.bft.types import PeerStatus, json_bytes
from consensus.tendermint import LastSigned, Proposal
from consensus.value import ProposedBlock
from ledger.canonical import parse_json
from ledger.errors import MalformedData

log = logging.getLogger("ledger.consensus")

BOOT_LISTEN_S = 3.0


class SignedRecord:
    """The record in the database: ``consensus_state`` for the record itself, with the
    blocks it refers to (its proposals, its lock) in ``consensus_values``, each written once
    per height."""

    def __init__(
        self,
        records: RecordStore,
        validator_id: str,
        decode_value: Callable[[Any], ProposedBlock],
    ) -> None:
        self.records = records
        self.validator_id = validator_id
        self.decode_value = decode_value
        self.last: LastSigned[ProposedBlock] | None = None
        self._written: set[tuple[int, str]] = set()

    def blocks(self) -> list[ProposedBlock]:
        """The blocks the record refers to (its lock, its valid value, its proposals)."""
        record = self.last
        if record is None:
            return []
        return list(
            {
                v.block_hash: v
                for v in (
                    record.locked_value,
                    record.valid_value,
                    *(m.value for m in record.messages if isinstance(m, Proposal)),
                )
                if v is not None
            }.values()
        )

    async def persist(self, record: LastSigned[ProposedBlock]) -> None:
        """Write ``record`` (committed, fsynced on SQLite); raises ``StorageError`` or
        ``OSError`` if it could not be written."""
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

        await asyncio.to_thread(write)
        self._written = {w for w in self._written if w[0] == height} | {(height, h) for h in new}
        self.last = record

    def load(self) -> None:
        stored = self.records.consensus_record(self.validator_id)
        if stored is None:
            return
        height, body, raw_values = stored
        values = {h: self.decode_value(parse_json(v)) for h, v in raw_values.items()}

        def lookup(ref: Any) -> ProposedBlock:
            if not isinstance(ref, str) or ref not in values:
                raise MalformedData(f"consensus record refers to an unknown block {ref!r}")
            return values[ref]

        self.last = LastSigned.from_wire(parse_json(body), lookup)
        self._written = {(height, h) for h in values}
        log.info(
            "consensus record: height %d round %d %s",
            height,
            self.last.round,
            self.last.step.name.lower(),
        )


class LostRecordGuard:
    """Without a record at start (new or wiped database), first hear the peers: a height
    they hold a message of ours for was signed before the record was lost."""

    def __init__(self, validator_id: str) -> None:
        self.validator_id = validator_id
        self._listen_until: float | None = None
        self._skip_upto = 0

    def arm(self) -> None:
        self._listen_until = time.monotonic() + BOOT_LISTEN_S

    def allows(self, height: int, peers: Mapping[str, PeerStatus], linked: Collection[str]) -> bool:
        """Whether this validator may take part in ``height``: not while it is still
        listening, nor in a height it may have voted in before losing its record."""
        if self._listen_until is not None and not self._heard(peers, linked):
            return False
        return height > self._skip_upto

    def _heard(self, peers: Mapping[str, PeerStatus], linked: Collection[str]) -> bool:
        """Wait for the linked peers' status (at most ``BOOT_LISTEN_S``), and stay out of
        any height one of them holds a message of ours for (we signed it before the record
        was lost, and cannot know what)."""
        assert self._listen_until is not None
        links = set(linked)
        if time.monotonic() < self._listen_until and not (links and links <= set(peers)):
            return False
        self._listen_until = None
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
