"""Every limit and tunable of a node, in one object, overridable by ``LEDGER_*`` variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LEDGER_", extra="ignore")

    home: Path = Path("demo")
    db_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file ledger.db in home"
    )
    host: str = "127.0.0.1"
    port: int = 8000
    validator: str | None = Field(default=None, description="validator id this node signs as")
    key_passphrase: str | None = Field(default=None, description="passphrase of encrypted keys")

    # block production
    block_interval_ms: int = Field(default=200, ge=1)
    max_block_txs: int = Field(default=5000, ge=1)

    # admission limits
    max_tx_bytes: int = Field(default=1 * MIB, ge=256)
    max_batch_txs: int = Field(default=10_000, ge=1)
    max_request_bytes: int = Field(default=64 * MIB, ge=1024)
    timestamp_tolerance_ms: int = Field(default=5 * 60 * 1000, ge=0)
    mempool_max_txs: int = Field(default=200_000, ge=1)
    rejected_cache_size: int = Field(default=100_000, ge=0)

    # BFT consensus (several validators; docs/consensus.md "The runtime")
    max_block_bytes: int = Field(
        default=8 * MIB, ge=64 * 1024, description="transaction bytes a proposer puts in a block"
    )
    bft_timeout_propose_ms: int = Field(default=3000, ge=1)
    bft_timeout_propose_delta_ms: int = Field(default=500, ge=0)
    bft_timeout_prevote_ms: int = Field(default=1000, ge=1)
    bft_timeout_prevote_delta_ms: int = Field(default=500, ge=0)
    bft_timeout_precommit_ms: int = Field(default=1000, ge=1)
    bft_timeout_precommit_delta_ms: int = Field(default=500, ge=0)
    bft_commit_wait_ms: int = Field(
        default=50, ge=0, description="pause after a block before the next height starts"
    )
    bft_max_clock_drift_ms: int = Field(
        default=10_000,
        ge=0,
        description="how far ahead of this validator's clock a proposed block's timestamp may be",
    )
    bft_gossip_ms: int = Field(default=200, ge=10, description="status gossip interval")
    bft_empty_blocks: bool = Field(
        default=False, description="start a height even when no transaction is pending"
    )
    p2p_host: str | None = Field(
        default=None, description="listen address for peers; default: this validator's in node.json"
    )
    p2p_rate_bytes: int = Field(default=64 * MIB, ge=1024, description="bytes/s read per peer")
    p2p_rate_frames: int = Field(default=2000, ge=10, description="messages/s read per peer")
    p2p_send_queue: int = Field(default=2000, ge=16, description="frames queued per peer")

    # auditor witness (ledger/cosign.py, ledger/witness.py)
    max_checkpoints_page: int = Field(
        default=1000, ge=1, description="most checkpoints one GET /v1/checkpoints answers"
    )
    max_cosignature_bytes: int = Field(
        default=4096, ge=512, description="limit on a POST /v1/checkpoint/cosignatures body"
    )

    # auditor tools (issue 5): streamed export, read-access log
    export_page_size: int = Field(
        default=500, ge=1, le=10_000, description="transactions read per page of an export"
    )
    access_log_max_page: int = Field(
        default=1000, ge=1, le=100_000, description="most access log entries per response"
    )

    # verification
    verify_workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0)
    verify_chunk_txs: int = Field(default=250, ge=1)

    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.home / 'ledger.db').resolve()}"
