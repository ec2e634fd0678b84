"""Consensus state: what a validator signed at its current height, written before sending.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consensus_state",
        sa.Column("validator", sa.String(128), primary_key=True),
        sa.Column("height", sa.BigInteger, nullable=False),
        sa.Column("record", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "consensus_values",
        sa.Column("block_hash", sa.String(64), primary_key=True),
        sa.Column("height", sa.BigInteger, nullable=False),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_consensus_values_height", "consensus_values", ["height"])


def downgrade() -> None:
    op.drop_index("ix_consensus_values_height", "consensus_values")
    op.drop_table("consensus_values")
    op.drop_table("consensus_state")
