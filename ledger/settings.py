"""Every limit and tunable of a node, in one object, overridable by ``LEDGER_*`` variables."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024
# One name of LEDGER_ALLOWED_HOSTS: a DNS name or IPv4 address, or an IPv6 address in
# brackets, with an optional port.
HOST_NAME = re.compile(r"^(\[[0-9a-f:.]+\]|[a-z0-9_.-]+)(:[0-9]{1,5})?$")


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

    # the node's public address: no request header ever enters signed content (issue 11)
    public_url: str | None = Field(
        default=None,
        description="base URL of the links and QR codes in signed reports and card QR codes; "
        "default: http://HOST:PORT",
    )
    allowed_hosts: str | None = Field(
        default=None,
        description="comma-separated host[:port] names the node answers to (a name without a "
        "port: any port); default: the listen address and localhost, 127.0.0.1 and [::1] on "
        "the listen port. The public URL's host is always allowed",
    )

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

    @field_validator("public_url")
    @classmethod
    def _public_url_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip().rstrip("/")
        parts = urlsplit(text)
        try:
            port_ok = parts.port != 0
        except ValueError:  # beyond 65535
            port_ok = False
        if (
            not port_ok
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.query
            or parts.fragment
            or not HOST_NAME.match(parts.netloc.lower())
        ):
            raise ValueError(
                "LEDGER_PUBLIC_URL is an http or https URL with a host and no user, query or "
                f"fragment, e.g. https://ledger.example.gov.cn; not {value!r}"
            )
        return text

    @field_validator("allowed_hosts")
    @classmethod
    def _allowed_hosts_shape(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for name in _names(value):
            if not HOST_NAME.match(name):
                raise ValueError(
                    f"LEDGER_ALLOWED_HOSTS: {name!r} is not a host[:port] name "
                    "(an IPv6 address goes in brackets)"
                )
        return value

    def public_base_url(self) -> str:
        """The base URL that links and QR codes name: ``LEDGER_PUBLIC_URL``, else the listen
        address. Never taken from a request."""
        return self.public_url or f"http://{_netloc(self.host, self.port)}"

    def allowed_host_names(self) -> frozenset[str]:
        """The ``Host`` header values the node answers to, lowercase; a name without a port
        allows that host on any port."""
        parts = urlsplit(self.public_base_url())
        public = parts.netloc.lower()
        if parts.port == {"http": 80, "https": 443}.get(parts.scheme):
            public = public.rsplit(":", 1)[0]  # browsers leave the default port out
        if self.allowed_hosts is not None:
            return frozenset({public, *_names(self.allowed_hosts)})
        listen = [_netloc(self.host, self.port)]
        listen += [_netloc(h, self.port) for h in ("localhost", "127.0.0.1", "::1")]
        return frozenset({public, *(name.lower() for name in listen)})

    def database_url(self) -> str:
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.home / 'ledger.db').resolve()}"


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _names(text: str) -> list[str]:
    return [name.strip().lower() for name in text.split(",") if name.strip()]
