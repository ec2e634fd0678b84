"""Wiring a node together: settings, genesis, store, keys, node, consensus engine.

A genesis with one validator (and a node.json that names no other) runs the
single-validator engine; otherwise the BFT engine (consensus/bft/), with its peers' p2p
addresses from HOME/node.json.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from consensus import BlockSchedule, ConsensusEngine, SingleValidatorEngine
from consensus.bft import BftConfig, BftEngine
from consensus.tendermint import Timeouts
from keys import FileKeyStore, passphrase_from_env
from ledger.consortium import load_config, load_genesis
from ledger.errors import KeystoreError, MalformedData, Unavailable
from ledger.model import Genesis
from ledger.node import Clock, Node, wall_clock_ms
from ledger.settings import Settings
from ledger.store import Store

log = logging.getLogger("ledger.runtime")


def parse_address(value: Any, where: str) -> tuple[str, int]:
    """``"host:port"`` to ``(host, port)``."""
    if not isinstance(value, str) or ":" not in value:
        raise MalformedData(f"{where}: expected host:port, found {value!r}")
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise MalformedData(f"{where}: bad port in {value!r}")
    return host.strip("[]"), int(port)


def p2p_addresses(config: dict[str, Any]) -> dict[str, tuple[str, int]]:
    """Each validator's p2p address from node.json (``validators.<id>.p2p``)."""
    entries = config.get("validators")
    if not isinstance(entries, dict):
        return {}
    out: dict[str, tuple[str, int]] = {}
    for vid, entry in entries.items():
        if isinstance(entry, dict) and "p2p" in entry:
            out[str(vid)] = parse_address(entry["p2p"], f"node.json validators.{vid}.p2p")
    return out


def uses_bft(genesis: Genesis, validator_id: str, peers: dict[str, tuple[str, int]]) -> bool:
    return len(genesis.validators.validators) > 1 or any(p != validator_id for p in peers)


def bft_config(s: Settings) -> BftConfig:
    return BftConfig(
        timeouts=Timeouts(
            propose_ms=s.bft_timeout_propose_ms,
            propose_delta_ms=s.bft_timeout_propose_delta_ms,
            prevote_ms=s.bft_timeout_prevote_ms,
            prevote_delta_ms=s.bft_timeout_prevote_delta_ms,
            precommit_ms=s.bft_timeout_precommit_ms,
            precommit_delta_ms=s.bft_timeout_precommit_delta_ms,
        ),
        commit_wait_ms=s.bft_commit_wait_ms,
        max_clock_drift_ms=s.bft_max_clock_drift_ms,
        gossip_ms=s.bft_gossip_ms,
        max_block_txs=s.max_block_txs,
        max_block_bytes=s.max_block_bytes,
        max_tx_bytes=s.max_tx_bytes,
        max_gossip_txs=s.max_batch_txs,
        empty_blocks=s.bft_empty_blocks,
        rate_bytes=s.p2p_rate_bytes,
        rate_frames=s.p2p_rate_frames,
        send_queue=s.p2p_send_queue,
    )


def bft_database_url(home: Path, validator_id: str) -> str:
    """Default database of a validator in a consortium home shared by several validators."""
    path = home / "nodes" / validator_id
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(path / 'ledger.db').resolve()}"


class NodeRuntime:
    def __init__(
        self,
        settings: Settings,
        clock: Clock = wall_clock_ms,
        bft_engine: type[BftEngine] = BftEngine,
    ) -> None:
        """``clock``: the node's and its engine's time (tests inject their own);
        ``bft_engine``: the class of the BFT engine (the tests run a Byzantine one)."""
        self.settings = settings
        self.clock = clock
        self.bft_engine = bft_engine
        self._node: Node | None = None
        self.engine: ConsensusEngine | None = None

    @property
    def node(self) -> Node:
        if self._node is None:
            raise Unavailable("the node is starting", code="not_ready")
        return self._node

    def open(self) -> Node:
        s = self.settings
        genesis = load_genesis(s.home / "genesis.json")
        passphrase = s.key_passphrase.encode() if s.key_passphrase else passphrase_from_env()
        config = load_config(s.home)
        demo = bool(config.get("demo"))
        keystore = FileKeyStore(s.home / "keys", None if demo else passphrase)
        validator_id = s.validator or genesis.validators.validators[0].id
        validator = genesis.validators.get(validator_id)
        peers = p2p_addresses(config)
        # a validator outside the genesis set (added by governance, now or later) needs a
        # p2p address; it follows the chain and votes while a set includes it
        if validator is None and validator_id not in peers:
            raise KeystoreError(f"{validator_id!r} is not a validator of this chain")
        signer = keystore.signer(validator_id)
        if validator is not None and signer.public_key.hex != validator.public_key:
            raise KeystoreError(f"key file of {validator_id} does not match genesis.json")
        bft = uses_bft(genesis, validator_id, peers)
        if bft and not s.db_url:
            store = Store(bft_database_url(s.home, validator_id))
        else:
            store = Store(s.database_url())
        node = Node(s, genesis, store, self.clock)
        known = node.validator_public_key(validator_id)
        if known is not None and known != signer.public_key.hex:
            raise KeystoreError(f"key file of {validator_id} is not its key on the chain")
        engine: ConsensusEngine
        if bft:
            listen = peers.get(validator_id)
            if listen is None:
                raise MalformedData(
                    f"{s.home / 'node.json'} gives no p2p address for validator {validator_id}"
                )
            if s.p2p_host:
                listen = (s.p2p_host, listen[1])
            engine = self.bft_engine(
                node,
                validator_id=validator_id,
                signer=signer,
                records=store,
                peers=peers,
                listen=listen,
                config=bft_config(s),
                clock=self.clock,
            )
        else:
            engine = SingleValidatorEngine(
                node,
                validator_id,
                signer,
                BlockSchedule(s.block_interval_ms, s.max_block_txs),
                clock=self.clock,
            )
        node.on_pending = engine.notify_pending
        self.engine = engine
        self.signer = signer  # signs the portal's verification reports
        self._node = node
        return node

    async def start(self) -> None:
        node = self.open()
        node.start_workers()
        assert self.engine is not None
        await self.engine.start()
        log.info("node ready: chain %s at height %d", node.genesis.chain_id, node.tip.height)

    async def stop(self) -> None:
        if self.engine is not None:
            await self.engine.stop()
        if self._node is not None:
            self._node.stop_workers()
            self._node.store.close()
