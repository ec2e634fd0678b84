"""The value BFT validators agree on: a proposed block (header and transactions).

``value_id`` is the header's ``block_hash``, recomputed from the header received (never the
sender's word); the header's ``tx_root`` binds the transactions, and ``valid`` (the engine)
re-builds the block from them through ``ledger.block.build_block`` and requires the same
header. The wire form is ``{"header": {...}, "transactions": [signed transaction, ...]}``
with exact keys and a bounded number of transactions.

Decoding a transaction costs its canonical form and SM3 hashes (``tx_id``, ``leaf_hash``);
a validator already holds most of a proposal's transactions (admitted from gossip), so
``known`` (by signature) offers those objects: one is used only when its wire form equals
the value received, types included, so the block decoded is the same either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ledger.errors import MalformedData, TooLarge
from ledger.model import Header, SignedTransaction

Known = Callable[[str], SignedTransaction | None]
"""A transaction this validator already decoded, by its signature (or None)."""


def same_json(a: Any, b: Any) -> bool:
    """Equal JSON values, types included (``==`` alone has 1 == True)."""
    if type(a) is not type(b):
        return False
    if type(a) is dict:
        return a.keys() == b.keys() and all(same_json(v, b[k]) for k, v in a.items())
    if type(a) is list:
        return len(a) == len(b) and all(map(same_json, a, b))
    return bool(a == b)


def _decode_tx(item: Any, where: str, known: Known | None) -> SignedTransaction:
    if known is not None and isinstance(item, dict):
        signature = item.get("signature")
        held = known(signature) if isinstance(signature, str) else None
        if held is not None and same_json(item, held.to_wire()):
            return held
    tx = SignedTransaction.from_wire(item, where)
    _ = tx.tx_id, tx.leaf_hash  # computed here, in the decoding thread
    return tx


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
    def from_wire(
        cls, value: Any, max_txs: int, where: str = "value", known: Known | None = None
    ) -> ProposedBlock:
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
            _decode_tx(item, f"{where}.transactions[{i}]", known) for i, item in enumerate(items)
        )
        return cls(header, txs)


def value_id(block: ProposedBlock) -> str:
    return block.header.block_hash


def decoder(max_txs: int, known: Known | None = None) -> Callable[[Any], ProposedBlock]:
    def decode(value: Any) -> ProposedBlock:
        return ProposedBlock.from_wire(value, max_txs, known=known)

    return decode


def encode(block: ProposedBlock) -> dict[str, Any]:
    return block.to_wire()
