"""Audit trail: witnesses' cosignatures of checkpoints, and the hash-chained read-access log.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cosignatures",
        sa.Column("witness", sa.String(128), primary_key=True),
        sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("log_size", sa.BigInteger, nullable=False),
        sa.Column("log_root", sa.String(64), nullable=False),
        sa.Column("block_hash", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text, nullable=False),
        sa.Column("received_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "access_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("reader", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("action", sa.String(256), nullable=False),
        sa.Column("resource", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("entry_hash", sa.String(64), nullable=False),
    )
    op.create_index("ix_access_log_reader", "access_log", ["reader", "at_ms"])


def downgrade() -> None:
    op.drop_index("ix_access_log_reader", "access_log")
    op.drop_table("access_log")
    op.drop_table("cosignatures")
