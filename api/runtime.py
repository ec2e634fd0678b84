"""Wiring a node together: settings, genesis, store, keys, node, consensus engine."""

from __future__ import annotations

import logging

from consensus import BlockSchedule, ConsensusEngine, SingleValidatorEngine
from keys import FileKeyStore, passphrase_from_env
from ledger.consortium import load_config, load_genesis
from ledger.errors import KeystoreError, Unavailable
from ledger.node import Node
from ledger.settings import Settings
from ledger.store import Store

log = logging.getLogger("ledger.runtime")


class NodeRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
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
        demo = bool(load_config(s.home).get("demo"))
        keystore = FileKeyStore(s.home / "keys", None if demo else passphrase)
        validator_id = s.validator or genesis.validators.validators[0].id
        validator = genesis.validators.get(validator_id)
        if validator is None:
            raise KeystoreError(f"{validator_id!r} is not a validator of this chain")
        signer = keystore.signer(validator_id)
        if signer.public_key.hex != validator.public_key:
            raise KeystoreError(f"key file of {validator_id} does not match genesis.json")
        if len(genesis.validators.validators) > 1:
            raise KeystoreError(
                "this genesis has several validators; the BFT engine is not part of this "
                "build, so a node can only run a single-validator consortium"
            )
        store = Store(s.database_url())
        node = Node(s, genesis, store)
        engine = SingleValidatorEngine(
            node, validator_id, signer, BlockSchedule(s.block_interval_ms, s.max_block_txs)
        )
        node.on_pending = engine.notify_pending
        self.engine = engine
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
