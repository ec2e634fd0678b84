"""The values the simulated validators agree on: small ``Header``s with synthetic roots.

``make_block`` is the proposer's ``getValue()``; ``valid_block`` is ``valid(v)``: the block
extends the node's own decided chain (height, ``prev_hash``, increasing timestamp, the
validator set's hash and the next height's, a proposer that is a validator) and is not
marked bad. ``next_validators`` defaults to ``validators`` (no set change).
"""

from __future__ import annotations

from ledger.crypto import sm3_hex
from ledger.model import ZERO_HASH, Header, ValidatorSet

CHAIN_ID = "sim-chain"
GENESIS_MS = 1_763_700_000_000
BAD_ROOT = "b" * 64  # a Byzantine proposer's invalid block carries this tx_root


def genesis_header(validators: ValidatorSet) -> Header:
    return Header(
        chain_id=CHAIN_ID,
        height=0,
        prev_hash=ZERO_HASH,
        timestamp=GENESIS_MS,
        tx_count=0,
        tx_root=sm3_hex(b""),
        log_size=0,
        log_root=sm3_hex(b""),
        validators_hash=validators.hash,
        next_validators_hash=validators.hash,
        proposer="genesis",
    )


def make_block(
    prev: Header,
    validators: ValidatorSet,
    proposer: str,
    now_ms: int,
    salt: str = "",
    next_validators: ValidatorSet | None = None,
) -> Header:
    tx_root = sm3_hex(f"{proposer}/{prev.height + 1}/{now_ms}/{salt}".encode())
    return Header(
        chain_id=prev.chain_id,
        height=prev.height + 1,
        prev_hash=prev.block_hash,
        timestamp=max(GENESIS_MS + now_ms, prev.timestamp + 1),
        tx_count=1,
        tx_root=tx_root,
        log_size=prev.log_size + 1,
        log_root=sm3_hex(bytes.fromhex(prev.log_root + tx_root)),
        validators_hash=validators.hash,
        next_validators_hash=(next_validators or validators).hash,
        proposer=proposer,
    )


def invalid_block(
    prev: Header,
    validators: ValidatorSet,
    proposer: str,
    now_ms: int,
    next_validators: ValidatorSet | None = None,
) -> Header:
    good = make_block(prev, validators, proposer, now_ms, "invalid", next_validators)
    return Header(**{**good.to_wire(), "tx_root": BAD_ROOT})


def valid_block(
    prev: Header,
    validators: ValidatorSet,
    block: Header,
    next_validators: ValidatorSet | None = None,
) -> bool:
    return (
        block.chain_id == prev.chain_id
        and block.height == prev.height + 1
        and block.prev_hash == prev.block_hash
        and block.timestamp > prev.timestamp
        and block.validators_hash == validators.hash
        and block.next_validators_hash == (next_validators or validators).hash
        and validators.get(block.proposer) is not None
        and block.tx_root != BAD_ROOT
    )
