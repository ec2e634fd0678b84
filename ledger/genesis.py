"""The genesis block: derived from ``genesis.json`` alone, so anyone holding it rebuilds it.

As spec section 5.1 fixes it (docs/spec.md; the header has no ``state_root`` yet): each
founding member is registered by a ``member.register`` envelope submitted by the member
itself, with a nonce derived from the genesis document and an empty signature: the
transactions are authorised by the genesis document the verifier already trusts, and the
genesis block carries an empty commit certificate. A node or auditor checks the genesis
block by rebuilding it and comparing hashes, never by signatures.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.canonical import canonical
from ledger.crypto import key_id, sm3_hex
from ledger.merkle import SM3, tree_root
from ledger.model import (
    ZERO_HASH,
    CommitCertificate,
    Envelope,
    Genesis,
    Header,
    SignedTransaction,
)


@dataclass(frozen=True)
class GenesisBlock:
    header: Header
    commit: CommitCertificate
    transactions: tuple[SignedTransaction, ...]


def genesis_transactions(genesis: Genesis) -> tuple[SignedTransaction, ...]:
    txs = []
    for member in genesis.members:
        envelope = Envelope(
            chain_id=genesis.chain_id,
            type="member.register",
            submitter=member.id,
            key_id=key_id(member.public_key),
            nonce=sm3_hex(canonical([genesis.hash, member.id]))[:32],
            timestamp=genesis.timestamp,
            payload=member.to_wire(),
        )
        txs.append(SignedTransaction(envelope, ""))
    return tuple(txs)


def genesis_block(genesis: Genesis) -> GenesisBlock:
    txs = genesis_transactions(genesis)
    root = tree_root(SM3, (tx.leaf_hash for tx in txs)).hex()
    header = Header(
        chain_id=genesis.chain_id,
        height=0,
        prev_hash=ZERO_HASH,
        timestamp=genesis.timestamp,
        tx_count=len(txs),
        tx_root=root,
        log_size=len(txs),
        log_root=root,
        validators_hash=genesis.validators.hash,
        next_validators_hash=genesis.validators.hash,
        proposer=genesis.validators.validators[0].id,
    )
    commit = CommitCertificate(height=0, round=0, block_hash=header.block_hash, signatures=())
    return GenesisBlock(header, commit, txs)
