"""The stateless half of admission: shape, size, chain id, signature. Runs in worker processes.

The node looks up each submitter's key in its registry and sends ``(transaction JSON,
public key hex or None)`` pairs here. In the node's own process, :func:`prepare_chunk`
returns the parsed ``SignedTransaction`` (its canonical bytes, tx_id and leaf hash already
computed) or a ``Refusal`` (an error as plain data, because exceptions do not cross
processes reliably). A worker process runs :func:`check_chunk` instead, which sends back
only what the node cannot read off its own copy of the JSON: a :data:`Checked` triple per
accepted transaction, from which :meth:`SignedTransaction.from_checked` rebuilds it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger import errors
from ledger.crypto import PublicKey
from ledger.errors import LedgerError, RuleViolation
from ledger.model import SignedTransaction
from ledger.rules import check_chain, check_size

_KEY_CACHE: dict[str, PublicKey] = {}
_KEY_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Refusal:
    code: str
    message: str
    http_status: int
    details: dict[str, Any]
    tx_id: str | None = None

    @classmethod
    def of(cls, exc: LedgerError, tx_id: str | None = None) -> Refusal:
        return cls(exc.code, exc.message, exc.http_status, dict(exc.details), tx_id)

    def to_error(self) -> LedgerError:
        exc = errors.InvalidInput(self.message, code=self.code, **self.details)
        exc.http_status = self.http_status
        return exc

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


def _public_key(hex_key: str) -> PublicKey:
    key = _KEY_CACHE.get(hex_key)
    if key is None:
        if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
            _KEY_CACHE.clear()
        key = _KEY_CACHE[hex_key] = PublicKey(hex_key)
    return key


def prepare_one(
    value: Any, public_key_hex: str | None, chain_id: str, max_tx_bytes: int
) -> SignedTransaction | Refusal:
    tx_id = None
    try:
        tx = SignedTransaction.from_wire(value)
        tx_id = tx.tx_id
        check_size(len(tx.leaf), max_tx_bytes)
        check_chain(tx, chain_id)
        if public_key_hex is None:
            raise RuleViolation(
                f"key_id {tx.envelope.key_id} is not an active key of a registered member",
                code="unknown_key",
            )
        tx.verify_signature(_public_key(public_key_hex))
        _ = tx.leaf_hash
        return tx
    except LedgerError as exc:
        return Refusal.of(exc, tx_id)


def prepare_chunk(
    items: Sequence[tuple[Any, str | None]], chain_id: str, max_tx_bytes: int
) -> list[SignedTransaction | Refusal]:
    return [prepare_one(v, pk, chain_id, max_tx_bytes) for v, pk in items]


# --- compact results from the workers (docs/performance.md: ingest) ---

Checked = tuple[bytes, str, bytes]
"""``(C(envelope), tx_id, leaf hash)`` of a transaction that passed :func:`prepare_one`."""


def check_chunk(
    items: Sequence[tuple[Any, str | None]], chain_id: str, max_tx_bytes: int
) -> list[Checked | Refusal]:
    """:func:`prepare_chunk` for a worker process. Returning whole transaction objects
    cost the node more to unpickle (a dozen objects each, under the garbage collector's
    eye) than rebuilding them from the JSON it parsed itself."""
    out: list[Checked | Refusal] = []
    for value, public_key_hex in items:
        result = prepare_one(value, public_key_hex, chain_id, max_tx_bytes)
        if isinstance(result, Refusal):
            out.append(result)
        else:
            out.append((result.envelope.canonical, result.tx_id, result.leaf_hash))
    return out


# --- end of compact results ---
