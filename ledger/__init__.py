"""Permissioned ledger for government records: SM2-signed transactions in SM3 Merkle blocks.

The public API is small: build and sign transactions, talk to a node, verify what it hands
out. Everything else is internal to the node. The names are loaded on first use, so that
``import ledger.verify`` (an offline verifier) needs only the crypto dependencies, not the
HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ledger.client import LedgerClient
    from ledger.errors import LedgerError, VerificationError
    from ledger.model import Genesis, SignedTransaction
    from ledger.transactions import make_transaction
    from ledger.verify import (
        verify_checkpoint,
        verify_checkpoint_from_genesis,
        verify_log_consistency,
        verify_receipt,
    )

_WHERE = {
    "Genesis": "ledger.model",
    "LedgerClient": "ledger.client",
    "LedgerError": "ledger.errors",
    "SignedTransaction": "ledger.model",
    "VerificationError": "ledger.errors",
    "make_transaction": "ledger.transactions",
    "verify_checkpoint": "ledger.verify",
    "verify_checkpoint_from_genesis": "ledger.verify",
    "verify_log_consistency": "ledger.verify",
    "verify_receipt": "ledger.verify",
}

__all__ = [
    "Genesis",
    "LedgerClient",
    "LedgerError",
    "SignedTransaction",
    "VerificationError",
    "make_transaction",
    "verify_checkpoint",
    "verify_checkpoint_from_genesis",
    "verify_log_consistency",
    "verify_receipt",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'ledger' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
