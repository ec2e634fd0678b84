"""Tables. Headers and certificates are kept as their exact wire bytes; tree nodes above the
leaves are kept per perfect subtree (``level >= 1``) so any proof is O(log n) reads."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

blocks = Table(
    "blocks",
    metadata,
    Column("height", BigInteger, primary_key=True, autoincrement=False),
    Column("block_hash", String(64), nullable=False, unique=True),
    Column("timestamp", BigInteger, nullable=False),
    Column("tx_count", Integer, nullable=False),
    Column("log_size", BigInteger, nullable=False),
    Column("header", LargeBinary, nullable=False),
    Column("commit", LargeBinary, nullable=False),
)

transactions = Table(
    "transactions",
    metadata,
    Column("tx_id", String(64), primary_key=True),
    Column("height", BigInteger, nullable=False),
    Column("idx", Integer, nullable=False),
    Column("log_index", BigInteger, nullable=False, unique=True),
    Column("type", String(64), nullable=False),
    Column("submitter", String(128), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("timestamp", BigInteger, nullable=False),
    Column("leaf", LargeBinary, nullable=False),
    Column("leaf_hash", LargeBinary, nullable=False),
    Index("ix_transactions_block", "height", "idx", unique=True),
    Index("ix_transactions_submitter", "submitter", "timestamp"),
    Index("ix_transactions_type", "type", "timestamp"),
)

log_nodes = Table(
    "log_nodes",
    metadata,
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

block_nodes = Table(
    "block_nodes",
    metadata,
    Column("height", BigInteger, primary_key=True, autoincrement=False),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
)

members = Table(
    "members",
    metadata,
    Column("id", String(128), primary_key=True),
    Column("roles", Text, nullable=False),
    Column("public_key", String(130), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("since_height", BigInteger, nullable=False),
)

member_keys = Table(
    "member_keys",
    metadata,
    Column("key_id", String(64), primary_key=True),
    Column("member_id", String(128), nullable=False),
    Column("public_key", String(130), nullable=False),
    Column("active", Boolean, nullable=False),
)

# A validator's LastSigned record (consensus/tendermint/state.py), written before it sends
# what it signed. Blocks the record refers to (its proposals, its lock) are kept once each
# in consensus_values, by hash, and dropped when the height is over.
consensus_state = Table(
    "consensus_state",
    metadata,
    Column("validator", String(128), primary_key=True),
    Column("height", BigInteger, nullable=False),
    Column("record", LargeBinary, nullable=False),
)

consensus_values = Table(
    "consensus_values",
    metadata,
    Column("block_hash", String(64), primary_key=True),
    Column("height", BigInteger, nullable=False),
    Column("value", LargeBinary, nullable=False),
    Index("ix_consensus_values_height", "height"),
)

# A witness's SM2 cosignature of a checkpoint it verified (ledger/cosign.py). One row per
# witness and height; GET /v1/checkpoint serves each witness's newest.
cosignatures = Table(
    "cosignatures",
    metadata,
    Column("witness", String(128), primary_key=True),
    Column("height", BigInteger, primary_key=True, autoincrement=False),
    Column("log_size", BigInteger, nullable=False),
    Column("log_root", String(64), nullable=False),
    Column("block_hash", String(64), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", Text, nullable=False),
    Column("received_ms", BigInteger, nullable=False),
)

# Who read which restricted record when; each entry's hash covers the previous one.
access_log = Table(
    "access_log",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("reader", String(128), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("action", String(256), nullable=False),
    Column("resource", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False),
    Index("ix_access_log_reader", "reader", "at_ms"),
)
