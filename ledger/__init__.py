"""Permissioned ledger for government records: SM2-signed transactions in SM3 Merkle blocks.

The public API is small: build and sign transactions, talk to a node, verify what it hands
out. Everything else is internal to the node.
"""

from ledger.client import LedgerClient, make_transaction
from ledger.errors import LedgerError, VerificationError
from ledger.model import Genesis, SignedTransaction
from ledger.verify import (
    verify_checkpoint,
    verify_checkpoint_from_genesis,
    verify_log_consistency,
    verify_receipt,
)

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
