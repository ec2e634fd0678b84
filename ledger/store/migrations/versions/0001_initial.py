"""Initial schema: blocks, transactions, tree nodes, derived membership.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "meta",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "blocks",
        sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("block_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("tx_count", sa.Integer, nullable=False),
        sa.Column("log_size", sa.BigInteger, nullable=False),
        sa.Column("header", sa.LargeBinary, nullable=False),
        sa.Column("commit", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "transactions",
        sa.Column("tx_id", sa.String(64), primary_key=True),
        sa.Column("height", sa.BigInteger, nullable=False),
        sa.Column("idx", sa.Integer, nullable=False),
        sa.Column("log_index", sa.BigInteger, nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("submitter", sa.String(128), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("timestamp", sa.BigInteger, nullable=False),
        sa.Column("leaf", sa.LargeBinary, nullable=False),
        sa.Column("leaf_hash", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_transactions_block", "transactions", ["height", "idx"], unique=True)
    op.create_index("ix_transactions_submitter", "transactions", ["submitter", "timestamp"])
    op.create_index("ix_transactions_type", "transactions", ["type", "timestamp"])
    op.create_table(
        "log_nodes",
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "block_nodes",
        sa.Column("height", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("level", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "members",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("roles", sa.Text, nullable=False),
        sa.Column("public_key", sa.String(130), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("since_height", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "member_keys",
        sa.Column("key_id", sa.String(64), primary_key=True),
        sa.Column("member_id", sa.String(128), nullable=False),
        sa.Column("public_key", sa.String(130), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "member_keys",
        "members",
        "block_nodes",
        "log_nodes",
        "transactions",
        "blocks",
        "meta",
    ):
        op.drop_table(table)
