"""The value BFT validators agree on: a proposed block (header and transactions).

``value_id`` is the header's ``block_hash``, recomputed from the header received (never the
sender's word); the header's ``tx_root`` binds the transactions, and ``valid`` (the engine)
re-builds the block from them through ``ledger.block.build_block`` and requires the same
header. The wire form is ``{"header": {...}, "transactions": [signed transaction, ...]}``
with exact keys and a bounded number of transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.errors import MalformedData, TooLarge
from ledger.model import Header, SignedTransaction


@dataclass(frozen=True)
class ProposedBlock:
    header: Header
    transactions: tuple[SignedTransaction, ...]

    @property
    def block_hash(self) -> str:
        return self.header.block_hash

    @property
    def height(self) -> int:
        return self.header.height

    def to_wire(self) -> dict[str, Any]:
        return {
            "header": self.header.to_wire(),
            "transactions": [tx.to_wire() for tx in self.transactions],
        }

    @classmethod
    def from_wire(cls, value: Any, max_txs: int, where: str = "value") -> ProposedBlock:
        if not isinstance(value, dict) or set(value) != {"header", "transactions"}:
            raise MalformedData(f"{where}: expected {{header, transactions}}")
        items = value["transactions"]
        if not isinstance(items, list):
            raise MalformedData(f"{where}.transactions: expected a list")
        if len(items) > max_txs:
            raise TooLarge(f"{where}: {len(items)} transactions; a block holds at most {max_txs}")
        header = Header.from_wire(value["header"], f"{where}.header")
        if header.tx_count != len(items):
            raise MalformedData(f"{where}: header.tx_count is not the number of transactions")
        txs = tuple(
            SignedTransaction.from_wire(item, f"{where}.transactions[{i}]")
            for i, item in enumerate(items)
        )
        for tx in txs:
            _ = tx.tx_id, tx.leaf_hash  # computed here, in the decoding thread
        return cls(header, txs)


def value_id(block: ProposedBlock) -> str:
    return block.header.block_hash


def decoder(max_txs: int) -> Callable[[Any], ProposedBlock]:
    def decode(value: Any) -> ProposedBlock:
        return ProposedBlock.from_wire(value, max_txs)

    return decode


def encode(block: ProposedBlock) -> dict[str, Any]:
    return block.to_wire()
