"""Building and signing a transaction: no I/O beyond the signer, no HTTP."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ledger.crypto import Signer, random_nonce
from ledger.model import Envelope, SignedTransaction


def make_transaction(
    signer: Signer,
    *,
    chain_id: str,
    type: str,
    submitter: str,
    payload: Mapping[str, Any],
    timestamp: int | None = None,
    nonce: str | None = None,
) -> SignedTransaction:
    envelope = Envelope(
        chain_id=chain_id,
        type=type,
        submitter=submitter,
        key_id=signer.public_key.key_id,
        nonce=nonce or random_nonce(),
        timestamp=timestamp if timestamp is not None else time.time_ns() // 1_000_000,
        payload=dict(payload),
    )
    return SignedTransaction(envelope, signer.sign(envelope.canonical))
